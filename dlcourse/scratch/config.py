"""A layer's settings as Keras writes them in ``get_config()``, and back.

A from-scratch layer's config holds its constructor's arguments under Keras's names, each value in
the format of Keras's own ``get_config()``, so that one dict describes the layer in both libraries
(:meth:`~dlcourse.scratch.Layer.get_config`). The formats, chosen by the argument's name:

- ``activation`` (and ``recurrent_activation``...): the Keras name, ``"relu"`` (``None`` is
  ``"linear"``, as in Keras);
- ``*_initializer``, ``*_regularizer``: Keras's serialised object,
  ``{"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01},
  "registered_name": None}``. A from-scratch initializer takes no settings, so its ``config``
  is ``{}`` (``"uniform"``: Keras's fixed ``RandomUniform`` settings ``{minval: -0.05,
  maxval: 0.05, seed: None}``): its random numbers come from the layer's ``seed``;
- ``dtype``: Keras's dtype policy, ``{"module": "keras", "class_name": "DTypePolicy",
  "config": {"name": "float32"}, "registered_name": None}``, or ``None`` while the layer has no
  dtype yet (none given, not built: it will compute in its first input's dtype);
- everything else as plain Python values, pairs as tuples (``kernel_size=(3, 3)``).

An object Keras could not name (an activation function or an initializer of your own, a subclass
of a regularizer) is kept as the object itself: ``from_config`` hands it back to the constructor,
and :func:`dlcourse.keras_ref.to_keras` refuses it by name.
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch import activations, initializers, regularizers

__all__ = ["from_config", "to_config"]

_REGULARIZERS = {cls.__name__: cls for cls in (regularizers.L1, regularizers.L2,
                                                 regularizers.L1L2)}


def _keras_object(module: str, class_name: str, config: dict) -> dict:
    """Keras's serialised form of a built-in object (``keras.saving.serialize_keras_object``)."""
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": None}


# Named initializers whose Keras class is not the name in CamelCase, with the settings Keras
# writes for them: "uniform" is RandomUniform(minval=-0.05, maxval=0.05).
_KERAS_INITIALIZERS = {"uniform": ("RandomUniform", {"minval": initializers.UNIFORM_RANGE[0],
                                                     "maxval": initializers.UNIFORM_RANGE[1],
                                                     "seed": None})}


def _class_name(snake: str) -> str:
    """``glorot_uniform`` → ``GlorotUniform``, Keras's class of a named initializer."""
    if snake in _KERAS_INITIALIZERS:
        return _KERAS_INITIALIZERS[snake][0]
    return "".join(part.capitalize() for part in snake.split("_"))


def _initializer_settings(name: str) -> dict:
    """The settings Keras writes for the named initializer (none for most)."""
    return dict(_KERAS_INITIALIZERS.get(name, (None, {}))[1])


def to_config(argument: str, value):
    """``value`` of constructor argument ``argument`` as Keras writes it in a config."""
    if argument.endswith("activation"):
        named = (isinstance(value, activations.ActivationFunction)
                 and value.name in activations.names() and activations.get(value.name) is value)
        return value.name if named else value
    if argument.endswith("_initializer"):
        name = getattr(value, "__name__", None)
        if name in initializers.names() and initializers.get(name) is value:
            return _keras_object("keras.initializers", _class_name(name),
                                 _initializer_settings(name))
        return value
    if argument.endswith("_regularizer"):
        if value is not None and _REGULARIZERS.get(type(value).__name__) is type(value):
            return _keras_object("keras.regularizers", type(value).__name__, value.get_config())
        return value
    if argument == "dtype":
        if value is None:
            return None
        return _keras_object("keras", "DTypePolicy", {"name": np.dtype(value).name})
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return _plain(value)


def _plain(value):
    """A NumPy scalar as the Python number it holds (Keras's configs hold Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def from_config(argument: str, value, owner: str):
    """The constructor argument that a config's ``value`` for ``argument`` stands for.

    The inverse of :func:`to_config`; anything else (a name such as ``"l2"``, an object) is
    passed on as it is, for the constructor to check. ``owner`` (e.g.
    ``"Dense.from_config()"``) prefixes the errors.
    """
    if not isinstance(value, dict):
        return value
    class_name, config = value.get("class_name"), value.get("config", {})
    if argument == "dtype" and class_name == "DTypePolicy" and isinstance(config, dict):
        return config.get("name")
    if argument.endswith("_initializer"):
        names = {_class_name(name): name for name in initializers.names()}
        if class_name not in names:
            raise ValueError(f"{owner}: {argument}: unknown initializer {class_name!r}; "
                             f"expected one of {sorted(names)}")
        expected = _initializer_settings(names[class_name])
        if config and config != expected:
            fixed = f" other than {expected!r}" if expected else ""
            raise ValueError(f"{owner}: {argument}: a from-scratch initializer takes no settings"
                             f"{fixed} (its random numbers come from the layer's seed), got "
                             f"{config!r}")
        return names[class_name]
    if argument.endswith("_regularizer"):
        if class_name not in _REGULARIZERS or not isinstance(config, dict):
            raise ValueError(f"{owner}: {argument}: unknown regularizer {class_name!r}; "
                             f"expected one of {sorted(_REGULARIZERS)}")
        try:
            return _REGULARIZERS[class_name](**config)
        except TypeError as err:  # a factor the class does not take (L1 has no l2)
            raise ValueError(f"{owner}: {argument}: {class_name} takes "
                             f"{', '.join(_REGULARIZERS[class_name]().get_config())}, got "
                             f"{config!r}") from err
    return value
