"""Models that read ids: Embedding → SimpleRNN/LSTM/GRU → Dense in a Sequential, against Keras.

- the weights round-trip through ``to_keras`` / ``from_keras`` and both models predict the same
  (relative error ``tfcompare.RTOL``, 1e-7), with ``mask_zero`` True and False, padding at the
  end and in the middle;
- ``fit`` (shuffle=False, same initial weights, same optimizer, float64) follows Keras's ``fit``:
  the weights after 2 epochs agree to 1e-6 relative;
- with ``mask_zero=True`` padding changes nothing: a padded sequence and the unpadded one give
  the same output;
- ``summary()`` / ``count_params()`` and the cost model equal Keras's counts;
- the masks travel as Keras's do, and what a Sequential cannot do is refused by name.
"""

import numpy as np
import pytest
from tfcompare import assert_close

from dlcourse import compress
from dlcourse.scratch import (
    GRU,
    LSTM,
    SGD,
    BatchNormalization,
    Dense,
    Embedding,
    Flatten,
    Input,
    Sequential,
    SimpleRNN,
    SparseCategoricalCrossentropy,
)

#: Ids with padding (0) at the end, in the middle, and none.
IDS = np.array([[3, 1, 4, 1, 0, 0],
                [2, 0, 0, 5, 9, 2],
                [6, 5, 3, 5, 8, 9],
                [7, 0, 1, 0, 0, 0]])

RECURRENT = {"simple-rnn": lambda **kw: SimpleRNN(5, seed=1, name="rnn", **kw),
             "lstm": lambda **kw: LSTM(5, seed=1, name="rnn", **kw),
             "gru": lambda **kw: GRU(5, seed=1, name="rnn", **kw),
             "gru-reset-before": lambda **kw: GRU(5, reset_after=False, seed=1, name="rnn",
                                                  **kw)}


@pytest.fixture
def keras_float64(keras_ref):
    # Keras keeps an optimizer's learning rate in its default float type; float64 comparisons
    # of whole training runs need it in float64 too.
    keras_ref.keras.backend.set_floatx("float64")
    yield keras_ref
    keras_ref.keras.backend.set_floatx("float32")


def text_model(recurrent="lstm", mask_zero=True, dtype="float64", length=6, **kwargs):
    """Ids → vectors → one recurrent layer → 3 logits; ``length=None``: any length (no Input,
    built by the first call)."""
    return Sequential([
        *([Input((length,), dtype="int32")] if length else []),
        Embedding(10, 4, mask_zero=mask_zero, dtype=dtype, seed=0, name="embed"),
        RECURRENT[recurrent](dtype=dtype, **kwargs),
        Dense(3, dtype=dtype, seed=2, name="logits"),
    ], name="reader")


def random_weights(model, seed=0):
    """Weights of the usual sizes, but not the initial ones (zero biases hide mistakes)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape) for w in model.get_weights()])


# ------------------------------------------------------------------------------ to and from Keras
@pytest.mark.parametrize("mask_zero", [True, False])
@pytest.mark.parametrize("recurrent", list(RECURRENT))
def test_weights_round_trip_through_keras_with_equal_predictions(keras_ref, recurrent, mask_zero):
    model = text_model(recurrent, mask_zero)
    random_weights(model)
    twin = keras_ref.to_keras(model)
    assert twin.inputs[0].dtype == "int32"
    assert twin.layers[0].mask_zero is mask_zero
    ours = model.predict(IDS)
    assert_close(ours, twin.predict(IDS, verbose=0), f"{recurrent} predict")
    back = keras_ref.from_keras(twin)
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in model.layers]
    assert back.layers[0].mask_zero is mask_zero and back.layers[0].dtype == np.float64
    assert back.input.dtype == np.int32
    for mine, theirs in zip(back.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(back.predict(IDS), ours)


def test_return_sequences_and_go_backwards_travel_with_the_mask(keras_ref):
    # Embedding → LSTM(return_sequences) → Dense → SimpleRNN(go_backwards, return_sequences)
    # → GRU(go_backwards) → Dense: the mask reaches every recurrent layer.
    model = Sequential([
        Input((6,), dtype="int64"),
        Embedding(10, 4, mask_zero=True, dtype="float64", seed=0),
        LSTM(5, return_sequences=True, dtype="float64", seed=1),
        Dense(4, activation="tanh", dtype="float64", seed=2),  # per step; passes the mask on
        SimpleRNN(4, return_sequences=True, go_backwards=True, dtype="float64", seed=5),
        GRU(3, go_backwards=True, dtype="float64", seed=3),
        Dense(2, dtype="float64", seed=4),
    ])
    random_weights(model, seed=1)
    twin = keras_ref.to_keras(model)
    assert_close(model.predict(IDS), twin.predict(IDS.astype("int32"), verbose=0), "predict")
    np.testing.assert_array_equal(keras_ref.from_keras(twin).predict(IDS), model.predict(IDS))


def test_to_keras_refuses_what_changes_the_computation(keras_ref):
    keras = keras_ref.keras
    for layer, setting in [(keras.layers.LSTM(4, dropout=0.5), "dropout"),
                           (keras.layers.GRU(4, recurrent_dropout=0.5), "recurrent_dropout"),
                           (keras.layers.LSTM(4, zero_output_for_mask=True,
                                              return_sequences=True), "zero_output_for_mask"),
                           (keras.layers.GRU(4, kernel_constraint="non_neg"),
                            "kernel_constraint")]:
        twin = keras.Sequential([keras.Input((5, 3)), layer])
        with pytest.raises(ValueError, match=rf"{type(layer).__name__} '.*': .*\b{setting}="):
            keras_ref.from_keras(twin)
    twin = keras.Sequential([keras.Input((5,), dtype="int32"),
                             keras.layers.Embedding(10, 4, lora_rank=2)])
    with pytest.raises(ValueError, match=r"Embedding '.*': .*\blora_rank=2"):
        keras_ref.from_keras(twin)
    # unroll and use_cudnn change nothing: accepted.
    for layer in (keras.layers.LSTM(4, unroll=True), keras.layers.GRU(4, use_cudnn=False)):
        keras_ref.from_keras(keras.Sequential([keras.Input((5, 3)), layer]))


# ------------------------------------------------------------------------------ training
# SGD only: Keras (TensorFlow backend) hands an Embedding's gradient to the optimizer as
# IndexedSlices, one slice per looked-up id, and Adam and RMSprop square each slice before
# adding the slices of a repeated id (Σ g_i² instead of (Σ g_i)²): a sparse variant of the rule
# that the from-scratch optimizers, which see the dense gradient, do not reproduce (see
# test_keras_adam_squares_the_slices_of_a_repeated_id). SGD's update is linear in the gradient.
@pytest.mark.parametrize("make_optimizer", [lambda: SGD(0.5),
                                            lambda: SGD(0.3, momentum=0.9, nesterov=True)],
                         ids=["sgd", "sgd-nesterov"])
@pytest.mark.parametrize("recurrent", ["lstm", "simple-rnn"])
def test_fit_follows_keras_fit(keras_float64, make_optimizer, recurrent):
    # Same initial weights, same data order (shuffle=False), same optimizer, float64 on both
    # sides: the weights after 2 epochs agree to 1e-6 relative.
    keras_ref = keras_float64
    model = text_model(recurrent, mask_zero=True)
    random_weights(model)
    twin = keras_ref.to_keras(model)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10, size=(24, 6))
    x[rng.random(x.shape) < 0.3] = 0  # padding anywhere
    y = (x.sum(axis=1) % 3).astype(np.int64)
    loss = SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=make_optimizer(), loss=loss, metrics=["accuracy"])
    twin.compile(optimizer=keras_ref.keras_optimizer(make_optimizer()),
                 loss=keras_ref.keras_loss(loss), metrics=["accuracy"])
    kwargs = dict(epochs=2, batch_size=8, shuffle=False, verbose=0)
    ours = model.fit(x, y, **kwargs).history
    theirs = twin.fit(x.astype("int32"), y, **kwargs).history
    assert_close(ours["loss"], theirs["loss"], "loss per epoch", rtol=2e-6)
    for mine, their in zip(model.get_weights(), twin.get_weights(), strict=True):
        assert_close(mine, their, "weights after fit", rtol=1e-6)
    assert_close(model.evaluate(x, y), twin.evaluate(x.astype("int32"), y, verbose=0),
                 "evaluate", rtol=2e-6)


def test_keras_adam_squares_the_slices_of_a_repeated_id(keras_float64):
    # Why test_fit_follows_keras_fit uses SGD: if a new Keras densifies the gradient first,
    # this fails, and Adam can join the comparison.
    keras, tf = keras_float64.keras, keras_float64.tf
    layer = keras.layers.Embedding(4, 1, dtype="float64")
    layer.build((None, 2))
    optimizer = keras.optimizers.Adam(0.1)
    with tf.GradientTape() as tape:  # id 1 twice, with gradients 1 and 3
        objective = tf.reduce_sum(layer(tf.constant([[1, 1]]))
                                  * tf.constant([[[1.0], [3.0]]], tf.float64))
    grads = tape.gradient(objective, layer.trainable_weights)
    assert isinstance(grads[0], tf.IndexedSlices)
    optimizer.apply_gradients(zip(grads, layer.trainable_weights, strict=True))
    velocity = optimizer._velocities[0].numpy()[1, 0]
    np.testing.assert_allclose(velocity, (1 - 0.999) * (1 ** 2 + 3 ** 2))  # not (1 + 3)²


# ------------------------------------------------------------------------------ masks
@pytest.mark.parametrize("recurrent", list(RECURRENT))
def test_padding_does_not_change_the_prediction(recurrent):
    model = text_model(recurrent, mask_zero=True, length=None)
    model.predict(IDS)  # builds it
    random_weights(model)
    for padded, plain in [([3, 1, 4, 0, 0, 0], [3, 1, 4]), ([2, 0, 0, 5, 9, 2], [2, 5, 9, 2]),
                          ([0, 0, 7, 8], [7, 8])]:
        np.testing.assert_allclose(model.predict(np.array([padded])),
                                   model.predict(np.array([plain])), rtol=1e-12, atol=1e-15)
    unmasked = text_model(recurrent, mask_zero=False, length=None)
    unmasked.predict(IDS)
    unmasked.set_weights(model.get_weights())
    assert not np.allclose(unmasked.predict(np.array([[3, 1, 4, 0, 0, 0]])),
                           unmasked.predict(np.array([[3, 1, 4]])))


def test_a_mask_reaching_a_layer_that_cannot_use_it_is_refused():
    model = Sequential([Embedding(10, 4, mask_zero=True), LSTM(3, return_sequences=True),
                        BatchNormalization(name="late")])
    with pytest.raises(ValueError, match=r"'late' receives the mask .* its Keras twin "
                                         "would use"):
        model.predict(IDS)
    # Without mask_zero there is no mask: the same stack runs.
    Sequential([Embedding(10, 4), SimpleRNN(3)]).predict(IDS)
    # Flatten drops the mask, as Keras's does.
    Sequential([Embedding(10, 4, mask_zero=True), Flatten(), Dense(2)]).predict(IDS)


def test_a_masked_output_is_refused_by_fit_and_evaluate():
    model = Sequential([Embedding(10, 4, mask_zero=True), LSTM(3, return_sequences=True),
                        Dense(2)])
    model.compile(optimizer="sgd", loss=SparseCategoricalCrossentropy(from_logits=True))
    assert model.predict(IDS).shape == (4, 6, 2)  # predicting needs no loss
    y = np.zeros((4, 6), dtype=np.int64)
    for call in (lambda: model.fit(x=IDS, y=y, verbose=0), lambda: model.evaluate(IDS, y)):
        with pytest.raises(ValueError, match=r"the model's output carries a mask .* not "
                                             "implemented"):
            call()


def test_sequential_refuses_return_state_and_ids_after_the_first_layer():
    with pytest.raises(ValueError, match=r"LSTM 'st' has return_state=True: its output is a "
                                         r"tuple \(output, \*states\)"):
        Sequential([Embedding(10, 4), LSTM(3, return_state=True, name="st")])
    with pytest.raises(ValueError, match=r"SimpleRNN 'st' has return_state=True"):
        Sequential([Embedding(10, 4), SimpleRNN(3, return_state=True, name="st")])
    with pytest.raises(ValueError, match=r"Embedding 'late' takes integer input \(ids\), so it "
                                         "can only be the first layer"):
        Sequential([Dense(2), Embedding(10, 4, name="late")])
    with pytest.raises(TypeError, match=r"Dense 'd': expected a floating-point input .* got "
                                        "dtype int32; integer ids go into an Embedding first"):
        Sequential([Input((3,), dtype="int32"), Dense(2, name="d")])
    model = text_model()
    with pytest.raises(TypeError, match=r"Embedding 'embed': expected integer ids"):
        model.predict(IDS.astype("float64"))
    with pytest.raises(ValueError, match=r"Embedding 'embed': expected ids in \[0, 10\)"):
        model.predict(IDS + 5)


def test_a_model_built_by_its_first_call_takes_ids():
    model = Sequential([Embedding(10, 4, mask_zero=True, seed=0), GRU(3, seed=1), Dense(2)])
    assert model.predict(IDS).dtype == np.float32
    model.build((6,))
    assert model.input.dtype == np.int32


# ------------------------------------------------------------------------------ counts
@pytest.mark.parametrize("recurrent", list(RECURRENT))
def test_summary_count_params_and_costs_equal_keras(keras_ref, recurrent):
    model = text_model(recurrent, use_bias=recurrent != "gru")
    twin = keras_ref.to_keras(model)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert model.count_params() == twin.count_params() == compress.count_params(model)
    assert f"Total params: {twin.count_params():,}" in text
    for ours, theirs, cost in zip(model.layers, twin.layers, compress.model_costs(model),
                                  strict=True):
        assert ours.count_params() == theirs.count_params() == cost.params
        assert f"{ours.name} ({type(ours).__name__})" in text
        assert cost.output_shape == tuple(theirs.output.shape[1:])
        assert str((None, *cost.output_shape)) in text
    assert compress.model_costs(twin) == [
        c._replace(name=layer.name) for c, layer in zip(compress.model_costs(model),
                                                        twin.layers, strict=True)]


def test_costs_by_hand():
    # d = 3 features, u = 2 units, T = 4 steps.
    lstm = compress.layer_cost(LSTM(2), (4, 3))
    assert lstm.params == 4 * (3 * 2 + 2 * 2 + 2) == 48
    # Per step: 2·3·8 + 2·2·8 (products) + 8 (their sum) + 8 (bias) + 8 (c and h) = 104.
    assert lstm.flops == 4 * 104 and lstm.output_shape == (2,)
    gru = compress.layer_cost(GRU(2, return_sequences=True), (4, 3))
    assert gru.params == 3 * (3 * 2 + 2 * 2) + 6 * 2 == 42
    # Per step: 2·3·6 + 2·2·6 (products) + 6 + 6 (two biases) + 4 (z, r) + 4 (candidate)
    # + 8 (h) = 88.
    assert gru.flops == 4 * 88 and gru.output_shape == (4, 2)
    before = compress.layer_cost(GRU(2, reset_after=False), (4, 3))
    assert before.params == 3 * (3 * 2 + 2 * 2) + 3 * 2 == 36 and before.flops == 4 * 82
    embedding = compress.layer_cost(Embedding(50, 8), (7,))
    assert (embedding.params, embedding.flops, embedding.output_shape) == (400, 0, (7, 8))
