"""dlcourse.scratch.gru: the GRU functions and layer, both of Keras's variants, against Keras.

Every forward value and gradient (input, every weight, the initial state) must agree with
TensorFlow's in float64 to a relative error of ``tfcompare.RTOL`` (1e-7), the naive and fast
functions with each other to 1e-12, and every backward pass with centred finite differences
to 1e-6, and the fast kernels the layer runs (:mod:`dlcourse.scratch.recurrent_kernels`) the
readable functions to 1e-12. The comparison helpers are ``tfcompare``'s.
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
from dlcourse.scratch.gru import (
    GRU,
    GRUCache,
    GRUGradients,
    gru_backward,
    gru_backward_naive,
    gru_forward,
    gru_forward_naive,
    gru_step,
)
from dlcourse.scratch.recurrent_kernels import gru_backward_kernel, gru_forward_kernel

VARIANTS = {"reset-after": dict(reset_after=True), "reset-before": dict(reset_after=False)}

GRU_CASES = {
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
    "relu-linear": dict(x_shape=(2, 5, 3), activation="relu", recurrent_activation=None,
                        return_sequences=True),
    "sigmoid-tanh-state": dict(x_shape=(2, 5, 3), activation="sigmoid",
                               recurrent_activation="tanh", return_state=True),
}


def _kwargs(case):
    return {k: v for k, v in case.items() if k != "x_shape"}


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
@pytest.mark.parametrize("case", GRU_CASES.values(), ids=GRU_CASES.keys())
def test_gru_matches_keras(case, variant, keras):
    x = randn(*case["x_shape"], seed=5)
    layer, keras_layer = built_pair("GRU", x, **_kwargs(case), **variant)
    assert_matches_keras(layer, keras_layer, x, what="GRU")


MASK_CASES = {
    "last": dict(),
    "sequences-state": dict(return_sequences=True, return_state=True),
    "go-backwards-sequences-state": dict(return_sequences=True, return_state=True,
                                         go_backwards=True),
    "go-backwards-last": dict(go_backwards=True),
}


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
@pytest.mark.parametrize("case", MASK_CASES.values(), ids=MASK_CASES.keys())
def test_gru_with_a_mask_matches_keras(case, variant, keras):
    x = randn(4, 6, 3, seed=7)
    layer, keras_layer = built_pair("GRU", x, **case, **variant)
    assert_matches_keras(layer, keras_layer, x, mask=MASK, what="GRU")


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
def test_gru_with_a_fully_masked_example_and_length_50_matches_keras(variant, keras):
    x = randn(3, 50, 2, seed=8)
    mask = np.ones((3, 50), dtype=bool)
    mask[0] = False
    mask[1, 30:] = False
    mask[2, 10:20] = False
    layer, keras_layer = built_pair("GRU", x, return_sequences=True,
                                    return_state=True, **variant)
    assert_matches_keras(layer, keras_layer, x, mask=mask, what="GRU")
    out, h = layer.forward(x, mask=mask)
    np.testing.assert_array_equal(out[0], 0)
    np.testing.assert_array_equal(out[2, 10:20], np.broadcast_to(out[2, 9], (10, 4)))


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
@pytest.mark.parametrize("mask", [None, MASK], ids=["no-mask", "mask"])
def test_gru_initial_state_and_its_gradient_match_keras(mask, variant, keras):
    x = randn(4, 6, 3, seed=9)
    layer, keras_layer = built_pair("GRU", x, return_sequences=True,
                                    return_state=True, **variant)
    initial = [randn(4, 4, seed=10, scale=0.5)]
    assert_matches_keras(layer, keras_layer, x, mask=mask, initial_state=initial, what="GRU")


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
def test_gru_weights_round_trip_through_keras(variant, keras):
    x = randn(2, 5, 3, seed=12)
    keras_layer = keras.layers.GRU(4, dtype="float64", return_sequences=True, **variant)
    y_keras = keras_layer(x).numpy()  # Keras's own random initial weights
    layer = GRU(4, return_sequences=True, **variant)
    layer.forward(x)
    layer.set_weights(keras_layer.get_weights())
    assert_close(layer.forward(x), y_keras, "GRU with Keras's weights")
    other = keras.layers.GRU(4, dtype="float64", return_sequences=True, **variant)
    other.build(x.shape)
    other.set_weights(layer.get_weights())
    assert_close(other(x).numpy(), y_keras, "Keras with the weights read back")


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
def test_gru_initialisation_is_keras(variant, keras):
    x = randn(2, 3, 40)
    layer = GRU(30, seed=0, **variant)
    layer.forward(x)
    keras_layer = keras.layers.GRU(30, dtype="float64", **variant)
    keras_layer.build(x.shape)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in keras_layer.get_weights()]
    kernel, recurrent_kernel, bias = layer.get_weights()
    assert bias.shape == ((2, 90) if variant["reset_after"] else (90,))
    np.testing.assert_array_equal(bias, 0)
    limit = np.sqrt(6 / (40 + 3 * 30))
    assert limit * 0.95 < np.abs(kernel).max() <= limit
    np.testing.assert_allclose(recurrent_kernel @ recurrent_kernel.T, np.eye(30), atol=1e-12)


def test_grad_h_steps_equal_tensorflow_gradients_wrt_the_states(keras, tf):
    x = randn(2, 7, 3, seed=13)
    layer, _ = built_pair("GRU", x)
    g = randn(2, 4, seed=14)
    layer.forward(x)
    layer.backward(g)
    cell = keras.layers.GRUCell(4, dtype="float64")
    cell.build(x.shape[1:])
    cell.set_weights(layer.get_weights())
    h = tf.zeros((2, 4), dtype="float64")
    states = []
    with tf.GradientTape() as tape:
        for t in range(7):
            h, _ = cell(tf.constant(x[:, t]), h)
            states.append(h)
        objective = tf.reduce_sum(states[-1] * g)
    expected = np.stack([d.numpy() for d in tape.gradient(objective, states)], axis=1)
    assert_close(layer.grad_h_steps, expected, "dJ/dh_t")


# -------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
@pytest.mark.parametrize("case", [GRU_CASES[k] for k in ("batch-1-length-1-last",
                                                         "length-6-sequences",
                                                         "no-bias-sequences", "relu-linear")],
                         ids=["length-1", "sequences", "no-bias", "relu-linear"])
def test_gru_passes_check_layer(case, variant):
    x = randn(*case["x_shape"], seed=15)
    layer = GRU(3, seed=1, **_kwargs(case), **variant)
    layer.forward(x)
    layer.set_weights(random_weights(layer, seed=3))
    check_layer(layer, x)


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
@pytest.mark.parametrize("case", MASK_CASES.values(), ids=MASK_CASES.keys())
def test_gru_with_mask_and_state_matches_finite_differences(case, variant):
    x = randn(4, 6, 2, seed=16)
    layer = GRU(3, seed=1, **case, **variant)
    layer.forward(x)
    layer.set_weights(random_weights(layer, seed=4))
    assert_matches_finite_differences(layer, x, mask=MASK,
                                      initial_state=[randn(4, 3, seed=17, scale=0.5)])


# -------------------------------------------------------------------------- naive and fast
FUNCTION_CASES = {
    "default": dict(),
    "mask": dict(mask=True),
    "initial-state-mask": dict(h0=True, mask=True),
    "no-bias": dict(bias=False),
    "relu-tanh": dict(activation="relu", recurrent_activation="tanh"),
    "softmax-linear": dict(activation="softmax", recurrent_activation="linear"),
    "length-1": dict(time=1),
}


def _function_args(case, reset_after):
    batch, time, features, units = 4, case.get("time", 6), 3, 5
    x = randn(batch, time, features, seed=22)
    kernel = randn(features, 3 * units, seed=23, scale=0.5)
    recurrent_kernel = randn(units, 3 * units, seed=24, scale=0.4)
    bias_shape = (2, 3 * units) if reset_after else (3 * units,)
    bias = randn(*bias_shape, seed=25, scale=0.3) if case.get("bias", True) else None
    h0 = randn(batch, units, seed=26, scale=0.5) if case.get("h0") else None
    mask = MASK[:, :time] if case.get("mask") else None
    return (x, kernel, recurrent_kernel, bias, case.get("activation", "tanh"),
            case.get("recurrent_activation", "sigmoid"), reset_after, h0, mask)


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset-after", "reset-before"])
@pytest.mark.parametrize("case", FUNCTION_CASES.values(), ids=FUNCTION_CASES.keys())
def test_naive_and_fast_functions_agree(case, reset_after):
    args = _function_args(case, reset_after)
    h, cache = gru_forward(*args)
    h_naive, cache_naive = gru_forward_naive(*args)
    assert isinstance(cache, GRUCache) and isinstance(cache_naive, GRUCache)
    for name in ("h", "gates", "recurrent_h"):
        assert rel_error(getattr(cache, name), getattr(cache_naive, name)) < 1e-12, name
    assert rel_error(h, h_naive) < 1e-12
    grad_h = randn(*h.shape, seed=28)
    fast, naive = gru_backward(grad_h, cache), gru_backward_naive(grad_h, cache)
    assert isinstance(fast, GRUGradients) and isinstance(naive, GRUGradients)
    for name in GRUGradients._fields:
        a, b = getattr(fast, name), getattr(naive, name)
        assert a.shape == b.shape and rel_error(a, b) < 1e-12, name
    assert fast.grad_bias.shape == ((2, 15) if reset_after else (15,))


KERNEL_CASES = {k: FUNCTION_CASES[k] for k in ("default", "mask", "initial-state-mask",
                                                 "no-bias", "length-1")}


@pytest.mark.parametrize("case", KERNEL_CASES.values(), ids=KERNEL_CASES.keys())
def test_the_kernels_equal_the_readable_functions(case):
    x, kernel, recurrent_kernel, bias, _, _, _, h0, mask = _function_args(case, True)
    h, cache = gru_forward(x, kernel, recurrent_kernel, bias, h0=h0, mask=mask)
    h_k, cache_k = gru_forward_kernel(x, kernel, recurrent_kernel, bias, h0, mask)
    assert isinstance(cache_k, GRUCache) and cache_k.reset_after
    assert rel_error(h_k, h) < 1e-12
    for name in ("h", "gates", "recurrent_h"):
        assert rel_error(getattr(cache_k, name), getattr(cache, name)) < 1e-12, name
    grad_h = randn(*h.shape, seed=28)
    readable = gru_backward(grad_h, cache)
    # Either cache serves either backward function.
    for fast in (gru_backward_kernel(grad_h, cache_k), gru_backward_kernel(grad_h, cache),
                 gru_backward(grad_h, cache_k)):
        assert isinstance(fast, GRUGradients)
        for name in GRUGradients._fields:
            a, b = getattr(fast, name), getattr(readable, name)
            assert a.shape == b.shape and rel_error(a, b) < 1e-12, name


def test_the_kernels_stay_finite_where_the_gates_saturate_keep_float32_and_refuse_others():
    x, kernel, recurrent_kernel, bias, *_ = _function_args({}, True)
    with np.errstate(all="raise"):  # σ(z) = (1 + tanh(z/2)) / 2 cannot overflow
        h_k, cache_k = gru_forward_kernel(100 * x, kernel, recurrent_kernel, 100 * bias)
        grads = gru_backward_kernel(np.ones_like(h_k), cache_k)
    h, cache = gru_forward(100 * x, kernel, recurrent_kernel, 100 * bias)
    assert np.abs(cache.gates).max() == 1.0  # saturated
    assert rel_error(h_k, h) < 1e-12
    readable = gru_backward(np.ones_like(h), cache)
    for name in GRUGradients._fields:
        assert rel_error(getattr(grads, name), getattr(readable, name)) < 1e-12, name
    h32, cache32 = gru_forward_kernel(*[a.astype("float32")
                                        for a in (x, kernel, recurrent_kernel, bias)])
    assert h32.dtype == np.float32 and rel_error(h32, gru_forward(x, kernel, recurrent_kernel,
                                                                  bias)[0]) < 1e-5
    assert all(g.dtype == np.float32 for g in gru_backward_kernel(np.ones_like(h32), cache32))
    _, before = gru_forward(x, kernel, recurrent_kernel, bias[0], reset_after=False)
    with pytest.raises(ValueError, match=r"gru_backward_kernel\(\): computes activations "
                                         r"\('tanh', 'sigmoid'\) with reset_after=True, the "
                                         r"cache has \('tanh', 'sigmoid'\), "
                                         r"reset_after=False; use gru_backward"):
        gru_backward_kernel(np.ones_like(h), before)
    # The layer runs the kernels with Keras's defaults only.
    assert GRU(2)._fast() and not GRU(2, reset_after=False)._fast()
    assert not GRU(2, recurrent_activation="tanh")._fast()


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset-after", "reset-before"])
@pytest.mark.parametrize("case", FUNCTION_CASES.values(), ids=FUNCTION_CASES.keys())
@pytest.mark.parametrize("backward", [gru_backward, gru_backward_naive])
def test_gru_backward_matches_finite_differences(case, reset_after, backward):
    x, kernel, recurrent_kernel, bias, act, ract, _, h0, mask = _function_args(case,
                                                                               reset_after)
    bias = np.zeros((2, 15) if reset_after else 15) if bias is None else bias
    h0 = randn(4, 5, seed=34, scale=0.5) if h0 is None else h0
    h, cache = gru_forward(x, kernel, recurrent_kernel, bias, act, ract, reset_after, h0, mask)
    grad_h = randn(*h.shape, seed=30)
    grads = backward(grad_h, cache)

    def objective(_=None):
        h, _ = gru_forward(x, kernel, recurrent_kernel, bias, act, ract, reset_after, h0, mask)
        return np.sum(h * grad_h)

    for name, point in [("grad_x", x), ("grad_kernel", kernel),
                        ("grad_recurrent_kernel", recurrent_kernel), ("grad_bias", bias),
                        ("grad_h0", h0)]:
        err = rel_error(getattr(grads, name), numerical_gradient(objective, point))
        assert err < 1e-6, f"{backward.__name__} {name}: relative error {err:.2e}"


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset-after", "reset-before"])
def test_gru_step_is_the_equations_and_the_forward_pass_is_its_loop(reset_after):
    x, kernel, recurrent_kernel, bias, *_ = _function_args({}, reset_after)
    h_prev = randn(4, 5, seed=32)
    u = 5

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    # The course's column form: W_x· = blocks of kernelᵀ, W_h· = blocks of recurrent_kernelᵀ.
    W_x, W_h = kernel.T, recurrent_kernel.T
    blocks = {name: slice(k * u, (k + 1) * u) for k, name in enumerate("zrh")}
    b_x, b_h = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * u))
    x_t, h_p = x[0, 0], h_prev[0]
    z = sigmoid(W_h[blocks["z"]] @ h_p + W_x[blocks["z"]] @ x_t + b_x[blocks["z"]]
                + b_h[blocks["z"]])
    r = sigmoid(W_h[blocks["r"]] @ h_p + W_x[blocks["r"]] @ x_t + b_x[blocks["r"]]
                + b_h[blocks["r"]])
    if reset_after:
        recurrent = r * (W_h[blocks["h"]] @ h_p + b_h[blocks["h"]])
    else:
        recurrent = W_h[blocks["h"]] @ (r * h_p)
    candidate = np.tanh(recurrent + W_x[blocks["h"]] @ x_t + b_x[blocks["h"]])
    step = gru_step(x_t, h_p, kernel, recurrent_kernel, bias, reset_after=reset_after)
    np.testing.assert_allclose(step.h, z * h_p + (1 - z) * candidate, rtol=1e-12)
    batch_step = gru_step(x[:, 0], h_prev, kernel, recurrent_kernel, bias,
                          reset_after=reset_after)
    np.testing.assert_allclose(batch_step.h[0], step.h, rtol=1e-12)
    h, _ = gru_forward(x, kernel, recurrent_kernel, bias, reset_after=reset_after)
    later = gru_step(x[:, 3], h[:, 2], kernel, recurrent_kernel, bias, reset_after=reset_after)
    np.testing.assert_allclose(later.h, h[:, 3], rtol=1e-12)


def test_float32_stays_float32_and_matches_float64():
    x, kernel, recurrent_kernel, bias, *_ = _function_args({}, True)
    h64, _ = gru_forward(x, kernel, recurrent_kernel, bias)
    h32, cache = gru_forward(*[a.astype("float32") for a in (x, kernel, recurrent_kernel, bias)])
    assert h32.dtype == np.float32 and rel_error(h32, h64) < 1e-5
    assert all(g.dtype == np.float32 for g in gru_backward(np.ones_like(h32), cache))


# ---------------------------------------------------------------------------- the layer
def test_gru_layer_api():
    x = randn(4, 6, 3, seed=34)
    layer = GRU(4, return_sequences=True, return_state=True, reset_after=False,
                bias_regularizer="l2", seed=0)
    assert layer.compute_output_shape((None, 6, 3)) == ((None, 6, 4), (None, 4))
    out, h = layer.forward(x, mask=MASK)
    np.testing.assert_array_equal(h, out[:, -1])
    assert set(layer.regularizers) == {"bias"}
    dx = layer.backward(None, grad_states=[np.ones((4, 4))])
    assert dx.shape == x.shape and layer.grad_initial_state[0].shape == (4, 4)


GRU_CONFIGS = [
    {"units": 3},
    {"units": 2, "activation": "relu", "recurrent_activation": "tanh", "use_bias": False,
     "kernel_initializer": "he_normal", "recurrent_initializer": "glorot_uniform",
     "bias_initializer": "ones", "kernel_regularizer": "l2", "recurrent_regularizer": "l1",
     "bias_regularizer": "l2", "return_sequences": True, "return_state": True,
     "go_backwards": True, "reset_after": False, "seed": 3},
    {"units": 4, "activation": None, "dtype": "float64", "seed": 0},
]


@pytest.mark.parametrize("kwargs", GRU_CONFIGS)
def test_gru_config_is_keras(kwargs, keras):
    layer = GRU(name="probe", **kwargs)
    layer.forward(randn(2, 5, 3).astype(kwargs.get("dtype", "float32")))
    assert_config_is_keras(layer, keras.layers.GRU(name="probe", **kwargs))


def test_gru_rejects_bad_arguments_by_name():
    with pytest.raises(TypeError, match=r"GRU 'g': reset_after must be True or False, got 1"):
        GRU(3, reset_after=1, name="g")
    with pytest.raises(ValueError, match=r"GRU 'g': expected initial_state as a list of 1 "
                                         r"arrays \(h\), got list of length 2"):
        GRU(3, name="g").forward(randn(2, 4, 2), initial_state=[np.zeros((2, 3))] * 2)
    x, kernel, recurrent_kernel, bias, *_ = _function_args({}, True)
    with pytest.raises(ValueError, match=r"gru_forward\(\): expected bias of shape \(15,\) "
                                         r"for x of shape \(4, 6, 3\) and 5 units, "
                                         r"got shape \(2, 15\)"):
        gru_forward(x, kernel, recurrent_kernel, bias, reset_after=False)
    h, cache = gru_forward(x, kernel, recurrent_kernel, bias)
    with pytest.raises(ValueError, match=r"gru_backward_naive\(\): expected grad_h of the "
                                         r"states' shape \(4, 6, 5\), got shape \(4, 5\)"):
        gru_backward_naive(h[:, 0], cache)
