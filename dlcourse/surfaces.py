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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = [
    "Surface", "Trajectory", "animate_trajectories", "bowl", "descend", "explore_learning_rate",
    "linear_regression", "plot_surface_contours", "plot_trajectories", "quadratic", "rosenbrock",
    "saddle",
    "trajectory_grid", "valley",
]


# ================================================================================== surfaces
def _as_points(theta, owner: str) -> np.ndarray:
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim == 0 or theta.shape[-1] != 2:
        raise ValueError(f"{owner}: expected a point of shape (2,) or points of shape (..., 2), "
                         f"got shape {theta.shape}")
    return theta


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
        The region drawn by the plotting functions.
    log_levels : bool
        Contour levels spaced geometrically above the minimum (good for steep surfaces such as
        :func:`rosenbrock`) rather than evenly.

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

    def __call__(self, theta) -> float | np.ndarray:
        """``J(θ)``: a float for one point, an array of shape ``(...)`` for points ``(..., 2)``."""
        theta = _as_points(theta, f"Surface '{self.name}'")
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
        if theta is None:
            if not self.minima:
                raise ValueError(f"Surface '{self.name}': no minimum; pass theta")
            theta = self.minima[0]
        lam = np.linalg.eigvalsh(self.hessian(theta)).max()
        if lam <= 0:
            raise ValueError(f"Surface '{self.name}': the Hessian at {theta} has no positive "
                             "eigenvalue, so no learning rate is too large there")
        return float(2.0 / lam)

    def grid(self, n: int = 121, xlim=None, ylim=None):
        """``(T1, T2, J)`` on an ``n × n`` grid over ``xlim × ylim``, for ``contour``."""
        xlim = self.xlim if xlim is None else xlim
        ylim = self.ylim if ylim is None else ylim
        t1, t2 = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
        return t1, t2, self.value(t1, t2)


def _coef(c: float) -> str:
    return "" if c == 1 else rf"{c:g}\,"


def quadratic(a: float, b: float, name: str = "quadratic", xlim=(-2.0, 2.0),
              ylim=(-2.0, 2.0)) -> Surface:
    r"""The axis-aligned quadratic ``J(θ) = ½ (a θ₁² + b θ₂²)``, minimum 0 at the origin.

    Its Hessian is ``diag(a, b)``: the curvatures along the two axes. With ``a = b`` the contours
    are circles; with ``b ≫ a``, a long narrow valley along θ₁.
    """
    for arg, v in (("a", a), ("b", b)):
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"quadratic(): {arg} must be a positive number, got {v!r}")

    return Surface(
        name=name,
        formula=rf"J(\theta) = \frac{{1}}{{2}} ({_coef(a)}\theta_1^2 + {_coef(b)}\theta_2^2)",
        value=lambda t1, t2: 0.5 * (a * t1**2 + b * t2**2),
        gradient_fn=lambda t1, t2: (a * t1, b * t2),
        hessian_fn=lambda t1, t2: ((a + 0 * t1, 0 * t1), (0 * t1, b + 0 * t1)),
        minima=((0.0, 0.0),), xlim=tuple(xlim), ylim=tuple(ylim))


def bowl() -> Surface:
    r"""A round bowl, ``J(θ) = ½ (θ₁² + θ₂²)``: the gradient points straight at the minimum."""
    return quadratic(1.0, 1.0, name="bowl")


def valley(steepness: float = 20.0) -> Surface:
    r"""An elongated valley, ``J(θ) = ½ (θ₁² + s θ₂²)`` with ``s = steepness`` (default 20).

    The walls are ``s`` times steeper than the floor, so a learning rate small enough for the
    walls (``α < 2/s``) crawls along the floor: the classic case for momentum and Adam.
    """
    return quadratic(1.0, steepness, name="valley", xlim=(-3.0, 3.0), ylim=(-1.5, 1.5))


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
    the valley, slow to follow it to the minimum. A standard test of optimizers.
    """
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
        The inputs and targets.
    margin : float
        The plotted region extends this far on each side of the minimum.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"linear_regression(): x and y must hold the same number (at least 2) "
                         f"of values, got {x.size} and {y.size}")
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
        The starting point ``θ₀``.
    optimizer : optimizer or callable
        Either an optimizer of :mod:`dlcourse.scratch.optimizers` (anything with
        ``apply_gradients``; a fresh one, since it keeps state), which updates ``θ`` in place;
        or a function ``step(theta, grad) -> new_theta``, e.g.
        ``lambda theta, grad: theta - 0.1 * grad``.
    steps : int
        Number of steps.
    escape : float
        Stop as soon as ``|θ|`` exceeds this (or is no longer finite): the run has diverged.
        Nothing is computed beyond that point, so no overflow warning is ever raised.

    Returns
    -------
    Trajectory
        ``points`` ``(k + 1, 2)`` with ``k = steps`` unless the run diverged, ``values`` and
        ``diverged``.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"descend(): steps must be an integer >= 0, got {steps!r}")
    theta = np.array(start, dtype=np.float64)
    if theta.shape != (2,):
        raise ValueError(f"descend(): start must be a point of shape (2,), got {theta.shape}")
    uses_apply = hasattr(optimizer, "apply_gradients")
    if not uses_apply and not callable(optimizer):
        raise TypeError("descend(): optimizer must have apply_gradients() (dlcourse.scratch."
                        f"optimizers) or be a function step(theta, grad), got {optimizer!r}")
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
                theta = np.array(optimizer(theta.copy(), grad), dtype=np.float64)
                if theta.shape != (2,):
                    raise ValueError(f"descend(): the step function returned shape "
                                     f"{theta.shape}, expected (2,)")
            points.append(theta.copy())
            if not np.all(np.isfinite(theta)) or np.abs(theta).max() > escape:
                diverged = True
                break
        points = np.array(points)
        finite = np.all(np.isfinite(points), axis=1)
        values = np.full(len(points), np.inf)
        values[finite] = surface(points[finite])
    return Trajectory(points, values, diverged)


# ================================================================================== plots
def _levels(surface: Surface, z: np.ndarray, count: int = 20) -> np.ndarray:
    lo, hi = float(np.min(z)), float(np.max(z))
    if surface.log_levels:
        return lo + np.geomspace(1e-2, hi - lo, count)
    # Denser near the bottom, where the paths end: even in sqrt(J - min).
    return lo + (hi - lo) * np.linspace(0, 1, count + 1)[1:] ** 2


def plot_surface_contours(surface: Surface, ax=None, n: int = 121, filled: bool = True,
                          xlim=None, ylim=None):
    """The contour map of ``surface`` with its minima as stars; returns the ``Axes``."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
    xlim = surface.xlim if xlim is None else xlim
    ylim = surface.ylim if ylim is None else ylim
    t1, t2, z = surface.grid(n, xlim, ylim)
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
    return ax


def _points(path) -> np.ndarray:
    return path.points if isinstance(path, Trajectory) else np.asarray(path, dtype=np.float64)


def plot_trajectories(surface: Surface, trajectories: Mapping, ax=None, title: str | None = None,
                      markers: bool = True, legend: bool = True, xlim=None, ylim=None, **kwargs):
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
    **kwargs
        Passed on to :func:`plot_surface_contours` (e.g. ``n``, ``filled``).

    Returns
    -------
    Axes
    """
    ax = plot_surface_contours(surface, ax=ax, xlim=xlim, ylim=ylim, **kwargs)
    for i, (label, path) in enumerate(trajectories.items()):
        p = _points(path)
        color = f"C{i}"
        ax.plot(p[:, 0], p[:, 1], color=color, linewidth=1.6, label=label,
                marker="o" if markers else None, markersize=2.5)
        ax.plot(*p[0], marker="o", markersize=7, markerfacecolor="white", markeredgecolor=color,
                linestyle="none", zorder=6)
    if title:
        ax.set_title(title, fontsize="medium")
    if legend and trajectories:
        ax.legend(fontsize="small", loc="upper right", framealpha=0.9)
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
    learning_rates : sequence of float
        One column each.
    momenta : sequence of float
        One row each.
    steps : int
    size : float
        Size of a panel, in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    aspect = (surface.ylim[1] - surface.ylim[0]) / (surface.xlim[1] - surface.xlim[0])
    fig, axes = plt.subplots(len(momenta), len(learning_rates), squeeze=False,
                             figsize=(size * len(learning_rates),
                                      (size * aspect + 0.8) * len(momenta)),
                             layout="constrained", sharex=True, sharey=True)
    for i, momentum in enumerate(momenta):
        for j, lr in enumerate(learning_rates):
            path = _sgd_path(surface, start, lr, momentum, steps)
            ax = axes[i, j]
            plot_trajectories(surface, {"": path}, ax=ax, legend=False, n=81)
            outcome = ("diverged" if path.diverged
                       else f"J: {path.values[0]:.2g} → {path.values[-1]:.2g}")
            ax.set_title(f"{_setting_label(lr, momentum)}\n{outcome}", fontsize="small")
            if i < len(momenta) - 1:
                ax.set_xlabel("")
            if j > 0:
                ax.set_ylabel("")
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
        Label → :class:`Trajectory` or points ``(k, 2)``; the animation has as many frames as
        the longest path has points.
    interval : int
        Milliseconds between frames.
    title : str, optional
    figsize, dpi
        Size of the frames (each frame is stored as an image in the page: keep them small).
    filled : bool
        Shade the contour map. Plain contour lines (the default) make frames several times
        smaller and faster to render.

    Returns
    -------
    matplotlib.animation.FuncAnimation
    """
    from matplotlib.animation import FuncAnimation
    from matplotlib.figure import Figure

    paths = {label: _points(p) for label, p in trajectories.items()}
    if not paths:
        raise ValueError("animate_trajectories(): no trajectories given")
    frames = max(len(p) for p in paths.values())
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    ax = fig.subplots()
    plot_surface_contours(surface, ax=ax, n=81, filled=filled)
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
        The initial positions of the sliders.
    lr_range : (float, float)
        The learning-rate slider's range; it is logarithmic.

    Returns
    -------
    ipywidgets.interactive
        Display it (make it the last expression of a cell).
    """
    import ipywidgets
    import matplotlib.pyplot as plt

    def show(learning_rate, momentum):
        path = _sgd_path(surface, start, learning_rate, momentum, steps)
        _, ax = plt.subplots(figsize=(4.8, 4.3), layout="constrained")
        outcome = ("diverged" if path.diverged
                   else f"after {steps} steps J = {path.values[-1]:.3g}")
        plot_trajectories(surface, {_setting_label(learning_rate, momentum): path}, ax=ax,
                          title=f"{surface.name}: {outcome}")
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
