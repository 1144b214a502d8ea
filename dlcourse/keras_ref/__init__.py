"""The Keras twins of the from-scratch models: the only package of dlcourse that imports TensorFlow.

- :func:`to_keras` turns a from-scratch :class:`~dlcourse.scratch.Sequential` into a
  ``keras.Sequential`` with the same layers and the same weights; :func:`from_keras` goes back.
  Both work from the layer types of :func:`dlcourse.scratch.layer_types` and the layers'
  configs, which share Keras's keys and formats: a new from-scratch layer needs nothing here.
- :func:`keras_optimizer` and :func:`keras_loss` translate a from-scratch optimizer or loss.
- :func:`mlp_twins`, :func:`mnist_cnn_twins`, :func:`rnn_twins` build the course's reference
  models twice, from scratch and in Keras, with identical initial weights.

Moving weights between twins is one line each way, because the from-scratch layers use Keras's
weight names, order and shapes::

    keras_layer.set_weights(scratch_layer.get_weights())
    scratch_layer.set_weights(keras_layer.get_weights())

Importing this module silences TensorFlow's C++ logging (unless ``TF_CPP_MIN_LOG_LEVEL`` is
already set) so that pages and test output show only what the course prints. That variable alone
is not enough: on CPUs with AVX512_VNNI or AVX512_BF16 (Intel Cascade Lake and newer, AMD Zen 4
and newer) TensorFlow turns oneDNN on and says so through absl logging, which ignores it and
writes straight to the process's stderr (file descriptor 2, under Python's ``sys.stderr``), at
import. So the import runs with descriptor 2 captured
(:func:`dlcourse.native_log.native_stderr_filtered`): log lines below the level
``TF_CPP_MIN_LOG_LEVEL`` asks for are dropped, anything else is passed on.
oneDNN itself stays as TensorFlow chose (``TF_ENABLE_ONEDNN_OPTS=0`` turns it off).
"""

from __future__ import annotations

import os
from typing import NamedTuple

from dlcourse import scratch
from dlcourse.native_log import native_stderr_filtered
from dlcourse.scratch import losses as scratch_losses
from dlcourse.scratch import models as scratch_models
from dlcourse.scratch import optimizers as scratch_optimizers
from dlcourse.scratch.base import regularizer_argument

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

with native_stderr_filtered():
    import tensorflow as tf
    from tensorflow import keras

tf.get_logger().setLevel("ERROR")

from dlcourse.keras_ref.layers import PositionEmbedding, TransformerBlock  # noqa: E402

__all__ = ["PositionEmbedding", "TransformerBlock", "Twins", "from_keras", "keras", "keras_loss",
           "keras_optimizer", "mlp_twins", "mnist_cnn_twins", "rnn_twins", "tf", "to_keras"]

# What to_keras and from_keras carry over for a layer type is its from-scratch config's keys
# (_carried): Keras's keys for the settings both libraries have, by the same names. Every other
# setting of a Keras layer (its get_config()) must be Keras's default, or not change what the
# layer computes once its weights are copied (_NO_EFFECT); anything else is refused by name, so
# that a twin never computes something else.
#
# Keras settings that do not change what a layer computes once its weights are copied: its
# name; its dtype (checked model-wide, _keras_dtype); the seed of its dropout masks or of a
# from-scratch layer's initial weights (each library draws its own); unroll (the same loop,
# run step by step in the graph) and use_cudnn (the same loop, run by cuDNN on a GPU);
# synchronized (the statistics of the whole batch across devices, which is what the
# from-scratch layer computes). Initializers (any "*_initializer") and Embedding's constructor
# argument weights only choose weights that are then overwritten. Everything else not carried
# must be at Keras's default, and is refused by name otherwise: dropout, recurrent_dropout,
# stateful, zero_output_for_mask=True (zeros at the masked steps instead of the last output),
# constraints, Embedding's lora_rank.
_NO_EFFECT = frozenset({"name", "dtype", "seed", "unroll", "use_cudnn", "synchronized",
                        "weights"})

# Settings whose Keras default follows the Keras configuration (keras.config.
# set_image_data_format), so a default layer does not say what the from-scratch one computes.
_REQUIRED = {"data_format": "channels_last"}

# Layer types that no Sequential can hold, so that to_keras and from_keras refuse them by name,
# with the reason.
_NOT_SEQUENTIAL = {
    "MultiHeadAttention": "it takes two inputs, layer(query, value), and a Sequential passes "
                          "one (in Keras as here); call it yourself, e.g. layer(x, x)",
}

# The dtype policies a from-scratch model can follow: one floating-point dtype throughout.
_FLOAT_POLICIES = ("float16", "float32", "float64")


class Twins(NamedTuple):
    """A from-scratch model and its Keras twin with the same initial weights."""

    scratch: scratch.Sequential
    keras: keras.Model


def _describe(value) -> str:
    """A setting's value for a message: serialized Keras objects as ``ClassName(arg=...)``."""
    if isinstance(value, dict) and "class_name" in value:
        args = ", ".join(f"{k}={v!r}" for k, v in (value.get("config") or {}).items())
        return f"{value['class_name']}({args})"
    return repr(value)


def _no_effect(setting: str) -> bool:
    return setting in _NO_EFFECT or setting.endswith("_initializer")


def _carried(kind: str) -> tuple[str, ...]:
    """The settings of layer type ``kind`` that a twin carries over: its config's keys (Keras's
    names), except those that do not change what it computes (:data:`_NO_EFFECT`)."""
    return tuple(key for key in scratch.layer_types()[kind].config_keys()
                 if not _no_effect(key))


class _TypePair(NamedTuple):
    scratch: type
    keras: type


def _keras_class(kind: str) -> type:
    """``keras.layers.<kind>``, or the twin this module builds from Keras's layers
    (:data:`_COMPOSITE_TWINS`, e.g. :class:`TransformerBlock`)."""
    return _COMPOSITE_TWINS.get(kind) or getattr(keras.layers, kind)


def _twin_types() -> dict[str, _TypePair]:
    """Every from-scratch layer type with a Keras layer class of the same name (in keras.layers
    or :data:`_COMPOSITE_TWINS`), by that name, except those that no Sequential can hold
    (:data:`_NOT_SEQUENTIAL`)."""
    return {kind: _TypePair(cls, _keras_class(kind))
            for kind, cls in scratch.layer_types().items()
            if (hasattr(keras.layers, kind) or kind in _COMPOSITE_TWINS)
            and kind not in _NOT_SEQUENTIAL}


def _refuse(owner: str, layer_desc: str, kind: str, settings: list[str]) -> ValueError:
    supported = ", ".join(_carried(kind)) or "no settings besides its name"
    what = "setting" if len(settings) == 1 else "settings"
    return ValueError(f"{owner}: {layer_desc}: {what} {', '.join(settings)} cannot be carried "
                      f"over (the twin would not compute or train the same); {kind} twins "
                      f"support {supported}, everything else at Keras's default")


def _twin_kind(layer, library: str, owner: str) -> str:
    """The layer's type name, if the type has a twin and the layer is exactly of that type.

    ``library`` (``"scratch"`` or ``"keras"``) is where ``layer`` comes from. A subclass (even
    one named like a supported layer) may compute anything: refused.
    """
    kind = type(layer).__name__
    if kind in _NOT_SEQUENTIAL:
        raise TypeError(f"{owner}: layer '{layer.name}' is a {kind}, which has no twin in a "
                        f"Sequential: {_NOT_SEQUENTIAL[kind]}")
    twins = _twin_types()
    if kind not in twins:
        raise TypeError(f"{owner}: no twin for layers of type {kind}; supported: "
                        f"{', '.join(twins)}")
    expected = getattr(twins[kind], library)
    if type(layer) is not expected:
        raise TypeError(f"{owner}: layer '{layer.name}' is a {type(layer).__module__}.{kind}, "
                        f"not {expected.__module__}.{kind}: a subclass may compute something "
                        "else, so it has no twin")
    return kind


# ------------------------------------------------------------------------------ to Keras
def _scratch_settings(layer, kind: str, owner: str) -> dict:
    """The carried part of a from-scratch layer's config, refusing what has no twin.

    The config is already in Keras's formats; what it cannot write so (a custom activation, a
    subclass of a regularizer) it holds as the object itself, and that is refused here, as is a
    penalty on a weight that the config has no key for (``regularizers["bias"]``).
    """
    config = layer.get_config()
    args = _carried(kind)
    refused = [f"regularizers[{weight!r}]={reg!r}" for weight, reg in layer.regularizers.items()
               if regularizer_argument(weight) not in args]
    for arg in args:
        value = config[arg]
        if arg.endswith("activation") and not isinstance(value, str):
            refused.append(f"{arg}={value!r} (supported: the named activations "
                           f"{', '.join(scratch.activations.names())})")
        elif arg.endswith("_regularizer") and not (value is None or isinstance(value, dict)):
            refused.append(f"{arg}={value!r} (supported: L1, L2, L1L2 or None)")
    if refused:
        raise _refuse(owner, repr(layer), kind, refused)
    return {arg: config[arg] for arg in args}


def _scratch_dtype(model: scratch.Sequential, owner: str) -> str:
    """The one dtype of every layer (Keras twins are built with one)."""
    dtype = model.layers[0].dtype
    for layer in model.layers[1:]:
        if layer.dtype != dtype:
            raise ValueError(f"{owner}: {layer!r} computes in {layer.dtype} but "
                             f"{model.layers[0]!r} in {dtype}; a twin is built with one dtype "
                             "throughout: rebuild the model with one")
    return str(dtype)


def to_keras(model: scratch.Sequential) -> keras.Sequential:
    """A ``keras.Sequential`` with the same layers, names, dtype and weights as ``model``.

    The from-scratch model must be built (start it with ``Input(shape)`` or run it once).
    Settings that Keras cannot carry over (a penalty on a bias, an activation that is not one
    of Keras's) are refused by name. A model started with ``Input(shape)`` gives a Keras model
    with ``keras.Input(shape)``; one built by its first call keeps only what the first call
    fixed (e.g. the channels of a Conv2D): its twin's layers get their weights from the same
    shapes and the twin, like the model, takes its full input shape from its first call.
    Compile the result yourself, e.g. with :func:`keras_optimizer` and :func:`keras_loss`.
    """
    owner = "to_keras()"
    if not isinstance(model, scratch.Sequential):
        raise TypeError(f"{owner}: expected a dlcourse.scratch.Sequential, "
                        f"got {type(model).__name__}")
    kinds = [_twin_kind(layer, "scratch", owner) for layer in model.layers]  # before building
    model._check_built(owner)
    dtype = _scratch_dtype(model, owner)
    layers = []
    for layer, kind in zip(model.layers, kinds, strict=True):
        config = {**_scratch_settings(layer, kind, owner), "name": layer.name, "dtype": dtype}
        layers.append(_keras_class(kind).from_config(config))
    input_shape = model.input.shape if model.input else model.layers[0].input_shape
    # A model that starts with ids (an Embedding) takes int32, as Keras's Embedding expects.
    input_dtype = "int32" if model.layers[0].input_kind == "integer" else dtype
    if None in input_shape:
        # Built by a first call: only some axes are known (Keras's Input would need them all).
        # Each Keras layer creates its weights from the shape its twin was built for.
        for ours, theirs in zip(model.layers, layers, strict=True):
            if ours.params:
                theirs.build((None, *ours.input_shape))
        twin = keras.Sequential(layers, name=model.name)
    else:
        twin = keras.Sequential([keras.Input(shape=input_shape, dtype=input_dtype), *layers],
                                name=model.name)
    twin.set_weights(model.get_weights())
    return twin


# ------------------------------------------------------------------------------ from Keras
def _keras_config(layer) -> dict:
    """``layer.get_config()``, with the activity regularizer that some layers (Dense) omit."""
    config = dict(layer.get_config())
    if "activity_regularizer" not in config:
        reg = getattr(layer, "activity_regularizer", None)
        config["activity_regularizer"] = (None if reg is None
                                          else keras.regularizers.serialize(reg))
    return config


def _default_keras_config(kind: str, config: dict) -> dict:
    """The config of a Keras layer with the settings carried over from ``config`` and every
    other one at its default.

    Named explicitly, so that building it does not move Keras's automatic layer names on.
    """
    carried = {arg: config[arg] for arg in _carried(kind)}
    return _keras_config(_keras_class(kind)(**carried, name="default"))


def _same(value, default) -> bool:
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(default, list):
        default = tuple(default)
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _keras_activation(layer, setting: str = "activation") -> str | None:
    """The name of the layer's activation (or ``recurrent_activation``...) if it is one of
    Keras's that has a from-scratch twin: read from the layer, whose config may name a function
    that is not the one it calls."""
    function = getattr(layer, setting)
    for name in scratch.activations.names():
        if function is keras.activations.get(name):
            return name
    return None


def _keras_regularizer_known(reg) -> bool:
    """Whether a Keras regularizer has a from-scratch twin (L1, L2, L1L2, or None)."""
    return reg is None or type(reg) in (keras.regularizers.L1, keras.regularizers.L2,
                                        keras.regularizers.L1L2)


def _keras_settings(layer, kind: str, owner: str) -> dict:
    """The carried part of a Keras layer's config, refusing what has no twin."""
    desc = f"{kind} '{layer.name}'"
    args = _carried(kind)
    # The activation and the regularizers first: a custom one may not even serialize.
    refused = []
    activations = [arg for arg in args if arg.endswith("activation")]
    for arg in activations:
        if _keras_activation(layer, arg) is None:
            function = getattr(layer, arg)
            refused.append(f"{arg}={getattr(function, '__name__', repr(function))} (supported: "
                           f"{', '.join(scratch.activations.names())})")
    for arg in args:
        reg = getattr(layer, arg, None) if arg.endswith("_regularizer") else None
        if not _keras_regularizer_known(reg):
            refused.append(f"{arg}={type(reg).__name__} (supported: L1, L2, L1L2 or None)")
    if refused:
        raise _refuse(owner, desc, kind, refused)
    try:
        config = _keras_config(layer)
    except Exception as err:  # a custom object inside (a constraint, say) without get_config
        raise ValueError(f"{owner}: {desc}: its settings cannot be read, so cannot be checked "
                         f"({type(err).__name__}: {err})") from err
    default = _default_keras_config(kind, config)
    for key, value in config.items():
        if key in args or key in _NO_EFFECT or key.endswith("_initializer"):
            continue
        expected = _REQUIRED.get(key, default.get(key))
        if not _same(value, expected):
            refused.append(f"{key}={_describe(value)} (Keras's default: {_describe(expected)})")
    if refused:
        raise _refuse(owner, desc, kind, refused)
    # Keras's formats are the config's; only the activations are read from the layer.
    kwargs = {arg: tuple(config[arg]) if isinstance(config[arg], list) else config[arg]
              for arg in args}
    kwargs.update({arg: _keras_activation(layer, arg) for arg in activations})
    return kwargs


def _keras_dtype(keras_model: keras.Sequential, owner: str) -> str:
    """The one floating-point dtype policy of every layer (a from-scratch model has one)."""
    first = keras_model.layers[0]
    for layer in keras_model.layers:
        policy = layer.dtype_policy.name
        if policy not in _FLOAT_POLICIES or policy != first.dtype_policy.name:
            raise ValueError(f"{owner}: {type(layer).__name__} '{layer.name}' has dtype policy "
                             f"{policy!r} (the first layer: {first.dtype_policy.name!r}); a "
                             "from-scratch model computes in one dtype throughout, one of "
                             f"{', '.join(_FLOAT_POLICIES)}")
    return first.dtype_policy.name


def from_keras(keras_model: keras.Model) -> scratch.Sequential:
    """A from-scratch ``Sequential`` with the same layers, names, dtype and weights.

    Every setting of every Keras layer is either carried over or checked to be one that does
    not change the computation (Keras's default, an initializer, a name); anything else, e.g.
    ``dilation_rate=(2, 2)``, ``go_backwards=True``, ``data_format="channels_first"``, a
    constraint, a bias regularizer, ``trainable=False``, is refused by name.
    """
    owner = "from_keras()"
    if not isinstance(keras_model, keras.Sequential):
        raise TypeError(f"{owner}: expected a keras.Sequential, "
                        f"got {type(keras_model).__name__}")
    if not keras_model.layers:
        raise ValueError(f"{owner}: the Keras model has no layers")
    kinds = [_twin_kind(layer, "keras", owner) for layer in keras_model.layers]
    if not keras_model.built:
        raise ValueError(f"{owner}: the Keras model has no weights yet; give it a "
                         "keras.Input(shape) or call it on a batch first")
    dtype = _keras_dtype(keras_model, owner)
    layers = []
    for layer, kind in zip(keras_model.layers, kinds, strict=True):
        config = {**_keras_settings(layer, kind, owner), "name": layer.name}
        if scratch.layer_types()[kind].input_kind == "integer":
            config["dtype"] = dtype  # its input (ids) cannot say which dtype it computes in
        layers.append(scratch.layer_types()[kind].from_config(config))
    input_shape = tuple(keras_model.input_shape[1:])
    if None in input_shape:
        # A variable axis (e.g. the time axis of keras.Input((None, features))): build each
        # layer for the shape its Keras twin was built for, as a model built by a first call.
        model = scratch.Sequential(layers, name=keras_model.name)
        for ours, theirs in zip(layers, keras_model.layers, strict=True):
            ours._ensure_built((None, *tuple(theirs.input.shape)[1:]), dtype)
    else:
        first = layers[0].input_kind == "integer"
        model = scratch.Sequential([scratch.Input(input_shape, dtype="int32" if first else dtype),
                                    *layers], name=keras_model.name)
    model.set_weights(keras_model.get_weights())
    return model


def keras_optimizer(optimizer) -> keras.optimizers.Optimizer:
    """The Keras optimizer with the same rule and settings as a from-scratch one."""
    optimizer = scratch_optimizers.get(optimizer)
    return getattr(keras.optimizers, type(optimizer).__name__)(**optimizer.get_config())


def keras_loss(loss) -> keras.losses.Loss:
    """The Keras loss with the same formula and settings as a from-scratch one."""
    loss = scratch_losses.get(loss)
    return getattr(keras.losses, type(loss).__name__)(**loss.get_config())


_COMPOSITE_TWINS = {"PositionEmbedding": PositionEmbedding, "TransformerBlock": TransformerBlock}


def _twins(model: scratch.Sequential) -> Twins:
    return Twins(model, to_keras(model))


def mlp_twins(input_dim: int = 784, hidden=(128,), outputs: int = 10, activation="relu",
              output_activation=None, seed: int = 0, dtype="float32") -> Twins:
    """The MLP of :func:`dlcourse.scratch.models.mlp` and its Keras twin, same weights."""
    return _twins(scratch_models.mlp(input_dim, hidden, outputs, activation, output_activation,
                                     seed, dtype))


def mnist_cnn_twins(seed: int = 0, output_activation=None, dtype="float32") -> Twins:
    """The classic Keras MNIST convnet from scratch and in Keras, same weights."""
    return _twins(scratch_models.mnist_cnn(seed, output_activation, dtype))


def rnn_twins(timesteps: int, features: int, units: int = 32, outputs: int = 1,
              activation="tanh", output_activation=None, return_sequences=False, seed: int = 0,
              dtype="float32") -> Twins:
    """A SimpleRNN read-out model from scratch and in Keras, same weights."""
    return _twins(scratch_models.rnn(timesteps, features, units, outputs, activation,
                                     output_activation, return_sequences, seed, dtype))
