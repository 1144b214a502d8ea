"""dlcourse.scratch.recurrent: the RNN functions and SimpleRNN against Keras (float64).

Every forward value and gradient must agree with TensorFlow's to a relative error of
``tfcompare.RTOL`` (1e-7), the naive and fast functions with each other to 1e-12, and every
backward pass with centred finite differences to 1e-6.
"""

import numpy as np
import pytest
from tfcompare import (
    MASK,
    assert_close,
    assert_config_is_keras,
    assert_matches_finite_differences,
    assert_matches_keras,
    built_pair,
    keras_forward_backward,
    randn,
)

from dlcourse.gradcheck import check_layer, numerical_gradient, rel_error
from dlcourse.scratch.recurrent import (
    RNNGradients,
    SimpleRNN,
    rnn_backward,
    rnn_backward_naive,
    rnn_forward,
    rnn_forward_naive,
    rnn_step,
)
from dlcourse.scratch.recurrent_kernels import (
    rnn_backward_kernel,
    rnn_forward_kernel,
    rnn_has_kernel,
)


def rnn_weights(features, units, seed=0):
    """Kernel, recurrent kernel and a non-zero bias, scaled so that tanh does not saturate."""
    return (randn(features, units, seed=seed, scale=0.5),
            randn(units, units, seed=seed + 1, scale=0.4),
            randn(units, seed=seed + 2, scale=0.3))


# ------------------------------------------------------------------------------ against Keras
RNN_CASES = {
    "batch-1-length-1-last": dict(x_shape=(1, 1, 3), return_sequences=False),
    "batch-1-length-1-sequences": dict(x_shape=(1, 1, 3), return_sequences=True),
    "length-6-last": dict(x_shape=(3, 6, 5), return_sequences=False),
    "length-6-sequences": dict(x_shape=(3, 6, 5), return_sequences=True),
    "relu-sequences": dict(x_shape=(2, 5, 3), return_sequences=True, activation="relu"),
    "relu-last": dict(x_shape=(2, 5, 3), return_sequences=False, activation="relu"),
    "sigmoid-sequences": dict(x_shape=(2, 4, 3), return_sequences=True, activation="sigmoid"),
    "linear-last": dict(x_shape=(2, 4, 3), return_sequences=False, activation=None),
    # softmax: not elementwise, so the layer runs the readable functions, not the kernels.
    "softmax-sequences": dict(x_shape=(2, 4, 3), return_sequences=True, activation="softmax"),
    "no-bias-last": dict(x_shape=(2, 5, 3), return_sequences=False, use_bias=False),
    "no-bias-sequences": dict(x_shape=(2, 5, 3), return_sequences=True, use_bias=False),
}


def _kwargs(case):
    return {k: v for k, v in case.items() if k != "x_shape"}


@pytest.mark.parametrize("case", RNN_CASES.values(), ids=RNN_CASES.keys())
def test_simple_rnn_matches_keras(case, keras):
    x = randn(*case["x_shape"], seed=5)
    layer, keras_layer = built_pair("SimpleRNN", x, **_kwargs(case))
    y = layer.forward(x)
    g = randn(*y.shape, seed=6)
    dx = layer.backward(g)
    y_tf, dx_tf, grads_tf = keras_forward_backward(keras_layer, x, g)
    assert_close(y, y_tf, "SimpleRNN output")
    assert_close(dx, dx_tf, "SimpleRNN dJ/dx")
    assert sorted(grads_tf) == sorted(layer.grads)
    for name, grad in grads_tf.items():
        assert_close(layer.grads[name], grad, f"SimpleRNN dJ/d{name}")
    expected_shape = x.shape[:2] + (4,) if case["return_sequences"] else (x.shape[0], 4)
    assert y.shape == expected_shape == layer.compute_output_shape(x.shape)


@pytest.mark.parametrize("case", RNN_CASES.values(), ids=RNN_CASES.keys())
def test_simple_rnn_passes_gradient_check(case):
    x = randn(*case["x_shape"], seed=7)
    layer = SimpleRNN(4, seed=1, **_kwargs(case))
    layer.forward(x)
    layer.set_weights(rnn_weights(x.shape[-1], 4, seed=3)[:len(layer.get_weights())])
    check_layer(layer, x)


STATE_CASES = {
    "state": dict(return_state=True),
    "sequences-state": dict(return_sequences=True, return_state=True),
    "go-backwards-last": dict(go_backwards=True),
    "go-backwards-sequences-state": dict(go_backwards=True, return_sequences=True,
                                         return_state=True),
    "relu-no-bias-state": dict(activation="relu", use_bias=False, return_state=True),
}


@pytest.mark.parametrize("case", STATE_CASES.values(), ids=STATE_CASES.keys())
def test_simple_rnn_returned_state_and_go_backwards_match_keras(case, keras):
    x = randn(3, 6, 5, seed=5)
    layer, keras_layer = built_pair("SimpleRNN", x, **case)
    assert_matches_keras(layer, keras_layer, x, what="SimpleRNN")


MASK_CASES = {
    "last": dict(),
    "sequences": dict(return_sequences=True),
    "sequences-state": dict(return_sequences=True, return_state=True),
    "go-backwards-sequences-state": dict(return_sequences=True, return_state=True,
                                         go_backwards=True),
    "go-backwards-last": dict(go_backwards=True),
    "relu-sequences": dict(activation="relu", return_sequences=True),
}


@pytest.mark.parametrize("case", MASK_CASES.values(), ids=MASK_CASES.keys())
def test_simple_rnn_with_a_mask_matches_keras(case, keras):
    # Padding at the end, in the middle, at the start, and none: the state is carried over
    # the padded steps, which get no gradient.
    x = randn(4, 6, 3, seed=7)
    layer, keras_layer = built_pair("SimpleRNN", x, **case)
    assert_matches_keras(layer, keras_layer, x, mask=MASK, what="SimpleRNN")


def test_simple_rnn_with_a_fully_masked_example_and_length_50_matches_keras(keras):
    x = randn(3, 50, 2, seed=8)
    mask = np.ones((3, 50), dtype=bool)
    mask[0] = False          # nothing to read: the output stays 0
    mask[1, 30:] = False     # padded at the end
    mask[2, 10:20] = False   # a gap in the middle
    layer, keras_layer = built_pair("SimpleRNN", x, return_sequences=True, return_state=True)
    assert_matches_keras(layer, keras_layer, x, mask=mask, what="SimpleRNN")
    out, h = layer.forward(x, mask=mask)
    np.testing.assert_array_equal(out[0], 0)
    np.testing.assert_array_equal(out[1, 30:], np.broadcast_to(out[1, 29], (20, 4)))
    np.testing.assert_array_equal(h, out[:, -1])
    # A padded step gets no gradient of its input.
    grad_x = layer.backward(np.ones_like(out))
    assert np.all(grad_x[~mask] == 0) and np.all(np.any(grad_x[mask] != 0, axis=-1))


@pytest.mark.parametrize("mask", [None, MASK], ids=["no-mask", "mask"])
def test_simple_rnn_initial_state_and_its_gradient_match_keras(mask, keras):
    x = randn(4, 6, 3, seed=9)
    layer, keras_layer = built_pair("SimpleRNN", x, return_sequences=True, return_state=True)
    initial = [randn(4, 4, seed=10, scale=0.5)]
    assert_matches_keras(layer, keras_layer, x, mask=mask, initial_state=initial,
                         what="SimpleRNN")


@pytest.mark.parametrize("case", MASK_CASES.values(), ids=MASK_CASES.keys())
def test_simple_rnn_with_mask_and_state_matches_finite_differences(case):
    x = randn(4, 6, 2, seed=16)
    layer = SimpleRNN(3, seed=1, **case)
    layer.forward(x)
    layer.set_weights(rnn_weights(2, 3, seed=4))
    assert_matches_finite_differences(layer, x, mask=MASK,
                                      initial_state=[randn(4, 3, seed=17, scale=0.5)])


def test_simple_rnn_layer_api():
    x = randn(4, 6, 3, seed=34)
    layer = SimpleRNN(4, return_sequences=True, return_state=True, bias_regularizer="l2",
                      seed=0)
    assert layer.compute_output_shape((None, 6, 3)) == ((None, 6, 4), (None, 4))
    out, h = layer.forward(x, mask=MASK)
    np.testing.assert_array_equal(h, out[:, -1])
    assert layer.compute_mask(x, MASK)[0] is MASK and SimpleRNN(4).compute_mask(x, MASK) is None
    assert set(layer.regularizers) == {"bias"} and layer.kernel_regularizer is None
    dx = layer.backward(None, grad_states=[np.ones((4, 4))])  # only the final state was used
    assert dx.shape == x.shape and layer.grad_initial_state[0].shape == (4, 4)
    np.testing.assert_array_equal(layer.forward_unchecked(x, mask=MASK)[0], out)


SIMPLE_RNN_CONFIGS = [
    {"units": 3},
    {"units": 2, "activation": "relu", "use_bias": False, "kernel_initializer": "he_normal",
     "recurrent_initializer": "glorot_uniform", "bias_initializer": "ones",
     "kernel_regularizer": "l2", "recurrent_regularizer": "l1", "bias_regularizer": "l2",
     "return_sequences": True, "return_state": True, "go_backwards": True, "seed": 3},
    {"units": 4, "activation": None, "dtype": "float64", "seed": 0},
]


@pytest.mark.parametrize("kwargs", SIMPLE_RNN_CONFIGS)
def test_simple_rnn_config_is_keras(kwargs, keras):
    layer = SimpleRNN(name="probe", **kwargs)
    layer.forward(randn(2, 5, 3).astype(kwargs.get("dtype", "float32")))
    keras_kwargs = {k: v for k, v in kwargs.items() if k != "seed"}  # Keras's seed: dropout's
    assert_config_is_keras(layer, keras.layers.SimpleRNN(name="probe", **keras_kwargs))


def keras_cell_grad_h_steps(keras, tf, layer, x, grad_output):
    """``dJ/dh_t`` for every step, unrolling a Keras SimpleRNNCell under ``tf.GradientTape``."""
    cell = keras.layers.SimpleRNNCell(layer.units, activation=layer.activation.name,
                                      use_bias=layer.use_bias, dtype="float64")
    cell.build(x.shape[1:])
    cell.set_weights(layer.get_weights())
    h = tf.zeros((x.shape[0], layer.units), dtype="float64")
    states = []
    with tf.GradientTape() as tape:
        for t in range(x.shape[1]):
            h, _ = cell(tf.constant(x[:, t]), h)
            states.append(h)
        y = tf.stack(states, axis=1) if layer.return_sequences else states[-1]
        objective = tf.reduce_sum(y * grad_output)
    # The gradient with respect to h_t counts every path from h_t to J, through later steps too.
    return np.stack([g.numpy() for g in tape.gradient(objective, states)], axis=1)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_grad_h_steps_equal_tensorflow_gradients_wrt_hidden_states(return_sequences, keras,
                                                                    tf):
    x = randn(2, 7, 3, seed=8)
    layer = SimpleRNN(4, return_sequences=return_sequences, seed=0)
    layer.forward(x)
    layer.set_weights(rnn_weights(3, 4, seed=9))
    g = randn(*layer.forward(x).shape, seed=10)
    assert layer.grad_h_steps is None
    layer.backward(g)
    assert layer.grad_h_steps.shape == (2, 7, 4)
    assert_close(layer.grad_h_steps, keras_cell_grad_h_steps(keras, tf, layer, x, g), "dJ/dh_t")
    if not return_sequences:  # the loss reaches the last step directly
        np.testing.assert_array_equal(layer.grad_h_steps[:, -1], g)


def test_grad_h_steps_vanish_with_a_small_recurrent_kernel():
    # With ‖R‖ < 1 and tanh' ≤ 1, ‖dJ/dh_t‖ shrinks geometrically going back in time.
    x = randn(4, 30, 3, seed=11)
    layer = SimpleRNN(8, seed=0)
    layer.forward(x)
    kernel, recurrent_kernel, bias = layer.get_weights()
    layer.set_weights([kernel, 0.5 * recurrent_kernel, bias])  # orthogonal: every σ_i = 0.5
    layer.forward(x)
    layer.backward(np.ones((4, 8)))
    norms = np.linalg.norm(layer.grad_h_steps, axis=(0, 2))
    assert np.all(np.diff(norms) > 0)  # increasing towards the last step
    assert norms[0] < 0.5 ** 29 * norms[-1]


# -------------------------------------------------------------------------- naive and fast
FUNCTION_CASES = {
    "tanh": dict(activation="tanh"),
    "relu": dict(activation="relu"),
    "sigmoid": dict(activation="sigmoid"),
    "linear": dict(activation="linear"),
    "softmax": dict(activation="softmax"),
    "no-bias": dict(activation="tanh", bias=False),
    "initial-state": dict(activation="tanh", h0=True),
    "length-1": dict(activation="tanh", time=1),
    "mask": dict(activation="tanh", mask=True),
    "relu-mask-initial-state": dict(activation="relu", mask=True, h0=True),
    "softmax-mask": dict(activation="softmax", mask=True),
}


def _mask(case, time=6):
    """Padding at the end, in the middle and at the start (batch 3), or None."""
    return MASK[:3, :time] if case.get("mask") else None


def _function_args(case):
    batch, time, features, units = 3, case.get("time", 6), 4, 5
    x = randn(batch, time, features, seed=12)
    kernel, recurrent_kernel, bias = rnn_weights(features, units, seed=13)
    bias = bias if case.get("bias", True) else None
    h0 = randn(batch, units, seed=14, scale=0.5) if case.get("h0") else None
    return x, kernel, recurrent_kernel, bias, case["activation"], h0


@pytest.mark.parametrize("case", FUNCTION_CASES.values(), ids=FUNCTION_CASES.keys())
def test_naive_and_fast_functions_agree(case):
    x, kernel, recurrent_kernel, bias, activation, h0 = _function_args(case)
    mask = _mask(case)
    h = rnn_forward(x, kernel, recurrent_kernel, bias, activation, h0, mask)
    h_naive = rnn_forward_naive(x, kernel, recurrent_kernel, bias, activation, h0, mask)
    assert h.shape == h_naive.shape == (3, x.shape[1], 5)
    assert rel_error(h, h_naive) < 1e-12
    grad_h = randn(*h.shape, seed=15)
    fast = rnn_backward(grad_h, x, h, kernel, recurrent_kernel, activation, h0, mask)
    naive = rnn_backward_naive(grad_h, x, h, kernel, recurrent_kernel, activation, h0, mask)
    assert isinstance(fast, RNNGradients) and isinstance(naive, RNNGradients)
    shapes = dict(grad_x=x.shape, grad_kernel=kernel.shape,
                  grad_recurrent_kernel=recurrent_kernel.shape, grad_bias=(5,),
                  grad_h_steps=h.shape, grad_h0=(3, 5))
    for name, shape in shapes.items():
        assert getattr(fast, name).shape == getattr(naive, name).shape == shape, name
        assert rel_error(getattr(fast, name), getattr(naive, name)) < 1e-12, name


KERNEL_CASES = {k: v for k, v in FUNCTION_CASES.items() if k != "softmax-mask"
                and v["activation"] != "softmax"}


@pytest.mark.parametrize("case", KERNEL_CASES.values(), ids=KERNEL_CASES.keys())
def test_the_kernels_equal_the_readable_functions(case):
    x, kernel, recurrent_kernel, bias, activation, h0 = _function_args(case)
    mask = _mask(case)
    h = rnn_forward(x, kernel, recurrent_kernel, bias, activation, h0, mask)
    h_k = rnn_forward_kernel(x, kernel, recurrent_kernel, bias, activation, h0, mask)
    assert h_k.shape == h.shape and rel_error(h_k, h) < 1e-12
    grad_h = randn(*h.shape, seed=15)
    readable = rnn_backward(grad_h, x, h, kernel, recurrent_kernel, activation, h0, mask)
    for states in (h, h_k):  # the kernel's states are a time-major array's view
        fast = rnn_backward_kernel(grad_h, x, states, kernel, recurrent_kernel, activation, h0,
                                   mask)
        assert isinstance(fast, RNNGradients)
        for name in RNNGradients._fields:
            a, b = getattr(fast, name), getattr(readable, name)
            assert a.shape == b.shape and rel_error(a, b) < 1e-12, name


def test_the_kernels_keep_float32_and_refuse_softmax():
    x, kernel, recurrent_kernel, bias, _, _ = _function_args({"activation": "tanh"})
    args32 = [a.astype("float32") for a in (x, kernel, recurrent_kernel, bias)]
    h32 = rnn_forward_kernel(*args32)
    assert h32.dtype == np.float32 and rel_error(h32, rnn_forward(x, kernel, recurrent_kernel,
                                                                  bias)) < 1e-5
    grads = rnn_backward_kernel(np.ones_like(h32), args32[0], h32, args32[1], args32[2])
    assert all(g.dtype == np.float32 for g in grads)
    with pytest.raises(ValueError, match=r"rnn_forward_kernel\(\): computes elementwise "
                                         r"activations, got 'softmax'; use rnn_forward\(\)"):
        rnn_forward_kernel(x, kernel, recurrent_kernel, bias, "softmax")
    # The layer runs the kernels for every activation but softmax, the readable path else.
    assert rnn_has_kernel(SimpleRNN(2, activation="relu").activation)
    assert not rnn_has_kernel(SimpleRNN(2, activation="softmax").activation)


@pytest.mark.parametrize("case", FUNCTION_CASES.values(), ids=FUNCTION_CASES.keys())
@pytest.mark.parametrize("backward", [rnn_backward, rnn_backward_naive])
def test_rnn_backward_matches_finite_differences(case, backward):
    x, kernel, recurrent_kernel, bias, activation, h0 = _function_args(case)
    bias = np.zeros(5) if bias is None else bias
    h0 = np.zeros((3, 5)) if h0 is None else h0
    mask = _mask(case)
    h = rnn_forward(x, kernel, recurrent_kernel, bias, activation, h0, mask)
    grad_h = randn(*h.shape, seed=16)
    grads = backward(grad_h, x, h, kernel, recurrent_kernel, activation, h0, mask)

    def objective(_=None):
        h = rnn_forward(x, kernel, recurrent_kernel, bias, activation, h0, mask)
        return np.sum(h * grad_h)

    for name, point in [("grad_x", x), ("grad_kernel", kernel),
                        ("grad_recurrent_kernel", recurrent_kernel), ("grad_bias", bias),
                        ("grad_h0", h0)]:
        err = rel_error(getattr(grads, name), numerical_gradient(objective, point))
        assert err < 1e-6, f"{backward.__name__} {name}: relative error {err:.2e}"


def test_grad_h_steps_match_finite_differences_on_a_hidden_state():
    # Perturbing h_t directly and running the rest of the sequence from it is what dJ/dh_t means.
    x, kernel, recurrent_kernel, bias, activation, _ = _function_args({"activation": "tanh"})
    h = rnn_forward(x, kernel, recurrent_kernel, bias)
    grad_h = randn(*h.shape, seed=17)
    grads = rnn_backward(grad_h, x, h, kernel, recurrent_kernel)
    t = 2
    h_t = h[:, t].copy()

    def objective(_=None):
        rest = rnn_forward(x[:, t + 1:], kernel, recurrent_kernel, bias, h0=h_t)
        return np.sum(h_t * grad_h[:, t]) + np.sum(rest * grad_h[:, t + 1:])

    assert rel_error(grads.grad_h_steps[:, t], numerical_gradient(objective, h_t)) < 1e-6


def test_rnn_step_is_the_formula_and_accepts_single_vectors():
    x, kernel, recurrent_kernel, bias, _, _ = _function_args({"activation": "tanh"})
    h_prev = randn(3, 5, seed=18)
    # The course's column form: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), W = kernelᵀ.
    expected = np.tanh(recurrent_kernel.T @ h_prev[0] + kernel.T @ x[0, 0] + bias)
    np.testing.assert_allclose(rnn_step(x[0, 0], h_prev[0], kernel, recurrent_kernel, bias),
                               expected, rtol=1e-12)
    np.testing.assert_allclose(rnn_step(x[:, 0], h_prev, kernel, recurrent_kernel, bias)[0],
                               expected, rtol=1e-12)
    h = rnn_forward(x, kernel, recurrent_kernel, bias)
    np.testing.assert_allclose(h[:, 0], rnn_step(x[:, 0], 0 * h_prev, kernel, recurrent_kernel,
                                                 bias), rtol=1e-12)
    np.testing.assert_allclose(h[:, 3], rnn_step(x[:, 3], h[:, 2], kernel, recurrent_kernel,
                                                 bias), rtol=1e-12)
    relu = rnn_step(x[:, 0], h_prev, kernel, recurrent_kernel, None, activation="relu")
    np.testing.assert_allclose(relu, np.maximum(x[:, 0] @ kernel + h_prev @ recurrent_kernel, 0))


def test_float32_forward_and_backward_stay_float32_and_match_float64():
    x, kernel, recurrent_kernel, bias, _, _ = _function_args({"activation": "tanh"})
    h64 = rnn_forward(x, kernel, recurrent_kernel, bias)
    args32 = [a.astype("float32") for a in (x, kernel, recurrent_kernel, bias)]
    h32 = rnn_forward(*args32)
    assert h32.dtype == np.float32
    assert rel_error(h32, h64) < 1e-5
    grads = rnn_backward(np.ones_like(h32), args32[0], h32, args32[1], args32[2])
    assert all(g.dtype == np.float32 for g in grads)


# ---------------------------------------------------------------------------- the layer
def test_simple_rnn_initialisation():
    x = randn(2, 3, 40)
    layer = SimpleRNN(30, seed=0)
    layer.forward(x)
    kernel, recurrent_kernel, bias = layer.get_weights()
    assert kernel.shape == (40, 30) and recurrent_kernel.shape == (30, 30)
    limit = np.sqrt(6 / (40 + 30))
    assert limit * 0.95 < np.abs(kernel).max() <= limit  # glorot_uniform
    np.testing.assert_allclose(recurrent_kernel.T @ recurrent_kernel, np.eye(30), atol=1e-12)
    np.testing.assert_allclose(recurrent_kernel @ recurrent_kernel.T, np.eye(30), atol=1e-12)
    np.testing.assert_array_equal(bias, 0)
    same, other = SimpleRNN(30, seed=0), SimpleRNN(30, seed=1)
    same.forward(x)
    other.forward(x)
    for a, b in zip(same.get_weights()[:2], (kernel, recurrent_kernel), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(other.get_weights()[:2], (kernel, recurrent_kernel), strict=True):
        assert not np.allclose(a, b)


def test_simple_rnn_accepts_a_new_sequence_length_like_keras():
    layer = SimpleRNN(4, return_sequences=True, seed=0)
    layer.forward(randn(2, 5, 3))
    y = layer.forward(randn(3, 8, 3))
    assert y.shape == (3, 8, 4)
    assert layer.backward(np.ones_like(y)).shape == (3, 8, 3)


def test_simple_rnn_gradients_are_written_in_place():
    layer = SimpleRNN(4, seed=0)
    x = randn(2, 5, 3)
    layer.forward(x)
    held = dict(layer.grads)  # what an optimizer may hold on to
    layer.backward(np.ones((2, 4)))
    for name, grad in layer.grads.items():
        assert grad is held[name] and np.any(grad != 0)


def test_simple_rnn_kernel_regularizer_is_registered():
    layer = SimpleRNN(4, kernel_regularizer="l2", seed=0)
    layer.forward(randn(2, 5, 3))
    assert layer.kernel_regularizer is layer.regularizers["kernel"]
    np.testing.assert_allclose(layer.regularization_loss(),
                               0.01 * np.sum(layer.params["kernel"] ** 2))


# ---------------------------------------------------------------------------- bad inputs
def test_simple_rnn_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"SimpleRNN 'rnn': expected input of rank 3 "
                                         r"\(batch, time, features\), got shape \(5, 3\)"):
        SimpleRNN(4, name="rnn").forward(np.ones((5, 3)))


def test_simple_rnn_rejects_int_object_and_nan_input():
    layer = SimpleRNN(4, name="rnn")
    with pytest.raises(TypeError, match=r"SimpleRNN 'rnn': expected a floating-point input "
                                        r"\(float32 or float64\), got dtype int64"):
        layer.forward(np.ones((2, 5, 3), dtype=np.int64))
    with pytest.raises(TypeError, match=r"SimpleRNN 'rnn': expected a floating-point input .*, "
                                        r"got dtype object"):
        layer.forward(np.array([[[1.0, None]]], dtype=object))
    x = np.ones((2, 5, 3))
    x[0, 4, 1] = np.nan
    with pytest.raises(ValueError, match=r"SimpleRNN 'rnn': the input contains NaN or infinite "
                                         r"values \(1 of 30 entries\)"):
        layer.forward(x)


def test_simple_rnn_rejects_an_empty_sequence():
    with pytest.raises(ValueError, match=r"SimpleRNN 'rnn': expected at least one time step, "
                                         r"got shape \(2, 0, 3\)"):
        SimpleRNN(4, name="rnn").forward(np.ones((2, 0, 3)))


def test_simple_rnn_rejects_a_different_feature_count_on_a_second_call():
    layer = SimpleRNN(4, name="rnn")
    layer.forward(np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match=r"SimpleRNN 'rnn': expected input of shape "
                                         r"\(batch, None, 3\) as on its first call, "
                                         r"got shape \(2, 5, 4\)"):
        layer.forward(np.ones((2, 5, 4)))


def test_simple_rnn_set_weights_checks_count_and_shapes():
    layer = SimpleRNN(4, name="rnn")
    layer.forward(np.ones((2, 5, 3)))
    kernel, recurrent_kernel, bias = layer.get_weights()
    with pytest.raises(ValueError, match=r"SimpleRNN 'rnn': expected 3 weight arrays "
                                         r"\(kernel, recurrent_kernel, bias\), got 2"):
        layer.set_weights([kernel, recurrent_kernel])
    with pytest.raises(ValueError, match=r"SimpleRNN 'rnn': weight 'kernel' must have shape "
                                         r"\(3, 4\), got \(4, 3\)"):
        layer.set_weights([kernel.T, recurrent_kernel, bias])
    with pytest.raises(ValueError, match=r"SimpleRNN 'rnn': weight 'recurrent_kernel' must have "
                                         r"shape \(4, 4\), got \(3, 4\)"):
        layer.set_weights([kernel, kernel, bias])


def test_simple_rnn_backward_before_forward_and_wrong_gradient_shape():
    layer = SimpleRNN(4, name="rnn")
    with pytest.raises(ValueError, match=r"SimpleRNN 'rnn': backward\(\) called before "
                                         r"forward\(\)"):
        layer.backward(np.ones((2, 4)))
    layer.forward(np.ones((2, 5, 3)))
    # return_sequences=False: the gradient of the last state only, not of every state.
    with pytest.raises(ValueError, match=r"SimpleRNN 'rnn': expected a gradient of the output's "
                                         r"shape \(2, 4\), got shape \(2, 5, 4\)"):
        layer.backward(np.ones((2, 5, 4)))


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(units=0), ValueError, r"units must be an integer >= 1, got 0"),
    (dict(units=2.0), TypeError, r"units must be an integer >= 1, got 2\.0 \(float\)"),
    (dict(units=4, activation="tanhh"), ValueError,
     r"unknown activation 'tanhh' for activation; expected one of \[.*'tanh'\] or None"),
    (dict(units=4, return_sequences="yes"), TypeError,
     r"return_sequences must be True or False, got 'yes'"),
    (dict(units=4, recurrent_initializer="orthogonall"), ValueError,
     r"unknown initializer 'orthogonall'"),
])
def test_simple_rnn_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=r"SimpleRNN 'rnn': " + message):
        SimpleRNN(**kwargs, name="rnn")


@pytest.mark.parametrize("function", [rnn_forward, rnn_forward_naive])
def test_rnn_forward_functions_check_shapes(function):
    x, kernel, recurrent_kernel, bias, _, _ = _function_args({"activation": "tanh"})
    name = function.__name__
    with pytest.raises(ValueError, match=rf"{name}\(\): expected x of rank 3 \(batch, time, "
                                         r"features\), got shape \(6, 4\)"):
        function(x[0], kernel, recurrent_kernel, bias)
    with pytest.raises(ValueError, match=rf"{name}\(\): expected kernel of shape \(4, 5\) for x "
                                         r"of shape \(3, 6, 4\) and 5 units, got shape \(5, 4\)"):
        function(x, kernel.T, recurrent_kernel, bias)
    with pytest.raises(ValueError, match=rf"{name}\(\): expected h0 of shape \(3, 5\) .*, "
                                         r"got shape \(5,\)"):
        function(x, kernel, recurrent_kernel, bias, h0=np.zeros(5))
    with pytest.raises(ValueError, match=rf"{name}\(\): unknown activation 'tan'"):
        function(x, kernel, recurrent_kernel, bias, activation="tan")


@pytest.mark.parametrize("function", [rnn_backward, rnn_backward_naive])
def test_rnn_backward_functions_check_shapes(function):
    x, kernel, recurrent_kernel, bias, _, _ = _function_args({"activation": "tanh"})
    h = rnn_forward(x, kernel, recurrent_kernel, bias)
    name = function.__name__
    with pytest.raises(ValueError, match=rf"{name}\(\): expected grad_h of shape \(3, 6, 5\) "
                                         r".*, got shape \(3, 5\)"):
        function(h[:, -1], x, h, kernel, recurrent_kernel)
    with pytest.raises(ValueError, match=rf"{name}\(\): expected h of shape \(3, 6, 5\) "
                                         r".*, got shape \(3, 5, 5\)"):
        function(h, x, h[:, 1:], kernel, recurrent_kernel)
