"""Figures of loss surfaces: contour maps, optimizers' paths on them, grids and animations.

- :func:`plot_surface_contours`: the contour map of a surface with its minima as stars.
- :func:`plot_trajectories`: paths (:class:`~dlcourse.surfaces.descent.Trajectory` or points)
  on the contour map.
- :func:`trajectory_grid`: one panel per learning rate and momentum, the static fallback of
  :func:`dlcourse.surfaces.explorer.explore_learning_rate` on the website.
- :func:`animate_trajectories`: a Matplotlib animation of paths, step by step (show it with
  ``IPython.display.HTML(anim.to_jshtml())``).

Matplotlib is imported only when a figure is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dlcourse.plotting import _check_ax, _check_title, _drawing
from dlcourse.surfaces.descent import _MAX_STEPS, Trajectory, descend
from dlcourse.surfaces.functions import (
    _MAX_GRID,
    Surface,
    _check_point,
    _check_range,
    _check_surface,
)
from dlcourse.validation import check_array, check_bool, check_int, check_list, check_number

__all__ = ["animate_trajectories", "plot_surface_contours", "plot_trajectories",
           "trajectory_grid"]

# Bounds that keep a call from running for hours: panels of one figure, frames of one animation.
_MAX_PANELS = 100
_MAX_FRAMES = 1000


def _check_numbers(values, name: str, owner: str, low: float, high: float = np.inf,
                   low_open: bool = False) -> list[float]:
    """A non-empty list of numbers in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    return [check_number(v, f"{name}[{i}]", owner, low, high, low_open=low_open)
            for i, v in enumerate(check_list(values, name, owner, of="numbers"))]


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
        Label → :class:`~dlcourse.surfaces.descent.Trajectory` or array of points ``(k, 2)``;
        each drawn in its own colour, from a hollow circle at the start. A path that diverged
        is drawn until it leaves the map.
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
    """The static fallback of the learning-rate explorer: one panel per setting.

    (The explorer is :func:`dlcourse.surfaces.explorer.explore_learning_rate`.)

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
        Label → :class:`~dlcourse.surfaces.descent.Trajectory` or points ``(k, 2)``, at least
        one; the animation has as many frames as the longest path has points (at most 1,000).
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
