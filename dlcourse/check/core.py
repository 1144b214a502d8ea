"""Checks of the Dense layer's forward and backward passes, with the usual mistakes.

The formulas are those of :class:`dlcourse.scratch.Dense` (Keras's layout, one sample per row):
``y = x @ kernel + bias``; ``grad_x = grad_output @ kernel.T``, ``grad_kernel = x.T @
grad_output``, ``grad_bias = grad_output.sum(axis=0)``.
"""

from __future__ import annotations

from dlcourse.check.catalogue import Mistake, Spec, recognises
from dlcourse.check.engine import Case, CheckResult, rng, run

__all__ = ["dense_backward", "dense_forward"]


def _dense_forward(x, kernel, bias):
    return x @ kernel + bias


def _dense_backward(x, kernel, bias, grad_output):
    return grad_output @ kernel.T, x.T @ grad_output, grad_output.sum(axis=0)


_LAYOUT = ("x (batch, in_features), kernel (in_features, units), bias (units,), "
           "y (batch, units)")

DENSE_FORWARD_SPEC = Spec(
    "dense_forward", ("x", "kernel", "bias"), ("y",), _dense_forward,
    mistakes=(
        Mistake("forgot_bias", "the bias forgotten", "y", lambda x, k, b: x @ k,
                "you forgot the bias: y = x @ kernel + bias"),
        Mistake("kernel_transposed", "the kernel used transposed", "y",
                lambda x, k, b: x @ k.T + b,
                "the kernel is used transposed: with Keras's layout kernel (in_features, "
                "units), y = x @ kernel + bias (the row-vector form of W x, with W = kernel.T)"),
        Mistake("output_transposed", "the output transposed, (units, batch)", "y",
                lambda x, k, b: (x @ k + b).T,
                "your output is transposed, (units, batch): the course puts one sample per "
                "row, y = x @ kernel + bias of shape (batch, units)"),
        Mistake("bias_wrong_axis", "the bias added along the batch axis", "y",
                lambda x, k, b: x @ k + b[:, None],
                "the bias is added along the batch axis: it has one entry per unit, so add it "
                "along the last axis, y = x @ kernel + bias with bias of shape (units,)"),
    ),
    layout=_LAYOUT,
)


def _dense_cases() -> list[Case]:
    # The first case is square throughout, so that a swapped or transposed operand still
    # runs and can be diagnosed from the values instead of failing in a matmul.
    r = rng(2)
    cases = []
    for batch, n_in, units in [(3, 3, 3), (4, 3, 5), (1, 4, 2), (5, 6, 3)]:
        x = r.normal(size=(batch, n_in))
        kernel = r.normal(size=(n_in, units))
        bias = r.normal(size=units)
        cases.append(Case((x, kernel, bias), batch))
    return cases


@recognises(DENSE_FORWARD_SPEC)
def dense_forward(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x, kernel, bias) -> y``, the forward pass of a Dense layer without activation.

    ``y = x @ kernel + bias``: the row-vector form of ``W x + b`` with ``W = kernel.T``.

    Parameters
    ----------
    fn : callable
        ``fn(x, kernel, bias)`` with ``x (batch, in_features)``, ``kernel (in_features, units)``
        and ``bias (units,)``; returns ``y (batch, units)``.
    timeout : float, optional
        Seconds your function may run on one test case before it is stopped and the check
        fails; by default :data:`TIMEOUT`.

    Returns
    -------
    CheckResult

    Raises
    ------
    CheckFailed
        On the first wrong test case, with the diagnosis when recognised.
    """
    return run(DENSE_FORWARD_SPEC, fn, _dense_cases(), timeout=timeout)


def _grad_kernel_transposed(args, given, expected) -> str:
    kernel_shape = args[1].shape
    shape = (f", shape {given}, but grad_kernel must have the kernel's shape {kernel_shape}"
             if given != kernel_shape else "")
    return (f"grad_kernel is transposed: you computed grad_output.T @ x{shape}. "
            "Compute grad_kernel = x.T @ grad_output")


DENSE_BACKWARD_SPEC = Spec(
    "dense_backward", ("x", "kernel", "bias", "grad_output"),
    ("grad_x", "grad_kernel", "grad_bias"), _dense_backward,
    mistakes=(
        Mistake("grad_x_kernel_not_transposed", "kernel used instead of kernel.T", "grad_x",
                lambda x, k, b, g: g @ k,
                "grad_x uses kernel where its transpose is needed: "
                "grad_x = grad_output @ kernel.T"),
        Mistake("grad_kernel_transposed", "transposed, grad_output.T @ x", "grad_kernel",
                lambda x, k, b, g: g.T @ x, _grad_kernel_transposed),
        Mistake("grad_bias_not_summed", "not summed over the batch", "grad_bias",
                lambda x, k, b, g: g,
                "the bias gradient is not summed over the batch: the bias is used by every "
                "sample, so grad_bias = grad_output.sum(axis=0), of shape (units,)"),
        Mistake("grad_bias_keepdims", "summed with keepdims=True, shape (1, units)", "grad_bias",
                lambda x, k, b, g: g.sum(axis=0, keepdims=True),
                "grad_bias has shape (1, units) but the bias has shape (units,): sum over axis "
                "0 without keepdims=True"),
        Mistake("grad_bias_wrong_axis", "summed over the units instead of the batch",
                "grad_bias", lambda x, k, b, g: g.sum(axis=1),
                "grad_bias is summed over the units instead of over the batch: use "
                "grad_output.sum(axis=0)"),
        Mistake("grad_bias_total", "summed over everything", "grad_bias",
                lambda x, k, b, g: g.sum(),
                "grad_bias is summed over everything: sum over the batch only, "
                "grad_output.sum(axis=0), keeping one entry per unit"),
    ),
    tuple_output=True,
    layout=_LAYOUT.replace("y (batch, units)", "grad_output (batch, units)"),
)


@recognises(DENSE_BACKWARD_SPEC)
def dense_backward(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x, kernel, bias, grad_output) -> (grad_x, grad_kernel, grad_bias)``.

    For ``y = x @ kernel + bias`` and ``grad_output = dJ/dy``::

        grad_x      = grad_output @ kernel.T     (batch, in_features)
        grad_kernel = x.T @ grad_output          (in_features, units)
        grad_bias   = grad_output.sum(axis=0)    (units,)

    Parameters
    ----------
    fn : callable
        ``fn(x, kernel, bias, grad_output)`` with ``x (batch, in_features)``,
        ``kernel (in_features, units)``, ``bias (units,)`` and ``grad_output (batch, units)``;
        returns the three gradients as a tuple (or list), in this order.
    timeout : float, optional
        Seconds your function may run on one test case before it is stopped and the check
        fails; by default :data:`TIMEOUT`.

    Returns
    -------
    CheckResult

    Raises
    ------
    CheckFailed
        On the first wrong test case, naming every wrong gradient with its diagnosis.
    """
    r = rng(3)
    cases = []
    # Batch 4 with a square kernel first: a kernel used untransposed still runs and is
    # diagnosed from the values, and batch ≠ units keeps every bias mistake apart.
    for batch, n_in, units in [(4, 3, 3), (3, 4, 5), (1, 4, 2), (5, 6, 3)]:
        args = (r.normal(size=(batch, n_in)), r.normal(size=(n_in, units)),
                r.normal(size=units), r.normal(size=(batch, units)))
        cases.append(Case(args, batch))
    return run(DENSE_BACKWARD_SPEC, fn, cases, timeout=timeout)
