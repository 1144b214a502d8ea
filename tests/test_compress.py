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
from dlcourse.compress import quantization
from dlcourse.scratch import (
    GRU,
    LSTM,
    Activation,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Input,
    LayerNormalization,
    MaxPooling2D,
    MultiHeadAttention,
    PositionEmbedding,
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
    half_step = quantization._broadcastable(np.asarray(scale, np.float64), quantization._axis(
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
def test_matches_tensorflow_fake_quantization(tf, per_channel):
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


def batch_norm_model():
    return Sequential([
        Input((7, 6, 2)),
        Conv2D(3, 3, use_bias=False, seed=0),
        BatchNormalization(),                       # over the channels of (5, 4, 3)
        Flatten(),
        Dense(4, seed=1),
        BatchNormalization(center=False),
        BatchNormalization(axis=1, scale=False, momentum=0.5),
        Dense(2, seed=2),
    ], name="batch_norm_model")


MODELS = {
    "mlp": lambda: models.mlp(),
    "mnist_cnn": lambda: models.mnist_cnn(seed=0),
    "conv": conv_model,
    "rnn": lambda: rnn_model(False),
    "rnn-sequences": lambda: rnn_model(True),
    "rnn-no-bias": lambda: Sequential([Input((4, 2)), SimpleRNN(3, use_bias=False, seed=0)]),
    "batch-norm": batch_norm_model,
    "embedding-lstm": lambda: Sequential([Input((6,), dtype="int32"), Embedding(20, 4, seed=0),
                                          LSTM(5, return_sequences=True, seed=1),
                                          LSTM(3, use_bias=False, seed=2), Dense(2, seed=3)]),
    "gru": lambda: Sequential([Input((4, 3)), GRU(5, return_sequences=True, seed=0),
                               GRU(4, reset_after=False, return_sequences=True, seed=1),
                               GRU(2, use_bias=False, seed=2)]),
}


@pytest.mark.parametrize("name", MODELS)
def test_params_match_keras_count_params(keras_ref, name):
    model = MODELS[name]()
    twin = keras_ref.to_keras(model)
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
    from dlcourse.keras_ref import tf

    shape, dtype = keras_model.inputs[0].shape[1:], keras_model.inputs[0].dtype
    fn = tf.function(lambda x: keras_model(x, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec([1, *shape], dtype)).graph
    options = (tf.compat.v1.profiler.ProfileOptionBuilder(
        tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()).with_empty_output().build())
    return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops


def unrolled(keras_model):
    """The same Keras model with its recurrent layers unrolled, so the profiler sees every step
    (it counts the body of a loop once)."""
    from dlcourse.keras_ref import keras

    layers = [keras.Input(keras_model.inputs[0].shape[1:], dtype=keras_model.inputs[0].dtype)]
    for layer in keras_model.layers:
        config = layer.get_config()
        if isinstance(layer, (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU)):
            config["unroll"] = True
        layers.append(type(layer).from_config(config))
    twin = keras.Sequential(layers)
    twin.set_weights(keras_model.get_weights())
    return twin


def index_wrapping_flops(model):
    """What the profiler counts for an Embedding that is no arithmetic of the layer: Keras's
    TensorFlow ``take`` wraps negative ids, ``where(i < 0, i + V, i)``, a comparison and an
    addition per id (2 FLOPs); the lookup itself counts 0, as in the cost model."""
    first = model.layers[0]
    return 2 * math.prod(model.input.shape) if isinstance(first, Embedding) else 0


@pytest.mark.parametrize("name", MODELS)
def test_flops_match_tensorflow_profiler(keras_ref, name):
    model = MODELS[name]()
    assert compress.count_flops(model) == (tf_profiler_flops(unrolled(keras_ref.to_keras(model)))
                                           - index_wrapping_flops(model))


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


@pytest.mark.parametrize("name", ["mlp", "conv", "rnn-sequences", "batch-norm"])
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
    # Gradients exist for the trainable weights only (not BatchNormalization's statistics).
    assert memory["gradients"] == sum(g.nbytes for layer in model.layers
                                      for g in layer.grads.values())
    assert memory["training"] == (memory["weights"] + 3 * memory["gradients"]
                                  + memory["activations"])
    assert memory["inference"] == memory["weights"] + memory["activations"]
    if name != "batch-norm":
        assert memory["training"] == 4 * memory["weights"] + memory["activations"]


def test_batch_normalization_costs_by_hand():
    # C = 3 features of (5, 4, 3): gamma, beta, moving mean and variance; gamma and beta trained.
    cost = compress.layer_cost(BatchNormalization(), (5, 4, 3))
    assert (cost.output_shape, cost.params, cost.trainable_params) == ((5, 4, 3), 12, 6)
    # A multiply and an add per element; 6 operations per feature (5 without scale).
    assert cost.flops == 2 * 60 + 6 * 3
    cost = compress.layer_cost(BatchNormalization(axis=1, scale=False), (5, 4, 3))
    assert (cost.params, cost.trainable_params, cost.flops) == (15, 5, 2 * 60 + 5 * 5)
    with pytest.raises(ValueError, match=r"layer_cost\(\): .*axis=3 is not a feature axis"):
        compress.layer_cost(BatchNormalization(axis=3), (5, 4))


@pytest.mark.parametrize(("kwargs", "shape"), [
    ({"num_heads": 2, "key_dim": 3}, (5, 4)),
    ({"num_heads": 1, "key_dim": 2, "value_dim": 3, "output_shape": 6, "use_bias": False},
     (3, 4)),
    ({"num_heads": 3, "key_dim": 2, "output_shape": (2, 3)}, (4, 5)),
])
def test_attention_params_match_keras_count_params(keras, kwargs, shape):
    x = np.ones((1, *shape), np.float32)
    ours, theirs = MultiHeadAttention(**kwargs), keras.layers.MultiHeadAttention(**kwargs)
    y = ours(x, x)
    theirs(x, x)
    for layer in (ours, theirs):  # the same function reads either layer's config
        cost = compress.layer_cost(layer, shape)
        assert cost.params == cost.trainable_params == theirs.count_params()
        assert cost.output_shape == y.shape[1:]


@pytest.mark.parametrize(("kwargs", "shape"), [
    ({}, (4,)), ({"axis": 1, "center": False}, (3, 4)), ({"scale": False}, (4, 2)),
    ({"axis": [1, 2]}, (3, 4)), ({"axis": -2}, (5, 3, 2)),
])
def test_layer_normalization_params_match_keras_count_params(keras, kwargs, shape):
    theirs = keras.layers.LayerNormalization(**kwargs)
    theirs(np.ones((1, *shape), np.float32))
    for layer in (LayerNormalization(**kwargs), theirs):
        cost = compress.layer_cost(layer, shape)
        assert (cost.output_shape, cost.params) == (shape, theirs.count_params())


def test_attention_normalization_and_positions_costs_by_hand(keras):
    # Self-attention on (T, d) = (5, 4), N = 2 heads, k = v = 3, P = d = 4, with biases:
    # projections 5·(2·4·2·9 + 2·9), scaling 2·5·3, scores 2·2·25·3, softmax 5·2·25,
    # weighted sums 2·2·25·3, output 5·(2·2·3·4 + 4).
    cost = compress.layer_cost(MultiHeadAttention(2, 3), (5, 4))
    assert cost.params == 4 * 18 + 2 * 3 * 4 + (18 + 4)
    assert cost.flops == (5 * (2 * 4 * 18 + 18) + 30 + 300 + 250 + 300 + 5 * (48 + 4))
    assert cost.output_shape == (5, 4)
    cost = compress.layer_cost(MultiHeadAttention(1, 2, value_dim=3, output_shape=6,
                                                  use_bias=False), (3, 4))
    assert (cost.output_shape, cost.params) == ((3, 6), 4 * 7 + 3 * 6)
    assert cost.flops == 3 * 2 * 4 * 7 + 6 + 2 * 9 * 2 + 5 * 9 + 2 * 9 * 3 + 3 * 2 * 3 * 6
    # LayerNormalization over the 4 features of (3, 4): E = 12 elements, R = 3 rows.
    cost = compress.layer_cost(LayerNormalization(), (3, 4))
    assert (cost.output_shape, cost.params, cost.flops) == ((3, 4), 8, 8 * 12 + 3 * 3)
    cost = compress.layer_cost(LayerNormalization(axis=[1, 2], scale=False), (3, 4))
    assert (cost.params, cost.flops) == (12, 7 * 12 + 3)
    # PositionEmbedding: a table of L·d, one addition per element of the input.
    cost = compress.layer_cost(PositionEmbedding(6), (4, 3))
    assert (cost.output_shape, cost.params, cost.flops) == ((4, 3), 18, 12)
    with pytest.raises(ValueError, match=r"sequences of 7 steps are longer than "
                                         "sequence_length=6"):
        compress.layer_cost(PositionEmbedding(6), (7, 3))
    with pytest.raises(ValueError, match=r"expects input_shape \(time, features\)"):
        compress.layer_cost(MultiHeadAttention(2, 3), (5,))
    with pytest.raises(ValueError, match=r"axis=3 is not a set of feature axes"):
        compress.layer_cost(LayerNormalization(axis=3), (5, 4))
    with pytest.warns(UserWarning, match="rms_scaling"):  # deprecated in Keras 3.15
        rms = keras.layers.LayerNormalization(rms_scaling=True)
    with pytest.raises(ValueError, match=r"rms_scaling=True is not counted here"):
        compress.layer_cost(rms, (4,))


def test_frozen_keras_layers_have_no_trainable_parameters(keras):
    layer = keras.layers.Dense(4, trainable=False)
    assert compress.layer_cost(layer, (6,))[3:] == (28, 2 * 6 * 4 + 4, 0)


def test_memory_follows_the_dtype():
    m32 = compress.memory_bytes(models.mlp(dtype="float32"))
    m64 = compress.memory_bytes(models.mlp(dtype="float64"))
    assert m64["weights"] == 2 * m32["weights"] == 8 * 101_770


def test_cost_errors(keras):
    with pytest.raises(TypeError, match="no formula for layers of type UnitNormalization"):
        compress.layer_cost(keras.layers.UnitNormalization(), (4,))
    with pytest.raises(ValueError, match="input shape"):
        compress.model_costs(Sequential([Dense(3)]))
    with pytest.raises(ValueError, match="batch_size"):
        compress.memory_bytes(models.mlp(), batch_size=0)
    assert math.prod(compress.layer_cost(Flatten(), (2, 3, 4)).output_shape) == 24


# ------------------------------------------------------------------------------ bad input
# Every public function, called with valid arguments except one: the error is raised, of the
# right type, and its message names the function and the argument.
def fake_layer(kind, **settings):
    """An object of a class named ``kind`` whose ``get_config()`` holds these settings."""
    config = {"name": "fake", "use_bias": True, "activation": None, **settings}
    return type(kind, (), {"name": config["name"], "get_config": lambda self: dict(config)})()


FAKE = {
    "Dense": {"units": 3},
    "Conv2D": {"filters": 2, "kernel_size": 3, "strides": 1, "padding": "valid"},
    "MaxPooling2D": {"pool_size": 2, "strides": None, "padding": "valid"},
    "SimpleRNN": {"units": 3, "return_sequences": False},
}


def fake(kind, **bad):
    return fake_layer(kind, **{**FAKE[kind], **bad})


X = np.array([[-1.0, 0.5, 2.0], [2.0, 3.0, -0.5]])
Q = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int8)
GOOD = {
    "quantization_params": lambda: {"x": X},
    "quantize": lambda: {"x": X, "scale": 0.1, "zero_point": 0},
    "dequantize": lambda: {"q": Q, "scale": 0.1, "zero_point": 0},
    "quantize_tensor": lambda: {"x": X},
    "quantize_weights": lambda: {"weights": [X, X[0]]},
    "dequantize_weights": lambda: {"weights": [X]},
    "nbytes": lambda: {"weights": [X]},
    "magnitude_mask": lambda: {"w": X, "sparsity": 0.5},
    "prune_weights": lambda: {"weights": [X], "sparsity": 0.5},
    "sparsity": lambda: {"weights": [X]},
    "layer_cost": lambda: {"layer": Dense(3), "input_shape": (4,)},
    "model_costs": lambda: {"model": models.mlp(4, (3,), 2)},
    "count_params": lambda: {"model": models.mlp(4, (3,), 2)},
    "count_flops": lambda: {"model": models.mlp(4, (3,), 2)},
    "memory_bytes": lambda: {"model": models.mlp(4, (3,), 2)},
}

BAD = [  # function, argument given, its bad value, expected error, what the message names
    # the arrays: complex, boolean, text, ragged, NaN, empty
    *[(f, "x", v, e, "x") for f in ("quantization_params", "quantize", "quantize_tensor")
      for v, e in [(X * 1j, TypeError), (X > 0, TypeError), (np.array(["a"]), TypeError),
                   ([[1.0], [2.0, 3.0]], TypeError), (np.array([1.0, np.nan]), ValueError),
                   (np.array([]), ValueError)]],
    ("dequantize", "q", X, TypeError, "q"),
    ("dequantize", "q", Q * 1j, TypeError, "q"),
    ("magnitude_mask", "w", X * 1j, TypeError, "w"),
    ("magnitude_mask", "w", np.array([np.nan, 1.0]), ValueError, "w"),
    # the axis
    *[(f, "axis", v, e, "axis") for f in ("quantization_params", "quantize", "dequantize",
                                          "quantize_tensor")
      for v, e in [(2, ValueError), (-3, ValueError), (1.0, TypeError), (True, TypeError)]],
    # flags
    *[(f, arg, v, TypeError, arg) for f, arg in [("quantization_params", "symmetric"),
                                                ("quantize_tensor", "symmetric"),
                                                ("quantize_weights", "symmetric"),
                                                ("quantize_weights", "per_channel")]
      for v in ("yes", 1, None)],
    # the integer range
    *[(f, "qmin", v, e, "qmin") for f in ("quantization_params", "quantize")
      for v, e in [(0, ValueError), (5, ValueError), (-2**31 - 1, ValueError),
                   (-128.0, TypeError)]],
    *[(f, "qmax", v, e, "qmax") for f in ("quantization_params", "quantize")
      for v, e in [(0, ValueError), (2**31, ValueError), (127.0, TypeError)]],
    # the scale: finite, positive, one number per tensor
    *[(f, "scale", v, e, "scale") for f in ("quantize", "dequantize")
      for v, e in [(np.nan, ValueError), (np.inf, ValueError), (0.0, ValueError),
                   (-0.1, ValueError), (0.1j, TypeError), ("0.1", TypeError),
                   (np.array([0.1, 0.2, 0.3]), ValueError), (np.full((1, 3), 0.1), ValueError)]],
    # the zero point: an integer in the range, one per tensor
    *[(f, "zero_point", v, e, "zero_point") for f in ("quantize", "dequantize")
      for v, e in [(0.5, TypeError), (np.nan, TypeError), (np.array([0, 1, 2]), ValueError)]],
    ("quantize", "zero_point", 128, ValueError, "zero_point"),
    ("quantize", "zero_point", -129, ValueError, "zero_point"),
    ("dequantize", "dtype", np.int32, TypeError, "dtype"),
    ("dequantize", "dtype", None, TypeError, "dtype"),
    ("dequantize", "dtype", "float33", TypeError, "dtype"),
    # lists of weights: one array on its own, or a bad array in the list
    *[(f, "weights", v, TypeError, "weights") for f in ("quantize_weights",
                                                       "dequantize_weights", "nbytes",
                                                       "prune_weights", "sparsity")
      for v in (X, 3.0, None)],
    *[(f, "weights", [X, X * 1j], TypeError, "weights[1]")
      for f in ("quantize_weights", "dequantize_weights", "nbytes", "prune_weights", "sparsity")],
    ("quantize_weights", "weights", [X, np.array([np.nan])], ValueError, "weights[1]"),
    ("prune_weights", "weights", [X, np.array([np.nan])], ValueError, "weights[1]"),
    # the sparsity and the scope
    *[(f, "sparsity", v, e, "sparsity") for f in ("magnitude_mask", "prune_weights")
      for v, e in [(1.5, ValueError), (-0.1, ValueError), (np.nan, ValueError),
                   ("0.5", TypeError), (True, TypeError)]],
    ("prune_weights", "scope", "model", ValueError, "scope"),
    # the costs: one example's shape, positive sizes
    *[("layer_cost", "input_shape", v, e, n)
      for v, e, n in [((-4,), ValueError, "input_shape[0]"), ((0,), ValueError, "input_shape[0]"),
                      ((None, 4), ValueError, "batch axis"), ((4.0,), TypeError, "input_shape[0]"),
                      (4, TypeError, "input_shape"), ((), ValueError, "input_shape")]],
    # layer arguments that would give negative or meaningless counts (duck-typed layers)
    *[("layer_cost", "layer", fake(kind, **{arg: value}), e, arg)
      for kind, arg, value, e in [
          ("Dense", "units", -3, ValueError), ("Dense", "units", 2.5, TypeError),
          ("Dense", "use_bias", 1, TypeError),
          ("Conv2D", "filters", 0, ValueError), ("Conv2D", "kernel_size", (0, 3), ValueError),
          ("Conv2D", "kernel_size", -3, ValueError), ("Conv2D", "strides", -1, ValueError),
          ("Conv2D", "padding", "full", ValueError),
          ("MaxPooling2D", "pool_size", 0, ValueError), ("MaxPooling2D", "strides", 0, ValueError),
          ("SimpleRNN", "units", -2, ValueError),
          ("SimpleRNN", "return_sequences", "yes", TypeError)]],
    # the models
    *[(f, "model", v, TypeError, "model") for f in ("model_costs", "count_params", "count_flops",
                                                    "memory_bytes")
      for v in ([Dense(3)], "mlp", None)],
    ("memory_bytes", "batch_size", 0, ValueError, "batch_size"),
    ("memory_bytes", "batch_size", 2.0, TypeError, "batch_size"),
    ("memory_bytes", "optimizer_slots", -1, ValueError, "optimizer_slots"),
    ("memory_bytes", "optimizer_slots", 1.5, TypeError, "optimizer_slots"),
    ("memory_bytes", "dtype", "float33", TypeError, "dtype"),
    ("memory_bytes", "dtype", object, TypeError, "dtype"),
]

# layer_cost's input shapes need the layer they go with.
SHAPES = {"Conv2D": (6, 6, 2), "MaxPooling2D": (6, 6, 2), "SimpleRNN": (5, 3)}


@pytest.mark.parametrize(("func", "arg", "value", "error", "named"), BAD,
                         ids=[f"{f}-{a}-{i}" for i, (f, a, *_) in enumerate(BAD)])
def test_bad_arguments_are_refused_by_name(func, arg, value, error, named):
    kwargs = {**GOOD[func](), arg: value}
    if func == "layer_cost" and arg == "layer":
        kwargs["input_shape"] = SHAPES.get(type(value).__name__, (4,))
    with pytest.raises(error) as err:
        getattr(compress, func)(**kwargs)
    message = str(err.value)
    assert message.startswith(f"{func}(): "), message
    assert named in message, message


def test_every_public_function_has_bad_arguments_tried():
    functions = {name for name in compress.__all__
                 if callable(getattr(compress, name)) and not isinstance(getattr(compress, name),
                                                                         type)}
    assert functions == set(GOOD) == {func for func, *_ in BAD}
    for func in GOOD:        # and the valid arguments of the table are valid
        getattr(compress, func)(**GOOD[func]())


def test_per_channel_parameters_without_their_axis_are_refused():
    # A square kernel: per-channel parameters computed along axis 0 would broadcast along the
    # last axis without an error, and give wrong values.
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(4, 4)) * np.array([[0.01], [0.1], [1.0], [10.0]])
    scale, zero_point = compress.quantization_params(kernel, axis=0)
    q = compress.quantize(kernel, scale, zero_point, axis=0)
    with pytest.raises(ValueError, match=r"dequantize\(\): with axis=None .*scale .*pass the "
                                         "axis"):
        compress.dequantize(q, scale, zero_point)
    with pytest.raises(ValueError, match=r"quantize\(\): with axis=None .*scale"):
        compress.quantize(kernel, scale, zero_point)
    back = compress.dequantize(q, scale, zero_point, axis=0, dtype=np.float64)
    assert np.all(np.abs(back - kernel) <= scale[:, None] / 2 * (1 + 1e-9))
    # A scalar with an axis is the same number for every channel: accepted.
    np.testing.assert_array_equal(compress.dequantize(q, 0.5, 0, axis=0),
                                  compress.dequantize(q, 0.5, 0))


def test_quantize_refuses_a_nan_scale_instead_of_returning_zeros():
    with pytest.raises(ValueError, match=r"quantize\(\): scale contains NaN"):
        compress.quantize(np.array([0.3, -1.2]), np.nan, 0)


@pytest.mark.parametrize(("layer", "setting"), [
    (lambda keras: keras.layers.Conv2D(4, 3, dilation_rate=2), "dilation_rate"),
    (lambda keras: keras.layers.Conv2D(4, 3, groups=2), "groups"),
    (lambda keras: keras.layers.Conv2D(4, 3, data_format="channels_first"), "data_format"),
    (lambda keras: keras.layers.MaxPooling2D(data_format="channels_first"), "data_format"),
    (lambda keras: keras.layers.SimpleRNN(4, return_state=True), "return_state"),
    (lambda keras: keras.layers.Dense(4, lora_rank=2), "lora_rank"),
])
def test_layer_cost_refuses_keras_settings_its_formulas_ignore(keras, layer, setting):
    layer = layer(keras)
    shape = {"Dense": (6,), "SimpleRNN": (5, 6)}.get(type(layer).__name__, (8, 8, 6))
    with pytest.raises(ValueError, match=rf"layer_cost\(\): .*{setting}="):
        compress.layer_cost(layer, shape)


def test_layer_cost_refuses_an_input_smaller_than_a_valid_kernel():
    with pytest.raises(ValueError, match=r"Conv2D 'small': with padding 'valid' the input "
                                         r"\(2, 5, 1\)"):
        compress.layer_cost(Conv2D(2, 3, name="small"), (2, 5, 1))
    with pytest.raises(ValueError, match=r"MaxPooling2D 'p': with padding 'valid'"):
        compress.layer_cost(MaxPooling2D(3, name="p"), (2, 5, 1))
