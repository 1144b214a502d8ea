"""Loss surfaces of two parameters, the paths optimizers take on them, and a learning-rate explorer.

A loss of two parameters ``θ = (θ₁, θ₂)`` can be drawn as a contour map, and gradient descent
``θ ← θ − α ∇J(θ)`` as a path on it. That picture explains most of what a learning rate and a
momentum do, so the gradient-descent chapter draws it again and again. One module per concern:

- :mod:`~dlcourse.surfaces.functions` (the maths): :class:`Surface`, a function ``J(θ)`` with
  its gradient and Hessian, evaluated on one point ``(2,)`` or on a whole grid ``(..., 2)``;
  the built-in ones are :func:`quadratic`, :func:`bowl`, :func:`valley`, :func:`saddle`,
  :func:`rosenbrock` and :func:`linear_regression` (the mean squared error of a line
  ``ŷ = w x + b`` as a function of ``(w, b)``).
- :mod:`~dlcourse.surfaces.descent` (the optimizer's run): :func:`descend` runs an optimizer (one
  of :mod:`dlcourse.scratch.optimizers`, or any function ``step(theta, grad) -> new_theta``) from
  a starting point and records its :class:`Trajectory`, stopping cleanly (no NumPy warnings)
  when it diverges.
- :mod:`~dlcourse.surfaces.plots` (the figures): :func:`plot_surface_contours`,
  :func:`plot_trajectories` (paths on the contour map), and the two static fallbacks of the
  explorer for the website: :func:`trajectory_grid` (one panel per setting) and
  :func:`animate_trajectories` (a Matplotlib animation; show it with
  ``IPython.display.HTML(anim.to_jshtml())``).
- :mod:`~dlcourse.surfaces.explorer` (the widget): :func:`explore_learning_rate`, sliders for the
  learning rate and the momentum that redraw the path (needs a Python kernel).

Every public name is importable from here, as the chapter uses them:
``from dlcourse import surfaces`` then ``surfaces.valley()``, ``surfaces.descend(...)``.
Matplotlib and ipywidgets are imported only when a figure or a widget is made.
"""

from __future__ import annotations

from dlcourse.surfaces.descent import Trajectory, descend
from dlcourse.surfaces.explorer import explore_learning_rate
from dlcourse.surfaces.functions import (
    Surface,
    bowl,
    linear_regression,
    quadratic,
    rosenbrock,
    saddle,
    valley,
)
from dlcourse.surfaces.plots import (
    animate_trajectories,
    plot_surface_contours,
    plot_trajectories,
    trajectory_grid,
)

__all__ = [
    "Surface", "Trajectory", "animate_trajectories", "bowl", "descend", "explore_learning_rate",
    "linear_regression", "plot_surface_contours", "plot_trajectories", "quadratic", "rosenbrock",
    "saddle", "trajectory_grid", "valley",
]
