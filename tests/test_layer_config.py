"""One description of a layer: the registry of layer types and every layer's config.

Walks :func:`dlcourse.scratch.layer_types`, so that a new layer type is covered as soon as it is
registered, and fails until it has constructor cases below:

- every layer round-trips through ``get_config()`` / ``from_config()``: the same config, the same
  initial weights when seeded, and, with the weights copied, the same outputs;
- the config's keys are Keras's keys for the settings the from-scratch layer takes (plus
  ``seed``, which Keras keeps inside each initializer), and its values are Keras's own for the
  same constructor arguments;
- :func:`dlcourse.compress.layer_cost` has a formula for every type.

Only the comparisons with Keras import TensorFlow (through :mod:`dlcourse.keras_ref`).
"""

import inspect

import numpy as np
import pytest
from test_embedding import EMBEDDING_CONFIGS
from test_gru import GRU_CONFIGS
from test_lstm import LSTM_CONFIGS
from test_recurrent import SIMPLE_RNN_CONFIGS

from dlcourse import compress, scratch
from dlcourse.scratch import Dense, Layer, layer_types, register_layer

#: Constructor arguments that both libraries take, with the shape of one example, for every
#: layer type: defaults first, then non-default values of every setting, and a dtype.
CASES = {
    "Activation": [
        ({"activation": "relu"}, (5,)),
        ({"activation": "softmax", "dtype": "float64"}, (2, 4)),
        ({"activation": None, "name": "identity"}, (3,)),
    ],
    "BatchNormalization": [
        ({}, (4,)),
        ({"axis": 1, "momentum": 0.5, "epsilon": 0.01, "center": False}, (3, 4)),
        ({"scale": False, "dtype": "float64"}, (4, 4, 2)),
    ],
    "Conv2D": [
        ({"filters": 2, "kernel_size": 3}, (6, 5, 2)),
        ({"filters": 3, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same",
          "activation": "tanh", "kernel_regularizer": "l1", "seed": 1}, (7, 6, 2)),
        ({"filters": 1, "kernel_size": 1, "use_bias": False,
          "kernel_initializer": "glorot_normal", "bias_initializer": "ones",
          "dtype": "float64"}, (4, 4, 3)),
    ],
    "Dense": [
        ({"units": 3}, (4,)),
        ({"units": 2, "activation": "softmax", "use_bias": False,
          "kernel_initializer": "he_normal", "kernel_regularizer": "l2", "seed": 3}, (5,)),
        ({"units": 5, "activation": "relu", "bias_initializer": "ones", "dtype": "float64",
          "seed": 0, "name": "hidden"}, (3, 2)),
    ],
    "Dropout": [
        ({"rate": 0.5}, (6,)),
        ({"rate": 0.25, "seed": 7, "dtype": "float64"}, (3, 4)),
        ({"rate": 0.0}, (2,)),
    ],
    "Flatten": [
        ({}, (3, 4, 2)),
        ({"name": "flat", "dtype": "float64"}, (5,)),
    ],
    "MaxPooling2D": [
        ({}, (6, 6, 2)),
        ({"pool_size": (3, 2), "strides": (1, 2), "padding": "same"}, (5, 7, 1)),
        ({"pool_size": 2, "strides": 1, "dtype": "float64"}, (4, 4, 2)),
    ],
    "SimpleRNN": [
        ({"units": 3}, (5, 2)),
        ({"units": 2, "activation": "relu", "return_sequences": True, "use_bias": False,
          "recurrent_initializer": "glorot_uniform", "seed": 4}, (4, 3)),
        ({"units": 4, "activation": "sigmoid", "kernel_regularizer": "l2", "dtype": "float64",
          "seed": 2}, (1, 2)),
        *[(kwargs, (5, 3)) for kwargs in SIMPLE_RNN_CONFIGS],
    ],
    # The recurrent layers' and the embedding's configurations of their own tests (a sequence
    # of 5 steps of 3 features; 6 ids).
    "LSTM": [(kwargs, (5, 3)) for kwargs in LSTM_CONFIGS],
    "GRU": [(kwargs, (5, 3)) for kwargs in GRU_CONFIGS],
    "Embedding": [(kwargs, (6,)) for kwargs in EMBEDDING_CONFIGS],
    "LayerNormalization": [
        ({}, (4,)),
        ({"axis": 1, "epsilon": 0.01, "center": False}, (3, 4)),
        ({"scale": False, "dtype": "float64"}, (4, 2)),
    ],
    # Called as self-attention, layer(x, x) (see call below).
    "MultiHeadAttention": [
        ({"num_heads": 2, "key_dim": 3}, (5, 4)),
        ({"num_heads": 1, "key_dim": 2, "value_dim": 3, "output_shape": 6, "use_bias": False,
          "seed": 1, "dtype": "float64"}, (3, 4)),
        ({"num_heads": 2, "key_dim": 2, "dropout": 0.25, "seed": 3}, (4, 4)),
    ],
    "PositionEmbedding": [
        ({"sequence_length": 6}, (6, 3)),
        ({"sequence_length": 8, "seed": 2, "dtype": "float64"}, (5, 2)),
    ],
    "TransformerBlock": [
        ({"intermediate_dim": 8, "num_heads": 2}, (5, 4)),
        ({"intermediate_dim": 6, "num_heads": 1, "activation": "tanh",
          "layer_norm_epsilon": 1e-3, "use_causal_mask": True, "seed": 2, "dtype": "float64"},
         (3, 4)),
    ],
}

#: Layer types that take two inputs (query, value): called here as self-attention, layer(x, x).
TWO_INPUTS = {"MultiHeadAttention"}

#: The one key of a from-scratch config that is not Keras's for that layer: the seed of the
#: initial weights (Dense, Conv2D, SimpleRNN), which Keras keeps inside each initializer.
SCRATCH_ONLY = {"seed"}

ALL_CASES = [pytest.param(kind, kwargs, shape, id=f"{kind}-{i}")
             for kind in layer_types() for i, (kwargs, shape) in enumerate(CASES.get(kind, []))]


def batch(shape, n=3, seed=0, kind=None):
    """A batch of ``n`` examples of ``shape`` for layers of type ``kind``: float32 values, or
    ids in ``[0, input_dim)`` for a layer that takes integers (an Embedding, ``input_dim``
    from its cases: the smallest of them)."""
    rng = np.random.default_rng(seed)
    if kind is not None and layer_types()[kind].input_kind == "integer":
        high = min(kwargs["input_dim"] for kwargs, _ in CASES[kind])
        return rng.integers(0, high, size=(n, *shape))
    return rng.normal(size=(n, *shape)).astype("float32")


def call(layer, x, **kwargs):
    """``layer.forward(x)``, or ``layer.forward(x, x)`` for a layer of two inputs."""
    inputs = (x, x) if type(layer).__name__ in TWO_INPUTS else (x,)
    return layer.forward(*inputs, **kwargs)


# ------------------------------------------------------------------------------ the registry
def test_every_layer_type_has_cases():
    missing = sorted(set(layer_types()) - set(CASES))
    assert not missing, f"add constructor cases to CASES for {missing}"
    assert set(CASES) == set(layer_types())
    assert all(len(cases) >= 2 for cases in CASES.values())


def test_the_registry_is_the_layers_dlcourse_scratch_exports():
    exported = {obj for obj in (getattr(scratch, name) for name in scratch.__all__)
                if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer}
    assert set(layer_types().values()) == exported
    assert all(name == cls.__name__ for name, cls in layer_types().items())


def test_the_registry_cannot_be_changed_by_its_reader():
    types = layer_types()
    types.pop("Dense")
    assert "Dense" in layer_types()


def test_register_layer_refuses_a_second_type_of_the_same_name_and_non_layers():
    before = layer_types()

    class Dense(Layer):  # named like a registered type, defined elsewhere
        pass

    with pytest.raises(TypeError, match="a layer type named Dense is already registered "
                                        r"\(dlcourse.scratch.core.Dense\)"):
        register_layer(Dense)
    for not_a_layer in (int, Layer, object()):
        with pytest.raises(TypeError, match="expected a subclass of Layer"):
            register_layer(not_a_layer)

    class Shift(Layer):
        def __init__(self, name=None):
            super().__init__(name=name)

    with pytest.raises(TypeError, match=r"Shift.__init__ must take dtype, as every Keras layer"):
        register_layer(Shift)
    assert layer_types() == before


def test_a_new_layer_registers_where_it_is_defined():
    @register_layer
    class Scale(Layer):
        def __init__(self, factor=2.0, name=None, dtype=None):
            super().__init__(name=name, dtype=dtype)
            self.factor = factor

    try:
        assert layer_types()["Scale"] is Scale
        assert Scale(3.0, name="s").get_config() == {"name": "s", "dtype": None, "factor": 3.0}
        assert Scale.from_config({"factor": 0.5}).factor == 0.5
    finally:
        scratch.registry._layer_types.pop("Scale")


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize(("kind", "kwargs", "shape"), ALL_CASES)
def test_every_layer_round_trips_through_its_config(kind, kwargs, shape):
    cls = layer_types()[kind]
    layer = cls(**kwargs)
    config = layer.get_config()
    assert list(config) == list(cls.config_keys())
    twin = cls.from_config(config)
    assert type(twin) is cls and not twin.built
    assert twin.get_config() == config
    assert cls.from_config(dict(config)).get_config() == config  # from_config leaves it alone

    x = batch(shape, kind=kind)
    call(layer, x)
    call(twin, x)
    if config.get("seed") is not None:
        # The seed is part of the config, so a seeded layer starts from the same weights.
        for a, b in zip(twin.get_weights(), layer.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    twin.set_weights(layer.get_weights())
    # Built: the dtype is known now (the one given, else the input's), and carried along.
    built = layer.get_config()
    assert built == {**config, "dtype": built["dtype"]}
    assert built["dtype"]["config"]["name"] == kwargs.get("dtype", "float32")
    assert cls.from_config(built).get_config() == built

    for training in (False, True):
        if training and kind == "Dropout" and kwargs.get("seed") is None:
            continue  # unseeded masks differ from layer to layer, as in Keras
        y = call(layer, x, training=training)
        ys = y if isinstance(y, tuple) else (y,)  # return_state: (output, *states)
        twin_ys = call(twin, x, training=training)
        for ours, theirs in zip(ys, twin_ys if isinstance(twin_ys, tuple) else (twin_ys,),
                                strict=True):
            np.testing.assert_array_equal(theirs, ours)
            assert ours.dtype == np.dtype(kwargs.get("dtype", "float32"))


def test_custom_objects_are_kept_as_they_are():
    def small(shape, rng, dtype):
        return np.full(shape, 0.1, dtype)

    from dlcourse.scratch.regularizers import L1L2

    class Half(L1L2):
        pass

    penalty = Half(l2=0.1)
    layer = Dense(2, kernel_initializer=small, kernel_regularizer=penalty, seed=0)
    config = layer.get_config()
    assert config["kernel_initializer"] is small and config["kernel_regularizer"] is penalty
    twin = Dense.from_config(config)
    assert twin.kernel_initializer is small and twin.regularizers["kernel"] is penalty
    assert twin.get_config() == config


def test_regularizers_are_written_as_keras_writes_them():
    from dlcourse.scratch.regularizers import L1, L1L2, L2

    for penalty, written in [(L1(0.02), {"l1": 0.02}), (L2(0.03), {"l2": 0.03}),
                             (L1L2(l1=0.1, l2=0.2), {"l1": 0.1, "l2": 0.2})]:
        config = Dense(2, kernel_regularizer=penalty).get_config()["kernel_regularizer"]
        assert config == {"module": "keras.regularizers", "class_name": type(penalty).__name__,
                          "config": written, "registered_name": None}
        back = Dense.from_config({"units": 2, "kernel_regularizer": config})
        assert type(back.regularizers["kernel"]) is type(penalty)
        assert back.regularizers["kernel"].get_config() == written


@pytest.mark.parametrize(("config", "error", "match"), [
    ({"units": 2, "filters": 3}, ValueError,
     r"Dense.from_config\(\): unknown settings 'filters'; a from-scratch Dense takes name, "
     "dtype, units, activation"),
    ({"units": 2, "kernel_initializer": {"class_name": "Lecun", "config": {}}}, ValueError,
     r"kernel_initializer: unknown initializer 'Lecun'"),
    ({"units": 2, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": 1}}},
     ValueError, r"kernel_initializer: a from-scratch initializer takes no settings"),
    ({"units": 2, "kernel_regularizer": {"class_name": "Orthogonal", "config": {}}}, ValueError,
     r"kernel_regularizer: unknown regularizer 'Orthogonal'"),
    ({"units": 2, "kernel_regularizer": {"class_name": "L1", "config": {"l2": 0.1}}},
     ValueError, r"kernel_regularizer: L1 takes l1, got \{'l2': 0.1\}"),
    ({"units": 2, "dtype": "int32"}, TypeError, r"Dense 'dense.*': dtype must be a "
                                                "floating-point dtype"),
    ([("units", 2)], TypeError, r"Dense.from_config\(\): expected a dict"),
])
def test_from_config_refuses_what_it_cannot_build(config, error, match):
    with pytest.raises(error, match=match):
        Dense.from_config(config)


def test_a_given_dtype_survives_unbuilding():
    layer = Dense(2, dtype="float64", seed=0)
    layer.forward(np.ones((1, 3), "float32"))
    assert layer.dtype == np.float64
    layer._unbuild()
    assert layer.dtype == np.float64 and not layer.built
    free = Dense(2, seed=0)
    free.forward(np.ones((1, 3), "float32"))
    free._unbuild()
    assert free.dtype is None


# ------------------------------------------------------------------------------ against Keras
def keras_arguments(keras_cls, kwargs):
    """``kwargs`` without what the Keras constructor does not take (the from-scratch seed)."""
    parameters = inspect.signature(keras_cls.__init__).parameters
    return {k: v for k, v in kwargs.items() if k in parameters or k in ("name", "dtype")}


def test_every_layer_type_has_a_keras_twin_class(keras_ref):
    # keras.layers' class of the same name, or the twin dlcourse.keras_ref builds from Keras's
    # own layers where keras.layers has none (PositionEmbedding, TransformerBlock).
    for kind in layer_types():
        assert issubclass(keras_ref._keras_class(kind), keras_ref.keras.layers.Layer), kind


@pytest.mark.parametrize(("kind", "kwargs", "shape"), ALL_CASES)
def test_configs_have_keras_keys_and_values(keras_ref, kind, kwargs, shape):

    kwargs = {"name": "probe", **kwargs}
    layer = layer_types()[kind](**kwargs)
    call(layer, batch(shape, kind=kind))  # float32 data (or ids): Keras's default policy
    config = layer.get_config()
    keras_cls = keras_ref._keras_class(kind)
    theirs = keras_cls(**keras_arguments(keras_cls, kwargs)).get_config()

    # Every setting the from-scratch layer takes is in its config, under Keras's key.
    supported = set(layer.config_keys())
    assert set(config) == supported
    assert set(config) - set(theirs) <= SCRATCH_ONLY
    assert set(config) == (set(theirs) & supported) | (supported & SCRATCH_ONLY)
    for key in set(config) & set(theirs):
        ours = config[key]
        if key.endswith("_initializer"):
            # Keras's initializers have settings (a seed, ...); from-scratch ones have none,
            # except "uniform", which writes RandomUniform's fixed ones.
            assert ours["config"] in ({}, theirs[key]["config"])
            ours, theirs[key] = (({k: v for k, v in d.items() if k != "config"})
                                 for d in (ours, theirs[key]))
        if key.endswith("_regularizer") and ours is not None:
            # Keras's L1 keeps its factor as a float32 tensor: 0.01 is 0.009999999776482582.
            assert ours["config"] == pytest.approx(theirs[key]["config"], rel=1e-7)
            ours, theirs[key] = (({k: v for k, v in d.items() if k != "config"})
                                 for d in (ours, theirs[key]))
        assert ours == theirs[key], key
        assert type(ours) is type(theirs[key]), key


# ------------------------------------------------------------------------------ the cost model
@pytest.mark.parametrize(("kind", "kwargs", "shape"), ALL_CASES)
def test_layer_cost_covers_every_layer_type(kind, kwargs, shape):
    layer = layer_types()[kind](**kwargs)
    y = call(layer, batch(shape, kind=kind))
    if kwargs.get("return_state"):
        # A tuple of outputs (no Sequential takes it): refused rather than counted wrongly.
        with pytest.raises(ValueError, match="return_state=True is not counted here"):
            compress.layer_cost(layer, shape)
        layer = layer_types()[kind](**{**kwargs, "return_state": False})
        y = call(layer, batch(shape, kind=kind))
    cost = compress.layer_cost(layer, shape)
    assert cost.kind == kind
    assert cost.output_shape == y.shape[1:]
    assert cost.params == layer.count_params()
    assert cost.trainable_params == sum(g.size for g in layer.grads.values())
