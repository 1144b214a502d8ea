"""compress: int8 quantization, magnitude pruning, and parameter/FLOP/memory counts.

Quantization is checked on small examples worked by hand, for its round-trip bound (every value
of the range comes back within scale / 2), its integer range, and against TensorFlow's own
fake-quantization op. Counts are checked against Keras's ``count_params()``, TensorFlow's
profiler (FLOPs) and the bytes of the arrays a forward pass really creates (memory).
"""

import math

import numpy as np
import pytest

from dlcourse import compress
from dlcourse.keras_ref import keras, tf, to_keras
from dlcourse.scratch import (
    Activation,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    MaxPooling2D,
    Sequential,
    SimpleRNN,
    models,
)
from dlcourse.scratch.normalization import BatchNormalization

# ------------------------------------------------------------------------------ quantization


def test_unit_steps_quantize_to_themselves():
    # The range -128..127 with 255 steps: S = 1 and Z = 0, so q = x.
    x = np.arange(-128, 128, dtype=np.float64)
    scale, zero_point = compress.quantization_params(x)
    assert scale == 1.0 and zero_point == 0
    q = compress.quantize(x, scale, zero_point)
    assert q.dtype == np.int8
    np.testing.assert_array_equal(q, x)


def test_non_negative_range_uses_the_zero_point():
    # [0, 255]: S = 1, and 0 must map to the lowest integer, Z = -128.
    x = np.array([0.0, 1.0, 100.0, 255.0])
    scale, zero_point = compress.quantization_params(x)
    assert scale == 1.0 and zero_point == -128
    np.testing.assert_array_equal(compress.quantize(x, scale, zero_point), [-128, -127, -28, 127])


def test_hand_worked_affine_example():
    # [-1, 3]: S = 4/255, Z = round(-128 + 1 / S) = round(-64.25) = -64.
    x = np.array([-1.0, 0.0, 1.0, 3.0])
    scale, zero_point = compress.quantization_params(x)
    assert scale == pytest.approx(4 / 255, rel=2.4e-7)  # float32, rounded up
    assert zero_point == -64
    q = compress.quantize(x, scale, zero_point)
    # 1 / S = 63.75 -> 64 steps above Z; -1 / S = -63.75 -> -64; 3 / S = 191.25 -> 191.
    np.testing.assert_array_equal(q, [-128, -64, 0, 127])
    s = float(scale)
    np.testing.assert_allclose(compress.dequantize(q, scale, zero_point, dtype=np.float64),
                               [-64 * s, 0.0, 64 * s, 191 * s], rtol=1e-12)


def test_symmetric_example():
    # Symmetric: S = max|x| / 127, Z = 0, integers -127..127.
    x = np.array([-2.0, 1.5, 0.0])
    scale, zero_point = compress.quantization_params(x, symmetric=True)
    assert zero_point == 0 and scale == pytest.approx(2 / 127, rel=2.4e-7)  # float32
    # 1.5 / S = 95.25 rounds to 95.
    np.testing.assert_array_equal(compress.quantize(x, scale, zero_point), [-127, 95, 0])


def test_rounding_is_half_up():
    q = compress.quantize(np.array([-1.5, -0.5, 0.5, 1.5, 2.5]), 1.0, 0)
    np.testing.assert_array_equal(q, [-1, 0, 1, 2, 3])


def test_scale_is_float32_rounded_up():
    x = np.array([0.0, 2.55])               # S = 0.01, not a float32: the next one above it
    scale, _ = compress.quantization_params(x)
    assert scale.dtype == np.float32 and float(scale) >= 2.55 / 255
    assert float(np.nextafter(scale, np.float32(0))) < 2.55 / 255


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [None, -1, 0])
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("shift", [0.0, 3.0, -5.0])   # mixed signs, all positive, all negative
def test_round_trip_error_is_at_most_half_a_step(dtype, axis, symmetric, shift):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(30, 4, 7)) * rng.uniform(0.01, 10, size=7) + shift).astype(dtype)
    scale, zero_point = compress.quantization_params(x, axis=axis, symmetric=symmetric)
    q = compress.quantize(x, scale, zero_point, axis=axis)
    assert q.dtype == np.int8
    lo = -127 if symmetric else -128
    assert q.min() >= lo and q.max() <= 127
    back = compress.dequantize(q, scale, zero_point, axis=axis, dtype=np.float64)
    half_step = compress._broadcastable(np.asarray(scale, np.float64), compress._axis(
        axis, x.ndim, "test"), x.ndim) / 2
    # The bound is exact in real arithmetic; 1e-9 covers the float64 evaluation.
    assert np.all(np.abs(back - x.astype(np.float64)) <= half_step * (1 + 1e-9))
    # The extremes use the ends of the integer range (the range is not wasted).
    if axis is None and not symmetric:
        assert q.min() == -128 or q.max() == 127


def test_zero_is_exact_and_range_contains_it():
    x = np.array([0.3, 0.7, 1.9, 0.0])
    qt = compress.quantize_tensor(x)
    assert qt.dequantize()[-1] == 0.0
    # The range is [0, 1.9], not [0.3, 1.9]: 0 is always representable.
    assert qt.values[-1] == -128 == qt.zero_point


def test_all_zero_tensor():
    qt = compress.quantize_tensor(np.zeros((3, 2), np.float32))
    assert qt.scale == 1.0
    np.testing.assert_array_equal(qt.dequantize(), 0.0)


def test_values_outside_the_range_are_clipped_to_int8():
    scale, zero_point = compress.quantization_params(np.array([-1.0, 1.0]))
    q = compress.quantize(np.array([-1000.0, 1000.0]), scale, zero_point)
    np.testing.assert_array_equal(q, [-128, 127])


def test_per_channel_equals_per_tensor_on_each_channel():
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(3, 3, 2, 5)) * np.arange(1, 6)
    scale, zero_point = compress.quantization_params(kernel, axis=-1)
    assert scale.shape == zero_point.shape == (5,)
    q = compress.quantize(kernel, scale, zero_point, axis=-1)
    for c in range(5):
        s, z = compress.quantization_params(kernel[..., c])
        assert s == scale[c] and z == zero_point[c]
        np.testing.assert_array_equal(q[..., c], compress.quantize(kernel[..., c], s, z))


def test_per_channel_is_more_accurate_when_channels_differ_in_scale():
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=(64, 8)) * np.logspace(-3, 0, 8)
    per_tensor = compress.quantize_tensor(kernel).dequantize()
    per_channel = compress.quantize_tensor(kernel, axis=-1).dequantize()
    err_tensor = np.abs(per_tensor - kernel).max(axis=0) / np.abs(kernel).max(axis=0)
    err_channel = np.abs(per_channel - kernel).max(axis=0) / np.abs(kernel).max(axis=0)
    assert np.all(err_channel <= err_tensor + 1e-12)
    # The smallest channel is lost per tensor (its weights are below one step), not per channel.
    assert err_tensor[0] > 0.3 and err_channel[0] < 0.01


@pytest.mark.parametrize("per_channel", [False, True])
def test_matches_tensorflow_fake_quantization(per_channel):
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(200, 6)) * np.linspace(0.5, 3, 6) + 0.4).astype(np.float32)
    axis = -1 if per_channel else None
    qt = compress.quantize_tensor(x, axis=axis)
    reduce = 0 if per_channel else None
    lo = np.minimum(x.min(axis=reduce), 0)
    hi = np.maximum(x.max(axis=reduce), 0)
    if per_channel:
        expected = tf.quantization.fake_quant_with_min_max_vars_per_channel(x, lo, hi)
    else:
        expected = tf.quantization.fake_quant_with_min_max_vars(x, float(lo), float(hi))
    # TensorFlow nudges the range onto the same grid (scale, integer zero point) and rounds
    # half up too; it computes in float32, we in float64, hence a tolerance of float32 rounding.
    np.testing.assert_allclose(qt.dequantize(), expected.numpy(), rtol=0,
                               atol=1e-6 * np.abs(x).max())


def test_quantize_weights_of_a_model():
    model = models.mnist_cnn(seed=0)
    weights = model.get_weights()
    quantized = compress.quantize_weights(weights, per_channel=True)
    kinds = [type(w).__name__ for w in quantized]
    assert kinds == ["QuantizedTensor", "ndarray"] * 3
    back = compress.dequantize_weights(quantized)
    model.set_weights(back)                               # the same shapes and dtype
    for w, b, qt in zip(weights, back, quantized, strict=True):
        assert b.dtype == w.dtype
        if isinstance(qt, compress.QuantizedTensor):
            assert np.all(np.abs(b - w) <= qt.scale / 2 * (1 + 1e-5))
        else:
            np.testing.assert_array_equal(b, w)
    # int8 kernels: a quarter of the float32 size, plus the biases and 8 bytes per channel.
    kernels = sum(w.size for w in weights if w.ndim >= 2)
    biases = sum(w.nbytes for w in weights if w.ndim == 1)
    channels = sum(w.shape[-1] for w in weights if w.ndim >= 2)
    assert compress.nbytes(quantized) == kernels + biases + 8 * channels
    assert compress.nbytes(weights) == 4 * kernels + biases


def test_quantization_errors():
    with pytest.raises(ValueError, match="axis"):
        compress.quantization_params(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="NaN"):
        compress.quantization_params(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="non-empty"):
        compress.quantize_tensor(np.array([]))
    with pytest.raises(TypeError, match="integer"):
        compress.dequantize(np.array([1.0]), 1.0, 0)
    with pytest.raises(ValueError, match="positive"):
        compress.quantize(np.array([1.0]), 0.0, 0)

# ------------------------------------------------------------------------------ pruning


def test_magnitude_mask_known_example():
    w = np.array([[3.0, -1.0], [2.0, -4.0]])
    np.testing.assert_array_equal(compress.magnitude_mask(w, 0.5), [[True, False],
                                                                    [False, True]])
    np.testing.assert_array_equal(compress.magnitude_mask(w, 0.0), np.ones((2, 2), bool))
    np.testing.assert_array_equal(compress.magnitude_mask(w, 1.0), np.zeros((2, 2), bool))
    # Ties: the earlier entries go first, and exactly round(s·n) entries go.
    np.testing.assert_array_equal(compress.magnitude_mask(np.ones(4), 0.5),
                                  [False, False, True, True])


def test_prune_per_layer_and_globally():
    small = np.array([[0.1, 0.2], [0.3, 0.4]])       # all smaller than every weight of big
    big = np.array([[1.0, -2.0, 3.0, -4.0]])
    bias = np.array([0.01, 0.02])
    weights = [small, bias, big]
    pruned, masks = compress.prune_weights(weights, 0.5, scope="layer")
    np.testing.assert_array_equal(pruned[0], [[0, 0], [0.3, 0.4]])
    np.testing.assert_array_equal(pruned[2], [[0, 0, 3.0, -4.0]])
    np.testing.assert_array_equal(pruned[1], bias)    # biases are never pruned
    assert masks[1].all()
    pruned, _ = compress.prune_weights(weights, 0.5, scope="global")
    # 8 kernel weights, 4 removed: the four of `small`.
    np.testing.assert_array_equal(pruned[0], 0)
    np.testing.assert_array_equal(pruned[2], big)
    np.testing.assert_array_equal(small, [[0.1, 0.2], [0.3, 0.4]])   # input untouched
    assert compress.sparsity([pruned[0], pruned[2]]) == 0.5


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_pruned_model_has_the_requested_sparsity(scope):
    weights = models.mlp(20, (16, 8), 4, seed=0).get_weights()
    pruned, masks = compress.prune_weights(weights, 0.7, scope=scope)
    kernels = [w for w in pruned if w.ndim == 2]
    n = sum(k.size for k in kernels)
    assert compress.sparsity(kernels) == pytest.approx(0.7, abs=1.5 * len(kernels) / n)
    for w, p, m in zip(weights, pruned, masks, strict=True):
        np.testing.assert_array_equal(p[m], w[m])
        np.testing.assert_array_equal(p[~m], 0)
        if w.ndim == 2:   # what was removed is never larger than what was kept
            assert scope == "global" or np.abs(w[~m]).max() <= np.abs(w[m]).min()


def test_pruning_errors():
    with pytest.raises(ValueError, match="sparsity"):
        compress.magnitude_mask(np.ones(3), 1.5)
    with pytest.raises(ValueError, match="scope"):
        compress.prune_weights([np.ones((2, 2))], 0.5, scope="model")
    with pytest.raises(ValueError, match="no weights"):
        compress.sparsity([])

# ------------------------------------------------------------------------------ costs


def conv_model():
    return Sequential([
        Input((11, 9, 3)),
        Conv2D(4, (3, 2), strides=(2, 1), padding="same", activation="relu", seed=0),
        Conv2D(5, 3, use_bias=False, seed=1),
        MaxPooling2D(pool_size=(2, 3), strides=(1, 2)),
        Dropout(0.5),
        Flatten(),
        Dense(6, activation="tanh", seed=2),
        Activation("softmax"),
    ], name="conv_model")


def rnn_model(return_sequences):
    layers = [Input((6, 3)), SimpleRNN(5, return_sequences=return_sequences, seed=0)]
    layers.append(Dense(2, seed=1))     # on (time, units) when return_sequences: per step
    return Sequential(layers, name="rnn_model")


MODELS = {
    "mlp": lambda: models.mlp(),
    "mnist_cnn": lambda: models.mnist_cnn(seed=0),
    "conv": conv_model,
    "rnn": lambda: rnn_model(False),
    "rnn-sequences": lambda: rnn_model(True),
    "rnn-no-bias": lambda: Sequential([Input((4, 2)), SimpleRNN(3, use_bias=False, seed=0)]),
}


@pytest.mark.parametrize("name", MODELS)
def test_params_match_keras_count_params(name):
    model = MODELS[name]()
    twin = to_keras(model)
    assert compress.count_params(model) == twin.count_params() == model.count_params()
    # The same function reads the Keras model's layers, with the same result.
    assert compress.model_costs(twin) == [
        c._replace(name=layer.name) for c, layer in zip(compress.model_costs(model),
                                                        twin.layers, strict=True)]
    for cost, layer in zip(compress.model_costs(model), twin.layers, strict=True):
        assert cost.params == layer.count_params(), cost.name
        assert cost.output_shape == tuple(layer.output.shape[1:]), cost.name


def tf_profiler_flops(keras_model):
    """FLOPs of one example through ``keras_model``, as TensorFlow's profiler counts them."""
    shape = keras_model.inputs[0].shape[1:]
    fn = tf.function(lambda x: keras_model(x, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec([1, *shape], tf.float32)).graph
    options = (tf.compat.v1.profiler.ProfileOptionBuilder(
        tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()).with_empty_output().build())
    return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops


def unrolled(keras_model):
    """The same Keras model with its recurrent layers unrolled, so the profiler sees every step
    (it counts the body of a loop once)."""
    layers = [keras.Input(keras_model.inputs[0].shape[1:])]
    for layer in keras_model.layers:
        config = layer.get_config()
        if isinstance(layer, keras.layers.SimpleRNN):
            config["unroll"] = True
        layers.append(type(layer).from_config(config))
    twin = keras.Sequential(layers)
    twin.set_weights(keras_model.get_weights())
    return twin


@pytest.mark.parametrize("name", MODELS)
def test_flops_match_tensorflow_profiler(name):
    model = MODELS[name]()
    assert compress.count_flops(model) == tf_profiler_flops(unrolled(to_keras(model)))


def test_softmax_counts_five_flops_per_output():
    # TensorFlow's profiler counts a softmax as 5 operations per element; other activations 0.
    dense = compress.layer_cost(Dense(7, activation="softmax"), (3,))
    assert dense.flops == 2 * 3 * 7 + 7 + 5 * 7
    assert compress.layer_cost(Activation("softmax"), (4, 7)).flops == 5 * 28
    assert compress.layer_cost(Activation("relu"), (4, 7)).flops == 0


def test_flops_of_the_course_models_by_hand():
    # 784-128-10: 2·784·128 + 128 + 2·128·10 + 10.
    assert compress.count_flops(models.mlp()) == 2 * 784 * 128 + 128 + 2 * 128 * 10 + 10
    # Conv 3x3x1x32 at 26x26 positions (+bias), max pool 2x2 over 13x13x32, Dense 5408-128-10.
    expected = (26 * 26 * (2 * 9 * 32 + 32) + 4 * 13 * 13 * 32
                + 2 * 5408 * 128 + 128 + 2 * 128 * 10 + 10)
    assert compress.count_flops(models.mnist_cnn(seed=0)) == expected


@pytest.mark.parametrize("name", ["mlp", "conv", "rnn-sequences"])
@pytest.mark.parametrize("batch", [1, 7])
def test_memory_matches_the_arrays_of_a_forward_pass(name, batch):
    model = MODELS[name]()
    x = np.zeros((batch, *model.input.shape), np.float32)
    outputs = []
    for layer in model.layers:
        x = layer.forward(x)
        outputs.append(x)
    memory = compress.memory_bytes(model, batch_size=batch, optimizer_slots=2)
    assert memory["activations"] == sum(o.nbytes for o in outputs)
    assert memory["weights"] == sum(w.nbytes for w in model.get_weights())
    assert memory["training"] == 4 * memory["weights"] + memory["activations"]
    assert memory["inference"] == memory["weights"] + memory["activations"]


def test_memory_follows_the_dtype():
    m32 = compress.memory_bytes(models.mlp(dtype="float32"))
    m64 = compress.memory_bytes(models.mlp(dtype="float64"))
    assert m64["weights"] == 2 * m32["weights"] == 8 * 101_770


def test_cost_errors():
    with pytest.raises(TypeError, match="BatchNormalization"):
        compress.layer_cost(BatchNormalization(), (4,))
    with pytest.raises(ValueError, match="input shape"):
        compress.model_costs(Sequential([Dense(3)]))
    with pytest.raises(ValueError, match="batch_size"):
        compress.memory_bytes(models.mlp(), batch_size=0)
    assert math.prod(compress.layer_cost(Flatten(), (2, 3, 4)).output_shape) == 24
