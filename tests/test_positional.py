"""dlcourse.scratch.positional: the sinusoidal encoding against its formula, PositionEmbedding
against Keras (an ``Embedding`` of the positions 0..T-1 added to the input) in float64 to
``tfcompare.RTOL`` (1e-7) and against finite differences (``check_layer``) to 1e-6."""

import math

import numpy as np
import pytest
from tfcompare import assert_close

from dlcourse.gradcheck import check_layer
from dlcourse.scratch.positional import PositionEmbedding, sinusoidal_encoding


def randn(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize(("length", "depth", "wavelength"),
                         [(1, 1, 10000.0), (7, 6, 10000.0), (5, 9, 100.0), (50, 16, 10000.0)])
def test_sinusoidal_encoding_is_the_formula_entry_by_entry(length, depth, wavelength):
    pe = sinusoidal_encoding(length, depth, max_wavelength=wavelength)
    assert pe.shape == (length, depth) and pe.dtype == np.float64
    for p in range(length):
        for j in range(depth):
            i = j // 2
            angle = p / wavelength ** (2 * i / depth)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert abs(pe[p, j] - expected) < 1e-12, (p, j)


def test_a_shift_of_positions_is_a_rotation_of_each_feature_pair():
    # The reason for sines and cosines: PE[p + k] is PE[p] with each pair (sin, cos) rotated by
    # an angle that depends on k alone, so "k positions later" is a linear map a layer can learn.
    depth, k = 8, 3
    pe = sinusoidal_encoding(20, depth)
    omega = 1 / 10000.0 ** (2 * np.arange(depth // 2) / depth)
    for p in range(20 - k):
        sin, cos = pe[p, ::2], pe[p, 1::2]
        c, s = np.cos(omega * k), np.sin(omega * k)
        np.testing.assert_allclose(pe[p + k, ::2], sin * c + cos * s, atol=1e-12)
        np.testing.assert_allclose(pe[p + k, 1::2], cos * c - sin * s, atol=1e-12)


def test_sinusoidal_encoding_rows_differ_and_names_mistakes():
    pe = sinusoidal_encoding(64, 16)
    np.testing.assert_array_equal(pe[0, ::2], 0.0)  # sin 0
    np.testing.assert_array_equal(pe[0, 1::2], 1.0)  # cos 0
    distances = np.linalg.norm(pe[:, None] - pe[None], axis=-1)
    assert (distances + np.eye(64) > 1e-3).all()  # every position has its own vector
    with pytest.raises(ValueError, match=r"sinusoidal_encoding\(\): depth must be an integer "
                                         r">= 1, got 0"):
        sinusoidal_encoding(3, 0)
    with pytest.raises(TypeError, match=r"length must be an integer >= 1, got 2.0"):
        sinusoidal_encoding(2.0, 4)
    with pytest.raises(ValueError, match=r"max_wavelength must be a number > 0"):
        sinusoidal_encoding(2, 4, max_wavelength=0)


@pytest.mark.parametrize(("sequence_length", "shape"),
                         [(6, (3, 6, 4)), (10, (2, 7, 3)), (1, (1, 1, 2))])
def test_position_embedding_matches_keras_embedding_of_positions(sequence_length, shape, tf,
                                                                  keras):
    x = randn(*shape, seed=1)
    layer = PositionEmbedding(sequence_length, seed=0)
    layer(x)
    keras_layer = keras.layers.Embedding(sequence_length, shape[-1], dtype="float64")
    keras_layer.build((None,))
    assert [v.name for v in keras_layer.weights] == list(layer.params)
    keras_layer.set_weights([randn(sequence_length, shape[-1], seed=2)])
    layer.set_weights(keras_layer.get_weights())
    grad = randn(*shape, seed=3)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = xt + keras_layer(tf.range(shape[1]))[None]
        objective = tf.reduce_sum(y * grad)
    dx, dtable = tape.gradient(objective, [xt, keras_layer.embeddings])
    assert_close(layer(x), y.numpy(), "output")
    assert_close(layer.backward(grad), dx.numpy(), "dJ/dx")
    assert_close(layer.grads["embeddings"], tf.convert_to_tensor(dtable).numpy(),
                 "dJ/dembeddings")
    assert set(check_layer(layer, x)) == {"input", "embeddings"}


def test_position_embedding_takes_shorter_sequences_and_names_its_mistakes():
    layer = PositionEmbedding(5, name="pos", seed=0)
    layer(randn(2, 5, 3))
    y = layer(randn(2, 3, 3))
    assert y.shape == (2, 3, 3)
    layer.backward(np.ones((2, 3, 3)))
    np.testing.assert_array_equal(layer.grads["embeddings"][3:], 0.0)
    np.testing.assert_array_equal(layer.grads["embeddings"][:3], 2.0)
    with pytest.raises(ValueError, match=r"PositionEmbedding 'pos': expected sequences of at "
                                         r"most sequence_length=5 steps, got shape \(2, 6, 3\)"):
        layer(randn(2, 6, 3))
    with pytest.raises(ValueError, match=r"expected 3 features as on its first call"):
        layer(randn(2, 5, 4))
    with pytest.raises(ValueError, match=r"expected input of rank 3 \(batch, time, features\)"):
        layer(randn(2, 5))
    with pytest.raises(ValueError, match=r"sequence_length must be an integer >= 1, got 0"):
        PositionEmbedding(0)
    config = PositionEmbedding(4, seed=1, name="p").get_config()
    assert config["sequence_length"] == 4 and config["seed"] == 1
    twin = PositionEmbedding.from_config(config)
    np.testing.assert_array_equal(twin(np.zeros((1, 4, 2))), PositionEmbedding(
        4, seed=1)(np.zeros((1, 4, 2))))
