"""The one list of layer types, and what a layer's config is made of.

:func:`register_layer` decorates every layer class where it is defined; :func:`layer_types` is
the list the conversion to Keras (:mod:`dlcourse.keras_ref`), the cost model
(:mod:`dlcourse.compress`) and the summary read, so a new layer is added in one place.
:func:`config_keys` gives the keys of a layer type's ``get_config()``: its constructor's arguments,
which a layer keeps under the same names (Keras's).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dlcourse.scratch.base import Layer

__all__ = ["config_keys", "layer_types", "register_layer", "regularized_weight",
           "regularizer_argument"]

_layer_types: dict[str, type[Layer]] = {}
#: How many layers of each automatic name exist (``dense``, ``dense_1``, ...), as in Keras;
#: ``set_random_seed`` restarts it.
_name_counts: defaultdict[str, int] = defaultdict(int)


def _snake_case(class_name: str) -> str:
    """Keras's ``to_snake_case``: ``Conv2D`` → ``conv2d``, ``SimpleRNN`` → ``simple_rnn``."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _next_name(cls: type) -> str:
    """The automatic name the next layer of class ``cls`` gets (``dense``, then ``dense_1``...)."""
    base = _snake_case(cls.__name__)
    count = _name_counts[base]
    return base if count == 0 else f"{base}_{count}"


def _check_name(cls: type, name) -> None:
    # Keras refuses '/' too: it separates the parts of a weight's path.
    if name is not None and (not isinstance(name, str) or not name or "/" in name):
        raise TypeError(f"{cls.__name__}: name must be a non-empty string without '/', "
                        f"got {name!r}")


def register_layer(cls: type[Layer]) -> type[Layer]:
    """Class decorator: list ``cls`` among the layer types, under its class name (Keras's).

    The one list of layer types: :func:`layer_types` returns it, :mod:`dlcourse.keras_ref`
    finds each layer's Keras twin in it and :mod:`dlcourse.compress` its cost formula. A new
    layer is decorated where it is defined, and nothing else lists it.
    """
    from dlcourse.scratch.base import Layer  # the base class imports this module

    if not (isinstance(cls, type) and issubclass(cls, Layer)) or cls is Layer:
        raise TypeError(f"register_layer: expected a subclass of Layer, got {cls!r}")
    missing = [key for key in ("name", "dtype")
               if key not in inspect.signature(cls.__init__).parameters]
    if missing:
        raise TypeError(f"register_layer: {cls.__name__}.__init__ must take "
                        f"{' and '.join(missing)}, as every Keras layer does (its config holds "
                        "them; Layer.__init__ checks them)")
    known = _layer_types.get(cls.__name__)
    # The same class defined again (a module reloaded) replaces itself; another one is refused.
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__,
                                                                        cls.__qualname__):
        raise TypeError(f"register_layer: a layer type named {cls.__name__} is already "
                        f"registered ({known.__module__}.{known.__qualname__}); layer types are "
                        "known by their class name, as in Keras")
    _layer_types[cls.__name__] = cls
    return cls


def layer_types() -> dict[str, type[Layer]]:
    """Every layer type by its class name (Keras's), e.g. ``{"Activation": Activation, ...}``.

    A new dict, in alphabetical order; changing it changes nothing.
    """
    return dict(sorted(_layer_types.items()))


@functools.cache
def config_keys(cls: type[Layer]) -> tuple[str, ...]:
    """``name``, ``dtype`` and the other arguments of ``cls``'s constructor, in order."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    return ("name", "dtype", *(p.name for p in parameters
                               if p.name not in ("self", "name", "dtype")
                               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)))


#: Keras's regularizer arguments not named after their weight (``{weight}_regularizer``).
_REGULARIZED_WEIGHTS = {"recurrent_regularizer": "recurrent_kernel"}


def regularized_weight(argument: str) -> str:
    """The weight a ``*_regularizer`` argument penalises: ``kernel_regularizer`` → ``kernel``,
    ``recurrent_regularizer`` → ``recurrent_kernel`` (Keras's names)."""
    return _REGULARIZED_WEIGHTS.get(argument, argument.removesuffix("_regularizer"))


def regularizer_argument(weight: str) -> str:
    """The constructor argument of the penalty on ``weight``: the inverse of
    :func:`regularized_weight`."""
    inverse = {w: a for a, w in _REGULARIZED_WEIGHTS.items()}
    return inverse.get(weight, f"{weight}_regularizer")
