"""dlcourse.plotting: what each figure draws, the confusion counts, and bad input refused by name
before anything is drawn (no half-drawn figure left open, the caller's arrays untouched)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlcourse import plotting  # noqa: E402
from dlcourse.scratch.sequential import History  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_figure_left_open")


def history(loss, val_loss=None):
    h = History()
    h.history = {"loss": list(loss)}
    if val_loss is not None:
        h.history["val_loss"] = list(val_loss)
    return h


# ------------------------------------------------------------------------------ what is drawn
def test_plot_history_draws_train_solid_and_validation_dashed():
    ax = plotting.plot_history({"a": history([3.0, 2.0, 1.5], [3.5, 2.5, 2.0]),
                                "b": {"loss": [1.0, 0.5]}}, title="t")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"a (train)", "a (validation)", "b (train)"}
    np.testing.assert_array_equal(lines["a (validation)"].get_ydata(), [3.5, 2.5, 2.0])
    np.testing.assert_array_equal(lines["b (train)"].get_xdata(), [1, 2])
    assert lines["a (validation)"].get_linestyle() == "--"
    assert ax.get_title() == "t" and ax.get_ylabel() == "loss"
    plt.close("all")


def test_plot_history_draws_a_diverged_run_until_it_diverged():
    ax = plotting.plot_history({"lr 10": {"loss": [2.0, 40.0, np.inf, np.nan]}})
    assert len(ax.get_lines()[0].get_ydata()) == 4
    plt.close("all")


def test_show_images_titles_each_image_and_hides_the_empty_panels():
    images = np.random.default_rng(0).uniform(size=(5, 4, 3, 1))
    fig = plotting.show_images(images, labels=np.arange(5), ncols=3, title="five")
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes] == ["0", "1", "2", "3", "4", ""]
    np.testing.assert_array_equal(fig.axes[4].images[0].get_array(), images[4, ..., 0])
    assert not fig.axes[5].images
    plt.close("all")


def test_show_images_shows_boolean_masks():
    fig = plotting.show_images(np.eye(4, dtype=bool)[None])
    assert fig.axes[0].images
    plt.close("all")


def test_decision_boundary_regions_follow_the_classifier():
    x = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    seen = []

    def predict(points):                     # class 1 right of x = 0, as probabilities
        seen.append(points)
        return (points[:, :1] > 0).astype(np.float32)

    ax = plotting.plot_decision_boundary(predict, x, np.array([0, 1, 1]), resolution=11)
    (grid,) = seen
    assert grid.dtype == np.float32 and grid.shape == (121, 2)
    np.testing.assert_allclose(grid[:, 0].min(), -1.5)       # a quarter of the range around
    assert len(ax.collections) >= 2                            # regions and points
    plt.close("all")


def test_decision_boundary_of_integer_points_uses_a_float_grid():
    # The grid used to take the points' dtype: integer points truncated it to a few values.
    seen = []
    plotting.plot_decision_boundary(lambda g: seen.append(g) or np.ones((len(g), 1)),
                                    np.array([[0, 0], [4, 4]]), [0, 1], resolution=9)
    assert np.issubdtype(seen[0].dtype, np.floating)
    assert len(np.unique(seen[0][:, 0])) == 9
    plt.close("all")


def test_confusion_matrix_counts():
    matrix = plotting.confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 2, 1], classes=4)
    np.testing.assert_array_equal(matrix, [[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 2, 0],
                                           [0, 0, 0, 0]])
    np.testing.assert_array_equal(plotting.confusion_matrix(np.array([[1], [0]]), [1, 1]),
                                  [[0, 1], [0, 1]])
    assert plotting.confusion_matrix([], [], classes=2).sum() == 0


def test_plot_confusion_matrix_writes_every_count():
    ax = plotting.plot_confusion_matrix(np.array([[5, 1], [0, 7]]), title="m")
    assert [t.get_text() for t in ax.texts] == ["5", "1", "0", "7"]
    assert ax.get_title() == "m"
    plt.close("all")


# ------------------------------------------------------------------------------ bad input
X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
Y = np.array([0, 1, 2])
IMAGES = np.random.default_rng(1).uniform(size=(3, 4, 4))


def two_class_scores(points):
    return np.stack([points[:, 0], -points[:, 0]], axis=1)


GOOD = {  # valid arguments of every public function; each row of BAD changes one of them
    "plot_history": lambda: {"histories": {"a": history([2.0, 1.0], [2.5, 1.5])},
                             "metric": "loss", "ax": None, "title": "t"},
    "show_images": lambda: {"images": IMAGES.copy(), "labels": ["a", "b", "c"], "ncols": 2,
                            "cmap": "gray", "size": 1.0, "title": "t"},
    "plot_decision_boundary": lambda: {"predict": two_class_scores, "x": X.copy(), "y": Y.copy(),
                                       "ax": None, "resolution": 5, "title": "t"},
    "confusion_matrix": lambda: {"y_true": Y.copy(), "y_pred": Y[::-1].copy(), "classes": 3},
    "plot_confusion_matrix": lambda: {"matrix": np.eye(3, dtype=int), "ax": None, "title": "t"},
}
BAD = [  # function, argument, bad value, expected error, what the message names
    # histories: a dict of histories, each with the metric, curves of numbers of one length
    *[("plot_history", "histories", v, e, n) for v, e, n in [
        (history([1.0]), TypeError, "histories"), ([history([1.0])], TypeError, "histories"),
        ({}, ValueError, "histories"), ({"a": [1.0, 2.0]}, TypeError, "histories['a']"),
        ({"a": {"accuracy": [0.5]}}, ValueError, "histories['a']"),
        ({"a": {"loss": []}}, ValueError, "histories['a']"),
        ({"a": {"loss": [[1.0], [2.0]]}}, ValueError, "histories['a']"),
        ({"a": {"loss": ["1.0"]}}, TypeError, "histories['a']"),
        ({"a": {"loss": [1j]}}, TypeError, "histories['a']"),
        ({"a": {"loss": [1.0, 2.0], "val_loss": [1.0]}}, ValueError, "histories['a']")]],
    *[("plot_history", "metric", v, e, "metric")
      for v, e in [("acc", ValueError), (None, TypeError), (["loss"], TypeError)]],
    # images: 1 to 500 images (n, h, w) or (n, h, w, 1) of finite real numbers
    *[("show_images", "images", v, e, "images") for v, e in [
        (IMAGES[0], ValueError), (IMAGES[..., None].repeat(3, -1), ValueError),
        (IMAGES[:0], ValueError), (np.zeros((501, 2, 2)), ValueError), (IMAGES * 1j, TypeError),
        (np.full((1, 2, 2), np.nan), ValueError), ("images", TypeError),
        ([[[1.0]], [[1.0, 2.0]]], TypeError)]],
    *[("show_images", "labels", v, e, "labels") for v, e in [
        (["a", "b"], ValueError), (list("abcd"), ValueError), ("abc", TypeError),
        (3, TypeError)]],
    *[("show_images", "ncols", v, e, "ncols")
      for v, e in [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)]],
    *[("show_images", "cmap", v, ValueError, "cmap") for v in ("virdis", None, 5)],
    *[("show_images", "size", v, e, "size")
      for v, e in [(0, ValueError), (-1.0, ValueError), (np.nan, ValueError), ("1", TypeError)]],
    # the classifier and its points
    *[("plot_decision_boundary", "predict", v, e, "predict") for v, e in [
        ("model", TypeError), (None, TypeError), (np.ndarray, TypeError),
        (lambda g: g[:, 0], ValueError),                          # labels, not scores
        (lambda g: two_class_scores(g)[:5], ValueError),
        (lambda g: np.full((len(g), 2), np.nan), ValueError),
        (lambda g: np.full((len(g), 2), "a"), ValueError)]],
    *[("plot_decision_boundary", "x", v, e, "x") for v, e in [
        (X[:, :1], ValueError), (X[0], ValueError), (X[:0], ValueError), (X * 1j, TypeError),
        (np.where(X > 0, np.nan, X), ValueError)]],
    *[("plot_decision_boundary", "y", v, e, "y") for v, e in [
        (Y[:2], ValueError), (np.ones((3, 2)), ValueError), (Y > 0, TypeError),
        (np.array(["a", "b", "c"]), TypeError)]],
    *[("plot_decision_boundary", "resolution", v, e, "resolution")
      for v, e in [(1, ValueError), (10**5, ValueError), (100.0, TypeError)]],
    # labels: integers >= 0 below classes, one per example
    *[("confusion_matrix", arg, v, e, arg) for arg in ("y_true", "y_pred") for v, e in [
        (Y.astype(float), TypeError), (np.array([0.9, 0.2, 1.7]), TypeError),
        (np.eye(3), TypeError), (np.eye(3, dtype=int), ValueError), (Y > 0, TypeError),
        (np.array([0, -1, 1]), ValueError), (np.array([0, 3, 1]), ValueError),
        (Y[:2], ValueError), (np.array(["0", "1", "1"]), TypeError)]],
    *[("confusion_matrix", "classes", v, e, "classes")
      for v, e in [(0, ValueError), (-3, ValueError), (2, ValueError), (3.0, TypeError),
                   (True, TypeError)]],
    *[("plot_confusion_matrix", "matrix", v, e, "matrix") for v, e in [
        (np.ones((2, 3)), ValueError), (np.ones(3), ValueError), (np.zeros((0, 0)), ValueError),
        (np.ones((101, 101)), ValueError), (-np.eye(2), ValueError), (np.eye(2) * 1j, TypeError),
        (np.full((2, 2), np.nan), ValueError)]],
    # axes and titles
    *[(f, "ax", v, TypeError, "ax")
      for f in ("plot_history", "plot_decision_boundary", "plot_confusion_matrix")
      for v in ("ax", 5, [None])],
    *[(f, "title", v, TypeError, "title")
      for f in ("plot_history", "show_images", "plot_decision_boundary", "plot_confusion_matrix")
      for v in (5, ["t"])],
]


@pytest.mark.parametrize(("func", "arg", "value", "error", "named"), BAD,
                         ids=[f"{f}-{a}-{i}" for i, (f, a, *_) in enumerate(BAD)])
def test_bad_arguments_are_refused_by_name(func, arg, value, error, named):
    kwargs = {**GOOD[func](), arg: value}
    arrays = {k: v.copy() for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    with pytest.raises(error) as err:
        getattr(plotting, func)(**kwargs)
    message = str(err.value)
    assert message.startswith(f"{func}(): "), message
    assert named in message, message
    for k, v in arrays.items():             # the caller's arrays are never changed
        np.testing.assert_array_equal(kwargs[k], v)


def test_every_public_function_has_bad_arguments_tried():
    assert set(plotting.__all__) == set(GOOD) == {func for func, *_ in BAD}
    for func in GOOD:        # and the valid arguments of the table are valid
        getattr(plotting, func)(**GOOD[func]())
    plt.close("all")


def test_an_array_of_axes_is_refused_with_a_hint():
    fig, axes = plt.subplots(1, 2)
    with pytest.raises(TypeError, match=r"ax must be a Matplotlib Axes or None, got ndarray: "
                                        r"pick one, e.g. axes\[0\]"):
        plotting.plot_confusion_matrix(np.eye(2), ax=axes)
    assert not axes[0].texts                 # nothing drawn
    plt.close(fig)


def test_one_history_given_alone_gets_a_hint():
    with pytest.raises(TypeError, match=r"one History: pass a dict, e.g. \{'model': history\}"):
        plotting.plot_history(history([1.0]))


def test_confusion_matrix_refuses_labels_it_would_misplace():
    # A label of -1 used to be counted as the last class, probabilities were truncated to
    # class 0, and classes=0 meant "work it out".
    with pytest.raises(ValueError, match=r"y_true must hold classes >= 0, got -1"):
        plotting.confusion_matrix([0, -1], [0, 1])
    with pytest.raises(TypeError, match=r"y_pred must be an array of integer class labels"):
        plotting.confusion_matrix([0, 1], [0.9, 0.4])
    with pytest.raises(ValueError, match=r"classes must be an integer >= 1, got 0"):
        plotting.confusion_matrix([0, 1], [0, 1], classes=0)


def test_a_predict_that_fails_leaves_no_figure():
    def predict(points):
        raise RuntimeError("the learner's model broke")

    with pytest.raises(RuntimeError, match="broke"):
        plotting.plot_decision_boundary(predict, X, Y)
