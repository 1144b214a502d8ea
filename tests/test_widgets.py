"""Tests of dlcourse.widgets: the MLP builder, the cached explorer, its grid and its widget."""

import matplotlib

matplotlib.use("Agg")

import warnings  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlcourse.data import make_moons  # noqa: E402
from dlcourse.scratch import set_random_seed  # noqa: E402
from dlcourse.scratch.models import mlp  # noqa: E402
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


def test_build_mlp_classifier_is_the_course_mlp_with_the_explorers_settings():
    # One builder, not two: the same layers, activations and initial weights as models.mlp.
    ours = build_mlp_classifier(3, 4, width=6, depth=3, activation="sigmoid", seed=5)
    course = mlp(3, (6, 6, 6), 4, activation="sigmoid", seed=5)
    assert [layer.get_config() for layer in ours.layers] == \
        [layer.get_config() for layer in course.layers]
    for a, b in zip(ours.get_weights(), course.get_weights(), strict=True):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_build_mlp_classifier_without_a_seed_repeats_after_set_random_seed():
    set_random_seed(3)
    first = build_mlp_classifier(2, 2, width=4, depth=2, seed=None).get_weights()
    second = build_mlp_classifier(2, 2, width=4, depth=2, seed=None).get_weights()
    set_random_seed(3)
    again = build_mlp_classifier(2, 2, width=4, depth=2, seed=None).get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(first, again, strict=True))
    assert not np.array_equal(first[0], second[0])


@pytest.mark.parametrize("width, depth, error", [(0, 1, ValueError), (3, -1, ValueError),
                                                  (2.5, 1, TypeError), (True, 1, TypeError)])
def test_build_mlp_classifier_rejects_bad_sizes(width, depth, error):
    with pytest.raises(error, match="must be an integer"):
        build_mlp_classifier(2, 2, width=width, depth=depth)


def test_explorer_validates_its_data(moons):
    x, y = moons
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        BoundaryExplorer(x[:, :1], y)
    with pytest.raises(TypeError, match="y must be an array of integers"):
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


# ------------------------------------------------------------------------------ bad input
X, Y = make_moons(30, noise=0.1, seed=2)
EXPLORER = BoundaryExplorer(X, Y, epochs=5)
SETTING = {"width": 2, "depth": 1, "activation": "relu"}
#: name → (the callable, its valid arguments, how its errors start)
GOOD = {
    "build_mlp_classifier": (build_mlp_classifier, lambda: {
        "n_features": 2, "n_classes": 3, "width": 4, "depth": 2, "activation": "tanh",
        "seed": 0}, "build_mlp_classifier(): "),
    "BoundaryExplorer": (BoundaryExplorer, lambda: {
        "x": X.copy(), "y": Y.copy(), "epochs": 5, "learning_rate": 0.02, "seed": 0},
        "BoundaryExplorer: "),
    "BoundaryExplorer.model": (EXPLORER.model, lambda: dict(SETTING),
                               "BoundaryExplorer.model(): "),
    "BoundaryExplorer.accuracy": (EXPLORER.accuracy, lambda: dict(SETTING),
                                  "BoundaryExplorer.accuracy(): "),
    "BoundaryExplorer.plot": (EXPLORER.plot, lambda: {**SETTING, "ax": None, "resolution": 5},
                              "BoundaryExplorer.plot(): "),
    "BoundaryExplorer.grid": (EXPLORER.grid, lambda: {
        "rows": ("depth", [0, 1]), "cols": ("width", [2]), "size": 1.0, "activation": "relu"},
        "BoundaryExplorer.grid(): "),
    "BoundaryExplorer.widget": (EXPLORER.widget, lambda: {
        "widths": (2, 4), "max_depth": 2, "activations": ("relu", "tanh"), **SETTING},
        "BoundaryExplorer.widget(): "),
}
METHODS = ("BoundaryExplorer.model", "BoundaryExplorer.accuracy", "BoundaryExplorer.plot",
           "BoundaryExplorer.widget")
BAD = [  # function, argument, bad value, expected error, what the message names
    # sizes of the network
    *[("build_mlp_classifier", arg, v, e, arg) for arg, low in (("n_features", 1),
                                                                 ("n_classes", 2))
      for v, e in [(low - 1, ValueError), (-3, ValueError), (2.0, TypeError), (None, TypeError)]],
    *[(f, "width", v, e, "width") for f in ("build_mlp_classifier", *METHODS)
      for v, e in [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError),
                   (5000, ValueError), ("8", TypeError)]],
    *[(f, "depth", v, e, "depth") for f in ("build_mlp_classifier", *METHODS)
      for v, e in [(-1, ValueError), (1.5, TypeError), (100, ValueError), (None, TypeError)]],
    *[(f, "activation", v, ValueError, "activation")
      for f in ("build_mlp_classifier", *METHODS, "BoundaryExplorer.grid")
      for v in ("Relu", "relu6", None, 5)],
    *[("build_mlp_classifier", "seed", v, e, "seed")
      for v, e in [(-1, ValueError), (1.5, TypeError), ("0", TypeError)]],
    # the explorer's data and training
    *[("BoundaryExplorer", "x", v, e, "x") for v, e in [
        (X[:, :1], ValueError), (X[0], ValueError), (X[:0], ValueError), (X * 1j, TypeError),
        (np.where(X > 1, np.nan, X), ValueError), (X > 0, TypeError), ("x", TypeError)]],
    *[("BoundaryExplorer", "y", v, e, "y") for v, e in [
        (Y.astype(float), TypeError), (Y[:-1], ValueError), (Y - 1, ValueError),
        (Y > 0, TypeError), (Y[:, None], ValueError)]],
    *[("BoundaryExplorer", "epochs", v, e, "epochs")
      for v, e in [(0, ValueError), (1.5, TypeError), (10**6, ValueError)]],
    *[("BoundaryExplorer", "learning_rate", v, e, "learning_rate")
      for v, e in [(0, ValueError), (-0.1, ValueError), (np.nan, ValueError),
                   ("0.02", TypeError)]],
    *[("BoundaryExplorer", "seed", v, e, "seed")
      for v, e in [(None, TypeError), (-1, ValueError), (1.5, TypeError)]],
    # drawing
    ("BoundaryExplorer.plot", "ax", "ax", TypeError, "ax"),
    *[("BoundaryExplorer.plot", "resolution", v, e, "resolution")
      for v, e in [(1, ValueError), (2.5, TypeError), (10**5, ValueError)]],
    *[("BoundaryExplorer.grid", arg, v, e, n) for arg in ("rows", "cols") for v, e, n in [
        ("depth", TypeError, arg), (("depth",), TypeError, arg),
        (("colour", [1]), ValueError, f"{arg}[0]"), (("depth", []), ValueError, f"{arg}[1]"),
        (("depth", 3), TypeError, f"{arg}[1]"), (("depth", "12"), TypeError, f"{arg}[1]")]],
    ("BoundaryExplorer.grid", "rows", ("depth", [0, -1]), ValueError, "depth"),
    ("BoundaryExplorer.grid", "rows", ("depth", [0, 1.5]), TypeError, "depth"),
    ("BoundaryExplorer.grid", "cols", ("width", [2, 0]), ValueError, "width"),
    ("BoundaryExplorer.grid", "cols", ("depth", [1]), ValueError, "cols"),
    ("BoundaryExplorer.grid", "rows", ("depth", [1] * 101), ValueError, "rows"),
    *[("BoundaryExplorer.grid", "size", v, e, "size")
      for v, e in [(0, ValueError), (-1.0, ValueError), ("1", TypeError)]],
    # the widget: values the controls offer (a slider would move any other one silently)
    *[("BoundaryExplorer.widget", "widths", v, e, n) for v, e, n in [
        ([], ValueError, "widths"), ("2", TypeError, "widths"), (8, TypeError, "widths"),
        ([2, 0], ValueError, "widths[1]"), ([2.5], TypeError, "widths[0]")]],
    *[("BoundaryExplorer.widget", "max_depth", v, e, "max_depth")
      for v, e in [(-1, ValueError), (1.5, TypeError), (100, ValueError)]],
    *[("BoundaryExplorer.widget", "activations", v, e, n) for v, e, n in [
        ([], ValueError, "activations"), ("relu", TypeError, "activations"),
        (["relu", "swish"], ValueError, "activations[1]")]],
    ("BoundaryExplorer.widget", "width", 8, ValueError, "width"),          # not in widths
    ("BoundaryExplorer.widget", "depth", 3, ValueError, "depth"),          # above max_depth
    ("BoundaryExplorer.widget", "activation", "sigmoid", ValueError, "activation"),
]


@pytest.mark.parametrize(("func", "arg", "value", "error", "named"), BAD,
                         ids=[f"{f}-{a}-{i}" for i, (f, a, *_) in enumerate(BAD)])
def test_bad_arguments_are_refused_by_name(func, arg, value, error, named):
    function, kwargs, owner = GOOD[func]
    kwargs = {**kwargs(), arg: value}
    arrays = {k: v.copy() for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    trained = dict(EXPLORER._models)
    plt.close("all")
    with pytest.raises(error) as err:
        function(**kwargs)
    message = str(err.value)
    assert message.startswith(owner), message
    assert named in message, message
    # Refused before anything changed: no model trained, no figure left, no array touched.
    assert EXPLORER._models == trained
    assert plt.get_fignums() == []
    for k, v in arrays.items():
        np.testing.assert_array_equal(kwargs[k], v)


def test_every_public_function_has_bad_arguments_tried():
    import dlcourse.widgets as widgets

    functions = {name for name in widgets.__all__
                 if callable(getattr(widgets, name)) and not isinstance(getattr(widgets, name),
                                                                        type)}
    methods = {f"BoundaryExplorer.{name}" for name, value in vars(BoundaryExplorer).items()
               if callable(value) and not name.startswith("_")}
    assert functions | {"BoundaryExplorer"} | methods == set(GOOD) == {f for f, *_ in BAD}
    for function, kwargs, _ in GOOD.values():   # and the valid arguments of the table are valid
        with warnings.catch_warnings():      # Agg cannot show the widget's figure, and says so
            warnings.simplefilter("ignore", UserWarning)
            function(**kwargs())
    plt.close("all")


def test_a_fractional_width_is_refused_not_truncated():
    # explorer.model(2.7, 1) used to train and return the width-2 model.
    with pytest.raises(TypeError, match=r"width must be an integer in \[1, 4096\], got 2.7"):
        EXPLORER.model(2.7, 1)


def test_a_grid_whose_training_fails_half_way_closes_its_figure(moons):
    explorer = BoundaryExplorer(*moons, epochs=5)
    fit, calls = explorer._fit, []

    def failing_fit(*setting):
        calls.append(setting)
        if len(calls) > 2:
            raise FloatingPointError("training diverged")
        return fit(*setting)

    explorer._fit = failing_fit
    plt.close("all")
    with pytest.raises(FloatingPointError, match="diverged"):
        explorer.grid(("depth", [1, 2]), ("width", [2, 4]), activation="tanh")
    assert plt.get_fignums() == []


def test_the_widget_draws_in_a_figure_it_closes_if_training_fails(moons):
    explorer = BoundaryExplorer(*moons, epochs=5)
    w = explorer.widget(widths=(2, 4), max_depth=1, activations=("relu",), width=2, depth=0)
    plt.close("all")

    def broken(*setting):
        raise FloatingPointError("training diverged")

    explorer._fit = broken
    with pytest.raises(FloatingPointError):
        w.f(width=4, depth=1, activation="relu")
    assert plt.get_fignums() == []
