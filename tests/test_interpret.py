"""interpret: saliency from scratch equals tf.GradientTape's in float64; occlusion maps on toy
models whose answer is known in closed form."""

import numpy as np
import pytest
from tfcompare import assert_close

from dlcourse import interpret
from dlcourse.gradcheck import numerical_gradient
from dlcourse.keras_ref import tf, to_keras
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
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        scores = keras_model(xt, training=False)
        chosen = tf.gather(scores, classes, axis=1, batch_dims=1)
    return tape.gradient(chosen, xt).numpy()


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("class_index", [None, 1, "per-example"])
def test_saliency_matches_gradient_tape(name, class_index):
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
    assert_close(ours, tape_saliency(to_keras(model), x, classes), f"saliency of {name}",
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


def test_occlusion_works_with_a_keras_model():
    model = small_cnn(dtype="float32")
    image = inputs_for(model, n=1)[0].astype(np.float32)
    ours = interpret.occlusion_map(model, image, 2, patch_size=3, stride=2)
    theirs = interpret.occlusion_map(to_keras(model), image, 2, patch_size=3, stride=2)
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
