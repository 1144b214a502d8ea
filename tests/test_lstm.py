"""dlcourse.scratch.lstm: the LSTM functions and layer against Keras (float64).

Every forward value and gradient (input, every weight, initial states) must agree with
TensorFlow's to a relative error of ``tfcompare.RTOL`` (1e-7), the naive and fast functions
with each other to 1e-12, and every backward pass with centred finite differences to 1e-6.
The fast kernels the layer runs (:mod:`dlcourse.scratch.recurrent_kernels`) must equal the
readable functions to 1e-12 too. The comparison helpers are ``tfcompare``'s.
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
    randn,
    random_weights,
)

from dlcourse.gradcheck import check_layer, numerical_gradient, rel_error
from dlcourse.scratch.lstm import (
    LSTM,
    LSTMCache,
    LSTMGradients,
    lstm_backward,
    lstm_backward_naive,
    lstm_forward,
    lstm_forward_naive,
    lstm_step,
)
from dlcourse.scratch.recurrent_kernels import (
    has_kernel,
    lstm_backward_kernel,
    lstm_forward_kernel,
)

# ------------------------------------------------------------------------------ against Keras
LSTM_CASES = {
    "batch-1-length-1-last": dict(x_shape=(1, 1, 3)),
    "batch-1-length-1-sequences-state": dict(x_shape=(1, 1, 3), return_sequences=True,
                                             return_state=True),
    "length-50-last": dict(x_shape=(2, 50, 3)),
    "length-50-sequences-state": dict(x_shape=(2, 50, 3), return_sequences=True,
                                      return_state=True),
    "length-6-sequences": dict(x_shape=(3, 6, 5), return_sequences=True),
    "length-6-state": dict(x_shape=(3, 6, 5), return_state=True),
    "go-backwards-last": dict(x_shape=(3, 6, 5), go_backwards=True),
    "go-backwards-sequences-state": dict(x_shape=(3, 6, 5), go_backwards=True,
                                         return_sequences=True, return_state=True),
    "no-bias-sequences": dict(x_shape=(2, 5, 3), use_bias=False, return_sequences=True),
    "no-unit-forget-bias": dict(x_shape=(2, 5, 3), unit_forget_bias=False),
    "relu-linear": dict(x_shape=(2, 5, 3), activation="relu", recurrent_activation=None,
                        return_sequences=True),
    "sigmoid-tanh-state": dict(x_shape=(2, 5, 3), activation="sigmoid",
                               recurrent_activation="tanh", return_state=True),
}


def _kwargs(case):
    return {k: v for k, v in case.items() if k != "x_shape"}


@pytest.mark.parametrize("case", LSTM_CASES.values(), ids=LSTM_CASES.keys())
def test_lstm_matches_keras(case, keras):
    x = randn(*case["x_shape"], seed=5)
    layer, keras_layer = built_pair("LSTM", x, **_kwargs(case))
    assert_matches_keras(layer, keras_layer, x, what="LSTM")
    out = layer.forward(x)
    first = out[0] if layer.return_state else out
    shape = layer.compute_output_shape(x.shape)
    assert first.shape == (shape[0] if layer.return_state else shape)


MASK_CASES = {
    "last": dict(),
    "sequences": dict(return_sequences=True),
    "sequences-state": dict(return_sequences=True, return_state=True),
    "go-backwards-sequences-state": dict(return_sequences=True, return_state=True,
                                         go_backwards=True),
    "go-backwards-last": dict(go_backwards=True),
}


@pytest.mark.parametrize("case", MASK_CASES.values(), ids=MASK_CASES.keys())
def test_lstm_with_a_mask_matches_keras(case, keras):
    x = randn(4, 6, 3, seed=7)
    layer, keras_layer = built_pair("LSTM", x, **case)
    assert_matches_keras(layer, keras_layer, x, mask=MASK, what="LSTM")


def test_lstm_with_a_fully_masked_example_and_length_50_matches_keras(keras):
    x = randn(3, 50, 2, seed=8)
    mask = np.ones((3, 50), dtype=bool)
    mask[0] = False          # nothing to read: the output stays the initial state, 0
    mask[1, 30:] = False     # padded at the end
    mask[2, 10:20] = False   # a gap in the middle
    layer, keras_layer = built_pair("LSTM", x, return_sequences=True,
                                    return_state=True)
    assert_matches_keras(layer, keras_layer, x, mask=mask, what="LSTM")
    out, h, c = layer.forward(x, mask=mask)
    np.testing.assert_array_equal(out[0], 0)
    # Keras carries the last state forward over masked steps (zero_output_for_mask=False).
    np.testing.assert_array_equal(out[1, 30:], np.broadcast_to(out[1, 29], (20, 4)))
    np.testing.assert_array_equal(h, out[:, -1])


@pytest.mark.parametrize("mask", [None, MASK], ids=["no-mask", "mask"])
def test_lstm_initial_state_and_its_gradient_match_keras(mask, keras):
    x = randn(4, 6, 3, seed=9)
    layer, keras_layer = built_pair("LSTM", x, return_sequences=True,
                                    return_state=True)
    initial = [randn(4, 4, seed=10, scale=0.5), randn(4, 4, seed=11, scale=0.5)]
    assert_matches_keras(layer, keras_layer, x, mask=mask, initial_state=initial, what="LSTM")


def test_lstm_weights_round_trip_through_keras(keras):
    x = randn(2, 5, 3, seed=12)
    keras_layer = keras.layers.LSTM(4, dtype="float64", return_sequences=True)
    y_keras = keras_layer(x).numpy()  # Keras's own random initial weights
    layer = LSTM(4, return_sequences=True)
    layer.forward(x)
    layer.set_weights(keras_layer.get_weights())
    assert_close(layer.forward(x), y_keras, "LSTM with Keras's weights")
    other = keras.layers.LSTM(4, dtype="float64", return_sequences=True)
    other.build(x.shape)
    other.set_weights(layer.get_weights())
    assert_close(other(x).numpy(), y_keras, "Keras with the weights read back")


@pytest.mark.parametrize("kwargs", [{}, {"unit_forget_bias": False},
                                    {"bias_initializer": "ones"}], ids=["default",
                                                                       "no-unit-forget-bias",
                                                                       "ones"])
def test_lstm_initialisation_is_keras(kwargs, keras):
    x = randn(2, 3, 40)
    layer = LSTM(30, seed=0, **kwargs)
    layer.forward(x)
    keras_layer = keras.layers.LSTM(30, dtype="float64", **kwargs)
    keras_layer.build(x.shape)
    kernel, recurrent_kernel, bias = layer.get_weights()
    np.testing.assert_array_equal(bias, keras_layer.get_weights()[2])  # deterministic
    limit = np.sqrt(6 / (40 + 4 * 30))  # glorot_uniform on (features, 4·units)
    assert limit * 0.95 < np.abs(kernel).max() <= limit
    np.testing.assert_allclose(recurrent_kernel @ recurrent_kernel.T, np.eye(30), atol=1e-12)
    if not kwargs:
        np.testing.assert_array_equal(bias, np.r_[np.zeros(30), np.ones(30), np.zeros(60)])


def keras_cell_grad_steps(keras, tf, layer, x, grad_output):
    """``dJ/dh_t`` and ``dJ/dc_t`` at every step, unrolling a Keras LSTMCell under the tape."""
    cell = keras.layers.LSTMCell(layer.units, dtype="float64")
    cell.build(x.shape[1:])
    cell.set_weights(layer.get_weights())
    state = [tf.zeros((x.shape[0], layer.units), dtype="float64")] * 2
    hs, cs = [], []
    with tf.GradientTape() as tape:
        for t in range(x.shape[1]):
            h, state = cell(tf.constant(x[:, t]), state)
            hs.append(state[0])
            cs.append(state[1])
        objective = tf.reduce_sum(hs[-1] * grad_output)
    grads = tape.gradient(objective, [hs, cs])
    return [np.stack([g.numpy() for g in steps], axis=1) for steps in grads]


def test_grad_steps_equal_tensorflow_gradients_wrt_the_states(keras, tf):
    x = randn(2, 7, 3, seed=13)
    layer, _ = built_pair("LSTM", x)
    g = randn(2, 4, seed=14)
    layer.forward(x)
    layer.backward(g)
    grad_h, grad_c = keras_cell_grad_steps(keras, tf, layer, x, g)
    assert_close(layer.grad_h_steps, grad_h, "dJ/dh_t")
    assert_close(layer.grad_c_steps, grad_c, "dJ/dc_t")


# -------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("case", [LSTM_CASES[k] for k in ("batch-1-length-1-last",
                                                          "length-6-sequences",
                                                          "no-bias-sequences", "relu-linear")],
                         ids=["length-1", "sequences", "no-bias", "relu-linear"])
def test_lstm_passes_check_layer(case):
    x = randn(*case["x_shape"], seed=15)
    layer = LSTM(3, seed=1, **_kwargs(case))
    layer.forward(x)
    layer.set_weights(random_weights(layer, seed=3))
    check_layer(layer, x)


@pytest.mark.parametrize("case", MASK_CASES.values(), ids=MASK_CASES.keys())
def test_lstm_with_mask_and_states_matches_finite_differences(case):
    x = randn(4, 6, 2, seed=16)
    layer = LSTM(3, seed=1, **case)
    layer.forward(x)
    layer.set_weights(random_weights(layer, seed=4))
    initial = [randn(4, 3, seed=17, scale=0.5), randn(4, 3, seed=18, scale=0.5)]
    assert_matches_finite_differences(layer, x, mask=MASK, initial_state=initial)


# -------------------------------------------------------------------------- naive and fast
FUNCTION_CASES = {
    "default": dict(),
    "mask": dict(mask=True),
    "initial-states-mask": dict(h0=True, mask=True),
    "no-bias": dict(bias=False),
    "relu-tanh": dict(activation="relu", recurrent_activation="tanh"),
    "softmax-linear": dict(activation="softmax", recurrent_activation="linear"),
    "length-1": dict(time=1),
}


def _function_args(case):
    batch, time, features, units = 4, case.get("time", 6), 3, 5
    x = randn(batch, time, features, seed=22)
    kernel = randn(features, 4 * units, seed=23, scale=0.5)
    recurrent_kernel = randn(units, 4 * units, seed=24, scale=0.4)
    bias = randn(4 * units, seed=25, scale=0.3) if case.get("bias", True) else None
    h0 = randn(batch, units, seed=26, scale=0.5) if case.get("h0") else None
    c0 = randn(batch, units, seed=27, scale=0.5) if case.get("h0") else None
    mask = MASK[:, :time] if case.get("mask") else None
    return (x, kernel, recurrent_kernel, bias, case.get("activation", "tanh"),
            case.get("recurrent_activation", "sigmoid"), h0, c0, mask)


@pytest.mark.parametrize("case", FUNCTION_CASES.values(), ids=FUNCTION_CASES.keys())
def test_naive_and_fast_functions_agree(case):
    args = _function_args(case)
    h, c, cache = lstm_forward(*args)
    h_naive, c_naive, cache_naive = lstm_forward_naive(*args)
    assert isinstance(cache, LSTMCache) and isinstance(cache_naive, LSTMCache)
    for name in ("h", "c", "gates", "c_act"):
        assert rel_error(getattr(cache, name), getattr(cache_naive, name)) < 1e-12, name
    assert rel_error(h, h_naive) < 1e-12 and rel_error(c, c_naive) < 1e-12
    grad_h, grad_c = randn(*h.shape, seed=28), randn(*h.shape, seed=29)
    for grad_c_arg in (None, grad_c):
        fast = lstm_backward(grad_h, cache, grad_c_arg)
        naive = lstm_backward_naive(grad_h, cache, grad_c_arg)
        assert isinstance(fast, LSTMGradients) and isinstance(naive, LSTMGradients)
        for name in LSTMGradients._fields:
            a, b = getattr(fast, name), getattr(naive, name)
            assert a.shape == b.shape and rel_error(a, b) < 1e-12, name


KERNEL_CASES = {k: FUNCTION_CASES[k] for k in ("default", "mask", "initial-states-mask",
                                                 "no-bias", "length-1")}


@pytest.mark.parametrize("case", KERNEL_CASES.values(), ids=KERNEL_CASES.keys())
def test_the_kernels_equal_the_readable_functions(case):
    x, kernel, recurrent_kernel, bias, _, _, h0, c0, mask = _function_args(case)
    h, c, cache = lstm_forward(x, kernel, recurrent_kernel, bias, h0=h0, c0=c0, mask=mask)
    h_k, c_k, cache_k = lstm_forward_kernel(x, kernel, recurrent_kernel, bias, h0, c0, mask)
    assert isinstance(cache_k, LSTMCache)
    assert rel_error(h_k, h) < 1e-12 and rel_error(c_k, c) < 1e-12
    for name in ("h", "c", "gates", "c_act"):
        assert rel_error(getattr(cache_k, name), getattr(cache, name)) < 1e-12, name
    grad_h, grad_c = randn(*h.shape, seed=28), randn(*h.shape, seed=29)
    for grad_c_arg in (None, grad_c):
        readable = lstm_backward(grad_h, cache, grad_c_arg)
        # Either cache serves either backward function.
        for fast in (lstm_backward_kernel(grad_h, cache_k, grad_c_arg),
                     lstm_backward_kernel(grad_h, cache, grad_c_arg),
                     lstm_backward(grad_h, cache_k, grad_c_arg)):
            assert isinstance(fast, LSTMGradients)
            for name in LSTMGradients._fields:
                a, b = getattr(fast, name), getattr(readable, name)
                assert a.shape == b.shape and rel_error(a, b) < 1e-12, name


def test_the_kernels_stay_finite_and_exact_where_the_gates_saturate():
    # σ(z) = (1 + tanh(z/2)) / 2 cannot overflow: |z| of several hundred, no warning.
    x, kernel, recurrent_kernel, bias, *_ = _function_args({})
    with np.errstate(all="raise"):
        h_k, c_k, cache_k = lstm_forward_kernel(100 * x, kernel, recurrent_kernel, 100 * bias)
        grads = lstm_backward_kernel(np.ones_like(h_k), cache_k)
    h, c, cache = lstm_forward(100 * x, kernel, recurrent_kernel, 100 * bias)
    assert np.abs(cache.gates).max() == 1.0  # saturated
    assert rel_error(h_k, h) < 1e-12 and rel_error(c_k, c) < 1e-12
    readable = lstm_backward(np.ones_like(h), cache)
    for name in LSTMGradients._fields:
        assert rel_error(getattr(grads, name), getattr(readable, name)) < 1e-12, name


def test_the_kernels_keep_float32_and_refuse_other_activations():
    x, kernel, recurrent_kernel, bias, *_ = _function_args({})
    args32 = [a.astype("float32") for a in (x, kernel, recurrent_kernel, bias)]
    h32, c32, cache = lstm_forward_kernel(*args32)
    assert h32.dtype == c32.dtype == np.float32
    assert rel_error(h32, lstm_forward(x, kernel, recurrent_kernel, bias)[0]) < 1e-5
    assert all(g.dtype == np.float32 for g in lstm_backward_kernel(np.ones_like(h32), cache))
    _, _, relu_cache = lstm_forward(x, kernel, recurrent_kernel, bias, activation="relu")
    with pytest.raises(ValueError, match=r"lstm_backward_kernel\(\): computes activations "
                                         r"\('tanh', 'sigmoid'\), the cache has \('relu', "
                                         r"'sigmoid'\); use lstm_backward"):
        lstm_backward_kernel(np.ones_like(h32), relu_cache)
    # The layer runs the kernels with Keras's defaults only.
    assert has_kernel(LSTM(2).activation, LSTM(2).recurrent_activation)
    assert not has_kernel(LSTM(2, activation="relu").activation, LSTM(2).recurrent_activation)


@pytest.mark.parametrize("case", FUNCTION_CASES.values(), ids=FUNCTION_CASES.keys())
@pytest.mark.parametrize("backward", [lstm_backward, lstm_backward_naive])
def test_lstm_backward_matches_finite_differences(case, backward):
    x, kernel, recurrent_kernel, bias, act, ract, h0, c0, mask = _function_args(case)
    bias = np.zeros(kernel.shape[1]) if bias is None else bias
    # Non-zero states: with c_{-1} = 0 and a relu candidate at 0, c_0 would sit on relu's kink.
    h0 = randn(4, 5, seed=34, scale=0.5) if h0 is None else h0
    c0 = randn(4, 5, seed=35, scale=0.5) if c0 is None else c0
    h, c, cache = lstm_forward(x, kernel, recurrent_kernel, bias, act, ract, h0, c0, mask)
    grad_h, grad_c = randn(*h.shape, seed=30), randn(*h.shape, seed=31)
    grads = backward(grad_h, cache, grad_c)

    def objective(_=None):
        h, c, _ = lstm_forward(x, kernel, recurrent_kernel, bias, act, ract, h0, c0, mask)
        return np.sum(h * grad_h) + np.sum(c * grad_c)

    for name, point in [("grad_x", x), ("grad_kernel", kernel),
                        ("grad_recurrent_kernel", recurrent_kernel), ("grad_bias", bias),
                        ("grad_h0", h0), ("grad_c0", c0)]:
        err = rel_error(getattr(grads, name), numerical_gradient(objective, point))
        assert err < 1e-6, f"{backward.__name__} {name}: relative error {err:.2e}"


def test_lstm_step_is_the_equations_and_the_forward_pass_is_its_loop():
    x, kernel, recurrent_kernel, bias, *_ = _function_args({})
    h_prev, c_prev = randn(4, 5, seed=32), randn(4, 5, seed=33)
    units = 5

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    # The course's column form, gate by gate: W_x· = kernelᵀ blocks, W_h· = recurrent_kernelᵀ.
    W_x, W_h = kernel.T, recurrent_kernel.T
    gate = {}
    for k, name in enumerate("ifco"):
        rows = slice(k * units, (k + 1) * units)
        gate[name] = W_h[rows] @ h_prev[0] + W_x[rows] @ x[0, 0] + bias[rows]
    i, f, o = sigmoid(gate["i"]), sigmoid(gate["f"]), sigmoid(gate["o"])
    c = f * c_prev[0] + i * np.tanh(gate["c"])
    step = lstm_step(x[0, 0], h_prev[0], c_prev[0], kernel, recurrent_kernel, bias)
    np.testing.assert_allclose(step.c, c, rtol=1e-12)
    np.testing.assert_allclose(step.h, o * np.tanh(c), rtol=1e-12)
    batch_step = lstm_step(x[:, 0], h_prev, c_prev, kernel, recurrent_kernel, bias)
    np.testing.assert_allclose(batch_step.h[0], step.h, rtol=1e-12)
    h, c_all, _ = lstm_forward(x, kernel, recurrent_kernel, bias)
    later = lstm_step(x[:, 3], h[:, 2], c_all[:, 2], kernel, recurrent_kernel, bias)
    np.testing.assert_allclose(later.h, h[:, 3], rtol=1e-12)
    np.testing.assert_allclose(later.c, c_all[:, 3], rtol=1e-12)


def test_float32_stays_float32_and_matches_float64():
    x, kernel, recurrent_kernel, bias, *_ = _function_args({})
    h64, _, _ = lstm_forward(x, kernel, recurrent_kernel, bias)
    args32 = [a.astype("float32") for a in (x, kernel, recurrent_kernel, bias)]
    h32, c32, cache = lstm_forward(*args32)
    assert h32.dtype == c32.dtype == np.float32
    assert rel_error(h32, h64) < 1e-5
    assert all(g.dtype == np.float32 for g in lstm_backward(np.ones_like(h32), cache))
    layer = LSTM(5, return_sequences=True, seed=0)
    y = layer.forward(x.astype("float32"))
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


# ---------------------------------------------------------------------------- the layer
def test_lstm_layer_api():
    x = randn(4, 6, 3, seed=34)
    layer = LSTM(4, return_sequences=True, return_state=True, seed=0)
    assert layer.compute_output_shape((None, 6, 3)) == ((None, 6, 4), (None, 4), (None, 4))
    out, h, c = layer.forward(x, mask=MASK)
    assert layer.compute_mask(x, MASK)[0] is MASK and layer.compute_mask(x, MASK)[1:] == [None,
                                                                                           None]
    assert LSTM(4).compute_mask(x, MASK) is None
    held = dict(layer.grads)
    dx = layer.backward(None, grad_states=[None, np.ones((4, 4))])  # only c was used
    assert dx.shape == x.shape and np.any(dx != 0)
    for name, grad in layer.grads.items():
        assert grad is held[name]  # in place, for an optimizer holding them
    # call() is forward() without the input checks, as a model uses it.
    np.testing.assert_array_equal(layer.forward_unchecked(x, mask=MASK)[0], out)
    assert layer.forward(randn(2, 9, 3)).__len__() == 3  # any sequence length, as Keras


LSTM_CONFIGS = [
    {"units": 3},
    {"units": 2, "activation": "relu", "recurrent_activation": "tanh", "use_bias": False,
     "unit_forget_bias": False, "kernel_initializer": "he_normal",
     "recurrent_initializer": "glorot_uniform", "bias_initializer": "ones",
     "kernel_regularizer": "l2", "recurrent_regularizer": "l1", "bias_regularizer": "l2",
     "return_sequences": True, "return_state": True, "go_backwards": True, "seed": 3},
    {"units": 4, "activation": None, "dtype": "float64", "seed": 0},
]


@pytest.mark.parametrize("kwargs", LSTM_CONFIGS)
def test_lstm_config_is_keras(kwargs, keras):
    layer = LSTM(name="probe", **kwargs)
    layer.forward(randn(2, 5, 3).astype(kwargs.get("dtype", "float32")))
    assert_config_is_keras(layer, keras.layers.LSTM(name="probe", **kwargs))
    if "kernel_regularizer" in kwargs:
        assert set(layer.regularizers) == {"kernel", "recurrent_kernel", "bias"}


# ---------------------------------------------------------------------------- bad input
def test_lstm_rejects_bad_arguments_by_name():
    with pytest.raises(ValueError, match=r"LSTM 'l': units must be an integer >= 1, got 0"):
        LSTM(0, name="l")
    with pytest.raises(TypeError, match=r"LSTM 'l': unit_forget_bias must be True or False"):
        LSTM(3, unit_forget_bias="yes", name="l")
    with pytest.raises(ValueError, match=r"LSTM 'l': unknown activation 'swish'"):
        LSTM(3, recurrent_activation="swish", name="l")

    def scalar(shape, rng, dtype):
        return np.zeros((), dtype)

    with pytest.raises(ValueError, match=r"LSTM 'l': bias_initializer returned an array of "
                                         r"shape \(\) for shape \(3,\)"):
        LSTM(3, bias_initializer=scalar, name="l").forward(randn(2, 4, 2))


def test_lstm_rejects_bad_masks_states_and_gradients():
    layer = LSTM(4, name="l")
    x = randn(4, 6, 3)
    with pytest.raises(ValueError, match=r"LSTM 'l': expected a mask of shape \(batch, time\) = "
                                         r"\(4, 6\), got shape \(4, 5\)"):
        layer.forward(x, mask=MASK[:, :5])
    with pytest.raises(TypeError, match=r"LSTM 'l': expected a boolean mask .*got dtype float64"):
        layer.forward(x, mask=MASK.astype(float))
    with pytest.raises(ValueError, match=r"LSTM 'l': expected initial_state as a list of 2 "
                                         r"arrays \(h, c\), got list of length 1"):
        layer.forward(x, initial_state=[np.zeros((4, 4))])
    with pytest.raises(ValueError, match=r"initial_state for c of shape \(4, 4\), got shape"):
        layer.forward(x, initial_state=[np.zeros((4, 4)), np.zeros((4, 3))])
    layer.forward(x)
    with pytest.raises(ValueError, match=r"LSTM 'l': grad_states given, but the layer returns "
                                         r"no states \(return_state=False\)"):
        layer.backward(np.ones((4, 4)), grad_states=[np.ones((4, 4)), None])
    with pytest.raises(ValueError, match=r"expected at least one time step"):
        layer.forward(np.ones((2, 0, 3)))


def test_lstm_functions_reject_wrong_shapes():
    x, kernel, recurrent_kernel, bias, *_ = _function_args({})
    with pytest.raises(ValueError, match=r"lstm_forward\(\): expected kernel of shape \(3, 20\) "
                                         r"for x of shape \(4, 6, 3\) and 5 units, got shape"):
        lstm_forward(x, kernel[:, :8], recurrent_kernel, bias)
    with pytest.raises(ValueError, match=r"lstm_forward_naive\(\): expected mask of shape"):
        lstm_forward_naive(x, kernel, recurrent_kernel, bias, mask=MASK[:3])
    h, _, cache = lstm_forward(x, kernel, recurrent_kernel, bias)
    with pytest.raises(ValueError, match=r"lstm_backward\(\): expected grad_c of the states' "
                                         r"shape \(4, 6, 5\)"):
        lstm_backward(h, cache, h[:, :2])
    with pytest.raises(TypeError, match=r"expected the LSTMCache that lstm_forward returned"):
        lstm_backward_naive(h, (x, h))
