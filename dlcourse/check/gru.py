"""Checks of the GRU step (Keras's default, ``reset_after=True``), with the usual mistakes.

The reference is :func:`dlcourse.scratch.gru.gru_step`, and every mistake is computed with it:
the other variant (``reset_after=False``), the bias rows moved, the gate blocks permuted, or the
step's own gates recombined with ``z`` and ``1 − z`` swapped.
"""

from __future__ import annotations

import numpy as np

from dlcourse.check.catalogue import Mistake, Spec, recognises
from dlcourse.check.engine import Case, CheckResult, rng, run
from dlcourse.scratch.gru import gru_step as gru_step_reference

__all__ = ["gru_step"]

_CANDIDATE = ("h̃ = tanh(x_t @ W_h + bias[0, h] + r ⊙ (h_prev @ R_h + bias[1, h])), with W_h, "
              "R_h the last blocks of kernel and recurrent_kernel")


def _reference(x, h, k, rk, b):
    return gru_step_reference(x, h, k, rk, b).h


def _z_swapped(x, h, k, rk, b):
    """``h = (1 − z) ⊙ h_prev + z ⊙ h̃``, from the step's own gates."""
    z, _, candidate = np.split(gru_step_reference(x, h, k, rk, b).gates, 3, axis=-1)
    return (1 - z) * h + z * candidate


def _reset_before(bias_of):
    """The ``reset_after=False`` formula, with the (3·units,) bias ``bias_of(b)``."""
    return lambda x, h, k, rk, b: gru_step_reference(x, h, k, rk, bias_of(b),
                                                     reset_after=False).h


def _with_bias(bias_of):
    return lambda x, h, k, rk, b: _reference(x, h, k, rk, bias_of(b))


def _gates_split_as(order: str):
    """The weights rearranged so that Keras's step reads the gate blocks as a learner who
    splits them in ``order`` (e.g. ``"rzh"``)."""
    def rearrange(w):
        blocks = np.split(w, 3, axis=-1)
        return np.concatenate([blocks[order.index(gate)] for gate in "zrh"], axis=-1)
    return lambda x, h, k, rk, b: _reference(x, h, rearrange(k), rearrange(rk), rearrange(b))


_BIAS_ROWS = ("bias has two rows: bias[0] is added to the input part x_t @ kernel, bias[1] to "
              "the recurrent part h_prev @ recurrent_kernel, before the reset gate multiplies "
              f"its candidate block: {_CANDIDATE}")

GRU_STEP_SPEC = Spec(
    "gru_step", ("x_t", "h_prev", "kernel", "recurrent_kernel", "bias"), ("h",), _reference,
    mistakes=(
        Mistake("gru_update_gate_swapped", "z and 1 − z swapped", "h", _z_swapped,
                "z and 1 − z are swapped: in Keras z is the share of the old state kept, "
                "h = z ⊙ h_prev + (1 − z) ⊙ h̃"),
        Mistake("gru_reset_before", "the reset gate applied before the recurrent product "
                                    "(the reset_after=False formula)", "h",
                _reset_before(lambda b: b[0] + b[1]),
                "you applied the reset gate before the recurrent product, (r ⊙ h_prev) @ R_h "
                "(Keras's reset_after=False); with reset_after=True (Keras's default) it "
                f"multiplies the product: {_CANDIDATE}"),
        Mistake("gru_reset_before", "the reset_after=False formula with bias[0] only", "h",
                _reset_before(lambda b: b[0]),
                "you applied the reset gate before the recurrent product, (r ⊙ h_prev) @ R_h, "
                "and used only bias[0] (Keras's reset_after=False, whose bias has one row); "
                f"with reset_after=True: {_CANDIDATE}"),
        Mistake("gru_bias_rows", "both bias rows added to the input part", "h",
                _with_bias(lambda b: np.stack([b[0] + b[1], np.zeros_like(b[1])])),
                "you added both bias rows to the input part, so bias[1] escapes the reset "
                f"gate: {_BIAS_ROWS}"),
        Mistake("gru_bias_rows", "the two bias rows swapped", "h", _with_bias(lambda b: b[::-1]),
                f"the two bias rows are swapped: {_BIAS_ROWS}"),
        Mistake("gru_bias_rows", "the recurrent bias row bias[1] forgotten", "h",
                _with_bias(lambda b: np.stack([b[0], np.zeros_like(b[1])])),
                f"you forgot bias[1], the recurrent part's bias: {_BIAS_ROWS}"),
        Mistake("gru_forgot_bias", "the bias forgotten", "h", _with_bias(lambda b: None),
                f"you forgot the bias: {_BIAS_ROWS}"),
        Mistake("gru_gate_order", "the gates split as r, z, h", "h", _gates_split_as("rzh"),
                "you split the three gate blocks as r, z, h (PyTorch's order): Keras's order is "
                "z, r, h (update, reset, candidate), the same in kernel, recurrent_kernel and "
                "both bias rows"),
        Mistake("gru_gate_order", "the gates split as h, z, r", "h", _gates_split_as("hzr"),
                "you split the three gate blocks as h, z, r: Keras's order is z, r, h (update, "
                "reset, candidate), the same in kernel, recurrent_kernel and both bias rows"),
        Mistake("gru_weights_swapped", "kernel and recurrent_kernel swapped", "h",
                lambda x, h, k, rk, b: _reference(x, h, rk, k, b),
                "kernel and recurrent_kernel are swapped: x_t @ kernel (features, 3·units) and "
                "h_prev @ recurrent_kernel (units, 3·units)"),
    ),
    layout="x_t (batch, features), h_prev (batch, units), kernel (features, 3·units), "
           "recurrent_kernel (units, 3·units), bias (2, 3·units), gates in the order z, r, h; "
           "h (batch, units)",
)


@recognises(GRU_STEP_SPEC)
def gru_step(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x_t, h_prev, kernel, recurrent_kernel, bias) -> h``, one GRU step.

    Keras's default GRU (``reset_after=True``), the gates side by side in the order z, r, h::

        x_z, x_r, x_h = np.split(x_t @ kernel + bias[0], 3, axis=-1)
        h_z, h_r, h_h = np.split(h_prev @ recurrent_kernel + bias[1], 3, axis=-1)
        z = σ(x_z + h_z);   r = σ(x_r + h_r);   h̃ = tanh(x_h + r ⊙ h_h)
        h = z ⊙ h_prev + (1 − z) ⊙ h̃

    Parameters
    ----------
    fn : callable
        ``fn(x_t, h_prev, kernel, recurrent_kernel, bias)`` with ``x_t (batch, features)``,
        ``h_prev (batch, units)``, ``kernel (features, 3·units)``,
        ``recurrent_kernel (units, 3·units)`` and ``bias (2, 3·units)``; returns
        ``h (batch, units)``.
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
    r = rng(13)
    cases = []
    # First features == units, so that swapped weights still run and can be diagnosed.
    for batch, features, units in [(3, 4, 4), (1, 3, 5), (4, 6, 2)]:
        args = (r.normal(size=(batch, features)), np.tanh(r.normal(size=(batch, units))),
                r.normal(scale=0.5, size=(features, 3 * units)),
                r.normal(scale=0.5, size=(units, 3 * units)),
                r.normal(scale=0.5, size=(2, 3 * units)))
        cases.append(Case(args, batch))
    return run(GRU_STEP_SPEC, fn, cases, timeout=timeout)
