"""dlcourse.scratch.embedding: Embedding against Keras (float64), and its mask feeding the RNNs.

The output and the gradient of ``embeddings`` must agree with TensorFlow's to a relative error
of ``tfcompare.RTOL`` (1e-7), the one-hot and scatter-add backward passes with each other to
1e-12 and with centred finite differences to 1e-6; the mask made by ``mask_zero=True`` must
give the recurrent layers exactly Keras's results, padding at the end or in the middle.
"""

import numpy as np
import pytest
from tfcompare import assert_close, assert_config_is_keras, randn, random_weights

from dlcourse.gradcheck import numerical_gradient, rel_error
from dlcourse.scratch import layer_types
from dlcourse.scratch.embedding import (
    Embedding,
    check_ids,
    embedding_backward,
    embedding_backward_naive,
    embedding_forward,
)

#: Ids with padding (0) at the end, in the middle, none; ids repeated within and across rows.
IDS = np.array([[3, 1, 4, 1, 0, 0],
                [2, 0, 0, 5, 9, 2],
                [6, 5, 3, 5, 8, 9]])


def ids_of(shape, input_dim=10, seed=0):
    return np.random.default_rng(seed).integers(0, input_dim, size=shape)


def built_pair(ids, input_dim=10, output_dim=4, **kwargs):
    """An Embedding and its Keras twin (float64), random weights set on Keras, copied across."""
    from dlcourse.keras_ref import keras

    layer = Embedding(input_dim, output_dim, dtype="float64", seed=0, **kwargs)
    keras_layer = keras.layers.Embedding(input_dim, output_dim, dtype="float64", **kwargs)
    layer.forward(ids)
    keras_layer.build(ids.shape)
    assert [v.name for v in keras_layer.weights] == list(layer.params) == ["embeddings"]
    keras_layer.set_weights([randn(input_dim, output_dim, seed=1)])
    layer.set_weights(keras_layer.get_weights())  # the one line, each way
    keras_layer.set_weights(layer.get_weights())
    return layer, keras_layer


def keras_embedding_grad(keras_layer, ids, grad_output):
    from dlcourse.keras_ref import tf

    with tf.GradientTape() as tape:
        y = keras_layer(tf.constant(ids))
        objective = tf.reduce_sum(y * grad_output)
    grad = tape.gradient(objective, keras_layer.trainable_weights[0])  # IndexedSlices: sparse
    return y.numpy(), tf.convert_to_tensor(grad).numpy()


CASES = {
    "batch-1-length-1": (1, 1),
    "batch-of-one": (1, 7),
    "length-50": (2, 50),
    "vector-of-ids": (5,),
    "rank-3": (2, 3, 4),
    "padded": None,
}


@pytest.mark.parametrize("shape", CASES.values(), ids=CASES.keys())
def test_embedding_matches_keras(shape, keras):
    ids = IDS if shape is None else ids_of(shape)
    layer, keras_layer = built_pair(ids)
    y = layer.forward(ids)
    g = randn(*y.shape, seed=2)
    assert layer.backward(g) is None  # ids are not differentiable
    y_tf, grad_tf = keras_embedding_grad(keras_layer, ids, g)
    assert y.shape == (*ids.shape, 4) == layer.compute_output_shape(ids.shape)
    assert_close(y, y_tf, "Embedding output")
    assert_close(layer.grads["embeddings"], grad_tf, "Embedding dJ/dembeddings")


def test_embedding_weights_round_trip_through_keras(keras):
    keras_layer = keras.layers.Embedding(10, 4, dtype="float64")
    y_keras = keras_layer(IDS).numpy()  # Keras's own random initial weights
    layer = Embedding(10, 4, dtype="float64")
    layer.forward(IDS)
    layer.set_weights(keras_layer.get_weights())
    np.testing.assert_array_equal(layer.forward(IDS), y_keras)
    other = keras.layers.Embedding(10, 4, dtype="float64")
    other.build(IDS.shape)
    other.set_weights(layer.get_weights())
    np.testing.assert_array_equal(other(IDS).numpy(), y_keras)


@pytest.mark.parametrize("mask_zero", [False, True])
def test_embedding_mask_is_keras(mask_zero, keras, tf):
    layer, keras_layer = built_pair(IDS, mask_zero=mask_zero)
    ours = layer.compute_mask(IDS)
    theirs = keras_layer.compute_mask(tf.constant(IDS))
    if not mask_zero:
        assert ours is None and theirs is None
    else:
        np.testing.assert_array_equal(ours, theirs.numpy())
        np.testing.assert_array_equal(ours, IDS != 0)


# ------------------------------------------------------------------- mask into recurrence
def keras_model_run(layers, ids, g):
    """``keras.Sequential(layers)`` on ``ids`` (masks passed along by Keras) with its gradients."""
    from dlcourse.keras_ref import keras, tf

    model = keras.Sequential([keras.Input(ids.shape[1:], dtype="int32"), *layers])
    with tf.GradientTape() as tape:
        y = model(tf.constant(ids))
        objective = tf.reduce_sum(y * g)
    grads = tape.gradient(objective, model.trainable_weights)
    return y.numpy(), [tf.convert_to_tensor(grad).numpy() for grad in grads]


#: The recurrent layers behind an Embedding: type name and constructor arguments.
RECURRENT = {"simple-rnn": ("SimpleRNN", {}),
             "simple-rnn-relu": ("SimpleRNN", {"activation": "relu"}),
             "lstm": ("LSTM", {}), "gru": ("GRU", {}),
             "gru-reset-before": ("GRU", {"reset_after": False})}


@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("kind", RECURRENT.values(), ids=RECURRENT.keys())
def test_embedding_mask_zero_into_a_recurrent_layer_matches_keras(kind, return_sequences,
                                                                  keras):
    name, kwargs = kind
    embedding, keras_embedding = built_pair(IDS, mask_zero=True)
    recurrent = layer_types()[name](3, return_sequences=return_sequences, seed=0, **kwargs)
    keras_recurrent = getattr(keras.layers, name)(3, return_sequences=return_sequences,
                                                  dtype="float64", **kwargs)
    x = embedding.forward(IDS)
    recurrent.forward(x)
    keras_recurrent.build(x.shape)
    keras_recurrent.set_weights(random_weights(recurrent, seed=3))
    recurrent.set_weights(keras_recurrent.get_weights())
    # What a Sequential does with masks: the layer that makes one hands it to the next.
    y = recurrent.forward(x, mask=embedding.compute_mask(IDS))
    g = randn(*y.shape, seed=4)
    grad_x = recurrent.backward(g)
    assert embedding.backward(grad_x) is None
    y_tf, grads_tf = keras_model_run([keras_embedding, keras_recurrent], IDS, g)
    assert_close(y, y_tf, "Embedding → recurrent output")
    ours = [embedding.grads["embeddings"], *recurrent.grads.values()]
    for name, a, b in zip(["embeddings", *recurrent.grads], ours, grads_tf, strict=True):
        assert_close(a, b, f"dJ/d{name}")
    # Padding changed nothing: the masked steps' embeddings (row 0) get no gradient.
    np.testing.assert_array_equal(embedding.grads["embeddings"][0], 0)


# ---------------------------------------------------------------- the gradient, two ways
@pytest.mark.parametrize("shape", [(1, 1), (3, 6), (2, 3, 4), (40,)])
def test_one_hot_and_scatter_add_backward_agree_and_match_finite_differences(shape):
    ids = ids_of(shape, seed=5)
    embeddings = randn(10, 4, seed=6)
    grad_y = randn(*shape, 4, seed=7)
    fast = embedding_backward(grad_y, ids, 10)
    naive = embedding_backward_naive(grad_y, ids, 10)
    assert fast.shape == naive.shape == (10, 4)
    assert rel_error(fast, naive) < 1e-12
    numeric = numerical_gradient(lambda _=None: np.sum(embedding_forward(ids, embeddings)
                                                       * grad_y), embeddings)
    assert rel_error(fast, numeric) < 1e-6


def test_the_gradient_is_row_sparse_and_adds_repeated_ids():
    ids = np.array([[2, 7, 2], [7, 2, 2]])
    grad_y = randn(2, 3, 4, seed=8)
    grad = embedding_backward(grad_y, ids, 10)
    unused = np.setdiff1d(np.arange(10), ids)
    np.testing.assert_array_equal(grad[unused], 0)
    np.testing.assert_allclose(grad[2], grad_y[0, 0] + grad_y[0, 2] + grad_y[1, 1]
                               + grad_y[1, 2], rtol=1e-12)
    np.testing.assert_allclose(grad[7], grad_y[0, 1] + grad_y[1, 0], rtol=1e-12)
    # The forward pass is the one-hot product, as the docstring says.
    embeddings = randn(10, 4, seed=9)
    one_hot = np.eye(10)[ids]
    np.testing.assert_allclose(embedding_forward(ids, embeddings), one_hot @ embeddings,
                               rtol=1e-12)


def test_embedding_layer_gradient_matches_finite_differences():
    layer = Embedding(10, 4, dtype="float64", seed=0)
    layer.forward(IDS)
    g = randn(*IDS.shape, 4, seed=10)

    def objective(_=None):
        return np.sum(layer.forward(IDS) * g)

    held = layer.grads["embeddings"]
    layer.forward(IDS)
    layer.backward(g)
    assert layer.grads["embeddings"] is held  # in place, for an optimizer holding it
    numeric = numerical_gradient(objective, layer.params["embeddings"])
    assert rel_error(layer.grads["embeddings"], numeric) < 1e-6


# ---------------------------------------------------------------------------- the layer
def test_embedding_initialisation_and_dtype(keras):
    layer = Embedding(1000, 16, seed=0)
    y = layer.forward(IDS)
    assert y.dtype == layer.params["embeddings"].dtype == np.float32  # Keras's default
    weights = layer.params["embeddings"]
    assert -0.05 <= weights.min() < -0.049 and 0.049 < weights.max() <= 0.05
    keras_init = keras.layers.Embedding(1000, 16).embeddings_initializer.get_config()
    assert (keras_init["minval"], keras_init["maxval"]) == (-0.05, 0.05)
    assert Embedding(10, 4, dtype="float64").forward(IDS).dtype == np.float64
    assert Embedding(5, 2, embeddings_initializer="ones").forward([[1]]).tolist() == [[[1, 1]]]
    # In a model, the dtype comes from the model (a floating-point one), not from the ids.
    free = Embedding(10, 4)
    free._ensure_built((None, 6), np.float64)
    assert free.params["embeddings"].dtype == np.float64
    free = Embedding(10, 4)
    free._ensure_built((None, 6), np.int64)
    assert free.params["embeddings"].dtype == np.float32


EMBEDDING_CONFIGS = [
    {"input_dim": 10, "output_dim": 4},
    {"input_dim": 7, "output_dim": 2, "mask_zero": True, "embeddings_initializer": "ones",
     "embeddings_regularizer": "l2", "dtype": "float64", "seed": 1},
]


@pytest.mark.parametrize("kwargs", EMBEDDING_CONFIGS)
def test_embedding_config_is_keras(kwargs, keras):
    layer = Embedding(name="probe", **kwargs)
    layer.forward(IDS % kwargs["input_dim"])
    keras_kwargs = {k: v for k, v in kwargs.items() if k != "seed"}
    # The default "uniform" is written as Keras writes it: RandomUniform(-0.05, 0.05).
    assert_config_is_keras(layer, keras.layers.Embedding(name="probe", **keras_kwargs))
    assert set(layer.regularizers) == ({"embeddings"} if "embeddings_regularizer" in kwargs
                                       else set())


def test_embedding_accepts_any_batch_and_length_after_building():
    layer = Embedding(10, 4, seed=0)
    layer.forward(IDS)
    assert layer.forward(ids_of((7, 2))).shape == (7, 2, 4)
    assert layer.forward_unchecked(ids_of((1, 9))).shape == (1, 9, 4)


# ---------------------------------------------------------------------------- bad input
def test_embedding_names_the_bad_id_and_its_position():
    layer = Embedding(10, 4, name="emb")
    bad = IDS.copy()
    bad[1, 4] = 10
    bad[2, 5] = 12
    with pytest.raises(ValueError, match=r"Embedding 'emb': expected ids in \[0, 10\) "
                                         r"\(input_dim=10\), got id 10 at position \(1, 4\) "
                                         r"\(2 of 18 ids out of range\)"):
        layer.forward(bad)
    with pytest.raises(ValueError, match=r"got id -1 at position \(0,\)"):
        layer.forward(np.array([-1, 3]))
    assert not layer.built  # nothing built by a refused call
    with pytest.raises(ValueError, match=r"embedding_backward\(\): expected ids in \[0, 3\)"):
        embedding_backward(np.ones((2, 4)), np.array([0, 3]), 3)


def test_embedding_refuses_non_integer_ids_and_bad_arguments():
    layer = Embedding(10, 4, name="emb")
    with pytest.raises(TypeError, match=r"Embedding 'emb': expected integer ids \(e.g. int32 or "
                                        r"int64\), got dtype float64; convert them first"):
        layer.forward(IDS.astype(float))
    with pytest.raises(TypeError, match=r"got dtype bool"):
        layer.forward(IDS > 2)
    with pytest.raises(ValueError, match=r"Embedding 'emb': expected ids with a batch axis"):
        layer.forward(np.int64(3))
    with pytest.raises(ValueError, match=r"expected a non-empty batch, got shape \(0, 3\)"):
        layer.forward(np.zeros((0, 3), dtype=int))
    with pytest.raises(TypeError, match=r"check\(\): expected the input as an array of integer"):
        check_ids([[1, 2], [3]], 5, "check()")
    with pytest.raises(ValueError, match=r"Embedding 'e': input_dim must be an integer >= 1"):
        Embedding(0, 4, name="e")
    with pytest.raises(TypeError, match=r"Embedding 'e': mask_zero must be True or False"):
        Embedding(10, 4, mask_zero=1, name="e")
    with pytest.raises(TypeError, match=r"Embedding 'e': dtype must be a floating-point dtype.*"
                                        r"got 'int32'"):
        Embedding(10, 4, dtype="int32", name="e")
    with pytest.raises(ValueError, match=r"Embedding 'e': unknown initializer 'normal' for "
                                         r"embeddings_initializer"):
        Embedding(10, 4, embeddings_initializer="normal", name="e")
