"""Gradient descent on a loss surface: run an optimizer from a point and record its path.

:func:`descend` runs an optimizer of :mod:`dlcourse.scratch.optimizers` (or any function
``step(theta, grad) -> new_theta``) on a :class:`~dlcourse.surfaces.functions.Surface` and
returns the :class:`Trajectory`, stopping cleanly (no NumPy warnings) when the run diverges.
NumPy only.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from dlcourse.surfaces.functions import Surface, _check_point, _check_surface
from dlcourse.validation import check_array, check_int, check_number

__all__ = ["Trajectory", "descend"]

# Steps of one descent at most: a bound that keeps a call from running for hours.
_MAX_STEPS = 1_000_000


class Trajectory(NamedTuple):
    """The path of an optimizer on a surface.

    Attributes
    ----------
    points : float64 array of shape ``(k + 1, 2)``
        ``θ`` before the first step and after each of the ``k`` steps taken.
    values : float64 array of shape ``(k + 1,)``
        ``J(θ)`` at each point.
    diverged : bool
        Whether the run stopped early because ``θ`` left every bound (see :func:`descend`).
    """

    points: np.ndarray
    values: np.ndarray
    diverged: bool

    @property
    def final(self) -> np.ndarray:
        """The last point, shape ``(2,)``."""
        return self.points[-1]


def descend(surface: Surface, start, optimizer, steps: int = 50,
            escape: float = 1e6) -> Trajectory:
    """Run ``optimizer`` for ``steps`` steps on ``surface`` from ``start``; record the path.

    Parameters
    ----------
    surface : Surface
        Provides ``gradient(theta)``.
    start : (2,) array_like
        The starting point ``θ₀`` (not modified).
    optimizer : optimizer or callable
        Either an optimizer of :mod:`dlcourse.scratch.optimizers` (anything with
        ``apply_gradients``; a fresh one, since it keeps state: one that has already taken a
        step is refused), which updates ``θ`` in place; or a function
        ``step(theta, grad) -> new_theta``, e.g. ``lambda theta, grad: theta - 0.1 * grad``.
    steps : int
        Number of steps, in [0, 1,000,000].
    escape : float > 0
        Stop as soon as ``|θ|`` exceeds this (or is no longer finite): the run has diverged.
        Nothing is computed beyond that point, so no overflow warning is ever raised.

    Returns
    -------
    Trajectory
        ``points`` ``(k + 1, 2)`` with ``k = steps`` unless the run diverged, ``values`` and
        ``diverged``.
    """
    owner = "descend()"
    surface = _check_surface(surface, owner)
    theta = _check_point(start, "start", owner)
    uses_apply = _check_optimizer(optimizer, owner)
    steps = check_int(steps, "steps", owner, minimum=0, maximum=_MAX_STEPS)
    escape = check_number(escape, "escape", owner, low=0, low_open=True)
    points = [theta.copy()]
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            grad = surface.gradient(theta)
            if not np.all(np.isfinite(grad)):
                diverged = True
                break
            if uses_apply:
                optimizer.apply_gradients([(grad, theta)])
            else:
                theta = _step_result(optimizer(theta.copy(), grad), owner)
            points.append(theta.copy())
            if not np.all(np.isfinite(theta)) or np.abs(theta).max() > escape:
                diverged = True
                break
        points = np.array(points)
        finite = np.all(np.isfinite(points), axis=1)
        values = np.full(len(points), np.inf)
        values[finite] = surface(points[finite])
    return Trajectory(points, values, diverged)


def _check_optimizer(optimizer, owner: str) -> bool:
    """True for an optimizer (``apply_gradients``), False for a step function; else an error."""
    if isinstance(optimizer, type):
        raise TypeError(f"{owner}: optimizer must be an optimizer object or a step function, got "
                        f"the class {optimizer.__name__}; create one, e.g. "
                        f"{optimizer.__name__}(learning_rate=0.1)")
    if hasattr(optimizer, "apply_gradients"):
        iterations = getattr(optimizer, "iterations", 0)
        if isinstance(iterations, numbers.Integral) and iterations != 0:
            raise ValueError(f"{owner}: optimizer has already taken {iterations} steps and keeps "
                             "their state (step count, velocities, moments); pass a fresh one")
        return True
    if not callable(optimizer):
        raise TypeError(f"{owner}: optimizer must have apply_gradients() (dlcourse.scratch."
                        f"optimizers) or be a function step(theta, grad), got {optimizer!r}")
    return False


def _step_result(result, owner: str) -> np.ndarray:
    """The new point a step function returned, as float64 ``(2,)`` (NaN and inf: diverged)."""
    if result is None:
        raise TypeError(f"{owner}: optimizer, the step function, returned None; it must return "
                        "the new point theta (is a `return` missing?)")
    theta = check_array(result, "the result of optimizer, the step function,", owner,
                        allow_nonfinite=True)
    if theta.shape != (2,):
        raise ValueError(f"{owner}: optimizer, the step function, returned shape {theta.shape}, "
                         "expected (2,)")
    return theta.astype(np.float64)
