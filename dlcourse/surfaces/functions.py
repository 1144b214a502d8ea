"""Loss surfaces of two parameters: a function ``J(θ)`` with its exact gradient and Hessian.

:class:`Surface` evaluates ``J``, ``∇J`` and the Hessian on one point ``(2,)`` or on a whole grid
``(..., 2)``; the built-in surfaces are :func:`quadratic`, :func:`bowl`, :func:`valley`,
:func:`saddle`, :func:`rosenbrock` and :func:`linear_regression` (the mean squared error of a
line ``ŷ = w x + b`` as a function of ``(w, b)``). NumPy only.

The argument checks shared by the whole of :mod:`dlcourse.surfaces` (a point, a range, a
surface) live here too, beside the :class:`Surface` they describe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dlcourse.validation import check_array, check_bool, check_int, check_number

__all__ = ["Surface", "bowl", "linear_regression", "quadratic", "rosenbrock", "saddle", "valley"]

# Grid points per axis at most: a grid costs n² evaluations and a contour of n² points.
_MAX_GRID = 2000

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
