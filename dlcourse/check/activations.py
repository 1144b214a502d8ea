"""Checks of the activations, their derivatives and softmax, with the usual mistakes.

The references are :mod:`dlcourse.scratch.activations` itself (the functions and derivatives the
layers use), so that "correct" means the same thing here as in the rest of the course.
"""

from __future__ import annotations

import numpy as np

from dlcourse.check.catalogue import Hint, Mistake, Spec, recognises
from dlcourse.check.engine import Case, CheckResult, rng, run
from dlcourse.scratch import activations as act

__all__ = ["activation", "activation_derivative", "softmax"]

#: How each activation is written, quoted when the learner computed another one.
_FORMULAS = {"sigmoid": "σ(z) = 1 / (1 + exp(−z))", "tanh": "tanh(z), e.g. np.tanh(z)",
             "relu": "relu(z) = max(0, z)"}


def _other_activations(name: str) -> tuple[Mistake, ...]:
    return tuple(Mistake("wrong_activation", f"{other} computed instead", "a",
                         act.get(other).forward,
                         f"you computed {other}, not {name}: {_FORMULAS[name]}")
                 for other in _FORMULAS if other != name)


_ACTIVATION_MISTAKES = {
    "sigmoid": (
        Mistake("sigmoid_exponent_sign", "the wrong sign in the exponent, σ(−z)", "a",
                lambda z: 1 / (1 + np.exp(z)),
                "the sign in the exponent is wrong (you computed σ(−z) = 1 / (1 + exp(z))): "
                "σ(z) = 1 / (1 + exp(−z))"),
        Mistake("returned_derivative", "the derivative σ'(z) returned instead", "a",
                act.sigmoid_derivative, "you returned the derivative σ'(z) instead of σ(z)"),
        *_other_activations("sigmoid"),
    ),
    "tanh": (
        Mistake("tanh_from_sigmoid", "2σ(z) − 1, which is tanh(z/2)", "a",
                lambda z: 2 * act.sigmoid(z) - 1,
                "2σ(z) − 1 is tanh(z/2): tanh(z) = 2σ(2z) − 1, or simply np.tanh(z)"),
        Mistake("tanh_missing_denominator", "sinh(z): the denominator forgotten", "a",
                lambda z: (np.exp(z) - np.exp(-z)) / 2,
                "you computed sinh(z) = (e^z − e^−z) / 2: tanh(z) = (e^z − e^−z) / (e^z + e^−z)"),
        Mistake("returned_derivative", "the derivative 1 − tanh(z)² returned instead", "a",
                act.tanh_derivative,
                "you returned the derivative 1 − tanh(z)² instead of tanh(z)"),
        *_other_activations("tanh"),
    ),
    "relu": (
        Mistake("returned_derivative", "the derivative (the 0/1 mask) returned instead", "a",
                act.relu_derivative,
                "you returned the 0/1 mask (relu's derivative) instead of max(0, z)"),
        Mistake("relu_negative_part", "the negative part kept instead of the positive one", "a",
                lambda z: np.minimum(z, 0),
                "you kept the negative part: relu(z) = max(0, z) keeps the positive part and "
                "sets the rest to 0"),
        Mistake("relu_abs", "|z| returned", "a", np.abs,
                "you returned |z|: relu sets negative inputs to 0, it does not flip their sign"),
        *_other_activations("relu"),
    ),
}

_DERIVATIVE_MISTAKES = {
    "sigmoid": (
        Mistake("derivative_formula_on_z", "z (1 − z): the formula for the output used on z",
                "f'(z)", lambda z: z * (1 - z),
                "you computed z (1 − z): the formula a (1 − a) needs the activation a = σ(z), "
                "not z. Compute s = σ(z), then s * (1 − s)"),
        Mistake("derivative_at_output", "the derivative evaluated at the output σ(z)", "f'(z)",
                lambda z: act.sigmoid_derivative(act.sigmoid(z)),
                "you evaluated the derivative at the output a = σ(z) instead of at the input z "
                "(σ applied twice): σ'(z) = σ(z) (1 − σ(z))"),
        Mistake("returned_function", "σ(z) itself returned", "f'(z)", act.sigmoid,
                "you returned σ(z) itself, not its derivative σ'(z) = σ(z) (1 − σ(z))"),
    ),
    "tanh": (
        Mistake("derivative_formula_on_z", "1 − z²: the formula for the output used on z",
                "f'(z)", lambda z: 1 - z ** 2,
                "you computed 1 − z²: the formula 1 − a² needs the activation a = tanh(z), not "
                "z. Compute 1 − np.tanh(z) ** 2"),
        Mistake("derivative_at_output", "the derivative evaluated at the output tanh(z)",
                "f'(z)", lambda z: act.tanh_derivative(act.tanh(z)),
                "you evaluated the derivative at the output a = tanh(z) instead of at the input "
                "z (tanh applied twice): tanh'(z) = 1 − tanh(z)²"),
        Mistake("tanh_derivative_no_square", "1 − tanh(z): the square forgotten", "f'(z)",
                lambda z: 1 - act.tanh(z),
                "the square is missing: tanh'(z) = 1 − tanh(z)²"),
        Mistake("tanh_derivative_no_one_minus", "tanh(z)²: the 1 − forgotten", "f'(z)",
                lambda z: act.tanh(z) ** 2,
                "you returned tanh(z)²: tanh'(z) = 1 − tanh(z)²"),
        Mistake("returned_function", "tanh(z) itself returned", "f'(z)", act.tanh,
                "you returned tanh(z) itself, not its derivative 1 − tanh(z)²"),
    ),
    "relu": (
        Mistake("relu_derivative_at_zero", "relu'(0) = 1 (z >= 0 instead of z > 0)", "f'(z)",
                lambda z: (z >= 0).astype(float),
                "relu'(0) must be 0, as in TensorFlow: use z > 0, not z >= 0"),
        Mistake("returned_function", "relu(z) itself returned", "f'(z)", act.relu,
                "you returned relu(z) itself, not its derivative (1 where z > 0, else 0)"),
    ),
}

ACTIVATION_SPECS = {
    name: Spec(name, ("z",), ("a",), act.get(name).forward, mistakes,
               layout="z of any shape, a of the same shape")
    for name, mistakes in _ACTIVATION_MISTAKES.items()}

DERIVATIVE_SPECS = {
    name: Spec(f"{name}_derivative", ("z",), ("f'(z)",), act.get(name).derivative, mistakes,
               layout="z of any shape, f'(z) of the same shape")
    for name, mistakes in _DERIVATIVE_MISTAKES.items()}


def _activation_cases() -> list[Case]:
    r = rng(1)
    first = r.normal(scale=2.0, size=(4, 5))
    first[0, :3] = 0.0  # exact zeros, where relu's derivative is a convention
    first[1, 0], first[2, 1] = 8.0, -8.0
    return [Case((first,)), Case((r.normal(size=(1, 7)),)),
            Case((r.normal(scale=3.0, size=(2, 3, 3)),)),
            Case((np.linspace(-20.0, 20.0, 9),))]


def _known(name: str, checker: str) -> str:
    if not isinstance(name, str) or name not in _FORMULAS:
        raise ValueError(f"check.{checker}(): unknown activation {name!r}; expected one of "
                         f"{sorted(_FORMULAS)}")
    return name


@recognises(ACTIVATION_SPECS, by="name")
def activation(fn, name: str, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(z) -> a``, the activation ``name`` applied elementwise.

    Parameters
    ----------
    fn : callable
        ``fn(z)``, ``z`` an array of any shape; returns an array of the same shape.
    name : {"sigmoid", "tanh", "relu"}
        The activation ``fn`` should compute.
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
    spec = ACTIVATION_SPECS[_known(name, "activation")]
    return run(spec, fn, _activation_cases(), timeout=timeout)


@recognises(DERIVATIVE_SPECS, by="name")
def activation_derivative(fn, name: str, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(z) -> f'(z)``, the derivative of the activation ``name`` at the input ``z``.

    Parameters
    ----------
    fn : callable
        ``fn(z)``, ``z`` the activation's input (the pre-activation) of any shape; returns
        ``f'(z)``, same shape.
    name : {"sigmoid", "tanh", "relu"}
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

    Notes
    -----
    ``relu'(0)`` is taken to be 0, as in TensorFlow.
    """
    spec = DERIVATIVE_SPECS[_known(name, "activation_derivative")]
    return run(spec, fn, _activation_cases(), timeout=timeout)


# ================================================================================== softmax
def _softmax_rows(z):
    return act.softmax(z, axis=-1)


SOFTMAX_SPEC = Spec(
    "softmax", ("z",), ("p",), _softmax_rows,
    mistakes=(
        Mistake("softmax_not_normalised", "the division by the sum forgotten", "p", np.exp,
                "you forgot to divide by the sum: softmax(z) = exp(z) / exp(z).sum(axis=-1, "
                "keepdims=True)"),
        Mistake("softmax_not_normalised", "the division by the sum forgotten", "p",
                lambda z: np.exp(z - z.max(axis=-1, keepdims=True)),
                "you forgot to divide by the sum: with e = exp(z − max), softmax(z) = "
                "e / e.sum(axis=-1, keepdims=True)"),
        Mistake("softmax_wrong_axis", "normalised over the batch axis", "p",
                lambda z: np.exp(z) / np.exp(z).sum(axis=0, keepdims=True),
                "you normalised over the batch axis: each row (one sample) must sum to 1, so "
                "sum over the last axis: exp(z).sum(axis=-1, keepdims=True)"),
        Mistake("softmax_global_sum", "divided by the sum over the whole batch", "p",
                lambda z: np.exp(z) / np.exp(z).sum(),
                "you divided by the sum over the whole batch: divide each row by its own sum, "
                "exp(z).sum(axis=-1, keepdims=True)"),
        Mistake("softmax_no_keepdims", "the sum taken without keepdims=True", "p",
                lambda z: np.exp(z) / np.exp(z).sum(axis=-1),
                "the sum lost its axis: e / e.sum(axis=-1) divides column j by the sum of row "
                "j; use e.sum(axis=-1, keepdims=True)"),
    ),
    layout="z (batch, classes), p (batch, classes)",
    nonfinite_hint=Hint(
        "softmax_overflow", "np.exp overflowing for large logits (the row's maximum not "
        "subtracted first)",
        "np.exp overflows for large logits (this case has logits up to 1000): subtract each "
        "row's maximum first, z - z.max(axis=-1, keepdims=True); the softmax is unchanged"),
)


@recognises(SOFTMAX_SPEC)
def softmax(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(z) -> p``, the softmax of each row of ``z``.

    ``p[i, k] = exp(z[i, k]) / Σ_j exp(z[i, j])``, computed as ``softmax(z − max_j z[i, j])`` so
    that large logits do not overflow.

    Parameters
    ----------
    fn : callable
        ``fn(z)`` with logits ``z (batch, classes)``; returns ``p (batch, classes)``, each row
        summing to 1.
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

    Notes
    -----
    The last test case has logits up to 1000, where ``np.exp`` overflows unless the row's
    maximum is subtracted first.
    """
    r = rng(4)
    large = r.normal(size=(3, 6))
    large[:, 0] += 1000.0  # exp(1000) overflows to inf in float64
    large[1, 2] = -1000.0
    cases = [r.normal(scale=2.0, size=(4, 4)), r.normal(size=(2, 5)),
             r.normal(size=(1, 3)), large]
    return run(SOFTMAX_SPEC, fn, [Case((z,), len(z)) for z in cases], timeout=timeout)
