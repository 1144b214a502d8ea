"""dlcourse.scratch.normalization: BatchNormalization against Keras (float64).

Forward values, the input gradient and the gamma/beta gradients must agree with TensorFlow's to a
relative error of ``tfcompare.RTOL`` (1e-7), in training mode (batch statistics) and in inference
mode (moving statistics); the moving statistics must follow Keras's after several training calls;
the backward passes must also agree with centred finite differences (1e-6).
"""

import numpy as np
import pytest
from tfcompare import assert_close, keras_forward_backward

import dlcourse.scratch
from dlcourse.gradcheck import check_layer
from dlcourse.scratch import set_random_seed
from dlcourse.scratch.core import Activation, Dense
from dlcourse.scratch.losses import SparseCategoricalCrossentropy
from dlcourse.scratch.normalization import BatchNormalization
from dlcourse.scratch.optimizers import SGD
from dlcourse.scratch.sequential import Input, Sequential


def randn(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def random_weights(layer, seed=10):
    """Random values for every weight (variances positive), so no term hides behind 0 or 1."""
    rng = np.random.default_rng(seed)
    weights = []
    for name in layer.weight_names:
        if name in layer.params:
            shape = layer.params[name].shape
            value = rng.uniform(0.5, 2.0, shape) if name == "moving_variance" \
                else rng.normal(size=shape)
            weights.append(value)
    return weights


def twins(x, seed=10, **kwargs):
    """A built BatchNormalization and its float64 Keras twin with the same random weights."""
    from dlcourse.keras_ref import keras

    layer = BatchNormalization(**kwargs)
    layer.forward(x)
    keras_layer = keras.layers.BatchNormalization(dtype="float64", **kwargs)
    keras_layer.build(x.shape)
    layer.set_weights(random_weights(layer, seed))
    keras_layer.set_weights(layer.get_weights())
    return layer, keras_layer


CASES = {
    "features": dict(x_shape=(6, 4)),
    "batch-of-two": dict(x_shape=(2, 3)),
    "images-channels-last": dict(x_shape=(3, 5, 4, 2)),
    "sequence": dict(x_shape=(3, 7, 5)),
    "axis-1-of-images": dict(x_shape=(2, 3, 4, 5), axis=1),
    "no-center": dict(x_shape=(5, 3), center=False),
    "no-scale": dict(x_shape=(5, 3), scale=False),
    "neither": dict(x_shape=(2, 4, 4, 3), center=False, scale=False),
    "momentum-epsilon": dict(x_shape=(8, 3), momentum=0.5, epsilon=0.1),
}


def case_args(case):
    return {k: v for k, v in case.items() if k != "x_shape"}


@pytest.mark.tensorflow
@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_batchnorm_matches_keras(case, training):
    # Shifted and scaled input: a mean far from 0 and a variance far from 1 catch a missing
    # centring or scaling that standard-normal data would hide.
    x = 3.0 + 2.5 * randn(*case["x_shape"], seed=1)
    layer, keras_layer = twins(x, **case_args(case))
    y = layer.forward(x, training=training)
    g = randn(*y.shape, seed=2)
    dx = layer.backward(g)
    y_tf, dx_tf, grads_tf = keras_forward_backward(keras_layer, x, g, training=training)
    assert_close(y, y_tf, f"output (training={training})")
    assert_close(dx, dx_tf, f"dJ/dx (training={training})")
    assert sorted(grads_tf) == sorted(layer.grads)
    for name, grad in grads_tf.items():
        assert_close(layer.grads[name], grad, f"dJ/d{name} (training={training})")
    # Both layers updated (training) or kept (inference) their moving statistics alike.
    for ours, theirs in zip(layer.get_weights(), keras_layer.get_weights(), strict=True):
        assert_close(ours, theirs, "weights after the call")


def test_training_output_is_standardised_per_feature():
    x = 5.0 + 3.0 * randn(50, 4, 4, 3, seed=3)
    y = BatchNormalization(epsilon=1e-12).forward(x, training=True)  # gamma 1, beta 0
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1, rtol=1e-9)


def test_inference_uses_moving_statistics_not_the_batch():
    layer = BatchNormalization()
    x = 4.0 + randn(10, 3)
    # Fresh layer: moving mean 0, variance 1, so inference is y = x / sqrt(1 + eps).
    np.testing.assert_allclose(layer.forward(x), x / np.sqrt(1 + 1e-3), rtol=1e-14)
    # One example gives the same output alone as inside its batch.
    np.testing.assert_allclose(layer.forward(x[:1]), layer.forward(x)[:1], rtol=1e-14)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 3, 2)])
def test_moving_statistics_follow_keras_over_several_training_calls(keras, shape):
    layer = BatchNormalization(momentum=0.8)
    keras_layer = keras.layers.BatchNormalization(momentum=0.8, dtype="float64")
    for step in range(5):
        x = step + (1 + step) * randn(*shape, seed=step)
        y = layer.forward(x, training=True)
        y_tf = keras_layer(x, training=True).numpy()
        assert_close(y, y_tf, f"output of training call {step}")
    ours, theirs = layer.get_weights(), keras_layer.get_weights()
    assert len(ours) == len(theirs) == 4
    for name, a, b in zip(layer.weight_names, ours, theirs, strict=True):
        assert_close(a, b, f"{name} after 5 training calls")


def test_moving_update_uses_the_biased_variance():
    layer = BatchNormalization(momentum=0.0)  # the moving statistics become the batch's
    x = randn(5, 2, seed=4)
    layer.forward(x, training=True)
    np.testing.assert_allclose(layer.params["moving_mean"], x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(layer.params["moving_variance"], x.var(axis=0), rtol=1e-14)


@pytest.mark.tensorflow
@pytest.mark.parametrize("kwargs, count", [({}, 4), ({"center": False}, 3),
                                           ({"scale": False}, 3),
                                           ({"center": False, "scale": False}, 2)])
def test_weights_round_trip_with_keras(kwargs, count):
    x = randn(4, 3, 3, 5)
    layer, keras_layer = twins(x, **kwargs)
    assert [v.name for v in keras_layer.weights] == list(layer.params)
    assert len(layer.get_weights()) == len(keras_layer.get_weights()) == count
    keras_layer.set_weights(layer.get_weights())
    layer.set_weights(keras_layer.get_weights())
    for a, b in zip(layer.get_weights(), keras_layer.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert layer.count_params() == keras_layer.count_params()


def test_initial_weights_are_keras_s(keras):
    x = randn(4, 3)
    layer = BatchNormalization()
    layer.forward(x)
    keras_layer = keras.layers.BatchNormalization(dtype="float64")
    keras_layer.build(x.shape)
    for a, b in zip(layer.get_weights(), keras_layer.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_batchnorm_passes_gradient_check(case, training):
    x = 1.0 + 2.0 * randn(*case["x_shape"], seed=5)
    layer = BatchNormalization(**case_args(case))
    layer.forward(x)
    layer.set_weights(random_weights(layer, seed=6))
    errors = check_layer(layer, x, training=training)
    assert set(errors) == {"input", *layer.grads}


def test_only_gamma_and_beta_have_gradients_and_reach_the_optimizer():
    layer = BatchNormalization(name="bn")
    model = Sequential([Input((4,)), Dense(3, seed=0, name="dense"), layer])
    assert list(layer.grads) == ["gamma", "beta"]
    weights = [w for _, w in model.grads_and_vars()]
    expected = [model.layers[0].params["kernel"], model.layers[0].params["bias"],
                layer.params["gamma"], layer.params["beta"]]
    assert len(weights) == len(expected)
    assert all(w is e for w, e in zip(weights, expected, strict=True))
    # Built by its first call, outside a model, too.
    alone = BatchNormalization(center=False)
    alone.forward(randn(2, 3))
    assert list(alone.grads) == ["gamma"]


def test_backward_uses_the_mode_of_the_last_forward():
    layer = BatchNormalization()
    x, g = randn(6, 3), randn(6, 3, seed=1)
    layer.forward(x, training=True)
    dx_train = layer.backward(g)
    layer.forward(x, training=False)
    dx_infer = layer.backward(g)
    gamma, var = layer.params["gamma"], layer.params["moving_variance"]
    np.testing.assert_allclose(dx_infer, g * gamma / np.sqrt(var + layer.epsilon), rtol=1e-14)
    # In training the gradient sums to zero per feature: shifting all inputs changes nothing.
    np.testing.assert_allclose(dx_train.sum(axis=0), 0, atol=1e-12)
    assert not np.allclose(dx_train, dx_infer)


def test_float32_input_gives_float32_weights_and_output():
    layer = BatchNormalization()
    y = layer.forward(randn(4, 3).astype("float32"), training=True)
    assert y.dtype == np.float32
    assert all(w.dtype == np.float32 for w in layer.get_weights())
    assert layer.backward(np.ones_like(y)).dtype == np.float32


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("x, message", [
    (np.ones(3), r"expected input of rank 2 or more"),
    (np.ones((2, 3), dtype=np.int64), r"expected a floating-point input"),
    (np.array([[1.0, np.nan]]), r"the input contains NaN"),
    (np.ones((0, 3)), r"non-empty batch"),
])
def test_bad_input_is_reported_with_the_layer_name(x, message):
    layer = BatchNormalization(name="bn1")
    with pytest.raises((TypeError, ValueError), match=rf"BatchNormalization 'bn1': .*{message}"):
        layer.forward(x)


def test_wrong_feature_count_or_rank_after_build():
    layer = BatchNormalization(name="bn")
    layer.forward(randn(2, 4, 4, 3))
    layer.forward(randn(5, 6, 2, 3))  # other spatial sizes and batch sizes are fine
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn': expected 3 features on "
                                         r"axis -1 .* got shape \(2, 4, 4, 5\)"):
        layer.forward(randn(2, 4, 4, 5))
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn': expected input of rank 4"):
        layer.forward(randn(2, 3))


def test_axis_must_be_a_feature_axis():
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn': axis=0 is not a feature axis"):
        BatchNormalization(axis=0, name="bn").forward(randn(2, 3))
    with pytest.raises(ValueError, match=r"axis=2 is not a feature axis of an input of rank 2"):
        BatchNormalization(axis=2, name="bn").forward(randn(2, 3))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"momentum": 1.5}, ValueError, r"momentum must be a number in \[0, 1\]"),
    ({"epsilon": 0.0}, ValueError, r"epsilon must be a number > 0"),
    ({"center": "yes"}, TypeError, r"center must be True or False"),
    ({"scale": 1}, TypeError, r"scale must be True or False"),
    ({"axis": 1.0}, TypeError, r"axis must be an integer"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=rf"BatchNormalization 'bn': {message}"):
        BatchNormalization(**kwargs, name="bn")


def test_backward_before_forward_and_wrong_gradient_shape():
    layer = BatchNormalization(name="bn")
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn': backward\(\) called before "
                                         r"forward\(\)"):
        layer.backward(randn(2, 3))
    layer.forward(randn(2, 3), training=True)
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn': expected a gradient of the "
                                         r"output's shape \(2, 3\)"):
        layer.backward(randn(2, 4))


def test_mismatched_set_weights():
    layer = BatchNormalization(name="bn")
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn': set_weights\(\) before"):
        layer.set_weights([np.ones(3)] * 4)
    layer.forward(randn(2, 3))
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn': expected 4 weight arrays "
                                         r"\(gamma, beta, moving_mean, moving_variance\), got 2"):
        layer.set_weights([np.ones(3)] * 2)
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn': weight 'moving_variance' "
                                         r"must have shape \(3,\), got \(4,\)"):
        layer.set_weights([np.ones(3)] * 3 + [np.ones(4)])
    np.testing.assert_array_equal(layer.params["gamma"], 1)  # nothing changed


# ------------------------------------------------------------------------------- in a model
def test_batch_normalization_is_exported():
    assert dlcourse.scratch.BatchNormalization is BatchNormalization


def bn_model():
    return Sequential([
        Input((6,), dtype="float64"),
        Dense(8, seed=0, name="hidden"),
        BatchNormalization(momentum=0.9, epsilon=0.01, name="bn"),
        Activation("relu", name="relu"),
        Dense(3, seed=1, name="out"),
    ], name="bn_model")


@pytest.mark.tensorflow
def test_to_keras_and_from_keras_keep_the_layer_and_its_weights():
    from dlcourse.keras_ref import from_keras, to_keras

    model = Sequential([
        Input((4, 4, 3), dtype="float64"),
        BatchNormalization(momentum=0.9, epsilon=0.01, name="bn"),
        Activation("tanh", name="act"),
        BatchNormalization(axis=1, center=False, scale=False, name="bn_rows"),
    ], name="bn_model")
    x = 2.0 + randn(10, 4, 4, 3)
    model.forward(x, training=True)  # moving statistics away from their initial values
    for i, layer in enumerate(model.layers[::2]):
        layer.set_weights(random_weights(layer, seed=i))
    twin = to_keras(model)
    keras_bn, keras_rows = twin.get_layer("bn"), twin.get_layer("bn_rows")
    assert (keras_bn.axis, keras_bn.momentum, keras_bn.epsilon, keras_bn.center,
            keras_bn.scale) == (-1, 0.9, 0.01, True, True)
    assert (keras_rows.axis, keras_rows.center, keras_rows.scale) == (1, False, False)
    assert_close(twin(x, training=False).numpy(), model.forward(x), "inference through to_keras")
    assert_close(twin(x, training=True).numpy(), model.forward(x, training=True),
                 "training through to_keras")
    back = from_keras(twin)
    bn_back, rows_back = back.layers[0], back.layers[2]
    assert isinstance(bn_back, BatchNormalization) and isinstance(rows_back, BatchNormalization)
    assert (bn_back.axis, bn_back.momentum, bn_back.epsilon) == (-1, 0.9, 0.01)
    assert (rows_back.axis, rows_back.center, rows_back.scale) == (1, False, False)
    for a, b in zip(back.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # Between Dense layers, as in practice.
    model, x6 = bn_model(), randn(10, 6, seed=7)
    model.forward(x6, training=True)
    twin = to_keras(model)
    assert_close(twin(x6, training=False).numpy(), model.forward(x6), "Dense-BN-Dense, Keras")
    for a, b in zip(from_keras(twin).get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_sequential_with_batchnorm_trains_with_fit():
    set_random_seed(0)  # the shuffling in fit
    rng = np.random.default_rng(0)
    x = 10.0 + 5.0 * rng.normal(size=(120, 6))  # badly scaled inputs: what BN is for
    y = (x[:, 0] > 10.0).astype(np.int64) + (x[:, 1] > 10.0)
    model = bn_model()
    model.compile(SGD(learning_rate=0.1), SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    moving_before = model.layers[1].params["moving_mean"].copy()
    history = model.fit(x, y, epochs=60, batch_size=16, verbose=0, validation_data=(x, y))
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert history.history["val_accuracy"][-1] >= 0.9
    assert not np.allclose(model.layers[1].params["moving_mean"], moving_before)


def test_first_layer_of_a_model_skips_the_input_gradient():
    model = Sequential([Input((3,), dtype="float64"), BatchNormalization(name="bn"),
                        Dense(2, seed=0)])
    model.compile(SGD(0.1), "mse")
    x, y = randn(8, 3), randn(8, 2, seed=1)
    model.forward(x, training=True)
    assert model.backward(randn(8, 2, seed=2), compute_input_grad=False) is None
    assert model.layers[0].compute_input_grad  # restored
    assert model.backward(randn(8, 2, seed=2)).shape == x.shape
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
