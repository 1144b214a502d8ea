"""Tests of dlcourse.widgets: the MLP builder, the cached explorer, its grid and its widget."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlcourse.data import make_moons  # noqa: E402
from dlcourse.widgets import BoundaryExplorer, build_mlp_classifier  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def moons():
    return make_moons(80, noise=0.1, seed=1)


def test_build_mlp_classifier_shapes_and_parameter_count():
    model = build_mlp_classifier(2, 3, width=5, depth=2, activation="tanh", seed=4)
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(2, 5), (5,), (5, 5), (5,), (5, 3), (3,)]
    assert model.count_params() == (2 * 5 + 5) + (5 * 5 + 5) + (5 * 3 + 3)
    assert [layer.activation.name for layer in model.layers] == ["tanh", "tanh", "linear"]
    assert model.predict(np.zeros((4, 2), np.float32)).shape == (4, 3)


def test_build_mlp_classifier_is_seeded_and_depth_zero_is_linear():
    a = build_mlp_classifier(2, 2, width=4, depth=1, seed=7).get_weights()
    b = build_mlp_classifier(2, 2, width=4, depth=1, seed=7).get_weights()
    c = build_mlp_classifier(2, 2, width=4, depth=1, seed=8).get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    linear = build_mlp_classifier(2, 4, width=16, depth=0)
    assert [w.shape for w in linear.get_weights()] == [(2, 4), (4,)]


@pytest.mark.parametrize("width, depth", [(0, 1), (3, -1), (2.5, 1), (True, 1)])
def test_build_mlp_classifier_rejects_bad_sizes(width, depth):
    with pytest.raises(ValueError, match="must be an integer"):
        build_mlp_classifier(2, 2, width=width, depth=depth)


def test_explorer_validates_its_data(moons):
    x, y = moons
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        BoundaryExplorer(x[:, :1], y)
    with pytest.raises(ValueError, match="integer classes"):
        BoundaryExplorer(x, y.astype(float))
    with pytest.raises(ValueError, match="integer classes"):
        BoundaryExplorer(x, y[:-1])
    with pytest.raises(ValueError, match="epochs"):
        BoundaryExplorer(x, y, epochs=0)


def test_explorer_trains_caches_and_reports_accuracy(moons):
    x, y = moons
    explorer = BoundaryExplorer(x, y, epochs=150, learning_rate=0.05)
    model = explorer.model(8, 2, "relu")
    assert explorer.model(8, 2, "relu") is model            # cached, not retrained
    predicted = model.predict(x).argmax(axis=1)
    assert explorer.accuracy(8, 2, "relu") == pytest.approx(np.mean(predicted == y))
    # The moons are not linearly separable: the MLP must beat the linear classifier.
    assert explorer.accuracy(8, 2, "relu") >= 0.95
    assert explorer.accuracy(8, 2, "relu") > explorer.accuracy(8, 0) + 0.05


def test_depth_zero_is_one_model_whatever_the_width_and_activation(moons):
    explorer = BoundaryExplorer(*moons, epochs=5)
    assert explorer.model(2, 0, "relu") is explorer.model(32, 0, "sigmoid")
    assert len(explorer._models) == 1


def test_training_does_not_depend_on_what_was_trained_before(moons):
    first = BoundaryExplorer(*moons, epochs=20)
    second = BoundaryExplorer(*moons, epochs=20)
    second.model(4, 1, "tanh")                              # a different history
    a = first.model(8, 2, "sigmoid").get_weights()
    b = second.model(8, 2, "sigmoid").get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


def test_plot_titles_the_setting_and_accuracy(moons):
    explorer = BoundaryExplorer(*moons, epochs=5)
    ax = explorer.plot(4, 1, "tanh")
    assert "width 4, depth 1, tanh" in ax.get_title()
    assert f"{explorer.accuracy(4, 1, 'tanh'):.2f}" in ax.get_title()
    assert "linear" in explorer.plot(4, 0).get_title()


def test_grid_draws_one_panel_per_pair_of_settings(moons):
    explorer = BoundaryExplorer(*moons, epochs=5)
    fig = explorer.grid(("activation", ["relu", "tanh"]), ("depth", [0, 1, 2]), width=3)
    assert len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes]
    assert "width 3, depth 2, tanh" in titles[5] and "linear" in titles[3]
    assert len(explorer._models) == 5                        # depth 0 trained once


@pytest.mark.parametrize("rows, cols, fixed", [
    (("width", [2]), ("width", [4]), {"activation": "relu"}),
    (("width", [2]), ("depth", [1]), {}),
    (("width", [2]), ("depth", [1]), {"colour": "red"}),
])
def test_grid_rejects_settings_that_do_not_cover_all_three(moons, rows, cols, fixed):
    explorer = BoundaryExplorer(*moons, epochs=5)
    with pytest.raises(ValueError, match="vary two of"):
        explorer.grid(rows, cols, **fixed)


def test_widget_has_the_three_controls_and_retrains_on_change(moons):
    explorer = BoundaryExplorer(*moons, epochs=5)
    w = explorer.widget(widths=(2, 4), max_depth=2, activations=("relu", "tanh"), width=2,
                        depth=1, activation="relu")
    controls = {c.description: c for c in w.children[:-1]}
    assert set(controls) == {"width", "depth", "activation"}
    assert (2, 1, "relu") in explorer._models                # drawn once on creation
    controls["activation"].value = "tanh"
    assert (2, 1, "tanh") in explorer._models
    controls["depth"].value = 0
    assert (1, 0, "linear") in explorer._models
