"""interpret: saliency from scratch equals tf.GradientTape's in float64; occlusion maps on toy
models whose answer is known in closed form."""

import numpy as np
import pytest
from tfcompare import assert_close

from dlcourse import interpret
from dlcourse.gradcheck import numerical_gradient
from dlcourse.scratch import Conv2D, Dense, Flatten, Input, MaxPooling2D, Sequential, models

#: Saliency from scratch against TensorFlow, float64 (the brief's bound; they agree to ~1e-15).
RTOL = 1e-6


def small_cnn(dtype="float64"):
    return Sequential([
        Input((10, 9, 2), dtype=dtype),
        Conv2D(4, 3, activation="relu", seed=0),
        MaxPooling2D(),
        Conv2D(3, (2, 2), padding="same", activation="tanh", seed=1),
        Flatten(),
        Dense(5, seed=2),
    ])


MODELS = {
    "mnist_cnn": lambda: models.mnist_cnn(seed=0, dtype="float64"),
    "small_cnn": small_cnn,
    "mlp": lambda: models.mlp(12, (8, 6), 3, activation="tanh", seed=0, dtype="float64"),
}


def inputs_for(model, n=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *model.input.shape))


def tape_saliency(keras_model, x, classes):
    from dlcourse.keras_ref import tf

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        scores = keras_model(xt, training=False)
        chosen = tf.gather(scores, classes, axis=1, batch_dims=1)
    return tape.gradient(chosen, xt).numpy()


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("class_index", [None, 1, "per-example"])
def test_saliency_matches_gradient_tape(keras_ref, name, class_index):
    model = MODELS[name]()
    x = inputs_for(model)
    scores = model.predict(x)
    if class_index is None:
        classes = scores.argmax(axis=1)
    elif class_index == "per-example":
        class_index = classes = np.arange(len(x)) % scores.shape[1]
    else:
        classes = np.full(len(x), class_index)
    ours = interpret.saliency(model, x, class_index)
    assert ours.shape == x.shape
    assert_close(ours, tape_saliency(keras_ref.to_keras(model), x, classes), f"saliency of {name}",
                 rtol=RTOL)


def test_saliency_matches_finite_differences():
    model = small_cnn()
    x = inputs_for(model, n=1)
    ours = interpret.saliency(model, x, 3)
    numeric = numerical_gradient(lambda v: float(model.forward(v)[0, 3]), x.copy())
    assert_close(ours, numeric, "saliency vs finite differences", rtol=1e-6)


def test_saliency_of_a_linear_model_is_its_kernel_column():
    model = Sequential([Input((3, 4, 1), dtype="float64"), Flatten(), Dense(5, seed=0)])
    x = inputs_for(model, n=2)
    grad = interpret.saliency(model, x, [2, 4])
    kernel = model.layers[1].params["kernel"]
    np.testing.assert_allclose(grad[0], kernel[:, 2].reshape(3, 4, 1), rtol=1e-12)
    np.testing.assert_allclose(grad[1], kernel[:, 4].reshape(3, 4, 1), rtol=1e-12)


def test_saliency_map_is_the_largest_absolute_gradient_over_channels():
    model = small_cnn()
    x = inputs_for(model)
    grad = interpret.saliency(model, x)
    smap = interpret.saliency_map(model, x)
    assert smap.shape == (4, 10, 9)
    np.testing.assert_allclose(smap, np.abs(grad).max(axis=-1))


def test_saliency_errors():
    model = small_cnn()
    with pytest.raises(ValueError, match="class_index"):
        interpret.saliency(model, inputs_for(model), 5)
    with pytest.raises(TypeError, match="GradientTape"):
        interpret.saliency(object(), np.zeros((1, 3)))
    mlp = models.mlp(12, (4,), 3, dtype="float64")
    with pytest.raises(ValueError, match="images"):
        interpret.saliency_map(mlp, inputs_for(mlp))


def linear_image_model(height=6, width=5, classes=3, seed=0):
    return Sequential([Input((height, width, 1), dtype="float64"), Flatten(),
                       Dense(classes, seed=seed)])


@pytest.mark.parametrize("patch_size, stride", [(2, 2), (3, 1), (2, 3)])
def test_occlusion_of_a_linear_model_is_the_patch_contribution(patch_size, stride):
    # score_c = Σ W_c ⊙ x + b_c, so covering a patch with 0 lowers it by Σ_patch W_c ⊙ x.
    model = linear_image_model()
    image = np.random.default_rng(1).normal(size=(6, 5, 1))
    c = 1
    w = model.layers[1].params["kernel"][:, c].reshape(6, 5, 1)
    drop = interpret.occlusion_map(model, image, c, patch_size=patch_size, stride=stride)
    out_h, out_w = (6 - patch_size) // stride + 1, (5 - patch_size) // stride + 1
    assert drop.shape == (out_h, out_w)
    expected = np.array([[np.sum((w * image)[r * stride:r * stride + patch_size,
                                             q * stride:q * stride + patch_size])
                          for q in range(out_w)] for r in range(out_h)])
    np.testing.assert_allclose(drop, expected, rtol=1e-10, atol=1e-12)


def test_occlusion_finds_the_only_region_the_model_reads():
    # A model that looks at the top-left 2x2 pixels only: covering anything else changes
    # nothing; covering them removes the whole score.
    model = linear_image_model(4, 4, classes=2)
    kernel = np.zeros((16, 2))
    kernel[[0, 1, 4, 5], 0] = 1.0          # class 0 = sum of the top-left corner
    model.layers[1].set_weights([kernel, np.zeros(2)])
    image = np.ones((4, 4, 1))
    drop = interpret.occlusion_map(model, image, 0, patch_size=2, stride=2)
    np.testing.assert_array_equal(drop, [[4.0, 0.0], [0.0, 0.0]])
    # With a fill equal to the image, nothing changes anywhere.
    np.testing.assert_array_equal(interpret.occlusion_map(model, image, 0, 2, 2, fill=1.0), 0.0)


def test_occlusion_works_with_a_keras_model(keras_ref):
    model = small_cnn(dtype="float32")
    image = inputs_for(model, n=1)[0].astype(np.float32)
    ours = interpret.occlusion_map(model, image, 2, patch_size=3, stride=2)
    theirs = interpret.occlusion_map(keras_ref.to_keras(model), image, 2, patch_size=3, stride=2)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_occlusion_errors():
    model = linear_image_model()
    with pytest.raises(ValueError, match="one image"):
        interpret.occlusion_map(model, np.zeros((1, 6, 5, 1)), 0)
    with pytest.raises(ValueError, match="larger"):
        interpret.occlusion_map(model, np.zeros((6, 5, 1)), 0, patch_size=6)
    with pytest.raises(ValueError, match="stride"):
        interpret.occlusion_map(model, np.zeros((6, 5, 1)), 0, stride=0)
    with pytest.raises(ValueError, match="class_index"):
        interpret.occlusion_map(model, np.zeros((6, 5, 1)), 7)


# ------------------------------------------------------------------------------ bad input
class ScoresOf:
    """A duck-typed model: ``predict`` returns ``scores(x)``; it records what it was given."""

    def __init__(self, scores):
        self.scores = scores
        self.seen = []

    def predict(self, x, batch_size=32, verbose=0):
        self.seen.append(x.copy())
        return self.scores(x)


def sum_model(classes=3):
    """Class k's score: k times the sum of the pixels (any dtype, any image size)."""
    return ScoresOf(lambda x: x.reshape(len(x), -1).sum(axis=1, keepdims=True)
                    * np.arange(classes, dtype=np.float64))


MLP = models.mlp(12, (4,), 3, seed=0, dtype="float64")
SMALL = Sequential([Input((6, 5, 1), dtype="float64"), Conv2D(2, 3, seed=0), Flatten(),
                    Dense(3, seed=1)])
X_MLP = np.random.default_rng(0).normal(size=(3, 12))
X_IMG = np.random.default_rng(1).normal(size=(2, 6, 5, 1))
IMAGE = X_IMG[0]
GOOD = {  # valid arguments of every public function; each row of BAD changes one of them
    "saliency": lambda: {"model": MLP, "x": X_MLP.copy(), "class_index": [0, 1, 2]},
    "saliency_map": lambda: {"model": SMALL, "x": X_IMG.copy(), "class_index": 1},
    "occlusion_map": lambda: {"model": linear_image_model(), "image": IMAGE.copy(),
                              "class_index": 1, "patch_size": 2, "stride": 1, "fill": 0.0,
                              "batch_size": 8},
}
NOT_MODELS = [(object(), TypeError), ("mlp", TypeError), (None, TypeError),
              (Sequential, TypeError)]
BAD = [  # function, argument, bad value, expected error, what the message names
    # the model: from scratch with forward/backward, built
    *[(f, "model", v, e, "model") for f in ("saliency", "saliency_map")
      for v, e in [*NOT_MODELS, (Dense(3), ValueError),                       # not built yet
                   (Sequential([Flatten(), Dense(3)]), ValueError)]],
    *[("occlusion_map", "model", v, e, "model") for v, e in NOT_MODELS],
    ("occlusion_map", "model", ScoresOf(lambda x: np.ones(len(x))), ValueError, "model"),
    ("occlusion_map", "model", ScoresOf(lambda x: np.ones((3, 3))), ValueError, "model"),
    ("occlusion_map", "model", ScoresOf(lambda x: np.full((len(x), 3), np.nan)), ValueError,
     "model"),
    # the inputs: floating point, finite, the model's shape
    *[("saliency", "x", v, e, "x")
      for v, e in [(X_MLP * 1j, TypeError), (X_MLP > 0, TypeError), (X_MLP.astype(int), TypeError),
                   (np.where(X_MLP > 1, np.nan, X_MLP), ValueError), (X_MLP[:, :11], ValueError),
                   (X_MLP[0], ValueError), (X_MLP[:0], ValueError), ("x", TypeError)]],
    *[("saliency_map", "x", v, e, "x")
      for v, e in [(X_IMG[..., 0], ValueError), (X_IMG[:, :5], ValueError),
                   (X_IMG * 1j, TypeError), (np.full_like(X_IMG, np.inf), ValueError)]],
    *[("occlusion_map", "image", v, e, "image")
      for v, e in [(IMAGE[None], ValueError), (IMAGE[..., 0], ValueError), (IMAGE * 1j, TypeError),
                   (IMAGE > 0, TypeError), (np.full_like(IMAGE, np.nan), ValueError)]],
    # the class: an int >= 0 below the number of classes, or one per example
    *[(f, "class_index", v, e, "class_index") for f in ("saliency", "saliency_map")
      for v, e in [(3, ValueError), (-1, ValueError), (1.0, TypeError), (True, TypeError),
                   ("1", TypeError), ([0.0, 1.0, 2.0], TypeError), ([[0], [1], [2]], ValueError),
                   ([0, -1, 1], ValueError)]],
    ("saliency", "class_index", [0, 1], ValueError, "class_index"),         # batch of 3
    ("saliency", "class_index", [0, 1, 3], ValueError, "class_index"),
    *[("occlusion_map", "class_index", v, e, "class_index")
      for v, e in [(3, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError),
                   ([1], TypeError), (None, TypeError)]],
    # the patches and the batches
    *[("occlusion_map", arg, v, e, arg) for arg in ("patch_size", "stride", "batch_size")
      for v, e in [(0, ValueError), (-2, ValueError), (2.0, TypeError), (True, TypeError)]],
    ("occlusion_map", "patch_size", 6, ValueError, "patch_size"),            # image 6 x 5
    *[("occlusion_map", "fill", v, e, "fill")
      for v, e in [(np.nan, ValueError), (np.inf, ValueError), ("0", TypeError), (1j, TypeError),
                   (None, TypeError)]],
]


@pytest.mark.parametrize(("func", "arg", "value", "error", "named"), BAD,
                         ids=[f"{f}-{a}-{i}" for i, (f, a, *_) in enumerate(BAD)])
def test_bad_arguments_are_refused_by_name(func, arg, value, error, named):
    kwargs = {**GOOD[func](), arg: value}
    arrays = {k: v.copy() for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    with pytest.raises(error) as err:
        getattr(interpret, func)(**kwargs)
    message = str(err.value)
    assert message.startswith(f"{func}(): "), message
    assert named in message, message
    for k, v in arrays.items():             # the caller's arrays are never changed
        np.testing.assert_array_equal(kwargs[k], v)


def test_every_public_function_has_bad_arguments_tried():
    assert set(interpret.__all__) == set(GOOD) == {func for func, *_ in BAD}
    for func in GOOD:        # and the valid arguments of the table are valid
        getattr(interpret, func)(**GOOD[func]())


def test_a_refused_saliency_leaves_the_model_as_it_was():
    # Checked before the forward pass: an unbuilt model is not built with random weights, and
    # a batch of the wrong size does not reach backward (which fills the weights' gradients).
    model = Sequential([Flatten(), Dense(3, seed=0)])
    with pytest.raises(ValueError, match=r"saliency\(\): model has no weights yet"):
        interpret.saliency(model, X_IMG)
    assert not model.built
    grads = [g.copy() for g in MLP.layers[0].grads.values()]
    with pytest.raises(ValueError, match=r"class_index must be one class for all or one per "):
        interpret.saliency(MLP, X_MLP, [0, 1])
    for before, after in zip(grads, MLP.layers[0].grads.values(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_occlusion_of_an_integer_image_refuses_a_fill_it_would_truncate():
    image = np.full((4, 4, 1), 200, dtype=np.uint8)
    model = sum_model()
    for fill in (0.5, 300, -1):            # 0.5 -> 0, 300 -> 44, -1 -> 255 or an overflow
        with pytest.raises(ValueError, match=rf"fill must be an integer in \[0, 255\] .*"
                                             rf"got {fill}"):
            interpret.occlusion_map(model, image, 1, patch_size=2, stride=2, fill=fill)
    assert not model.seen                  # refused before any prediction
    drop = interpret.occlusion_map(model, image, 1, patch_size=2, stride=2, fill=55)
    np.testing.assert_array_equal(drop, np.full((2, 2), 4 * (200 - 55)))
    assert model.seen[0].dtype == np.uint8
