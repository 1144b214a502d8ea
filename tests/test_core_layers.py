"""dlcourse.scratch.core: Dense, Activation, Dropout and Flatten against Keras (float64).

Every forward value and gradient must agree with TensorFlow's to a relative error of
``tfcompare.RTOL`` (1e-7), and every backward pass with centred finite differences to 1e-6.
"""

import numpy as np
import pytest
from tfcompare import assert_close, keras_forward_backward

from dlcourse.gradcheck import check_layer
from dlcourse.scratch import set_random_seed
from dlcourse.scratch.core import Activation, Dense, Dropout, Flatten


def randn(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def transfer_weights(scratch_layer, keras_layer):
    """Give both layers the same random weights (non-zero bias), checking the lists match."""
    ours, theirs = scratch_layer.get_weights(), keras_layer.get_weights()
    assert [w.shape for w in ours] == [w.shape for w in theirs]
    assert [v.name for v in keras_layer.weights] == list(scratch_layer.params)
    # Random values everywhere, the bias too, so that a dropped term cannot hide behind a zero.
    scratch_layer.set_weights([randn(*w.shape, seed=10 + i) for i, w in enumerate(ours)])
    keras_layer.set_weights(scratch_layer.get_weights())
    scratch_layer.set_weights(keras_layer.get_weights())  # and back: the same one line
    for a, b in zip(scratch_layer.get_weights(), keras_layer.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def assert_matches_keras(layer, keras_layer, x, training=False):
    """Forward, input gradient and every weight gradient equal Keras's under GradientTape."""
    y = layer.forward(x, training=training)
    g = randn(*y.shape, seed=1)
    dx = layer.backward(g)
    y_tf, dx_tf, grads_tf = keras_forward_backward(keras_layer, x, g, training=training)
    assert_close(y, y_tf, f"{layer!r} output")
    assert_close(dx, dx_tf, f"{layer!r} dJ/dx")
    assert sorted(grads_tf) == sorted(layer.grads)
    for name, grad in grads_tf.items():
        assert_close(layer.grads[name], grad, f"{layer!r} dJ/d{name}")


# ---------------------------------------------------------------------------------------- Dense
DENSE_CASES = {
    "batch-of-one-linear": dict(x_shape=(1, 5), units=3, activation=None),
    "sigmoid": dict(x_shape=(4, 5), units=3, activation="sigmoid"),
    "tanh": dict(x_shape=(4, 5), units=3, activation="tanh"),
    "relu": dict(x_shape=(4, 5), units=6, activation="relu"),
    "softmax": dict(x_shape=(4, 5), units=3, activation="softmax"),
    "no-bias": dict(x_shape=(4, 5), units=3, activation="tanh", use_bias=False),
    "rank-3-input": dict(x_shape=(3, 4, 5), units=2, activation="softmax"),
    "rank-4-input": dict(x_shape=(2, 3, 2, 5), units=3, activation="relu"),
}


@pytest.mark.parametrize("case", DENSE_CASES.values(), ids=DENSE_CASES.keys())
def test_dense_matches_keras(keras, case):
    x = randn(*case["x_shape"])
    use_bias = case.get("use_bias", True)
    layer = Dense(case["units"], activation=case["activation"], use_bias=use_bias, seed=0)
    keras_layer = keras.layers.Dense(case["units"], activation=case["activation"],
                                     use_bias=use_bias, dtype="float64")
    layer.forward(x)
    keras_layer.build(x.shape)
    assert len(layer.get_weights()) == (2 if use_bias else 1)
    transfer_weights(layer, keras_layer)
    assert_matches_keras(layer, keras_layer, x)
    assert layer.compute_output_shape(x.shape) == keras_layer.compute_output_shape(x.shape)


@pytest.mark.parametrize("case", DENSE_CASES.values(), ids=DENSE_CASES.keys())
def test_dense_passes_gradient_check(case):
    layer = Dense(case["units"], activation=case["activation"],
                  use_bias=case.get("use_bias", True), seed=2)
    x = randn(*case["x_shape"], seed=3)
    layer.forward(x)
    layer.set_weights([randn(*w.shape, seed=4 + i) for i, w in enumerate(layer.get_weights())])
    check_layer(layer, x)


def test_dense_gradients_are_sums_over_the_batch_not_means():
    # Two copies of one example must give exactly twice that example's weight gradients.
    layer = Dense(3, activation="tanh", seed=0)
    x, g = randn(1, 4), randn(1, 3, seed=1)
    layer.forward(x)
    layer.backward(g)
    single = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(np.concatenate([x, x]))
    layer.backward(np.concatenate([g, g]))
    for name, grad in layer.grads.items():
        np.testing.assert_allclose(grad, 2 * single[name], rtol=1e-12)


def test_dense_accepts_a_different_middle_axis_like_keras():
    layer = Dense(2, seed=0)
    assert layer.forward(randn(3, 4, 5)).shape == (3, 4, 2)
    assert layer.forward(randn(2, 7, 5)).shape == (2, 7, 2)


def test_dense_initialisation_is_glorot_uniform_with_zero_bias_and_seeded():
    x = randn(2, 300)
    layer = Dense(200, seed=0)
    layer.forward(x)
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6 / (300 + 200))
    assert kernel.shape == (300, 200) and bias.shape == (200,)
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.99 * limit  # uniform over the whole range, not narrower
    assert abs(kernel.std() - limit / np.sqrt(3)) < 0.01 * limit  # std of U(-L, L) is L/√3
    np.testing.assert_array_equal(bias, 0)
    same, other = Dense(200, seed=0), Dense(200, seed=1)
    same.forward(x)
    other.forward(x)
    np.testing.assert_array_equal(same.get_weights()[0], kernel)
    assert not np.allclose(other.get_weights()[0], kernel)


def test_dense_unseeded_initialisation_follows_set_random_seed():
    x = randn(2, 4)
    kernels = []
    for _ in range(2):
        set_random_seed(7)
        layer = Dense(3)
        layer.forward(x)
        kernels.append(layer.get_weights()[0])
    np.testing.assert_array_equal(*kernels)


def test_dense_float32_input_gives_float32_weights_and_output():
    layer = Dense(3, activation="relu", seed=0)
    y = layer.forward(randn(2, 4).astype("float32"))
    assert y.dtype == np.float32 and layer.params["kernel"].dtype == np.float32


def test_dense_kernel_regularizer_is_registered():
    from dlcourse.scratch.regularizers import L2

    layer = Dense(3, kernel_regularizer="l2", seed=0)
    layer.forward(randn(2, 4))
    assert isinstance(layer.regularizers["kernel"], L2)
    assert layer.kernel_regularizer is layer.regularizers["kernel"]
    np.testing.assert_allclose(layer.regularization_loss(),
                               0.01 * np.sum(layer.params["kernel"] ** 2))
    assert "kernel" not in Dense(3).regularizers


# ----------------------------------------------------------------------------------- Activation
@pytest.mark.parametrize("activation", [None, "linear", "sigmoid", "tanh", "relu", "softmax"])
def test_activation_layer_matches_keras(keras, activation):
    x = randn(3, 4, 5)
    layer = Activation(activation)
    assert_matches_keras(layer, keras.layers.Activation(activation, dtype="float64"), x)
    assert layer.get_weights() == []
    check_layer(layer, x)


# -------------------------------------------------------------------------------------- Flatten
def test_flatten_matches_keras_order_and_gradient(keras):
    x = randn(2, 3, 4, 5)
    layer = Flatten()
    keras_layer = keras.layers.Flatten(dtype="float64")
    assert_matches_keras(layer, keras_layer, x)
    assert layer.forward(x).shape == (2, 60)
    np.testing.assert_array_equal(layer.forward(x), keras_layer(x).numpy())
    assert layer.compute_output_shape((None, 3, 4, 5)) == (None, 60)
    check_layer(layer, x)


def test_flatten_of_a_vector_batch_is_a_column_like_keras(keras):
    x = randn(4)
    np.testing.assert_array_equal(Flatten().forward(x),
                                  keras.layers.Flatten(dtype="float64")(x).numpy())


# -------------------------------------------------------------------------------------- Dropout
def test_dropout_is_the_identity_outside_training():
    layer = Dropout(0.5, seed=0)
    x, g = randn(4, 6), randn(4, 6, seed=1)
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(g), g)
    check_layer(layer, x)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_keeps_one_minus_rate_and_scales_kept_units(rate):
    x = randn(200, 500)
    y = Dropout(rate, seed=0).forward(x, training=True)
    kept = y != 0
    # 100,000 Bernoulli draws: the kept fraction is within 0.01 of 1 - rate (7 std or more).
    assert abs(kept.mean() - (1 - rate)) < 0.01
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-15)


def test_dropout_backward_applies_the_forward_mask():
    layer = Dropout(0.3, seed=0)
    x, g = randn(50, 40), randn(50, 40, seed=1)
    y = layer.forward(x, training=True)
    dx = layer.backward(g)
    kept = y != 0
    np.testing.assert_array_equal(dx[~kept], 0)
    np.testing.assert_allclose(dx[kept], g[kept] / 0.7, rtol=1e-15)
    # The mask of the last call is used, not a new one.
    np.testing.assert_array_equal(layer.backward(g), dx)


def test_dropout_masks_repeat_with_the_seed_and_change_from_call_to_call():
    x = np.ones((20, 30))
    a, b, c = Dropout(0.5, seed=3), Dropout(0.5, seed=3), Dropout(0.5, seed=4)
    first_a, first_b = a.forward(x, training=True), b.forward(x, training=True)
    np.testing.assert_array_equal(first_a, first_b)
    assert not np.array_equal(first_a, c.forward(x, training=True))
    # As Keras's seeded Dropout: every training step draws a new mask.
    assert not np.array_equal(first_a, a.forward(x, training=True))


def test_dropout_scaling_rule_is_keras_rule(keras):
    rate = 0.25
    x = np.ones((100, 100))
    ours = Dropout(rate, seed=0).forward(x, training=True)
    theirs = keras.layers.Dropout(rate, seed=0, dtype="float64")(x, training=True).numpy()
    for y in (ours, theirs):
        assert set(np.unique(y)) == {0.0, 1 / (1 - rate)}
        assert abs((y != 0).mean() - (1 - rate)) < 0.02
    np.testing.assert_array_equal(keras.layers.Dropout(rate)(x, training=False).numpy(), x)


def test_dropout_rate_zero_is_the_identity_in_training_too():
    x = randn(3, 4)
    np.testing.assert_array_equal(Dropout(0.0).forward(x, training=True), x)


@pytest.mark.parametrize("rate, error", [(-0.1, ValueError), (1.0, ValueError), (1.5, ValueError),
                                         ("0.5", TypeError), (True, TypeError),
                                         (float("nan"), ValueError)])
def test_dropout_rejects_a_rate_outside_0_1(rate, error):
    with pytest.raises(error, match=r"Dropout 'drop': rate must be a number in \[0, 1\), "
                                    rf"got {rate!r}"):
        Dropout(rate, name="drop")


# ----------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("units, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError),
                                          (True, TypeError), ("3", TypeError), (None, TypeError)])
def test_dense_rejects_bad_units(units, error):
    with pytest.raises(error, match=rf"Dense 'd': units must be an integer >= 1, "
                                    rf"got {units!r}"):
        Dense(units, name="d")


@pytest.mark.parametrize("make", [lambda: Dense(3, activation="relux", name="d"),
                                  lambda: Activation("Relu", name="d")])
def test_unknown_activation_names_the_layer_and_the_choices(make):
    with pytest.raises(ValueError, match=r"(Dense|Activation) 'd': unknown activation '(relux|"
                                         r"Relu)'; expected one of \[.*'relu'.*\]"):
        make()


def test_dense_rejects_bad_use_bias_initializer_and_regularizer():
    with pytest.raises(TypeError, match=r"Dense 'd': use_bias must be True or False, got 'no'"):
        Dense(3, use_bias="no", name="d")
    with pytest.raises(ValueError, match=r"Dense 'd': unknown initializer 'glorot'"):
        Dense(3, kernel_initializer="glorot", name="d")
    with pytest.raises(ValueError, match=r"Dense 'd': unknown regularizer 'l3'"):
        Dense(3, kernel_regularizer="l3", name="d")


# --------------------------------------------------------------------------------- bad inputs
def test_dense_rejects_input_of_rank_one():
    with pytest.raises(ValueError, match=r"Dense 'd': expected input of rank 2 or more "
                                         r"\(batch, \.\.\., features\), got shape \(784,\)"):
        Dense(3, name="d").forward(np.zeros(784))


@pytest.mark.parametrize("layer", [Activation("relu", name="l"), Dropout(0.5, name="l"),
                                   Flatten(name="l")], ids=["Activation", "Dropout", "Flatten"])
def test_shape_free_layers_reject_a_scalar(layer):
    with pytest.raises(ValueError, match=rf"{type(layer).__name__} 'l': expected input of rank "
                                         r"1 or more \(batch, \.\.\.\), got shape \(\)"):
        layer.forward(np.float64(1.0))


@pytest.mark.parametrize("layer", [Dense(3, name="l"), Activation("tanh", name="l"),
                                   Dropout(0.5, name="l"), Flatten(name="l")],
                         ids=["Dense", "Activation", "Dropout", "Flatten"])
def test_layers_reject_int_object_and_nan_input(layer):
    kind = type(layer).__name__
    with pytest.raises(TypeError, match=rf"{kind} 'l': expected a floating-point input "
                                        r"\(float32 or float64\), got dtype int64"):
        layer.forward(np.ones((2, 4), dtype=np.int64))
    with pytest.raises(TypeError, match=rf"{kind} 'l': expected a floating-point input .*, "
                                        r"got dtype object"):
        layer.forward(np.array([[1.0, "a"]], dtype=object))
    x = np.ones((2, 4))
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match=rf"{kind} 'l': the input contains NaN or infinite "
                                         r"values \(1 of 8 entries\)"):
        layer.forward(x)


@pytest.mark.parametrize("layer", [Dense(3, name="l"), Activation("tanh", name="l"),
                                   Dropout(0.5, name="l"), Flatten(name="l")],
                         ids=["Dense", "Activation", "Dropout", "Flatten"])
def test_backward_before_forward_and_wrong_gradient_shape(layer):
    kind = type(layer).__name__
    with pytest.raises(ValueError, match=rf"{kind} 'l': backward\(\) called before forward\(\)"):
        layer.backward(np.ones((2, 3)))
    y = layer.forward(np.ones((2, 4)), training=True)
    with pytest.raises(ValueError, match=rf"{kind} 'l': expected a gradient of the output's shape "
                                         rf"\({y.shape[0]}, {y.shape[1]}\), got shape \(5, 5\)"):
        layer.backward(np.ones((5, 5)))


def test_dense_rejects_a_different_feature_count_on_a_second_call():
    layer = Dense(3, name="d")
    layer.forward(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"Dense 'd': expected input of shape \(batch, 5\) as on "
                                         r"its first call, got shape \(2, 4\)"):
        layer.forward(np.ones((2, 4)))


def test_dense_set_weights_checks_count_and_shapes():
    layer = Dense(3, name="d")
    layer.forward(np.ones((2, 5)))
    kernel, bias = layer.get_weights()
    with pytest.raises(ValueError, match=r"Dense 'd': expected 2 weight arrays \(kernel, bias\), "
                                         r"got 1"):
        layer.set_weights([kernel])
    # The classic mistake: a transposed (PyTorch-style) kernel.
    with pytest.raises(ValueError, match=r"Dense 'd': weight 'kernel' must have shape \(5, 3\), "
                                         r"got \(3, 5\)"):
        layer.set_weights([kernel.T, bias])
    with pytest.raises(ValueError, match=r"Dense 'd': weight 'bias' must have shape \(3,\), "
                                         r"got \(1, 3\)"):
        layer.set_weights([kernel, bias[None]])
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)  # unchanged by the failures
    no_bias = Dense(3, use_bias=False, name="nb")
    no_bias.forward(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"Dense 'nb': expected 1 weight arrays \(kernel\), "
                                         r"got 2"):
        no_bias.set_weights([kernel, bias])

