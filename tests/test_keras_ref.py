"""keras_ref: the twins have the same architecture and weights, both ways."""

import subprocess
import sys

import numpy as np
import pytest

from dlcourse import keras_ref
from dlcourse.keras_ref import keras
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
from dlcourse.scratch.losses import BinaryCrossentropy, SparseCategoricalCrossentropy
from dlcourse.scratch.optimizers import SGD, Adam, RMSprop
from dlcourse.scratch.regularizers import L1L2


def mixed_model():
    return Sequential([
        Input((9, 8, 2)),
        Conv2D(4, (3, 2), strides=(1, 2), padding="same", activation="relu", seed=0,
               kernel_regularizer=L1L2(l1=0.001, l2=0.01), name="conv"),
        MaxPooling2D(pool_size=(2, 2), padding="same", name="pool"),
        Flatten(name="flat"),
        Dropout(0.3, name="drop"),
        Dense(5, activation="tanh", seed=1, name="hidden"),
        Activation("softmax", name="probs"),
    ], name="mixed")


def rnn_model(return_sequences):
    layers = [Input((7, 3)), SimpleRNN(6, return_sequences=return_sequences, seed=2, name="rnn")]
    if return_sequences:
        layers.append(Flatten(name="flat"))
    layers.append(Dense(2, seed=3, name="out"))
    return Sequential(layers, name="seq")


MODELS = {
    "mlp": lambda: models.mlp(20, (16, 8), 4, seed=0),
    "cnn": lambda: models.mnist_cnn(seed=0),
    "mixed": mixed_model,
    "rnn-last": lambda: rnn_model(False),
    "rnn-sequences": lambda: rnn_model(True),
}


def sample_input(model, n=5, seed=0):
    shape = (n, *model.input.shape)
    return np.random.default_rng(seed).normal(size=shape).astype(model.input.dtype)


@pytest.mark.parametrize("name", MODELS)
def test_to_keras_and_back_predict_the_same(name):
    model = MODELS[name]()
    x = sample_input(model)
    expected = model.predict(x)
    twin = keras_ref.to_keras(model)
    assert [type(layer).__name__ for layer in twin.layers] == \
        [type(layer).__name__ for layer in model.layers]
    assert [layer.name for layer in twin.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(twin.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    back = keras_ref.from_keras(twin)
    np.testing.assert_allclose(back.predict(x), expected, rtol=1e-6, atol=1e-6)
    for a, b in zip(back.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_to_keras_copies_the_regularizer():
    twin = keras_ref.to_keras(mixed_model())
    config = twin.get_layer("conv").kernel_regularizer.get_config()
    assert config == pytest.approx({"l1": 0.001, "l2": 0.01})
    back = keras_ref.from_keras(twin)
    reg = back.layers[0].regularizers["kernel"]
    assert (reg.l1, reg.l2) == pytest.approx((0.001, 0.01))


def test_from_keras_reads_a_hand_written_keras_model():
    twin = keras.Sequential([keras.Input((28, 28, 1)),
                             keras.layers.Conv2D(8, 3, activation="relu"),
                             keras.layers.MaxPooling2D(),
                             keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax")])
    model = keras_ref.from_keras(twin)
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(x), twin.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_twins_builders_start_equal():
    for twins, x in [
        (keras_ref.mlp_twins(seed=1), np.ones((2, 784), "float32")),
        (keras_ref.mnist_cnn_twins(seed=1), np.ones((2, 28, 28, 1), "float32")),
        (keras_ref.rnn_twins(5, 2, units=4, seed=1), np.ones((2, 5, 2), "float32")),
    ]:
        np.testing.assert_allclose(twins.keras.predict(x, verbose=0), twins.scratch.predict(x),
                                   rtol=1e-5, atol=1e-6)
    cnn = keras_ref.mnist_cnn_twins()
    assert cnn.scratch.count_params() == cnn.keras.count_params() == 693_962


@pytest.mark.parametrize("optimizer", [SGD(0.1, momentum=0.9, nesterov=True, clipvalue=0.5),
                                       RMSprop(0.01, rho=0.8), Adam(0.002, beta_2=0.99,
                                                                    clipnorm=1.0)])
def test_keras_optimizer_has_the_same_settings(optimizer):
    twin = keras_ref.keras_optimizer(optimizer)
    assert type(twin).__name__ == type(optimizer).__name__
    ours = optimizer.get_config()
    theirs = twin.get_config()
    for key, value in ours.items():
        assert theirs[key] == pytest.approx(value), key


@pytest.mark.parametrize("loss", [BinaryCrossentropy(from_logits=True),
                                  SparseCategoricalCrossentropy(from_logits=False)])
def test_keras_loss_has_the_same_settings(loss):
    twin = keras_ref.keras_loss(loss)
    assert type(twin).__name__ == type(loss).__name__
    assert twin.get_config()["from_logits"] == loss.from_logits


def test_unsupported_layers_are_named():
    twin = keras.Sequential([keras.Input((4,)), keras.layers.LayerNormalization()])
    with pytest.raises(TypeError, match="no twin for layers of type LayerNormalization"):
        keras_ref.from_keras(twin)
    with pytest.raises(TypeError, match="expected a dlcourse.scratch.Sequential, got Sequential"):
        keras_ref.to_keras(twin)


def test_to_keras_needs_a_built_model():
    with pytest.raises(ValueError, match="needs the weights"):
        keras_ref.to_keras(Sequential([Dense(3)]))


def test_importing_scratch_does_not_import_tensorflow():
    code = "import dlcourse.scratch, sys; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
