"""Gradient checking with centred finite differences.

For a scalar function ``f`` of an array ``x``, the centred difference

    ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / (2h)

has an error of order ``h²``, so in float64 with ``h = 1e-6`` an analytic gradient that is right
agrees to a relative error of about 1e-8 or better; one that is wrong (a missing transpose, a
forgotten sum over the batch) is off by order 1. :func:`check_layer` applies this to every input
and weight gradient of a from-scratch layer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["GradientCheckError", "check_layer", "numerical_gradient", "rel_error"]


class GradientCheckError(AssertionError):
    """An analytic gradient disagrees with finite differences."""


def rel_error(a, b, eps: float = 1e-30) -> float:
    """Relative error ``max|a − b| / max(max|a|, max|b|)`` of two arrays.

    Measured against the largest entry rather than entry by entry, so that entries that are
    zero up to rounding (a dead ReLU, a padded border) do not count as 100 % wrong. About 1e-7 or
    less means the two agree in float64; 1e-2 or more almost always means a bug.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error(): shapes differ, {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), eps)
    return float(np.max(np.abs(a - b)) / scale)


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6):
    """Centred finite-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored afterwards, so ``f`` may close
    over ``x`` (that is how the weights of a layer are checked).

    Parameters
    ----------
    f : callable
        ``f()`` or ``f(x)`` returning a scalar; called ``2 * x.size`` times.
    x : float64 ndarray
        The point; must be float64, since float32 cannot resolve a step of 1e-6.
    h : float
        The step.

    Returns
    -------
    ndarray, same shape as ``x``
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"numerical_gradient(): x must be a float64 ndarray, got {got}; "
                        "finite differences need double precision")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def check_layer(layer, x, *, training: bool = False, h: float = 1e-6, tol: float = 1e-6,
                seed: int = 0) -> dict[str, float]:
    """Check a layer's ``backward`` against finite differences, for the input and every weight.

    Uses the scalar ``J = Σ y ⊙ g`` for a fixed random ``g`` of the output's shape, whose
    gradient with respect to the output is exactly ``g``; so ``layer.backward(g)`` must equal the
    numerical ``dJ/dx``, and ``layer.grads[name]`` the numerical ``dJ/d(name)``.

    Parameters
    ----------
    layer : dlcourse.scratch layer
        Built on the first call if needed; it must be float64.
    x : float64 ndarray
        An input batch.
    training : bool
        Passed to ``forward`` (e.g. for batch normalisation's batch statistics).
    h, tol : float
        Finite-difference step and the largest relative error accepted.
    seed : int
        Seed of ``g``.

    Returns
    -------
    dict
        The relative error of each gradient: ``{"input": ..., "kernel": ..., ...}``.

    Raises
    ------
    GradientCheckError
        Naming every gradient whose relative error exceeds ``tol``.
    """
    x = np.array(x, dtype=np.float64) if not isinstance(x, np.ndarray) else x
    if x.dtype != np.float64:
        raise TypeError(f"check_layer({layer!r}): x must be float64 for finite differences, "
                        f"got {x.dtype}")
    x = x.copy()
    y = layer.forward(x, training=training)
    if getattr(layer, "dtype", np.float64) != np.float64:
        raise TypeError(f"check_layer({layer!r}): the layer's weights are {layer.dtype}; "
                        "build it on float64 input for a gradient check")
    g = np.random.default_rng(seed).normal(size=y.shape)

    def objective(_=None):
        return float(np.sum(layer.forward(x, training=training) * g))

    objective()  # forward again so backward runs on exactly this input
    grad_x = layer.backward(g)
    analytic = {"input": grad_x, **{k: v.copy() for k, v in layer.grads.items()}}
    numeric = {"input": numerical_gradient(objective, x, h)}
    for name, value in layer.params.items():
        if name in layer.grads:
            numeric[name] = numerical_gradient(objective, value, h)
    errors = {name: rel_error(analytic[name], numeric[name]) for name in numeric}
    failed = {name: err for name, err in errors.items() if err > tol}
    if failed:
        detail = ", ".join(f"{name}: {err:.2e}" for name, err in failed.items())
        raise GradientCheckError(f"{layer!r}: gradients disagree with finite differences "
                                 f"(relative error above {tol:g}): {detail}")
    return errors
