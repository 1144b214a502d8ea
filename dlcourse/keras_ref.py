"""The Keras twins of the from-scratch models: the only module of dlcourse that imports TensorFlow.

- :func:`to_keras` turns a from-scratch :class:`~dlcourse.scratch.Sequential` into a
  ``keras.Sequential`` with the same layers and the same weights; :func:`from_keras` goes back.
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
import. So the import runs with descriptor 2 captured (:func:`_native_stderr_filtered`): log
lines below the level ``TF_CPP_MIN_LOG_LEVEL`` asks for are dropped, anything else is passed on.
oneDNN itself stays as TensorFlow chose (``TF_ENABLE_ONEDNN_OPTS=0`` turns it off).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from typing import NamedTuple

import numpy as np

from dlcourse import scratch
from dlcourse.scratch import losses as scratch_losses
from dlcourse.scratch import models as scratch_models
from dlcourse.scratch import optimizers as scratch_optimizers
from dlcourse.scratch import regularizers as scratch_regularizers

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# A line of TensorFlow's/absl's C++ log: severity letter (Info, Warning, Error, Fatal), date, time,
# thread, source file, e.g. "I0000 00:00:1796452178.608361    2841 port.cc:153] oneDNN custom ...".
_NATIVE_LOG_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:[\d.]+\s+\d+ \S+:\d+\] ")
# What absl prints once, before the first line it logs without having been initialised.
_ABSL_BANNER = ("WARNING: All log messages before absl::InitializeLog() is called are written "
                "to STDERR")


def _quiet_native_log(text: str, min_level: int) -> str:
    """``text`` without the log lines below ``min_level`` (0 info, 1 warning, 2 error, 3 fatal).

    Mirrors ``TF_CPP_MIN_LOG_LEVEL``: 3 drops info, warning and error lines (never a fatal one),
    0 drops nothing. A record may span lines (cpu_feature_guard's does): the lines after a
    dropped log line go with it, up to the next log line. Other lines are kept.
    """
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        match = _NATIVE_LOG_LINE.match(line)
        if match:
            dropping = "IWEF".index(match.group(1)) < min(min_level, 3)
        elif line.rstrip("\n") == _ABSL_BANNER:
            dropping = min_level > 0
        if not dropping:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def _native_stderr_filtered():
    """Capture file descriptor 2 (C/C++ writes) for the block; pass on what the level allows.

    Python's ``sys.stderr`` is left alone: a Python warning raised in the block still shows
    where it always would. In Jupyter, descriptor 2 is the pipe the kernel forwards to the
    notebook, so restoring it restores the forwarding.
    """
    try:
        min_level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        min_level = 0
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (a detached process): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            rest = _quiet_native_log(captured.read().decode("utf-8", "replace"), min_level)
            if rest:
                os.write(2, rest.encode("utf-8"))


with _native_stderr_filtered():
    import tensorflow as tf
    from tensorflow import keras

tf.get_logger().setLevel("ERROR")

__all__ = ["Twins", "from_keras", "keras", "keras_loss", "keras_optimizer", "mlp_twins",
           "mnist_cnn_twins", "rnn_twins", "tf", "to_keras"]

# The constructor arguments that define each layer, by the name shared in both libraries.
_LAYER_ARGS = {
    "Dense": ("units", "activation", "use_bias", "kernel_regularizer"),
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "activation", "use_bias",
               "kernel_regularizer"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "Flatten": (),
    "SimpleRNN": ("units", "activation", "return_sequences", "use_bias", "kernel_regularizer"),
    "Dropout": ("rate",),
    "Activation": ("activation",),
    "BatchNormalization": ("axis", "momentum", "epsilon", "center", "scale"),
}


class Twins(NamedTuple):
    """A from-scratch model and its Keras twin with the same initial weights."""

    scratch: scratch.Sequential
    keras: keras.Model


def _scratch_value(layer, arg):
    value = getattr(layer, arg)
    if arg == "activation":
        return getattr(value, "name", value) or "linear"
    if arg == "kernel_regularizer":
        value = layer.regularizers.get("kernel")
        if value is None:
            return None
        return keras.regularizers.L1L2(l1=value.l1, l2=value.l2)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _keras_value(layer, arg, config):
    if arg == "activation":
        value = config["activation"]
        return None if value == "linear" else value
    if arg == "kernel_regularizer":
        reg = layer.kernel_regularizer
        if reg is None:
            return None
        cfg = reg.get_config()
        return scratch_regularizers.L1L2(l1=float(cfg.get("l1", 0.0)),
                                         l2=float(cfg.get("l2", 0.0)))
    value = config[arg]
    return tuple(value) if isinstance(value, list) else value


def _layer_args(kind: str, owner: str):
    if kind not in _LAYER_ARGS:
        raise TypeError(f"{owner}: no twin for layers of type {kind}; supported: "
                        f"{', '.join(sorted(_LAYER_ARGS))}")
    return _LAYER_ARGS[kind]


def to_keras(model: scratch.Sequential) -> keras.Sequential:
    """A ``keras.Sequential`` with the same layers, names, dtype and weights as ``model``.

    The from-scratch model must be built (start it with ``Input(shape)`` or run it once).
    Compile the result yourself, e.g. with :func:`keras_optimizer` and :func:`keras_loss`.
    """
    if not isinstance(model, scratch.Sequential):
        raise TypeError(f"to_keras(): expected a dlcourse.scratch.Sequential, "
                        f"got {type(model).__name__}")
    model._check_built("to_keras()")
    input_shape = model.input.shape if model.input else model.layers[0].input_shape
    dtype = str(model.layers[0].dtype)
    layers = [keras.Input(shape=input_shape, dtype=dtype)]
    for layer in model.layers:
        kind = type(layer).__name__
        kwargs = {arg: _scratch_value(layer, arg) for arg in _layer_args(kind, "to_keras()")}
        layers.append(getattr(keras.layers, kind)(**kwargs, name=layer.name, dtype=dtype))
    twin = keras.Sequential(layers, name=model.name)
    twin.set_weights(model.get_weights())
    return twin


def from_keras(keras_model: keras.Model) -> scratch.Sequential:
    """A from-scratch ``Sequential`` with the same layers, names, dtype and weights."""
    if not isinstance(keras_model, keras.Sequential):
        raise TypeError(f"from_keras(): expected a keras.Sequential, "
                        f"got {type(keras_model).__name__}")
    if not keras_model.built:
        raise ValueError("from_keras(): the Keras model has no weights yet; give it a "
                         "keras.Input(shape) or call it on a batch first")
    dtype = keras_model.layers[0].dtype if keras_model.layers else "float32"
    layers = [scratch.Input(tuple(keras_model.input_shape[1:]), dtype=dtype)]
    for layer in keras_model.layers:
        kind = type(layer).__name__
        config = layer.get_config()
        kwargs = {arg: _keras_value(layer, arg, config)
                  for arg in _layer_args(kind, "from_keras()")}
        layers.append(getattr(scratch, kind)(**kwargs, name=layer.name))
    model = scratch.Sequential(layers, name=keras_model.name)
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
