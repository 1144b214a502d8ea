"""The learning-rate explorer: sliders for SGD's learning rate and momentum on a loss surface.

:func:`explore_learning_rate` redraws the path of ``SGD(learning_rate, momentum)`` whenever a
slider moves; it needs a Python kernel. Its static fallbacks for the website, which has none,
are :func:`dlcourse.surfaces.plots.trajectory_grid` and
:func:`dlcourse.surfaces.plots.animate_trajectories`. (The other widget of the course,
:class:`dlcourse.widgets.BoundaryExplorer`, draws decision boundaries rather than surfaces.)

Matplotlib and ipywidgets are imported only when the widget is made.
"""

from __future__ import annotations

import numpy as np

from dlcourse.plotting import _drawing
from dlcourse.surfaces.descent import _MAX_STEPS
from dlcourse.surfaces.functions import Surface, _check_point, _check_range, _check_surface
from dlcourse.surfaces.plots import _contour_data, _draw_paths, _setting_label, _sgd_path
from dlcourse.validation import check_int, check_number

__all__ = ["explore_learning_rate"]


def explore_learning_rate(surface: Surface, start, steps: int = 30, learning_rate: float = 0.1,
                          momentum: float = 0.0, lr_range: tuple[float, float] = (1e-3, 1.0)):
    """Sliders for the learning rate and the momentum that redraw the path (needs a kernel).

    The path is that of ``SGD(learning_rate, momentum)`` from :mod:`dlcourse.scratch.optimizers`
    for ``steps`` steps from ``start``. On the website, which has no kernel, the sliders do
    nothing: show :func:`~dlcourse.surfaces.plots.trajectory_grid` or
    :func:`~dlcourse.surfaces.plots.animate_trajectories` beside the widget.

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
