"""Loss surfaces of two parameters, the paths optimizers take on them, and a learning-rate explorer.

A loss of two parameters ``θ = (θ₁, θ₂)`` can be drawn as a contour map, and gradient descent
``θ ← θ − α ∇J(θ)`` as a path on it. That picture explains most of what a learning rate and a
momentum do, so the gradient-descent chapter draws it again and again:

- :class:`Surface`: a function ``J(θ)`` with its gradient and Hessian, evaluated on one point
  ``(2,)`` or on a whole grid ``(..., 2)``; the built-in ones are :func:`bowl`, :func:`valley`,
  :func:`saddle`, :func:`rosenbrock` and :func:`linear_regression` (the mean squared error of a
  line ``ŷ = w x + b`` as a function of ``(w, b)``).
- :func:`descend`: run an optimizer (one of :mod:`dlcourse.scratch.optimizers`, or any function
  ``step(theta, grad) -> new_theta``) from a starting point and record its :class:`Trajectory`,
  stopping cleanly (no NumPy warnings) when it diverges.
- :func:`plot_trajectories`: paths on the contour map of a surface.
- :func:`explore_learning_rate`: sliders for the learning rate and the momentum that redraw the
  path (needs a Python kernel), with two static fallbacks for the website:
  :func:`trajectory_grid` (one panel per setting) and :func:`animate_trajectories` (a Matplotlib
  animation; show it with ``IPython.display.HTML(anim.to_jshtml())``).

Matplotlib and ipywidgets are imported only when a figure or a widget is made.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from dlcourse.plotting import _check_ax, _check_title, _drawing
from dlcourse.validation import check_array, check_bool, check_int, check_number

__all__ = [
    "Surface", "Trajectory", "animate_trajectories", "bowl", "descend", "explore_learning_rate",
    "linear_regression", "plot_surface_contours", "plot_trajectories", "quadratic", "rosenbrock",
    "saddle",
    "trajectory_grid", "valley",
]


# Bounds that keep a call from running for hours: grid points per axis (n² evaluations and a
# contour of n² points), steps of one descent, panels of one figure, frames of one animation.
_MAX_GRID = 2000
_MAX_STEPS = 1_000_000
_MAX_PANELS = 100
_MAX_FRAMES = 1000

# The functions that make a Surface: passing one without calling it is a likely slip.
_MAKERS = ("bowl", "linear_regression", "quadratic", "rosenbrock", "saddle", "valley")


# ================================================================================== checks
def _as_points(theta, owner: str, name: str = "theta") -> np.ndarray:
    """A point ``(2,)`` or points ``(..., 2)`` of finite real numbers, as float64."""
    theta = check_array(theta, name, owner)
    if theta.ndim == 0 or theta.shape[-1] != 2:
        raise ValueError(f"{owner}: {name} must be a point of shape (2,) or points of shape "
                         f"(..., 2), got shape {theta.shape}")
    return theta.astype(np.float64)


def _check_point(value, name: str, owner: str) -> np.ndarray:
    """One point ``(θ₁, θ₂)``: a fresh float64 array of shape ``(2,)``, finite."""
    point = check_array(value, name, owner)
    if point.shape != (2,):
        raise ValueError(f"{owner}: {name} must be a point of shape (2,), got shape "
                         f"{point.shape}")
    return point.astype(np.float64)  # a copy: the caller's array is never updated


def _check_range(value, name: str, owner: str, low: float = -np.inf) -> tuple[float, float]:
    """``(lo, hi)``: two finite numbers with ``low <(=) lo < hi``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list, np.ndarray)) \
            or len(value) != 2:
        raise TypeError(f"{owner}: {name} must be a pair (low, high), got {value!r}")
    lo = check_number(value[0], f"{name}[0]", owner, low=low, low_open=bool(np.isfinite(low)))
    hi = check_number(value[1], f"{name}[1]", owner)
    if not lo < hi:
        raise ValueError(f"{owner}: {name} must be (low, high) with low < high, got {value!r}")
    return lo, hi


def _check_surface(surface, owner: str) -> Surface:
    if not isinstance(surface, Surface):
        maker = getattr(surface, "__name__", None)
        hint = f" (call it: {maker}())" if callable(surface) and maker in _MAKERS else ""
        raise TypeError(f"{owner}: surface must be a Surface such as surfaces.valley(), got "
                        f"{type(surface).__name__}{hint}")
    return surface


def _check_column(values, name: str, owner: str) -> np.ndarray:
    """Data of shape ``(N,)`` or ``(N, 1)`` as a float64 vector ``(N,)``."""
    values = check_array(values, name, owner, ndim=(1, 2))
    if values.ndim == 2 and values.shape[1] != 1:
        raise ValueError(f"{owner}: {name} must have shape (N,) or (N, 1), got shape "
                         f"{values.shape}")
    return values.astype(np.float64).reshape(-1)


def _check_numbers(values, name: str, owner: str, low: float, high: float = np.inf,
                   low_open: bool = False) -> list[float]:
    """A non-empty list of numbers in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)) \
            or np.ndim(values) != 1:
        raise TypeError(f"{owner}: {name} must be a list of numbers, got {values!r}")
    if len(values) == 0:
        raise ValueError(f"{owner}: {name} must hold at least one value, got none")
    return [check_number(v, f"{name}[{i}]", owner, low, high, low_open=low_open)
            for i, v in enumerate(values)]


# ================================================================================== surfaces
@dataclass(frozen=True)
class Surface:
    r"""A loss ``J(θ)`` of two parameters, with its gradient and Hessian.

    Every method takes ``theta`` of shape ``(2,)`` (one point) or ``(..., 2)`` (a grid of points,
    the last axis holding ``(θ₁, θ₂)``), in float64.

    Parameters
    ----------
    name : str
        Short name, used in titles.
    formula : str
        The formula in LaTeX (without dollars), for captions.
    value, gradient, hessian : callable
        ``value(t1, t2) -> J`` and ``gradient(t1, t2) -> (dJ/dθ₁, dJ/dθ₂)``,
        ``hessian(t1, t2) -> ((J₁₁, J₁₂), (J₂₁, J₂₂))``, elementwise on arrays of any shape.
    minima : tuple of (float, float)
        The minimisers, drawn as stars (empty if ``J`` is unbounded below).
    xlim, ylim : (float, float)
        The region drawn by the plotting functions, ``low < high``.
    log_levels : bool
        Contour levels spaced geometrically above the minimum (good for steep surfaces such as
        :func:`rosenbrock`) rather than evenly.

    Every argument is checked at construction; ``minima``, ``xlim`` and ``ylim`` are stored as
    tuples of floats.

    Examples
    --------
    >>> surface = valley()
    >>> surface([1.0, 1.0]), surface.gradient([1.0, 1.0])
    (5.5, array([ 1., 10.]))
    """

    name: str
    formula: str
    value: Callable = field(repr=False)
    gradient_fn: Callable = field(repr=False)
    hessian_fn: Callable = field(repr=False)
    minima: tuple = ()
    xlim: tuple = (-2.0, 2.0)
    ylim: tuple = (-2.0, 2.0)
    log_levels: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"Surface: name must be a str, got {self.name!r}")
        owner = f"Surface '{self.name}'"
        if not isinstance(self.formula, str):
            raise TypeError(f"{owner}: formula must be a str (LaTeX), got {self.formula!r}")
        for name in ("value", "gradient_fn", "hessian_fn"):
            if not callable(getattr(self, name)):
                raise TypeError(f"{owner}: {name} must be a function of (t1, t2), got "
                                f"{getattr(self, name)!r}")
        if isinstance(self.minima, (str, bytes)) \
                or not isinstance(self.minima, (tuple, list, np.ndarray)):
            raise TypeError(f"{owner}: minima must be a tuple of points (θ₁, θ₂), got "
                            f"{self.minima!r}")
        minima = tuple(tuple(float(v) for v in _check_point(m, f"minima[{i}]", owner))
                       for i, m in enumerate(self.minima))
        object.__setattr__(self, "minima", minima)
        object.__setattr__(self, "xlim", _check_range(self.xlim, "xlim", owner))
        object.__setattr__(self, "ylim", _check_range(self.ylim, "ylim", owner))
        check_bool(self.log_levels, "log_levels", owner)

    def __call__(self, theta) -> float | np.ndarray:
        """``J(θ)``: a float for one point, an array of shape ``(...)`` for points ``(..., 2)``."""
        owner = f"Surface '{self.name}'"
        theta = _as_points(theta, owner)
        out = self.value(theta[..., 0], theta[..., 1])
        return float(out) if theta.ndim == 1 else out

    def gradient(self, theta) -> np.ndarray:
        """``∇J(θ)``, of the same shape as ``theta``: ``(2,)`` or ``(..., 2)``."""
        theta = _as_points(theta, f"Surface '{self.name}'.gradient()")
        g1, g2 = self.gradient_fn(theta[..., 0], theta[..., 1])
        return np.stack(np.broadcast_arrays(g1, g2), axis=-1).astype(np.float64)

    def hessian(self, theta) -> np.ndarray:
        """The matrix of second derivatives ``∂²J/∂θᵢ∂θⱼ``: ``(2, 2)`` or ``(..., 2, 2)``."""
        theta = _as_points(theta, f"Surface '{self.name}'.hessian()")
        rows = self.hessian_fn(theta[..., 0], theta[..., 1])
        h = [np.stack(np.broadcast_arrays(*row), axis=-1) for row in rows]
        return np.stack(h, axis=-2).astype(np.float64)

    def max_stable_learning_rate(self, theta=None) -> float:
        r"""``2 / λ_max``, the largest learning rate for which gradient descent does not diverge.

        Near a minimum ``θ*`` the loss is close to the quadratic
        ``J(θ*) + ½ (θ − θ*)ᵀ H (θ − θ*)``, on which a gradient-descent step multiplies the
        distance to ``θ*`` along each eigenvector of the Hessian ``H`` by ``1 − α λ``. It
        shrinks for every eigenvalue ``λ`` only if ``α < 2 / λ_max``. (Exact for the quadratic
        surfaces :func:`bowl`, :func:`valley` and :func:`linear_regression`.)

        Parameters
        ----------
        theta : (2,) array, optional
            Where to take the Hessian; by default at the first minimum.
        """
        owner = f"Surface '{self.name}'.max_stable_learning_rate()"
        if theta is None:
            if not self.minima:
                raise ValueError(f"{owner}: the surface has no minimum; pass theta")
            theta = self.minima[0]
        hessian = self.hessian(_check_point(theta, "theta", owner))
        if not np.isfinite(hessian).all():
            raise ValueError(f"{owner}: the Hessian at {theta} is not finite")
        lam = np.linalg.eigvalsh(hessian).max()
        if lam <= 0:
            raise ValueError(f"{owner}: the Hessian at {theta} has no positive eigenvalue, so no "
                             "learning rate is too large there")
        return float(2.0 / lam)

    def grid(self, n: int = 121, xlim=None, ylim=None):
        """``(T1, T2, J)`` on an ``n × n`` grid over ``xlim × ylim``, for ``contour``.

        ``n`` is an integer in [2, 2000]; ``xlim`` and ``ylim`` default to the surface's.
        """
        owner = f"Surface '{self.name}'.grid()"
        n = check_int(n, "n", owner, minimum=2, maximum=_MAX_GRID)
        xlim = self.xlim if xlim is None else _check_range(xlim, "xlim", owner)
        ylim = self.ylim if ylim is None else _check_range(ylim, "ylim", owner)
        t1, t2 = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
        return t1, t2, self.value(t1, t2)


def _coef(c: float) -> str:
    return "" if c == 1 else rf"{c:g}\,"


def quadratic(a: float, b: float, name: str = "quadratic", xlim=(-2.0, 2.0),
              ylim=(-2.0, 2.0)) -> Surface:
    r"""The axis-aligned quadratic ``J(θ) = ½ (a θ₁² + b θ₂²)``, minimum 0 at the origin.

    Its Hessian is ``diag(a, b)``: the curvatures along the two axes. With ``a = b`` the contours
    are circles; with ``b ≫ a``, a long narrow valley along θ₁. ``a`` and ``b`` are positive
    (otherwise the origin is no minimum).
    """
    return _quadratic(a, b, name, xlim, ylim, "quadratic()")


def _quadratic(a, b, name, xlim, ylim, owner: str) -> Surface:
    a = check_number(a, "a", owner, low=0, low_open=True)
    b = check_number(b, "b", owner, low=0, low_open=True)
    if not isinstance(name, str):
        raise TypeError(f"{owner}: name must be a str, got {name!r}")
    xlim, ylim = _check_range(xlim, "xlim", owner), _check_range(ylim, "ylim", owner)
    return Surface(
        name=name,
        formula=rf"J(\theta) = \frac{{1}}{{2}} ({_coef(a)}\theta_1^2 + {_coef(b)}\theta_2^2)",
        value=lambda t1, t2: 0.5 * (a * t1**2 + b * t2**2),
        gradient_fn=lambda t1, t2: (a * t1, b * t2),
        hessian_fn=lambda t1, t2: ((a + 0 * t1, 0 * t1), (0 * t1, b + 0 * t1)),
        minima=((0.0, 0.0),), xlim=xlim, ylim=ylim)


def bowl() -> Surface:
    r"""A round bowl, ``J(θ) = ½ (θ₁² + θ₂²)``: the gradient points straight at the minimum."""
    return quadratic(1.0, 1.0, name="bowl")


def valley(steepness: float = 20.0) -> Surface:
    r"""An elongated valley, ``J(θ) = ½ (θ₁² + s θ₂²)`` with ``s = steepness`` (default 20).

    The walls are ``s`` times steeper than the floor, so a learning rate small enough for the
    walls (``α < 2/s``) crawls along the floor: the classic case for momentum and Adam.
    ``steepness`` is a positive number.
    """
    steepness = check_number(steepness, "steepness", "valley()", low=0, low_open=True)
    return _quadratic(1.0, steepness, "valley", (-3.0, 3.0), (-1.5, 1.5), "valley()")


def saddle() -> Surface:
    r"""Two valleys with a saddle point between them: ``J(θ) = ½ θ₁² + ¼ θ₂⁴ − ½ θ₂²``.

    The origin is a saddle point (the gradient is zero, the curvature is +1 along θ₁ and −1
    along θ₂); the minima are ``(0, ±1)`` with ``J = −1/4``. Gradient descent started on the line
    ``θ₂ = 0`` stops at the saddle; started just beside it, it slows down there, then escapes.
    """
    return Surface(
        name="saddle",
        formula=(r"J(\theta) = \frac{1}{2} \theta_1^2 + \frac{1}{4} \theta_2^4"
                 r" - \frac{1}{2} \theta_2^2"),
        value=lambda t1, t2: 0.5 * t1**2 + 0.25 * t2**4 - 0.5 * t2**2,
        gradient_fn=lambda t1, t2: (t1, t2**3 - t2),
        hessian_fn=lambda t1, t2: ((1.0 + 0 * t1, 0 * t1), (0 * t1, 3 * t2**2 - 1)),
        minima=((0.0, -1.0), (0.0, 1.0)), xlim=(-2.0, 2.0), ylim=(-1.6, 1.6))


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    r"""Rosenbrock's banana-shaped valley, ``J(θ) = (a − θ₁)² + b (θ₂ − θ₁²)²``.

    The minimum ``(a, a²)`` lies at the bottom of a curved, flat-floored valley: easy to find
    the valley, slow to follow it to the minimum. A standard test of optimizers. ``a`` is any
    finite number, ``b`` a positive one (with ``b <= 0`` there is no such valley and
    ``(a, a²)`` is no minimum).
    """
    a = check_number(a, "a", "rosenbrock()")
    b = check_number(b, "b", "rosenbrock()", low=0, low_open=True)
    return Surface(
        name="Rosenbrock",
        formula=rf"J(\theta) = ({a:g} - \theta_1)^2 + {b:g}\,(\theta_2 - \theta_1^2)^2",
        value=lambda t1, t2: (a - t1) ** 2 + b * (t2 - t1**2) ** 2,
        gradient_fn=lambda t1, t2: (-2 * (a - t1) - 4 * b * t1 * (t2 - t1**2),
                                    2 * b * (t2 - t1**2)),
        hessian_fn=lambda t1, t2: ((2 - 4 * b * (t2 - 3 * t1**2), -4 * b * t1),
                                   (-4 * b * t1, 2 * b + 0 * t1)),
        minima=((a, a * a),), xlim=(-2.0, 2.0), ylim=(-1.0, 3.0), log_levels=True)


def linear_regression(x, y, margin: float = 2.0) -> Surface:
    r"""The mean squared error of the line ``ŷ = w x + b`` on data ``(x, y)``, as a function of
    ``θ = (w, b)``.

    .. math::

        J(w, b) = \frac1N \sum_n (w x_n + b - y_n)^2, \qquad
        \frac{\partial J}{\partial w} = \frac2N \sum_n (w x_n + b - y_n)\, x_n, \qquad
        \frac{\partial J}{\partial b} = \frac2N \sum_n (w x_n + b - y_n).

    It is a quadratic bowl whose shape depends on the data: its Hessian is
    ``2 [[mean x², mean x], [mean x, 1]]``. The minimum is the least-squares line.

    Parameters
    ----------
    x, y : arrays of shape ``(N,)`` or ``(N, 1)``
        The inputs and targets, finite; ``x`` takes at least two different values (else the
        minimum is not one line but a whole family of them).
    margin : float > 0
        The plotted region extends this far on each side of the minimum.
    """
    owner = "linear_regression()"
    x, y = _check_column(x, "x", owner), _check_column(y, "y", owner)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"{owner}: x and y must hold the same number (at least 2) of values, "
                         f"got {x.size} and {y.size}")
    if np.all(x == x[0]):
        raise ValueError(f"{owner}: x must take at least two different values, got only "
                         f"{x[0]:g}: every line through the mean of y at x = {x[0]:g} fits "
                         "equally well, so there is no single minimum")
    margin = check_number(margin, "margin", owner, low=0, low_open=True)
    n = x.size
    sx, sxx, sy, sxy, syy = x.sum(), x @ x, y.sum(), x @ y, y @ y
    # Sums of the data, so that a whole grid of (w, b) costs no more than one point.
    value = lambda w, b: (w * w * sxx + 2 * w * b * sx + n * b * b  # noqa: E731
                          - 2 * w * sxy - 2 * b * sy + syy) / n
    gradient = lambda w, b: (2 * (w * sxx + b * sx - sxy) / n,  # noqa: E731
                             2 * (w * sx + n * b - sy) / n)
    hessian = lambda w, b: ((2 * sxx / n + 0 * w, 2 * sx / n + 0 * w),  # noqa: E731
                            (2 * sx / n + 0 * w, 2.0 + 0 * w))
    design = np.stack([x, np.ones_like(x)], axis=1)
    w_star, b_star = np.linalg.lstsq(design, y, rcond=None)[0]
    return Surface(
        name="linear regression",
        formula=r"J(w, b) = \frac{1}{N} \sum_n (w x_n + b - y_n)^2",
        value=value, gradient_fn=gradient, hessian_fn=hessian,
        minima=((float(w_star), float(b_star)),),
        xlim=(w_star - margin, w_star + margin), ylim=(b_star - margin, b_star + margin))


# ================================================================================== descent
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


# ================================================================================== plots
def _levels(surface: Surface, z: np.ndarray, count: int = 20) -> np.ndarray:
    lo, hi = float(np.min(z)), float(np.max(z))
    if surface.log_levels:
        # From 0.01 above the minimum, or less on a region where J varies by less than that.
        return lo + np.geomspace(1e-2 if hi - lo > 1e-2 else (hi - lo) / 100, hi - lo, count)
    # Denser near the bottom, where the paths end: even in sqrt(J - min).
    return lo + (hi - lo) * np.linspace(0, 1, count + 1)[1:] ** 2


def _contour_data(surface: Surface, n: int, xlim, ylim, owner: str):
    """``(T1, T2, J)`` on the grid, checked drawable: finite, of the grid's shape, not flat."""
    t1, t2, z = surface.grid(n, xlim, ylim)
    z = np.asarray(z)
    if z.shape != t1.shape or not (np.issubdtype(z.dtype, np.integer)
                                   or np.issubdtype(z.dtype, np.floating)):
        raise ValueError(f"{owner}: the surface's value function must return real numbers of "
                         f"the grid's shape {t1.shape}, got {z.dtype} of shape {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError(f"{owner}: the surface '{surface.name}' is not finite everywhere over "
                         f"xlim × ylim = {tuple(xlim)} × {tuple(ylim)}; draw a smaller region")
    if z.min() == z.max():
        raise ValueError(f"{owner}: the surface '{surface.name}' is flat over xlim × ylim = "
                         f"{tuple(xlim)} × {tuple(ylim)}: there is no contour to draw")
    return t1, t2, z


def _draw_contours(surface: Surface, ax, data, filled: bool, xlim, ylim) -> None:
    t1, t2, z = data
    levels = _levels(surface, z)
    if filled:  # from the lowest value up, so the region around a minimum is filled too
        ax.contourf(t1, t2, z, levels=np.concatenate([[z.min()], levels]), cmap="Blues_r",
                    alpha=0.55, extend="max")
    ax.contour(t1, t2, z, levels=levels, colors="0.45", linewidths=0.5)
    for m in surface.minima:
        ax.plot(*m, marker="*", color="gold", markeredgecolor="k", markersize=13, zorder=5,
                linestyle="none")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.set_aspect("equal", adjustable="box")


def _check_region(surface: Surface, xlim, ylim, owner: str):
    xlim = surface.xlim if xlim is None else _check_range(xlim, "xlim", owner)
    ylim = surface.ylim if ylim is None else _check_range(ylim, "ylim", owner)
    return xlim, ylim


def plot_surface_contours(surface: Surface, ax=None, n: int = 121, filled: bool = True,
                          xlim=None, ylim=None):
    """The contour map of ``surface`` with its minima as stars; returns the ``Axes``.

    Parameters
    ----------
    surface : Surface
    ax : Axes, optional
        Where to draw; a new figure by default.
    n : int
        Grid points per axis, in [2, 2000].
    filled : bool
        Shade between the contour lines.
    xlim, ylim : (float, float), optional
        The region drawn (default: the surface's).
    """
    owner = "plot_surface_contours()"
    surface = _check_surface(surface, owner)
    ax = _check_ax(ax, owner)
    n = check_int(n, "n", owner, minimum=2, maximum=_MAX_GRID)
    filled = check_bool(filled, "filled", owner)
    xlim, ylim = _check_region(surface, xlim, ylim, owner)
    data = _contour_data(surface, n, xlim, ylim, owner)
    with _drawing(ax, (4.5, 4)) as ax:
        _draw_contours(surface, ax, data, filled, xlim, ylim)
    return ax


def _check_paths(trajectories, owner: str) -> dict:
    """Label → points ``(k, 2)`` (float64, k >= 1; NaN and inf allowed: a diverged path)."""
    if not isinstance(trajectories, Mapping):
        raise TypeError(f"{owner}: trajectories must be a dict of label → Trajectory or points "
                        f"(k, 2), got {type(trajectories).__name__}")
    paths = {}
    for label, path in trajectories.items():
        name = f"trajectories[{label!r}]"
        points = check_array(path.points if isinstance(path, Trajectory) else path, name, owner,
                             allow_nonfinite=True)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
            raise ValueError(f"{owner}: {name} must be a Trajectory or points of shape (k, 2) "
                             f"with k >= 1, got shape {points.shape}")
        paths[label] = points.astype(np.float64)
    return paths


def _draw_paths(surface: Surface, ax, paths: dict, title, markers: bool, legend: bool,
                data, filled: bool, xlim, ylim) -> None:
    _draw_contours(surface, ax, data, filled, xlim, ylim)
    for i, (label, p) in enumerate(paths.items()):
        color = f"C{i}"
        ax.plot(p[:, 0], p[:, 1], color=color, linewidth=1.6, label=label,
                marker="o" if markers else None, markersize=2.5)
        ax.plot(*p[0], marker="o", markersize=7, markerfacecolor="white", markeredgecolor=color,
                linestyle="none", zorder=6)
    if title:
        ax.set_title(title, fontsize="medium")
    if legend and paths:
        ax.legend(fontsize="small", loc="upper right", framealpha=0.9)


def plot_trajectories(surface: Surface, trajectories: Mapping, ax=None, title: str | None = None,
                      markers: bool = True, legend: bool = True, xlim=None, ylim=None, *,
                      n: int = 121, filled: bool = True):
    """Paths on the contour map of ``surface``.

    Parameters
    ----------
    surface : Surface
    trajectories : dict
        Label → :class:`Trajectory` or array of points ``(k, 2)``; each drawn in its own colour,
        from a hollow circle at the start. A path that diverged is drawn until it leaves the map.
    ax : Axes, optional
    title : str, optional
    markers : bool
        Dots on every point (turn off for paths of hundreds of steps).
    legend : bool
    xlim, ylim : (float, float), optional
        The region drawn (default: the surface's).
    n, filled
        As for :func:`plot_surface_contours`.

    Returns
    -------
    Axes
    """
    owner = "plot_trajectories()"
    surface = _check_surface(surface, owner)
    paths = _check_paths(trajectories, owner)
    ax = _check_ax(ax, owner)
    title = _check_title(title, owner)
    markers = check_bool(markers, "markers", owner)
    legend = check_bool(legend, "legend", owner)
    n = check_int(n, "n", owner, minimum=2, maximum=_MAX_GRID)
    filled = check_bool(filled, "filled", owner)
    xlim, ylim = _check_region(surface, xlim, ylim, owner)
    data = _contour_data(surface, n, xlim, ylim, owner)
    with _drawing(ax, (4.5, 4)) as ax:
        _draw_paths(surface, ax, paths, title, markers, legend, data, filled, xlim, ylim)
    return ax


def _setting_label(learning_rate: float, momentum: float) -> str:
    label = rf"$\alpha = {learning_rate:g}$"
    return label + (rf", $\mu = {momentum:g}$" if momentum else "")


def _sgd_path(surface, start, learning_rate, momentum, steps):
    from dlcourse.scratch.optimizers import SGD

    return descend(surface, start, SGD(learning_rate=learning_rate, momentum=momentum), steps)


def trajectory_grid(surface: Surface, start, learning_rates: Sequence[float],
                    momenta: Sequence[float] = (0.0,), steps: int = 30, size: float = 2.6):
    """The static fallback of :func:`explore_learning_rate`: one panel per setting.

    Each panel shows the path of ``SGD(learning_rate, momentum)`` (from
    :mod:`dlcourse.scratch.optimizers`) for ``steps`` steps from ``start``, titled with the
    setting and the loss before and after (or "diverged").

    Parameters
    ----------
    surface : Surface
    start : (2,) array_like
    learning_rates : sequence of float > 0
        One column each.
    momenta : sequence of float in [0, 1]
        One row each (at most 100 panels in all).
    steps : int
    size : float > 0
        Size of a panel, in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    owner = "trajectory_grid()"
    surface = _check_surface(surface, owner)
    start = _check_point(start, "start", owner)
    learning_rates = _check_numbers(learning_rates, "learning_rates", owner, 0, low_open=True)
    momenta = _check_numbers(momenta, "momenta", owner, 0, 1)
    if len(learning_rates) * len(momenta) > _MAX_PANELS:
        raise ValueError(f"{owner}: learning_rates and momenta must give at most {_MAX_PANELS} "
                         f"panels, got {len(momenta)} × {len(learning_rates)}")
    steps = check_int(steps, "steps", owner, minimum=0, maximum=_MAX_STEPS)
    size = check_number(size, "size", owner, low=0, low_open=True)
    data = _contour_data(surface, 81, surface.xlim, surface.ylim, owner)

    import matplotlib.pyplot as plt

    aspect = (surface.ylim[1] - surface.ylim[0]) / (surface.xlim[1] - surface.xlim[0])
    fig, axes = plt.subplots(len(momenta), len(learning_rates), squeeze=False,
                             figsize=(size * len(learning_rates),
                                      (size * aspect + 0.8) * len(momenta)),
                             layout="constrained", sharex=True, sharey=True)
    try:
        for i, momentum in enumerate(momenta):
            for j, lr in enumerate(learning_rates):
                path = _sgd_path(surface, start, lr, momentum, steps)
                ax = axes[i, j]
                _draw_paths(surface, ax, {"": path.points}, None, True, False, data, True,
                            surface.xlim, surface.ylim)
                outcome = ("diverged" if path.diverged
                           else f"J: {path.values[0]:.2g} → {path.values[-1]:.2g}")
                ax.set_title(f"{_setting_label(lr, momentum)}\n{outcome}", fontsize="small")
                if i < len(momenta) - 1:
                    ax.set_xlabel("")
                if j > 0:
                    ax.set_ylabel("")
    except BaseException:
        plt.close(fig)  # no half-drawn figure left behind
        raise
    return fig


def animate_trajectories(surface: Surface, trajectories: Mapping, interval: int = 120,
                         title: str | None = None, figsize=(4.6, 4.2), dpi: int = 72,
                         filled: bool = False):
    """A Matplotlib animation drawing each path one step per frame, all at once.

    Show it in a notebook with ``IPython.display.HTML(anim.to_jshtml())``: a player whose frames
    are embedded as images and whose script is inline. In a chapter, give that cell a caption
    and alt text in its metadata, as for any figure (the book's build puts the alt text on the
    frames). The figure is made without pyplot, so it is not shown a second time as a still
    image and needs no closing.

    Parameters
    ----------
    surface : Surface
    trajectories : dict
        Label → :class:`Trajectory` or points ``(k, 2)``, at least one; the animation has as
        many frames as the longest path has points (at most 1,000).
    interval : int >= 1
        Milliseconds between frames.
    title : str, optional
    figsize, dpi
        Size of the frames (each frame is stored as an image in the page: keep them small):
        two positive numbers (inches) and an integer in [1, 600].
    filled : bool
        Shade the contour map. Plain contour lines (the default) make frames several times
        smaller and faster to render.

    Returns
    -------
    matplotlib.animation.FuncAnimation
    """
    owner = "animate_trajectories()"
    surface = _check_surface(surface, owner)
    paths = _check_paths(trajectories, owner)
    if not paths:
        raise ValueError(f"{owner}: trajectories must hold at least one path (no trajectories "
                         "given)")
    frames = max(len(p) for p in paths.values())
    if frames > _MAX_FRAMES:
        raise ValueError(f"{owner}: trajectories must have at most {_MAX_FRAMES} points each "
                         f"(one frame per point), got {frames}; pass every k-th point")
    interval = check_int(interval, "interval", owner, minimum=1)
    title = _check_title(title, owner)
    figsize = _check_size(figsize, owner)
    dpi = check_int(dpi, "dpi", owner, minimum=1, maximum=600)
    filled = check_bool(filled, "filled", owner)
    data = _contour_data(surface, 81, surface.xlim, surface.ylim, owner)

    from matplotlib.animation import FuncAnimation
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    ax = fig.subplots()
    _draw_contours(surface, ax, data, filled, surface.xlim, surface.ylim)
    lines = []
    for i, (label, p) in enumerate(paths.items()):
        color = f"C{i}"
        ax.plot(*p[0], marker="o", markersize=7, markerfacecolor="white",
                markeredgecolor=color, linestyle="none", zorder=6)
        (line,) = ax.plot([], [], color=color, marker="o", markersize=2.5, linewidth=1.6,
                          label=label)
        lines.append(line)
    ax.legend(fontsize="small", loc="upper right", framealpha=0.9)
    heading = ax.set_title("", fontsize="medium")

    def draw(frame):
        for line, p in zip(lines, paths.values(), strict=True):
            shown = p[:frame + 1]
            line.set_data(shown[:, 0], shown[:, 1])
        heading.set_text(f"{title + ': ' if title else ''}step {frame}")
        return [*lines, heading]

    return FuncAnimation(fig, draw, frames=frames, interval=interval, blit=False)


def _check_size(figsize, owner: str) -> tuple[float, float]:
    """A figure size: two positive numbers (inches), at most 100."""
    if isinstance(figsize, (str, bytes)) or not isinstance(figsize, (tuple, list, np.ndarray)) \
            or len(figsize) != 2:
        raise TypeError(f"{owner}: figsize must be a pair (width, height) in inches, got "
                        f"{figsize!r}")
    return tuple(check_number(v, f"figsize[{i}]", owner, 0, 100, low_open=True)
                 for i, v in enumerate(figsize))


def explore_learning_rate(surface: Surface, start, steps: int = 30, learning_rate: float = 0.1,
                          momentum: float = 0.0, lr_range: tuple[float, float] = (1e-3, 1.0)):
    """Sliders for the learning rate and the momentum that redraw the path (needs a kernel).

    The path is that of ``SGD(learning_rate, momentum)`` from :mod:`dlcourse.scratch.optimizers`
    for ``steps`` steps from ``start``. On the website, which has no kernel, the sliders do
    nothing: show :func:`trajectory_grid` or :func:`animate_trajectories` beside the widget.

    Parameters
    ----------
    surface : Surface
    start : (2,) array_like
    steps : int
    learning_rate, momentum : float
        The initial positions of the sliders: ``learning_rate`` within ``lr_range``,
        ``momentum`` in [0, 0.99] (a slider would move a value outside its range silently).
    lr_range : (float, float)
        The learning-rate slider's range, ``0 < low < high``; it is logarithmic.

    Returns
    -------
    ipywidgets.interactive
        Display it (make it the last expression of a cell).
    """
    owner = "explore_learning_rate()"
    surface = _check_surface(surface, owner)
    start = _check_point(start, "start", owner)
    steps = check_int(steps, "steps", owner, minimum=0, maximum=_MAX_STEPS)
    lr_range = _check_range(lr_range, "lr_range", owner, low=0)
    learning_rate = check_number(learning_rate, "learning_rate", owner, *lr_range)
    momentum = check_number(momentum, "momentum", owner, 0, 0.99)

    import ipywidgets
    import matplotlib.pyplot as plt

    def show(learning_rate, momentum):
        path = _sgd_path(surface, start, learning_rate, momentum, steps)
        outcome = ("diverged" if path.diverged
                   else f"after {steps} steps J = {path.values[-1]:.3g}")
        data = _contour_data(surface, 121, surface.xlim, surface.ylim, owner)
        with _drawing(None, (4.8, 4.3)) as ax:
            _draw_paths(surface, ax, {_setting_label(learning_rate, momentum): path.points},
                        f"{surface.name}: {outcome}", True, True, data, True, surface.xlim,
                        surface.ylim)
        plt.show()

    lo, hi = np.log10(lr_range[0]), np.log10(lr_range[1])
    controls = dict(
        learning_rate=ipywidgets.FloatLogSlider(value=learning_rate, base=10, min=lo, max=hi,
                                                step=0.05, description="learning rate",
                                                readout_format=".3g", continuous_update=False,
                                                style={"description_width": "initial"}),
        momentum=ipywidgets.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01,
                                        description="momentum", continuous_update=False,
                                        style={"description_width": "initial"}),
    )
    return ipywidgets.interactive(show, **controls)
