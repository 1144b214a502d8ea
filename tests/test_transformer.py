"""dlcourse.scratch.transformer: the transformer block against its Keras twin, made of Keras's
own layers (``dlcourse.keras_ref.TransformerBlock``).

Forward output, ``dJ/dx`` and the gradient of every one of the 16 weights must agree with
TensorFlow's in float64 to ``tfcompare.RTOL`` (1e-7; they agree to about 1e-14), and with centred
finite differences to 1e-6. Only the tests that take the ``tf``/``keras_ref`` fixture import
TensorFlow.
"""

import numpy as np
import pytest
from tfcompare import assert_close

from dlcourse.gradcheck import numerical_gradient, rel_error
from dlcourse.scratch import Dense, Input, Sequential
from dlcourse.scratch.attention import MultiHeadAttention
from dlcourse.scratch.transformer import SUBLAYERS, TransformerBlock


def randn(*shape, seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).normal(size=shape)


BLOCK_CASES = {
    "causal-two-heads": dict(shape=(2, 5, 4), intermediate_dim=8, num_heads=2,
                             use_causal_mask=True),
    "bidirectional-three-heads-tanh": dict(shape=(3, 4, 6), intermediate_dim=5, num_heads=3,
                                           activation="tanh"),
    "width-not-a-multiple-of-heads": dict(shape=(2, 3, 5), intermediate_dim=4, num_heads=2,
                                          use_causal_mask=True),
    "batch-1-one-head-causal": dict(shape=(1, 6, 3), intermediate_dim=7, num_heads=1,
                                    use_causal_mask=True, layer_norm_epsilon=1e-3),
    "one-position": dict(shape=(2, 1, 4), intermediate_dim=3, num_heads=2,
                         use_causal_mask=True),
}


def case_block(case, seed=0):
    """A built float64 block with random weights (not the initial ones: gamma and the biases
    would be 1 and 0), its input and an upstream gradient."""
    kwargs = {k: v for k, v in case.items() if k != "shape"}
    block = TransformerBlock(**kwargs, seed=seed, dtype="float64")
    x = randn(*case["shape"], seed=1)
    block(x)
    block.set_weights([randn(*w.shape, seed=10 + i, scale=0.5)
                       for i, w in enumerate(block.get_weights())])
    return block, x, randn(*case["shape"], seed=2), kwargs


@pytest.mark.parametrize("case", BLOCK_CASES.values(), ids=BLOCK_CASES.keys())
def test_transformer_block_matches_its_keras_twin(case, tf, keras_ref):
    block, x, grad, kwargs = case_block(case)
    twin = keras_ref.TransformerBlock(**kwargs, dtype="float64")
    twin.build((None, *x.shape[1:]))
    # The same weights, in the same order, with the same names: one call moves them across.
    assert [w.path.split("/", 1)[1] for w in twin.weights] == list(block.weight_names)
    twin.set_weights(block.get_weights())
    y = block(x)
    grad_x = block.backward(grad)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        k_y = twin(xt)
        objective = tf.reduce_sum(k_y * grad)
    k_grads = tape.gradient(objective, [xt, *twin.trainable_weights])
    assert_close(y, k_y.numpy(), "output")
    assert_close(grad_x, k_grads[0].numpy(), "dJ/dx")
    for variable, g in zip(twin.trainable_weights, k_grads[1:], strict=True):
        name = variable.path.split("/", 1)[1]
        if name.endswith("key/bias"):  # zero: it shifts a whole row of scores
            assert np.abs(block.grads[name]).max() < 1e-12 and np.abs(g.numpy()).max() < 1e-12
        else:
            assert_close(block.grads[name], g.numpy(), f"dJ/d{name}")
    block.set_weights(twin.get_weights())  # and back, in one call
    np.testing.assert_array_equal(block(x), y)


@pytest.mark.parametrize("case", BLOCK_CASES.values(), ids=BLOCK_CASES.keys())
def test_transformer_block_backward_matches_finite_differences(case):
    block, x, grad, _ = case_block(case, seed=3)
    block(x)
    grad_x = block.backward(grad)
    analytic = {name: g.copy() for name, g in block.grads.items()}

    def objective(_=None):
        return float(np.sum(block(x) * grad))

    err = rel_error(grad_x, numerical_gradient(objective, x))
    assert err < 1e-6, f"dJ/dx: {err:.2e}"
    for name, g in analytic.items():
        numeric = numerical_gradient(objective, block.params[name])
        if name.endswith("key/bias"):
            assert np.abs(g).max() < 1e-12 and np.abs(numeric).max() < 1e-8
            continue
        err = rel_error(g, numeric)
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_the_block_is_its_formula_written_with_its_sublayers():
    block, x, _, _ = case_block(BLOCK_CASES["causal-two-heads"])
    norm1, attention, norm2, hidden, out = (block.sublayers[name] for name in SUBLAYERS)
    a = norm1(x)
    h = x + attention(a, a, use_causal_mask=True)
    expected = h + out(hidden(norm2(h)))
    np.testing.assert_allclose(block(x), expected, rtol=1e-13, atol=1e-13)
    # The weights are the sublayers' own arrays: setting one sets the other.
    assert block.params["self_attention_layer/query/kernel"] is attention.params["query/kernel"]
    assert isinstance(attention, MultiHeadAttention) and attention.key_dim == 2  # 4 // 2


def test_a_causal_block_does_not_look_ahead():
    block, x, _, _ = case_block(BLOCK_CASES["causal-two-heads"])
    y = block(x)
    changed = x.copy()
    changed[:, 3:] += randn(2, 2, 4, seed=5)  # the future of position 2
    y2 = block(changed)
    np.testing.assert_allclose(y2[:, :3], y[:, :3], rtol=1e-12, atol=1e-12)
    assert np.abs(y2[:, 3:] - y[:, 3:]).max() > 1e-3
    free = TransformerBlock(8, 2, seed=0, dtype="float64")
    free(x)
    free.set_weights(block.get_weights())
    assert np.abs(free(changed)[:, :3] - free(x)[:, :3]).max() > 1e-3


def test_config_round_trips_and_the_keras_twin_takes_the_same_settings(keras_ref):
    block = TransformerBlock(6, 2, activation="tanh", layer_norm_epsilon=1e-4,
                             use_causal_mask=True, seed=4, name="block")
    config = block.get_config()
    assert config["intermediate_dim"] == 6 and config["use_causal_mask"] is True
    twin = TransformerBlock.from_config(config)
    assert twin.get_config() == config and not twin.built
    x = randn(2, 3, 4).astype("float32")
    block(x)
    twin(x)
    for a, b in zip(block.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # same seed, same initial weights
    # The Keras twin takes the config's settings by the same names.
    settings = {k: v for k, v in config.items() if k not in ("seed", "dtype")}
    keras_block = keras_ref.TransformerBlock(**settings)
    keras_block(x)
    assert len(keras_block.get_weights()) == len(block.get_weights()) == 16
    keras_block.set_weights(block.get_weights())
    assert rel_error(keras_block(x).numpy(), block(x)) < 1e-5  # float32


def test_the_block_lives_in_a_sequential_and_trains():
    model = Sequential([Input((5, 4)), TransformerBlock(8, 2, use_causal_mask=True, seed=0),
                        Dense(3, seed=1)])
    model.compile(optimizer="sgd", loss="mse")
    x = randn(16, 5, 4).astype("float32")
    y = randn(16, 5, 3).astype("float32")
    before = model.evaluate(x, y)
    model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert model.evaluate(x, y) < before
    # Two layer norms (gamma, beta), Q, K, V (kernel d·h·k, bias h·k), the attention's output
    # (h·k·d + d), the feed-forward network (d·8 + 8, 8·d + d), then the Dense read-out.
    d, h, k = 4, 2, 2
    block = 2 * 2 * d + 3 * (d * h * k + h * k) + h * k * d + d + (d * 8 + 8) + (8 * d + d)
    assert model.count_params() == block + d * 3 + 3 == 187


def test_first_layer_skips_the_input_gradient():
    block, x, grad, _ = case_block(BLOCK_CASES["causal-two-heads"])
    block(x)
    full = block.backward(grad)
    weights = {name: g.copy() for name, g in block.grads.items()}
    block.compute_input_grad = False
    assert block.backward(grad) is None
    for name, g in block.grads.items():
        np.testing.assert_array_equal(g, weights[name])
    block.compute_input_grad = True
    np.testing.assert_array_equal(block.backward(grad), full)


def test_transformer_block_names_its_mistakes():
    with pytest.raises(ValueError, match=r"TransformerBlock 'b': intermediate_dim must be an "
                                         r"integer >= 1, got 0"):
        TransformerBlock(0, 2, name="b")
    with pytest.raises(ValueError, match=r"unknown activation 'swish'"):
        TransformerBlock(4, 2, activation="swish")
    with pytest.raises(TypeError, match=r"use_causal_mask must be True or False"):
        TransformerBlock(4, 2, use_causal_mask=1)
    block = TransformerBlock(4, 3, name="t")
    with pytest.raises(ValueError, match=r"TransformerBlock 't': each head has features // "
                                         r"num_heads features, which is 0 for 2 features and 3 "
                                         r"heads: use at most 2 heads"):
        block(randn(1, 3, 2))
    with pytest.raises(ValueError, match=r"expected input of rank 3 \(batch, time, features\)"):
        block(randn(3, 4))
    assert not block.built and not block.sublayers
    block(randn(2, 3, 6))
    with pytest.raises(ValueError, match=r"expected 6 features as on its first call, got shape "
                                         r"\(2, 3, 5\)"):
        block(randn(2, 3, 5))
    block(randn(1, 7, 6))  # any length


# ------------------------------------------------------------------------------ a language model
VOCAB, LENGTH, WIDTH = 7, 6, 8


def language_model():
    """ids → Embedding → PositionEmbedding → causal TransformerBlock → Dense: next-id logits."""
    from dlcourse.scratch import Embedding, PositionEmbedding

    return Sequential([
        Input((LENGTH,), dtype="int32"),
        Embedding(VOCAB, WIDTH, dtype="float64", seed=0, name="tokens"),
        PositionEmbedding(LENGTH, dtype="float64", seed=1, name="positions"),
        TransformerBlock(16, 2, use_causal_mask=True, dtype="float64", seed=2, name="block"),
        Dense(VOCAB, dtype="float64", seed=3, name="logits"),
    ], name="tiny_gpt")


def keras_language_model(keras, keras_ref):
    """The same model from Keras's layers, the block's twin and a learned table of positions
    added to the tokens' vectors (the from-scratch PositionEmbedding)."""

    class PositionEmbedding(keras.layers.Layer):
        def __init__(self, sequence_length, **kwargs):
            super().__init__(**kwargs)
            self.sequence_length = sequence_length

        def build(self, input_shape):
            self.embeddings = self.add_weight(shape=(self.sequence_length, input_shape[-1]),
                                              name="embeddings")

        def call(self, x):
            return x + self.embeddings[:x.shape[1]]

    return keras.Sequential([
        keras.Input((LENGTH,), dtype="int32"),
        keras.layers.Embedding(VOCAB, WIDTH, dtype="float64", name="tokens"),
        PositionEmbedding(LENGTH, dtype="float64", name="positions"),
        keras_ref.TransformerBlock(16, 2, use_causal_mask=True, dtype="float64", name="block"),
        keras.layers.Dense(VOCAB, dtype="float64", name="logits"),
    ], name="tiny_gpt")


@pytest.fixture
def keras_float64(keras_ref):
    # Keras keeps an optimizer's learning rate in its default float type; float64 comparisons
    # of whole training runs need it in float64 too.
    keras_ref.keras.backend.set_floatx("float64")
    yield keras_ref
    keras_ref.keras.backend.set_floatx("float32")


@pytest.mark.parametrize(("learning_rate", "momentum"), [(0.2, 0.0), (0.05, 0.9)],
                         ids=["sgd", "sgd-momentum"])
def test_a_causal_language_model_fit_follows_keras_fit(keras_float64, learning_rate, momentum):
    """Same initial weights, data order (shuffle=False) and optimizer (SGD: Keras hands the
    Embedding's gradient over as slices, which only a rule linear in the gradient adds up as
    the dense gradient), float64 on both sides: after 3 epochs the losses per epoch and every
    weight agree to 1e-9 relative (measured: about 1e-16, oneDNN on or off)."""
    from dlcourse.scratch import SGD, SparseCategoricalCrossentropy

    keras_ref = keras_float64
    model = language_model()
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(scale=0.5, size=w.shape) for w in model.get_weights()])
    twin = keras_language_model(keras_ref.keras, keras_ref)
    twin.set_weights(model.get_weights())  # one call for the whole model
    # A toy corpus: each sequence counts up modulo VOCAB from a random start, with noise; the
    # targets are the inputs shifted by one position (the next id).
    start = rng.integers(0, VOCAB, size=(32, 1))
    ids = (start + np.arange(LENGTH + 1)) % VOCAB
    noise = rng.random(ids.shape) < 0.2
    ids[noise] = rng.integers(0, VOCAB, size=noise.sum())
    x, y = ids[:, :-1], ids[:, 1:]
    loss = SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=SGD(learning_rate, momentum=momentum), loss=loss)
    twin.compile(optimizer=keras_ref.keras_optimizer(SGD(learning_rate, momentum=momentum)),
                 loss=keras_ref.keras_loss(loss))
    before = model.evaluate(x, y)
    kwargs = dict(epochs=3, batch_size=8, shuffle=False, verbose=0)
    ours = model.fit(x, y, **kwargs).history
    theirs = twin.fit(x.astype("int32"), y, **kwargs).history
    assert_close(ours["loss"], theirs["loss"], "loss per epoch", rtol=1e-9)
    for i, (mine, their) in enumerate(zip(model.get_weights(), twin.get_weights(),
                                          strict=True)):
        assert_close(mine, their, f"weight {i} after fit", rtol=1e-9)
    after = model.evaluate(x, y)
    assert after < before  # and it learned something
    assert_close(after, twin.evaluate(x.astype("int32"), y, verbose=0), "evaluate", rtol=1e-9)


@pytest.mark.tensorflow
def test_to_keras_and_from_keras_carry_the_block_inside_a_sequential(keras_ref):
    from dlcourse.scratch import Dense

    model = Sequential([Input((5, 4)), TransformerBlock(8, 2, use_causal_mask=True,
                                                       activation="tanh", seed=0, name="block"),
                        Dense(3, seed=1)], name="reader")
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(scale=0.5, size=w.shape) for w in model.get_weights()])
    twin = keras_ref.to_keras(model)
    assert type(twin.layers[0]) is keras_ref.TransformerBlock
    x = randn(4, 5, 4).astype("float32")
    assert_close(twin.predict(x, verbose=0), model.predict(x), "predict", rtol=1e-5)
    back = keras_ref.from_keras(twin)
    assert back.layers[0].get_config() == model.layers[0].get_config() | {"seed": None}
    for mine, theirs in zip(back.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    twin.layers[0].use_causal_mask = False  # a setting that differs is carried back, not lost
    assert keras_ref.from_keras(twin).layers[0].use_causal_mask is False
