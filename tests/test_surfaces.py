"""dlcourse.surfaces: analytic gradients and Hessians against finite differences, the descent
loop against hand-written steps, the stability bound, and the figures and the widget."""

import inspect
import re
import subprocess
import sys
import warnings

import matplotlib
import numpy as np
import pytest

from dlcourse import surfaces
from dlcourse.gradcheck import numerical_gradient, rel_error
from dlcourse.scratch.optimizers import SGD, Adam

matplotlib.use("Agg")

RNG = np.random.default_rng(0)
LINE_X = RNG.uniform(-2, 3, size=40)
LINE_Y = 1.5 * LINE_X - 0.5 + RNG.normal(scale=0.3, size=40)

SURFACES = {
    "bowl": surfaces.bowl(),
    "valley": surfaces.valley(),
    "steep valley": surfaces.valley(steepness=37.5),
    "quadratic": surfaces.quadratic(0.3, 2.0),
    "saddle": surfaces.saddle(),
    "rosenbrock": surfaces.rosenbrock(),
    "rosenbrock a=2 b=5": surfaces.rosenbrock(a=2.0, b=5.0),
    "linear regression": surfaces.linear_regression(LINE_X, LINE_Y),
}
POINTS = [np.array([0.7, -1.3]), np.array([-1.1, 0.4]), np.array([1.9, 2.2])]


@pytest.mark.parametrize("name", SURFACES)
@pytest.mark.parametrize("point", POINTS, ids=["p0", "p1", "p2"])
def test_gradient_equals_finite_differences(name, point):
    surface = SURFACES[name]
    theta = point.copy()
    numeric = numerical_gradient(lambda t: surface(t), theta)
    assert rel_error(surface.gradient(point), numeric) < 1e-7


@pytest.mark.parametrize("name", SURFACES)
@pytest.mark.parametrize("point", POINTS, ids=["p0", "p1", "p2"])
def test_hessian_equals_finite_differences_of_the_gradient(name, point):
    surface = SURFACES[name]
    numeric = np.stack([numerical_gradient(lambda t, i=i: surface.gradient(t)[i], point.copy())
                        for i in range(2)])
    hessian = surface.hessian(point)
    assert hessian.shape == (2, 2)
    assert rel_error(hessian, numeric) < 1e-6
    np.testing.assert_allclose(hessian, hessian.T)


@pytest.mark.parametrize("name", SURFACES)
def test_grids_give_the_same_values_as_single_points(name):
    surface = SURFACES[name]
    grid = RNG.normal(size=(3, 4, 2))
    values, grads, hessians = surface(grid), surface.gradient(grid), surface.hessian(grid)
    assert values.shape == (3, 4) and grads.shape == (3, 4, 2) and hessians.shape == (3, 4, 2, 2)
    for idx in np.ndindex(3, 4):
        assert values[idx] == pytest.approx(surface(grid[idx]))
        np.testing.assert_allclose(grads[idx], surface.gradient(grid[idx]))
        np.testing.assert_allclose(hessians[idx], surface.hessian(grid[idx]))
    t1, t2, z = surface.grid(n=7)
    assert t1.shape == t2.shape == z.shape == (7, 7)
    np.testing.assert_allclose(z, surface(np.stack([t1, t2], axis=-1)))


@pytest.mark.parametrize("name", SURFACES)
def test_minima_are_stationary_points_with_positive_curvature(name):
    surface = SURFACES[name]
    assert surface.minima
    for minimum in surface.minima:
        np.testing.assert_allclose(surface.gradient(minimum), 0.0, atol=1e-9)
        assert np.all(np.linalg.eigvalsh(surface.hessian(minimum)) > 0)


@pytest.mark.parametrize("name", SURFACES)
def test_formulas_render_in_matplotlib_titles(name):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title(f"${SURFACES[name].formula}$")
    fig.canvas.draw()  # raises ValueError on LaTeX that mathtext does not know
    plt.close(fig)


def test_the_saddle_is_a_saddle():
    surface = surfaces.saddle()
    np.testing.assert_array_equal(surface.gradient([0.0, 0.0]), [0.0, 0.0])
    eigenvalues = np.linalg.eigvalsh(surface.hessian([0.0, 0.0]))
    assert eigenvalues.min() < 0 < eigenvalues.max()
    assert surface([0.0, 1.0]) == surface([0.0, -1.0]) == -0.25


def test_linear_regression_is_the_mean_squared_error_with_the_least_squares_minimum():
    surface = SURFACES["linear regression"]
    w, b = 0.3, -1.2
    assert surface([w, b]) == pytest.approx(np.mean((w * LINE_X + b - LINE_Y) ** 2))
    w_star, b_star = np.polyfit(LINE_X, LINE_Y, 1)
    np.testing.assert_allclose(surface.minima[0], [w_star, b_star], rtol=1e-10)
    lo, hi = surface.xlim
    assert lo < w_star < hi


def test_linear_regression_rejects_mismatched_data():
    with pytest.raises(ValueError, match="same number"):
        surfaces.linear_regression([1.0, 2.0, 3.0], [1.0, 2.0])


@pytest.mark.parametrize("name", ["bowl", "valley", "steep valley", "linear regression"])
def test_the_stability_bound_separates_convergence_from_divergence(name):
    surface = SURFACES[name]
    bound = surface.max_stable_learning_rate()
    start = np.array(surface.minima[0]) + [1.0, 1.0]
    below = surfaces.descend(surface, start, SGD(0.95 * bound), steps=2000)
    above = surfaces.descend(surface, start, SGD(1.05 * bound), steps=2000)
    assert not below.diverged and below.values[-1] < surface(surface.minima[0]) + 1e-8
    assert above.diverged and len(above.points) < 2001


def test_the_stability_bound_of_the_valley_is_two_over_its_steepness():
    assert surfaces.valley(steepness=8.0).max_stable_learning_rate() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="no positive eigenvalue"):
        surfaces.Surface("flat", "0", lambda a, b: 0 * a, lambda a, b: (0 * a, 0 * b),
                         lambda a, b: ((0 * a, 0 * a), (0 * a, 0 * a)),
                         minima=((0.0, 0.0),)).max_stable_learning_rate()


def test_descend_with_an_optimizer_equals_hand_written_steps():
    surface = surfaces.rosenbrock()
    start = np.array([-1.2, 1.0])
    path = surfaces.descend(surface, start, SGD(learning_rate=1e-3), steps=25)
    theta = start.copy()
    expected = [theta.copy()]
    for _ in range(25):
        theta = theta - 1e-3 * surface.gradient(theta)
        expected.append(theta)
    np.testing.assert_allclose(path.points, np.array(expected), rtol=1e-12)
    np.testing.assert_allclose(path.values, surface(np.array(expected)), rtol=1e-12)
    assert not path.diverged and path.points.shape == (26, 2)
    np.testing.assert_array_equal(path.final, path.points[-1])
    np.testing.assert_array_equal(start, [-1.2, 1.0])  # the start is not modified


def test_descend_with_a_step_function_equals_descend_with_sgd():
    surface = surfaces.valley()
    by_function = surfaces.descend(surface, (1.5, 1.0), lambda t, g: t - 0.05 * g, steps=40)
    by_optimizer = surfaces.descend(surface, (1.5, 1.0), SGD(0.05), steps=40)
    np.testing.assert_allclose(by_function.points, by_optimizer.points, rtol=1e-12)


def test_descend_keeps_the_optimizer_state_between_steps():
    surface = surfaces.valley()
    path = surfaces.descend(surface, (1.5, 1.0), Adam(0.1), steps=3)
    # Adam's first step moves every coordinate by about the learning rate, whatever the gradient.
    np.testing.assert_allclose(np.abs(path.points[1] - path.points[0]), [0.1, 0.1], rtol=1e-5)
    theta, optimizer = np.array([1.5, 1.0]), Adam(0.1)
    for _ in range(3):
        optimizer.apply_gradients([(surface.gradient(theta), theta)])
    np.testing.assert_allclose(path.final, theta, rtol=1e-12)


def test_descend_stops_at_divergence_without_warnings():
    surface = surfaces.rosenbrock()
    with np.errstate(all="raise"):  # any overflow inside descend() would raise here
        path = surfaces.descend(surface, (-1.5, 2.5), SGD(learning_rate=0.05), steps=1000)
    assert path.diverged
    assert len(path.points) < 20
    assert np.abs(path.points[-1]).max() > 1e6 or not np.all(np.isfinite(path.points[-1]))


def test_descend_with_zero_steps_returns_the_start():
    path = surfaces.descend(surfaces.bowl(), (1.0, 2.0), SGD(0.1), steps=0)
    np.testing.assert_array_equal(path.points, [[1.0, 2.0]])
    assert path.values.tolist() == [2.5] and not path.diverged


@pytest.mark.parametrize("kwargs, error, match", [
    ({"start": (1.0, 2.0, 3.0)}, ValueError, "shape"),
    ({"steps": -1}, ValueError, "steps"),
    ({"steps": 2.5}, TypeError, "steps"),
    ({"optimizer": "sgd"}, TypeError, "apply_gradients"),
])
def test_descend_rejects_bad_arguments(kwargs, error, match):
    args = {"surface": surfaces.bowl(), "start": (1.0, 1.0), "optimizer": SGD(0.1), "steps": 3}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        surfaces.descend(**args)


def test_surfaces_reject_points_without_two_coordinates():
    with pytest.raises(ValueError, match=r"\(2,\)"):
        surfaces.bowl()([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"quadratic\(\): b must be a number > 0, got -2.0"):
        surfaces.quadratic(1.0, -2.0)


def test_plot_trajectories_draws_every_path():
    import matplotlib.pyplot as plt

    surface = surfaces.valley()
    paths = {"a": surfaces.descend(surface, (1.5, 1.0), SGD(0.1), 10),
             "b": np.array([[1.5, 1.0], [0.0, 0.0]])}
    ax = surfaces.plot_trajectories(surface, paths, title="t")
    labels = [line.get_label() for line in ax.get_lines()]
    assert "a" in labels and "b" in labels
    assert ax.get_title() == "t"
    plt.close("all")


def test_trajectory_grid_has_one_panel_per_setting_and_marks_divergence():
    import matplotlib.pyplot as plt

    surface = surfaces.valley()
    fig = surfaces.trajectory_grid(surface, (1.5, 1.0), learning_rates=[0.01, 0.1, 0.25],
                                   momenta=[0.0, 0.5], steps=60)
    axes = fig.get_axes()
    assert len(axes) == 6
    titles = [ax.get_title() for ax in axes]
    assert "diverged" in titles[2] and "diverged" not in titles[0]
    assert "→" in titles[0]
    plt.close(fig)


def test_animation_has_one_frame_per_point_of_the_longest_path():
    import matplotlib.pyplot as plt

    plt.close("all")
    surface = surfaces.bowl()
    paths = {"short": np.zeros((3, 2)), "long": surfaces.descend(surface, (1, 1), SGD(0.1), 9)}
    anim = surfaces.animate_trajectories(surface, paths, title="x")
    frames = list(anim.new_frame_seq())
    assert len(frames) == 10
    anim._func(9)  # the last frame draws the whole of each path
    lines = {line.get_label(): line for line in anim._fig.axes[0].get_lines()}
    assert len(lines["long"].get_xdata()) == 10 and len(lines["short"].get_xdata()) == 3
    html = anim.to_jshtml()  # what the website shows: frames embedded, script inline
    assert html.count("data:image/png") == 10 and "<script" in html
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert plt.get_fignums() == []  # made without pyplot: never shown as a still image
    with pytest.raises(ValueError, match="no trajectories"):
        surfaces.animate_trajectories(surface, {})


def test_explore_learning_rate_builds_two_sliders_and_redraws():
    import matplotlib.pyplot as plt

    widget = surfaces.explore_learning_rate(surfaces.valley(), (1.5, 1.0), steps=60,
                                            learning_rate=0.05, momentum=0.5)
    sliders = {child.description: child for child in widget.children[:-1]}
    assert set(sliders) == {"learning rate", "momentum"}
    assert sliders["learning rate"].value == pytest.approx(0.05)
    assert sliders["momentum"].value == pytest.approx(0.5)
    plt.close("all")
    with warnings.catch_warnings():  # Agg cannot show a figure, and says so
        warnings.simplefilter("ignore", UserWarning)
        widget.f(learning_rate=0.3, momentum=0.0)  # what moving the sliders does
    (number,) = plt.get_fignums()
    assert "diverged" in plt.figure(number).axes[0].get_title()
    plt.close("all")


# ------------------------------------------------------------------------------ bad input
Q = surfaces.quadratic(1.0, 4.0, name="q")
PATH = np.array([[1.0, 1.0], [0.5, 0.2], [0.1, 0.0]])


def step(theta, grad):
    return theta - 0.1 * grad


def custom(name, value, **kwargs):
    """A Surface with the given value function (gradient and Hessian of a bowl)."""
    return surfaces.Surface(name, "J", value, lambda a, b: (a, b),
                            lambda a, b: ((1 + 0 * a, 0 * a), (0 * a, 1 + 0 * a)), **kwargs)


SURFACE_ARGS = dict(name="s", formula="J", value=lambda a, b: a * a + b * b,
                    gradient_fn=lambda a, b: (2 * a, 2 * b),
                    hessian_fn=lambda a, b: ((2 + 0 * a, 0 * a), (0 * a, 2 + 0 * a)),
                    minima=((0.0, 0.0),), xlim=(-1.0, 1.0), ylim=(-1.0, 1.0), log_levels=False)
#: name → (the callable, its valid arguments, how its errors start)
GOOD = {
    "Surface": (surfaces.Surface, lambda: dict(SURFACE_ARGS), "Surface"),
    "Surface.__call__": (Q, lambda: {"theta": [1.0, 2.0]}, "Surface 'q': "),
    "Surface.gradient": (Q.gradient, lambda: {"theta": [1.0, 2.0]}, "Surface 'q'.gradient(): "),
    "Surface.hessian": (Q.hessian, lambda: {"theta": [1.0, 2.0]}, "Surface 'q'.hessian(): "),
    "Surface.max_stable_learning_rate": (Q.max_stable_learning_rate, lambda: {"theta": None},
                                         "Surface 'q'.max_stable_learning_rate(): "),
    "Surface.grid": (Q.grid, lambda: {"n": 5, "xlim": None, "ylim": None},
                     "Surface 'q'.grid(): "),
    "quadratic": (surfaces.quadratic, lambda: {"a": 1.0, "b": 2.0, "name": "q",
                                               "xlim": (-2, 2), "ylim": (-1, 1)}, None),
    "valley": (surfaces.valley, lambda: {"steepness": 20.0}, None),
    "rosenbrock": (surfaces.rosenbrock, lambda: {"a": 1.0, "b": 100.0}, None),
    "linear_regression": (surfaces.linear_regression,
                          lambda: {"x": LINE_X.copy(), "y": LINE_Y.copy(), "margin": 2.0}, None),
    "descend": (surfaces.descend, lambda: {"surface": Q, "start": np.array([1.0, 1.0]),
                                           "optimizer": step, "steps": 3, "escape": 1e6}, None),
    "plot_surface_contours": (surfaces.plot_surface_contours, lambda: {
        "surface": Q, "ax": None, "n": 11, "filled": True, "xlim": None, "ylim": None}, None),
    "plot_trajectories": (surfaces.plot_trajectories, lambda: {
        "surface": Q, "trajectories": {"a": PATH.copy()}, "ax": None, "title": "t",
        "markers": True, "legend": True, "xlim": None, "ylim": None, "n": 11, "filled": True},
        None),
    "trajectory_grid": (surfaces.trajectory_grid, lambda: {
        "surface": Q, "start": np.array([1.0, 1.0]), "learning_rates": [0.1],
        "momenta": [0.0], "steps": 3, "size": 1.0}, None),
    "animate_trajectories": (surfaces.animate_trajectories, lambda: {
        "surface": Q, "trajectories": {"a": PATH.copy()}, "interval": 100, "title": None,
        "figsize": (2, 2), "dpi": 30, "filled": False}, None),
    "explore_learning_rate": (surfaces.explore_learning_rate, lambda: {
        "surface": Q, "start": np.array([1.0, 1.0]), "steps": 3, "learning_rate": 0.1,
        "momentum": 0.0, "lr_range": (1e-3, 1.0)}, None),
}
TAKE_SURFACE = ("descend", "plot_surface_contours", "plot_trajectories", "trajectory_grid",
                "animate_trajectories", "explore_learning_rate")
TAKE_START = ("descend", "trajectory_grid", "explore_learning_rate")
TAKE_PATHS = ("plot_trajectories", "animate_trajectories")
TAKE_STEPS = ("descend", "trajectory_grid", "explore_learning_rate")
METHODS = ("Surface.__call__", "Surface.gradient", "Surface.hessian")
RANGES = [((2, -2), ValueError, ""), ((1, 1), ValueError, ""), ((0, np.nan), ValueError, "[1]"),
          (("0", 1), TypeError, "[0]"), (5, TypeError, ""), ("ab", TypeError, ""),
          ((0, 1, 2), TypeError, "")]
used = SGD(0.1)
used.apply_gradients([(np.ones(2), np.zeros(2))])

BAD = [  # function, argument, bad value, expected error, what the message names
    # a Surface: every argument checked at construction
    ("Surface", "name", 5, TypeError, "name"),
    ("Surface", "formula", None, TypeError, "formula"),
    *[("Surface", arg, v, TypeError, arg) for arg in ("value", "gradient_fn", "hessian_fn")
      for v in ("x", None, 3)],
    *[("Surface", "minima", v, e, n) for v, e, n in [
        (((0.0,),), ValueError, "minima[0]"), ((0.0, 0.0), ValueError, "minima[0]"),
        (((np.nan, 0.0),), ValueError, "minima[0]"), (((1j, 0),), TypeError, "minima[0]"),
        ("ab", TypeError, "minima"), (None, TypeError, "minima")]],
    *[("Surface", lim, v, e, lim + n) for lim in ("xlim", "ylim") for v, e, n in RANGES],
    ("Surface", "log_levels", "yes", TypeError, "log_levels"),
    # points: (2,) or (..., 2), real, finite
    *[(f, "theta", v, e, "theta") for f in METHODS
      for v, e in [([1.0, 2.0, 3.0], ValueError), (5.0, ValueError), ([np.nan, 1.0], ValueError),
                   ([1j, 1.0], TypeError), (["1", "2"], TypeError), ([True, False], TypeError),
                   (None, TypeError)]],
    *[("Surface.max_stable_learning_rate", "theta", v, e, "theta")
      for v, e in [(np.zeros((3, 2)), ValueError), ([np.inf, 0.0], ValueError),
                   ("ab", TypeError)]],
    *[("Surface.grid", "n", v, e, "n")
      for v, e in [(1, ValueError), (0, ValueError), (-5, ValueError), (10**5, ValueError),
                   (2.5, TypeError), (None, TypeError)]],
    *[(f, lim, v, e, lim + n) for f in ("Surface.grid", "quadratic")
      for lim in ("xlim", "ylim") for v, e, n in RANGES],
    # the built-in surfaces: their parameters make the minima what they say
    *[("quadratic", arg, v, e, arg) for arg in ("a", "b")
      for v, e in [(0, ValueError), (-1.0, ValueError), (np.nan, ValueError), (np.inf, ValueError),
                   ("1", TypeError), (True, TypeError)]],
    ("quadratic", "name", 5, TypeError, "name"),
    *[("valley", "steepness", v, e, "steepness")
      for v, e in [(0, ValueError), (-20.0, ValueError), (np.nan, ValueError), ("20", TypeError)]],
    *[("rosenbrock", "a", v, e, "a") for v, e in [(np.nan, ValueError), ("1", TypeError)]],
    *[("rosenbrock", "b", v, e, "b") for v, e in [(0, ValueError), (-100.0, ValueError),
                                                  (np.inf, ValueError)]],
    *[("linear_regression", arg, v, e, arg) for arg in ("x", "y")
      for v, e in [(LINE_X * 1j, TypeError), (np.where(LINE_X > 2, np.nan, LINE_X), ValueError),
                   (np.stack([LINE_X, LINE_X], 1), ValueError), (LINE_X[:5], ValueError),
                   ("x", TypeError), (LINE_X > 0, TypeError)]],
    ("linear_regression", "x", np.full(40, 1.5), ValueError, "x"),    # no single minimum
    *[("linear_regression", "margin", v, e, "margin")
      for v, e in [(0, ValueError), (-1.0, ValueError), (np.nan, ValueError), ("2", TypeError)]],
    # the surface, the start and the paths given to the descent and the plots
    *[(f, "surface", v, TypeError, "surface") for f in TAKE_SURFACE
      for v in (surfaces.valley, "valley", None, Q.gradient)],
    *[(f, "surface", custom(name, value), ValueError, "surface")
      for f in ("plot_surface_contours", "plot_trajectories")
      for name, value in [("flat", lambda a, b: 0 * a + 1.0),
                          ("infinite", lambda a, b: np.where(a > 0, np.inf, a * a))]],
    *[(f, "start", v, e, "start") for f in TAKE_START
      for v, e in [((1.0, 2.0, 3.0), ValueError), ([[1.0, 2.0]], ValueError),
                   ((np.nan, 0.0), ValueError), ((1j, 0.0), TypeError), ("ab", TypeError),
                   (None, TypeError)]],
    *[(f, "trajectories", v, e, n) for f in TAKE_PATHS for v, e, n in [
        ([PATH], TypeError, "trajectories"), (PATH, TypeError, "trajectories"),
        ({"a": np.zeros((3, 3))}, ValueError, "trajectories['a']"),
        ({"a": np.zeros((0, 2))}, ValueError, "trajectories['a']"),
        ({"a": PATH, "b": PATH * 1j}, TypeError, "trajectories['b']"),
        ({"a": "path"}, TypeError, "trajectories['a']")]],
    ("animate_trajectories", "trajectories", {}, ValueError, "trajectories"),
    ("animate_trajectories", "trajectories", {"a": np.zeros((1001, 2))}, ValueError,
     "trajectories"),
    # descend: the optimizer, the step function's results, the bounds
    *[("descend", "optimizer", v, e, "optimizer")
      for v, e in [("sgd", TypeError), (SGD, TypeError), (None, TypeError), (used, ValueError),
                   (lambda t, g: None, TypeError), (lambda t, g: np.zeros(3), ValueError),
                   (lambda t, g: t * 1j, TypeError), (lambda t, g: "step", TypeError)]],
    *[(f, "steps", v, e, "steps") for f in TAKE_STEPS
      for v, e in [(-1, ValueError), (2.5, TypeError), (True, TypeError), (10**7, ValueError),
                   ("3", TypeError)]],
    *[("descend", "escape", v, e, "escape")
      for v, e in [(0, ValueError), (-1.0, ValueError), (np.nan, ValueError), ("1e6", TypeError)]],
    # plots: the axes, the flags, the titles, the sizes
    *[(f, "ax", v, TypeError, "ax") for f in ("plot_surface_contours", "plot_trajectories")
      for v in ("ax", 5, [None])],
    *[(f, "n", v, e, "n") for f in ("plot_surface_contours", "plot_trajectories")
      for v, e in [(1, ValueError), (10**5, ValueError), (2.5, TypeError)]],
    *[(f, "filled", v, TypeError, "filled")
      for f in ("plot_surface_contours", "plot_trajectories", "animate_trajectories")
      for v in ("yes", 1, None)],
    *[("plot_trajectories", flag, v, TypeError, flag) for flag in ("markers", "legend")
      for v in ("yes", 1)],
    *[(f, "title", v, TypeError, "title") for f in ("plot_trajectories", "animate_trajectories")
      for v in (5, ["t"])],
    *[(f, lim, v, e, lim + n) for f in ("plot_surface_contours", "plot_trajectories")
      for lim in ("xlim", "ylim") for v, e, n in RANGES[:3]],
    # the static grid: lists of settings, at most 100 panels
    *[("trajectory_grid", "learning_rates", v, e, n) for v, e, n in [
        (0.1, TypeError, "learning_rates"), ("0.1", TypeError, "learning_rates"),
        ([], ValueError, "learning_rates"), ([0.1, -0.1], ValueError, "learning_rates[1]"),
        ([0.0], ValueError, "learning_rates[0]"), ([np.nan], ValueError, "learning_rates[0]"),
        (["0.1"], TypeError, "learning_rates[0]"),
        (list(np.linspace(0.01, 0.2, 101)), ValueError, "learning_rates")]],
    *[("trajectory_grid", "momenta", v, e, n) for v, e, n in [
        (0.9, TypeError, "momenta"), ([1.5], ValueError, "momenta[0]"),
        ([-0.1], ValueError, "momenta[0]"), ([], ValueError, "momenta")]],
    *[("trajectory_grid", "size", v, e, "size")
      for v, e in [(0, ValueError), (-1.0, ValueError), ("2", TypeError)]],
    # the animation
    *[("animate_trajectories", "interval", v, e, "interval")
      for v, e in [(0, ValueError), (1.5, TypeError)]],
    *[("animate_trajectories", "figsize", v, e, n) for v, e, n in [
        ((0, 2), ValueError, "figsize[0]"), ((2, np.nan), ValueError, "figsize[1]"),
        ((2, 1000), ValueError, "figsize[1]"), (4, TypeError, "figsize"),
        ("ab", TypeError, "figsize")]],
    *[("animate_trajectories", "dpi", v, e, "dpi")
      for v, e in [(0, ValueError), (10**4, ValueError), (72.0, TypeError)]],
    # the explorer: slider values inside the sliders' ranges (a slider would move them)
    *[("explore_learning_rate", "learning_rate", v, e, "learning_rate")
      for v, e in [(2.0, ValueError), (1e-5, ValueError), (np.nan, ValueError),
                   ("0.1", TypeError)]],
    *[("explore_learning_rate", "momentum", v, e, "momentum")
      for v, e in [(0.995, ValueError), (-0.1, ValueError), ("0", TypeError)]],
    *[("explore_learning_rate", "lr_range", v, e, n) for v, e, n in [
        ((0, 1.0), ValueError, "lr_range[0]"), ((-1.0, 1.0), ValueError, "lr_range[0]"),
        ((1.0, 0.1), ValueError, "lr_range"), ((1e-3,), TypeError, "lr_range"),
        ((1e-3, np.inf), ValueError, "lr_range[1]")]],
]


@pytest.fixture
def no_figure_left_open():
    import matplotlib.pyplot as plt

    plt.close("all")
    yield
    assert plt.get_fignums() == [], "a figure was left open"
    plt.close("all")


@pytest.mark.parametrize(("func", "arg", "value", "error", "named"), BAD,
                         ids=[f"{f}-{a}-{i}" for i, (f, a, *_) in enumerate(BAD)])
def test_bad_arguments_are_refused_by_name(func, arg, value, error, named, no_figure_left_open):
    function, kwargs, owner = GOOD[func]
    kwargs = {**kwargs(), arg: value}
    arrays = {k: v.copy() for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    with pytest.raises(error) as err:
        function(**kwargs)
    message = str(err.value)
    assert message.startswith(owner or f"{func}(): "), message
    assert named in message, message
    for k, v in arrays.items():             # the caller's arrays are never changed
        np.testing.assert_array_equal(kwargs[k], v)


def test_every_public_function_has_bad_arguments_tried():
    import matplotlib.pyplot as plt

    functions = {name for name in surfaces.__all__ if callable(getattr(surfaces, name))
                 and not isinstance(getattr(surfaces, name), type)}
    no_arguments = {"bowl", "saddle"}      # nothing to get wrong
    for name in no_arguments:
        assert not inspect.signature(getattr(surfaces, name)).parameters
    assert issubclass(surfaces.Trajectory, tuple)   # a record the functions return
    methods = {f"Surface.{name}" for name, value in vars(surfaces.Surface).items()
               if callable(value) and (not name.startswith("_") or name == "__call__")}
    expected = (functions - no_arguments) | {"Surface"} | methods
    assert expected == set(GOOD) == {func for func, *_ in BAD}
    for function, kwargs, _ in GOOD.values():   # and the valid arguments of the table are valid
        with warnings.catch_warnings():      # Agg cannot show the widget's figure, and says so
            warnings.simplefilter("ignore", UserWarning)
            function(**kwargs())
    plt.close("all")


def test_descend_refuses_an_optimizer_that_has_already_stepped():
    # Adam's step count would carry over: its bias correction, hence every step, would differ
    # from a fresh Adam's without a word.
    start = np.array([1.5, 1.0])
    adam = Adam(0.1)
    fresh = surfaces.descend(surfaces.valley(), start, adam, steps=5)
    with pytest.raises(ValueError, match=r"descend\(\): optimizer has already taken 5 steps"):
        surfaces.descend(surfaces.valley(), start, adam, steps=5)
    assert adam.iterations == 5
    np.testing.assert_array_equal(start, [1.5, 1.0])
    assert fresh.points.shape == (6, 2)


def test_a_drawing_that_fails_half_way_closes_its_figure(no_figure_left_open):
    calls = []

    def gradient(a, b):
        calls.append(1)
        if len(calls) > 4:
            raise RuntimeError("the learner's gradient broke")
        return a, b

    broken = surfaces.Surface("broken", "J", lambda a, b: a * a + b * b, gradient,
                              lambda a, b: ((1 + 0 * a, 0 * a), (0 * a, 1 + 0 * a)))
    with pytest.raises(RuntimeError, match="broke"):
        surfaces.trajectory_grid(broken, (1.0, 1.0), [0.1, 0.2], steps=3)
    assert len(calls) == 5                   # the first panel was drawn, then it failed


def test_log_levels_on_a_region_where_the_surface_barely_varies():
    import matplotlib.pyplot as plt

    # Near Rosenbrock's minimum J varies by less than 0.01: the levels, spaced geometrically
    # from 0.01 above the minimum, used to decrease and make Matplotlib raise.
    ax = surfaces.plot_surface_contours(surfaces.rosenbrock(), xlim=(0.999, 1.001),
                                        ylim=(0.999, 1.001), n=21)
    assert ax.collections                    # contours were drawn
    plt.close("all")


def test_surface_stores_its_limits_and_minima_as_tuples_of_floats():
    surface = surfaces.Surface(**{**SURFACE_ARGS, "minima": [np.array([0, 0])],
                                  "xlim": np.array([-1, 2]), "ylim": [-3, 1]})
    assert surface.minima == ((0.0, 0.0),) and type(surface.minima[0][0]) is float
    assert surface.xlim == (-1.0, 2.0) and surface.ylim == (-3.0, 1.0)
    assert isinstance(surface.xlim, tuple)


def test_one_module_per_concern_and_every_name_importable_from_the_package():
    from dlcourse.surfaces import descent, explorer, functions, plots

    homes = {functions: {"Surface", "bowl", "linear_regression", "quadratic", "rosenbrock",
                         "saddle", "valley"},
             descent: {"Trajectory", "descend"},
             plots: {"animate_trajectories", "plot_surface_contours", "plot_trajectories",
                     "trajectory_grid"},
             explorer: {"explore_learning_rate"}}
    for module, names in homes.items():
        assert set(module.__all__) == names, module.__name__
        for name in names:                   # the chapter's surfaces.X is the module's X
            assert getattr(surfaces, name) is getattr(module, name), name
    assert set(surfaces.__all__) == set().union(*homes.values())


def test_importing_the_surfaces_imports_neither_matplotlib_nor_ipywidgets():
    code = ("import sys, dlcourse.surfaces, dlcourse.widgets; "
            "print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
