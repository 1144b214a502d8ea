"""dlcourse.surfaces: analytic gradients and Hessians against finite differences, the descent
loop against hand-written steps, the stability bound, and the figures and the widget."""

import re
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
    ({"steps": 2.5}, ValueError, "steps"),
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
    with pytest.raises(ValueError, match="positive"):
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
