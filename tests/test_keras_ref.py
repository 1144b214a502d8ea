"""keras_ref: the twins have the same architecture and weights, both ways."""

import inspect
import subprocess
import sys

import numpy as np
import pytest

from dlcourse import scratch
from dlcourse.scratch import (
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
    TransformerBlock,
    models,
)
from dlcourse.scratch.losses import BinaryCrossentropy, SparseCategoricalCrossentropy
from dlcourse.scratch.optimizers import SGD, Adam, RMSprop
from dlcourse.scratch.regularizers import L1L2

# Every test here compares with Keras; without TensorFlow the module is skipped (CI installs it).
pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow", reason="needs TensorFlow: pip install -r requirements.txt")
from dlcourse import keras_ref  # noqa: E402
from dlcourse.keras_ref import keras  # noqa: E402


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
    "layer-norm": lambda: Sequential([
        Input((7, 3)), SimpleRNN(6, return_sequences=True, seed=2, name="rnn"),
        LayerNormalization(name="norm"), LayerNormalization(axis=[1, 2], center=False),
        Flatten(), Dense(2, seed=3), LayerNormalization(epsilon=0.1, scale=False)]),
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
    twin = keras.Sequential([keras.Input((4,)), keras.layers.UnitNormalization()])
    with pytest.raises(TypeError, match="no twin for layers of type UnitNormalization"):
        keras_ref.from_keras(twin)
    with pytest.raises(TypeError, match="expected a dlcourse.scratch.Sequential, got Sequential"):
        keras_ref.to_keras(twin)


def test_layers_no_sequential_holds_are_refused_by_name():
    # MultiHeadAttention takes (query, value), and a Sequential passes one input.
    attention = MultiHeadAttention(2, 3, name="attention")
    with pytest.raises(TypeError, match=r"to_keras\(\): layer 'attention' is a "
                                        r"MultiHeadAttention, which has no twin in a "
                                        r"Sequential: it takes two inputs"):
        keras_ref.to_keras(Sequential([attention]))
    twin = keras.Sequential([keras.layers.MultiHeadAttention(2, 3, name="attention")])
    with pytest.raises(TypeError, match=r"from_keras\(\): layer 'attention' is a "
                                        r"MultiHeadAttention, which has no twin"):
        keras_ref.from_keras(twin)
    assert "MultiHeadAttention" not in keras_ref._twin_types()


def test_a_language_model_with_position_embeddings_round_trips():
    # keras.layers has no PositionEmbedding: its twin is keras_ref's, a learned table added to
    # the input, as the from-scratch layer does.
    model = Sequential([Input((5,), dtype="float64"), Embedding(20, 8, seed=0),
                        PositionEmbedding(7, seed=1, name="positions"),
                        TransformerBlock(16, 2, use_causal_mask=True, seed=2), Dense(20, seed=3)])
    ids = np.random.default_rng(0).integers(0, 20, size=(3, 5))
    twin = keras_ref.to_keras(model)
    assert type(twin.get_layer("positions")) is keras_ref.PositionEmbedding
    np.testing.assert_allclose(twin.predict(ids, verbose=0), model.predict(ids), rtol=1e-12,
                               atol=1e-12)
    back = keras_ref.from_keras(twin)
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_array_equal(back.predict(ids), model.predict(ids))
    # Shorter sequences use the first rows of the table, in both libraries.
    x = np.random.default_rng(1).normal(size=(2, 3, 8))
    np.testing.assert_allclose(twin.get_layer("positions")(x).numpy(),
                               model.layers[1].forward(x), rtol=1e-12, atol=1e-12)


def test_to_keras_needs_a_built_model():
    with pytest.raises(ValueError, match="needs the weights"):
        keras_ref.to_keras(Sequential([Dense(3)]))


def test_importing_scratch_does_not_import_tensorflow():
    code = "import dlcourse.scratch, sys; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------ bad input
# Every setting of the Keras layers that have a twin, read from Keras itself (each layer's
# get_config() and constructor), so that a setting added by a new Keras version appears here and
# test_every_keras_setting_is_classified fails until someone says what to do with it.
KERAS_PROBES = {  # kind: (required arguments, input shape of one example)
    "Dense": ({"units": 4}, (6,)),
    "Conv2D": ({"filters": 4, "kernel_size": 3}, (8, 8, 4)),
    "MaxPooling2D": ({}, (8, 8, 4)),
    "Flatten": ({}, (8, 8, 4)),
    "SimpleRNN": ({"units": 4}, (5, 3)),
    "Dropout": ({"rate": 0.5}, (6,)),
    "Activation": ({"activation": "relu"}, (6,)),
    "BatchNormalization": ({}, (6,)),
    "LSTM": ({"units": 4}, (5, 3)),
    "GRU": ({"units": 4}, (5, 3)),
    "TransformerBlock": ({"intermediate_dim": 8, "num_heads": 2}, (5, 4)),
    "PositionEmbedding": ({"sequence_length": 6}, (5, 3)),
    "Embedding": ({"input_dim": 10, "output_dim": 4}, (5,)),
    "LayerNormalization": ({}, (5, 6)),
}

# A value other than Keras's default for each setting that has no from-scratch twin (several
# arguments where one needs another to appear in the config).
NON_DEFAULT = {
    "activity_regularizer": {"activity_regularizer": "l2"},
    "bias_constraint": {"bias_constraint": "non_neg"},
    "kernel_constraint": {"kernel_constraint": "non_neg"},
    "recurrent_constraint": {"recurrent_constraint": "non_neg"},
    "beta_constraint": {"beta_constraint": "non_neg"},
    "gamma_constraint": {"gamma_constraint": "non_neg"},
    "bias_regularizer": {"bias_regularizer": "l2"},
    "recurrent_regularizer": {"recurrent_regularizer": "l2"},
    "beta_regularizer": {"beta_regularizer": "l2"},
    "gamma_regularizer": {"gamma_regularizer": "l2"},
    "data_format": {"data_format": "channels_first"},
    "dilation_rate": {"dilation_rate": 2},
    "groups": {"groups": 2},
    "dropout": {"dropout": 0.5},
    "recurrent_dropout": {"recurrent_dropout": 0.5},
    "go_backwards": {"go_backwards": True},
    "return_state": {"return_state": True},
    "stateful": {"stateful": True},
    "zero_output_for_mask": {"zero_output_for_mask": True},
    "embeddings_constraint": {"embeddings_constraint": "non_neg"},
    "noise_shape": {"noise_shape": (1, 6)},
    "renorm": {"renorm": True},
    "renorm_clipping": {"renorm_clipping": {"rmax": 3.0}},
    "renorm_momentum": {"renorm_momentum": 0.5},
    "trainable": {"trainable": False},
    "lora_rank": {"lora_rank": 2},
    "lora_alpha": {"lora_rank": 2, "lora_alpha": 4},
    "quantization_config": {"quantization_config": "int8"},
    "rms_scaling": {"rms_scaling": True},
}


def keras_settings(kind):
    cls = keras_ref._keras_class(kind)
    config = cls(**KERAS_PROBES[kind][0]).get_config()
    arguments = [name for name, p in inspect.signature(cls.__init__).parameters.items()
                 if name != "self" and p.kind is not p.VAR_KEYWORD]
    # Every layer takes activity_regularizer and trainable, through keras.layers.Layer.
    return sorted({*config, *arguments, "activity_regularizer", "trainable"})


def has_no_effect(setting):
    return setting in keras_ref._NO_EFFECT or setting.endswith("_initializer")


def probe_model(kind, **settings):
    """A one-layer Keras model (two for SimpleRNN's state) with the layer named 'probe'."""
    required, shape = KERAS_PROBES[kind]
    if settings.get("quantization_config") == "int8":
        settings["quantization_config"] = keras.quantizers.Int8QuantizationConfig()
    layer = keras_ref._keras_class(kind)(**required, **settings, name="probe")
    batch = keras.Input(batch_shape=(2, *shape)) if settings.get("stateful") else \
        keras.Input(shape)
    return keras.Sequential([batch, layer])


def test_every_keras_setting_is_classified():
    for kind in scratch.layer_types():
        if kind in keras_ref._NOT_SEQUENTIAL:
            continue  # refused whatever its settings (test_layers_no_sequential_holds_...)
        unclassified = [s for s in keras_settings(kind) if s not in keras_ref._carried(kind)
                        and not has_no_effect(s) and s not in NON_DEFAULT]
        assert not unclassified, (f"{kind}: Keras settings nobody has classified: "
                                  f"{unclassified}; carry them over, or add them to "
                                  "keras_ref._NO_EFFECT, or give a value here in NON_DEFAULT")


# Settings that Keras itself drops: SimpleRNN.__init__ hands activity_regularizer to neither
# its cell nor its base class (Keras 3.15), so the layer computes the same with or without it.
KERAS_DROPS = {("SimpleRNN", "activity_regularizer")}

UNSUPPORTED = [(kind, setting) for kind in KERAS_PROBES for setting in keras_settings(kind)
               if setting in NON_DEFAULT and setting not in keras_ref._carried(kind)
               and (kind, setting) not in KERAS_DROPS]


# Keras warns that rms_scaling=True is deprecated when the probe layer is built with it.
@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`:UserWarning")
@pytest.mark.parametrize(("kind", "setting"), UNSUPPORTED,
                         ids=[f"{k}-{s}" for k, s in UNSUPPORTED])
def test_from_keras_refuses_every_setting_it_cannot_carry_over(kind, setting):
    twin = probe_model(kind, **NON_DEFAULT[setting])
    with pytest.raises(ValueError, match=rf"from_keras\(\): {kind} 'probe': .*\b{setting}=") as err:
        keras_ref.from_keras(twin)
    # The message says what is supported.
    assert f"{kind} twins support" in str(err.value)


@pytest.mark.parametrize(("kind", "setting"), sorted(KERAS_DROPS))
def test_settings_that_keras_drops_are_accepted(kind, setting):
    twin = probe_model(kind, **NON_DEFAULT[setting])
    # If a new Keras version keeps the setting, this fails: then it must be refused instead.
    assert getattr(twin.layers[0], setting) is None
    assert twin.layers[0].get_config()[setting] is None
    model = keras_ref.from_keras(twin)
    x = np.random.default_rng(0).normal(size=(2, *KERAS_PROBES[kind][1])).astype("float32")
    np.testing.assert_allclose(model.predict(x), twin.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_from_keras_refuses_channels_first_even_as_the_keras_default():
    # The default data_format follows keras.config: a default layer may be channels-first.
    saved = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        twin = keras.Sequential([keras.Input((8, 8, 4)), keras.layers.Conv2D(4, 3, name="probe")])
    finally:
        keras.config.set_image_data_format(saved)
    with pytest.raises(ValueError, match="Conv2D 'probe': setting data_format='channels_first'"):
        keras_ref.from_keras(twin)


def double(z):
    return 2 * z


class Unserializable(keras.regularizers.Regularizer, keras.constraints.Constraint):
    """A custom regularizer (or constraint) without get_config: Keras cannot describe it."""

    def __call__(self, w):
        return 0.0 * keras.ops.sum(w)


@pytest.mark.parametrize(("layer", "match"), [
    (lambda: keras.layers.Dense(4, activation="gelu", name="probe"),
     r"Dense 'probe': setting activation=gelu \(supported: linear, relu"),
    (lambda: keras.layers.Dense(4, activation=double, name="probe"),
     r"Dense 'probe': setting activation=double \(supported: linear, relu"),
    (lambda: keras.layers.Activation(double, name="probe"),
     r"Activation 'probe': setting activation=double \(supported: linear, relu"),
    (lambda: keras.layers.Dense(4, kernel_regularizer=keras.regularizers.OrthogonalRegularizer(),
                                name="probe"),
     r"Dense 'probe': setting kernel_regularizer=OrthogonalRegularizer \(supported: L1, L2"),
    (lambda: keras.layers.Dense(4, kernel_regularizer=Unserializable(), name="probe"),
     r"Dense 'probe': setting kernel_regularizer=Unserializable \(supported: L1, L2"),
    (lambda: keras.layers.Dense(4, kernel_constraint=Unserializable(), name="probe"),
     r"Dense 'probe': its settings cannot be read"),
    (lambda: keras.layers.Dense(4, dtype="mixed_float16", name="probe"),
     r"Dense 'probe' has dtype policy 'mixed_float16'"),
])
def test_from_keras_refuses_values_of_carried_settings_it_cannot_copy(layer, match):
    with pytest.raises(ValueError, match=match):
        keras_ref.from_keras(keras.Sequential([keras.Input((6,)), layer()]))


def test_from_keras_refuses_layers_of_different_dtypes():
    twin = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, name="a"),
                             keras.layers.Dense(2, dtype="float64", name="b")])
    with pytest.raises(ValueError, match="Dense 'b' has dtype policy 'float64'"):
        keras_ref.from_keras(twin)


def test_from_keras_refuses_a_subclass_named_like_a_supported_layer():
    class Dense(keras.layers.Dense):
        def call(self, inputs):
            return 2 * super().call(inputs)

    twin = keras.Sequential([keras.Input((6,)), Dense(4, name="doubled")])
    with pytest.raises(TypeError, match="layer 'doubled' is a .*Dense, not keras.*Dense"):
        keras_ref.from_keras(twin)


@pytest.mark.parametrize("settings", [
    {"kernel_initializer": "ones", "bias_initializer": "ones"},
    {"name": "custom"},
], ids=["initializers", "name"])
def test_settings_without_effect_are_accepted(settings):
    twin = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, **settings)])
    model = keras_ref.from_keras(twin)
    x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    np.testing.assert_allclose(model.predict(x), twin.predict(x, verbose=0), rtol=1e-6,
                               atol=1e-6)


def test_an_unrolled_rnn_and_a_seeded_dropout_are_accepted():
    twin = keras.Sequential([keras.Input((5, 3)), keras.layers.SimpleRNN(4, unroll=True),
                             keras.layers.Dropout(0.3, seed=1), keras.layers.Dense(2)])
    model = keras_ref.from_keras(twin)
    x = np.random.default_rng(0).normal(size=(3, 5, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x), twin.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_from_keras_does_not_move_keras_automatic_names():
    before = keras.layers.Dense(1).name
    keras_ref.from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")]))
    after = keras.layers.Dense(1).name
    number = [int(n.rpartition("_")[2]) if "_" in n else 0 for n in (before, after)]
    assert number[1] == number[0] + 1


def custom_relu():
    from dlcourse.scratch import activations

    return activations.ActivationFunction("relu", lambda z: np.maximum(z, 0.1 * z), None)


class HalfL2(L1L2):
    def __call__(self, w):
        return super().__call__(w) / 2


def with_regularizer(weight, regularizer):
    layer = Dense(3, seed=0, name="probe")
    layer.regularizers[weight] = regularizer
    return layer


@pytest.mark.parametrize(("layer", "match"), [
    (lambda: with_regularizer("bias", L1L2(l2=0.1)), r"regularizers\['bias'\]=L1L2"),
    (lambda: with_regularizer("kernel", HalfL2(l2=0.1)), r"kernel_regularizer=HalfL2"),
    (lambda: Dense(3, activation=custom_relu(), name="probe"), r"activation=.*supported"),
], ids=["bias-regularizer", "custom-regularizer", "custom-activation"])
def test_to_keras_refuses_every_setting_it_cannot_carry_over(layer, match):
    model = Sequential([Input((4,)), layer()])
    with pytest.raises(ValueError, match=rf"to_keras\(\): Dense 'probe': .*{match}"):
        keras_ref.to_keras(model)


def test_to_keras_refuses_a_subclass_and_mixed_dtypes():
    class Dense2(Dense):
        pass

    Dense2.__name__ = "Dense"
    with pytest.raises(TypeError, match="is a .*Dense, not dlcourse.scratch.core.Dense"):
        keras_ref.to_keras(Sequential([Input((4,)), Dense2(3, name="sub")]))
    wide, narrow = Dense(3, name="wide"), Dense(2, name="narrow")
    wide.forward(np.ones((1, 4)))                     # built in float64
    narrow.forward(np.ones((1, 3), "float32"))        # built in float32
    with pytest.raises(ValueError, match="Dense 'narrow' computes in float32 but Dense 'wide' "
                                         "in float64"):
        keras_ref.to_keras(Sequential([Input((4,)), wide, narrow]))


FIRST_CALL = {  # models without Input, built by their first call on x of this shape
    "cnn": (lambda: Sequential([Conv2D(4, 3, seed=0), MaxPooling2D(), Flatten(),
                                Dense(3, seed=1)]), (2, 10, 9, 1)),
    "rnn": (lambda: Sequential([SimpleRNN(4, seed=0), Dense(2, seed=1)]), (2, 6, 3)),
    "mlp": (lambda: Sequential([Dense(5, activation="relu", seed=0), Dense(2, seed=1)]), (2, 7)),
}


@pytest.mark.parametrize("name", FIRST_CALL)
def test_to_keras_works_on_a_model_built_by_its_first_call(name):
    make, shape = FIRST_CALL[name]
    model = make()
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    expected = model.predict(x)
    assert model.input is None
    twin = keras_ref.to_keras(model)
    np.testing.assert_allclose(twin.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    x3 = np.random.default_rng(1).normal(size=(3, *shape[1:])).astype("float32")
    np.testing.assert_allclose(twin.predict(x3, verbose=0), model.predict(x3), rtol=1e-5,
                               atol=1e-6)
    back = keras_ref.from_keras(twin)
    np.testing.assert_allclose(back.predict(x), expected, rtol=1e-5, atol=1e-6)


def test_from_keras_reads_a_model_with_a_variable_time_axis():
    twin = keras.Sequential([keras.Input((None, 3)), keras.layers.SimpleRNN(4),
                             keras.layers.Dense(2)])
    model = keras_ref.from_keras(twin)
    for steps in (1, 7):
        x = np.random.default_rng(steps).normal(size=(2, steps, 3)).astype("float32")
        np.testing.assert_allclose(model.predict(x), twin.predict(x, verbose=0), rtol=1e-5,
                                   atol=1e-6)


def test_from_keras_refuses_an_empty_model():
    with pytest.raises(ValueError, match="no layers"):
        keras_ref.from_keras(keras.Sequential([keras.Input((3,))]))
