"""The from-scratch ``Layer``: Keras's vocabulary, NumPy's arithmetic.

Every layer of :mod:`dlcourse.scratch` follows one contract, the same as Keras where Keras has one:

- ``forward(x, training=False)`` computes the output and keeps a small named cache of this call
  (only the last call: nothing grows from call to call);
- ``backward(grad_output)`` returns ``dJ/dx`` and fills ``grads`` with ``dJ/dw`` for every weight;
- ``params`` and ``grads`` are dicts keyed by Keras's weight names in Keras's order
  (``kernel``, ``recurrent_kernel``, ``bias``), with Keras's shapes;
- weights are created on the first ``forward`` from the input shape (``build``), as Keras does;
- ``get_weights()`` / ``set_weights(list)`` exchange exactly the lists of the Keras twin's own
  ``get_weights()`` / ``set_weights()``, so moving weights across is one line each way;
- ``get_config()`` returns the settings under Keras's keys, in Keras's formats, and
  ``from_config(config)`` builds an unbuilt layer with those settings again.

Every layer type is decorated with :func:`register_layer` where it is defined: that is the one list
of layer types (:func:`layer_types`), which the conversion to Keras and the cost model read.

Errors name the layer, what was expected and what was given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from dlcourse.scratch import config as config_format

# Defined in registry and validation; imported here too because every layer module imports
# Layer with them.
from dlcourse.scratch.registry import (
    _check_name,
    _name_counts,
    _next_name,
    _snake_case,
    config_keys,
    layer_types,
    register_layer,
    regularized_weight,
    regularizer_argument,
)
from dlcourse.validation import check_array, check_bool, check_ids, check_seed

__all__ = ["Layer", "check_ids", "get_rng", "layer_types", "register_layer",
           "regularized_weight", "regularizer_argument", "set_random_seed"]

_rng = np.random.default_rng(0)


def set_random_seed(seed: int) -> None:
    """Seed every random choice of :mod:`dlcourse.scratch` made without an explicit ``seed``.

    The counterpart of ``keras.utils.set_random_seed``: weight initialisation, dropout masks and
    the shuffling in ``fit`` then repeat exactly from run to run. Also restarts automatic layer
    names (``dense``, ``dense_1``, ...). ``seed`` is an integer >= 0 (``None`` draws a fresh,
    unrepeatable seed from the operating system).
    """
    global _rng
    seed = check_seed(seed, "set_random_seed()")
    _rng = np.random.default_rng(seed)
    _name_counts.clear()


def get_rng(seed: int | None = None) -> np.random.Generator:
    """A generator seeded by ``seed`` (an integer >= 0), or the shared one when ``seed`` is None."""
    seed = check_seed(seed, "get_rng()")
    return _rng if seed is None else np.random.default_rng(seed)


def _check_dtype(dtype, owner: str) -> np.dtype | None:
    """``dtype`` as a NumPy floating-point dtype, or None (the layer takes its first input's)."""
    if dtype is None:
        return None
    try:
        result = np.dtype(dtype)
    except (TypeError, ValueError):
        result = None
    if result is None or not np.issubdtype(result, np.floating):
        raise TypeError(f"{owner}: dtype must be a floating-point dtype such as 'float32' or "
                        f"'float64', or None (the dtype of the first input), got {dtype!r}")
    return result


@contextmanager
def _built_or_unchanged(layers, *, trial: bool = False) -> Iterator[None]:
    """Build layers inside the block; if it raises, unbuild those it built, rewind the generator.

    A build that fails half-way (the third layer of a model cannot take the second one's output)
    then leaves no layer with weights it should not have, and the shared generator where it
    was, so that the next weights drawn are those a clean run would draw. With ``trial=True``
    everything is undone even when the block succeeds: a check that leaves no trace.
    """
    unbuilt = [layer for layer in layers if not layer.built]
    generator = _rng
    state = generator.bit_generator.state

    def undo():
        for layer in unbuilt:
            layer._unbuild()
        generator.bit_generator.state = state

    try:
        yield
    except BaseException:
        undo()
        raise
    if trial:
        undo()


class Layer:
    """Base class of the from-scratch layers.

    Subclasses set :attr:`weight_names` (Keras's order) and implement ``build``,
    ``compute_output_shape``, ``call`` and ``call_backward``; this class does the bookkeeping and
    the input checks, so that every layer fails the same clear way. A subclass's constructor
    takes Keras's arguments by Keras's names, keeps each as the attribute of the same name, and
    takes ``name`` and ``dtype`` (and ``seed`` if it draws random numbers): that is all
    ``get_config()`` and ``from_config()`` need. :func:`register_layer` lists the type.

    As in Keras, ``call`` is the layer's formula and ``layer(x)`` (here also ``forward``) checks
    the input and then runs it; ``backward`` checks the gradient and runs ``call_backward``.

    Parameters
    ----------
    name : str, optional
        The layer's name, used in every error message; by default ``dense``, ``dense_1``, ...
        as in Keras.
    seed : int, optional
        Seed of this layer's weight initialisation (and dropout masks). ``None`` draws from the
        shared generator of :func:`set_random_seed`.
    dtype : str or numpy dtype, optional
        The floating-point dtype the layer computes in (inputs are cast to it), as Keras's
        ``dtype``; by default the dtype of its first input.

    Attributes
    ----------
    params : dict[str, ndarray]
        The weights, keyed by Keras's names in Keras's order.
    grads : dict[str, ndarray]
        ``dJ/dw`` for each weight, filled by ``backward``; same keys and shapes as ``params``.
    dtype : numpy dtype or None
        The dtype it computes in: the one given, else its first input's (None until then).
    """

    #: Keras's weight names of this layer, in the order of ``get_weights()``.
    weight_names: tuple[str, ...] = ()
    #: What input the layer takes: ``"float"`` (a floating-point array, cast to the layer's
    #: dtype) or ``"integer"`` (ids in ``[0, input_bound)``, kept as they are; the weights are
    #: then float32 unless a dtype is given or a model builds it with a floating-point one).
    input_kind: str = "float"
    #: Allowed input ranks (including the batch axis; None: any rank with a batch axis) and how
    #: to describe them in errors.
    input_ranks: tuple[int, ...] | None = None
    input_layout: str = ""
    #: What the layer does with a mask arriving from the previous layer inside a model, as its
    #: Keras twin: ``"use"`` (``call`` takes ``mask=``), ``"pass"`` (passed on unchanged: Keras's
    #: ``supports_masking``), ``"drop"`` (Keras drops it too), ``"refuse"`` (Keras would use it,
    #: this layer cannot). A layer that has ``compute_mask`` says what mask its output carries.
    masking: str = "drop"
    #: Whether ``backward`` computes ``dJ/dx``. The first layer of a network needs none (its
    #: input is data, not a weight), so a model switches it off there; layers whose input
    #: gradient is expensive (Conv2D, Dense) then return None and skip that work.
    compute_input_grad: bool = True

    def __init__(self, name: str | None = None, seed: int | None = None, dtype=None):
        owner = self._owner(name)
        seed = check_seed(seed, owner)
        dtype = _check_dtype(dtype, owner)
        # Named last, once every argument is valid: a constructor that fails takes no name.
        if name is None:
            name = _next_name(type(self))
            _name_counts[_snake_case(type(self).__name__)] += 1
        self.name = name
        self.seed = seed
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.built = False
        self.input_shape: tuple[int | None, ...] | None = None  # without the batch axis
        self._dtype_given = dtype  # what the constructor was given, kept by _unbuild
        self.dtype: np.dtype | None = dtype
        self.cache: dict | None = None  # what backward needs from the last forward call
        #: Penalties on weights, keyed by weight name (e.g. ``{"kernel": L2(0.01)}``); not part
        #: of ``backward`` (which is the layer's own derivative) but added by the model.
        self.regularizers: dict = {}

    @property
    def input_bound(self) -> int | None:
        """For ``input_kind == "integer"``: ids must be below it (e.g. an Embedding's input_dim)."""
        return None

    # ----------------------------------------------------------------------------- identity
    def __repr__(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def error_message(self, message: str) -> str:
        """``"<Class> '<name>': <message>"``, the prefix of every error this layer raises."""
        return f"{self!r}: {message}"

    @classmethod
    def _owner(cls, name: str | None) -> str:
        """``"<Class> '<name>'"`` before ``__init__`` has named the layer.

        Subclasses check their arguments with it first and call ``Layer.__init__`` last, so
        that a constructor that fails changes nothing (not even the automatic names).
        """
        _check_name(cls, name)
        return f"{cls.__name__} '{name if name is not None else _next_name(cls)}'"

    # ----------------------------------------------------------------------------- building
    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create the weights for inputs of shape ``input_shape`` (batch axis included)."""

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """Output shape for an input shape (batch axis included, may be ``None``)."""
        return tuple(input_shape)

    def _ensure_built(self, input_shape: tuple, dtype) -> None:
        """Build for ``input_shape`` (batch axis included, may be None), or check it fits."""
        input_shape = tuple(input_shape)
        self._check_input_shape(input_shape)
        floating = dtype is not None and np.issubdtype(np.dtype(dtype), np.floating)
        if self.input_kind == "float" and dtype is not None and not floating:
            raise TypeError(self.error_message(
                f"expected a floating-point input (float32 or float64), got dtype "
                f"{np.dtype(dtype)}; integer ids go into an Embedding first"))
        if self.input_kind == "integer" and not floating:
            dtype = np.float32  # the weights' dtype cannot come from ids: Keras's default
        if self.built:
            expected = self.input_shape
            got = input_shape[1:]
            if len(expected) != len(got) or any(
                e is not None and e != g for e, g in zip(expected, got, strict=True)
            ):
                raise ValueError(self.error_message(
                    f"expected input of shape (batch, {', '.join(map(str, expected))}) "
                    f"as on its first call, got shape {input_shape}"))
            return
        with _built_or_unchanged([self]):
            self.dtype = np.dtype(dtype if self._dtype_given is None else self._dtype_given)
            self.input_shape = input_shape[1:]
            self.build(input_shape)
            self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
            self.built = True

    def _unbuild(self) -> None:
        """Back to the state before the first build: no weights, no input shape, no cache."""
        self.params, self.grads = {}, {}
        self.built = False
        self.input_shape = None
        self.dtype = self._dtype_given
        self.cache = None

    def add_weight(self, name: str, value: np.ndarray) -> np.ndarray:
        """Register weight ``name`` (one of :attr:`weight_names`) with its initial value."""
        self.params[name] = np.ascontiguousarray(value, dtype=self.dtype)
        return self.params[name]

    def _initial_weight(self, name: str, initializer, argument: str, shape: tuple,
                        rng: np.random.Generator) -> np.ndarray:
        """``add_weight(name, initializer(shape, rng, dtype))``, checking what it returned.

        A custom initializer that returns a scalar or another shape would otherwise give the
        layer a weight that broadcasts silently; ``argument`` (e.g. ``"kernel_initializer"``)
        names it in the error.
        """
        value = check_array(initializer(shape, rng, self.dtype), f"{argument} (weight '{name}')",
                            repr(self))
        if value.shape != tuple(shape):
            raise ValueError(self.error_message(
                f"{argument} returned an array of shape {value.shape} for weight '{name}', "
                f"expected {tuple(shape)}"))
        return self.add_weight(name, value)

    # ----------------------------------------------------------------------------- checks
    def _check_array(self, x, what: str = "input") -> np.ndarray:
        if isinstance(x, np.ndarray):
            array = x
        else:
            try:
                array = np.asarray(x)
            except Exception as err:  # ragged lists and the like
                raise TypeError(self.error_message(
                    f"expected the {what} as a floating-point array, got {type(x).__name__}"
                )) from err
        if array.dtype == object or not np.issubdtype(array.dtype, np.floating):
            raise TypeError(self.error_message(
                f"expected a floating-point {what} (float32 or float64), got dtype {array.dtype}; "
                "convert it first, e.g. x.astype('float32') / 255"))
        if not np.isfinite(array).all():
            raise ValueError(self.error_message(
                f"the {what} contains NaN or infinite values ({int((~np.isfinite(array)).sum())} "
                f"of {array.size} entries)"))
        return array

    def _check_input_shape(self, shape: tuple) -> None:
        """Refuse an input shape (batch axis included; sizes may be None) the layer cannot take.

        Called on every input, built or not, and by a model on the shapes it passes along, so
        that a model finds an incompatible layer before it changes anything.
        """
        if len(shape) < 1:
            what = "ids" if self.input_kind == "integer" else "input"
            raise ValueError(self.error_message(
                f"expected {what} with a batch axis, (batch, ...), got shape {shape}"))
        if self.input_ranks is not None and len(shape) not in self.input_ranks:
            ranks = " or ".join(str(r) for r in self.input_ranks)
            layout = f" {self.input_layout}" if self.input_layout else ""
            raise ValueError(self.error_message(
                f"expected input of rank {ranks}{layout}, got shape {shape}"))

    def _check_input(self, x) -> np.ndarray:
        if self.input_kind == "integer":
            x = check_ids(x, self.input_bound, repr(self))
        else:
            x = self._check_array(x)
        self._check_input_shape(x.shape)
        if x.shape[0] == 0:
            raise ValueError(self.error_message(f"expected a non-empty batch, got shape {x.shape}"))
        return x

    # ----------------------------------------------------------------------------- the API
    def forward(self, x, training: bool = False) -> np.ndarray:
        """Compute the layer's output for the batch ``x`` (and cache what backward needs)."""
        training = _check_training(training, repr(self))
        x = self._check_input(x)
        self._ensure_built(x.shape, x.dtype if self.dtype is None else self.dtype)
        out = self.call(self._cast(x), training=bool(training))
        self._last_output_shape = out.shape
        return out

    __call__ = forward

    def forward_unchecked(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """``forward`` without the input checks, for a model whose own input was checked once.

        Inside a model a layer's input is the previous layer's output; re-validating it at every
        layer costs time and, when training diverges, would report a NaN *input* instead of
        the divergence the model reports.
        """
        # Cheap even when built: a shape mismatch inside a model gets the layer's own message.
        self._ensure_built(x.shape, x.dtype if self.dtype is None else self.dtype)
        out = self.call(self._cast(x), training=bool(training))
        self._last_output_shape = out.shape
        return out

    def _cast(self, x: np.ndarray) -> np.ndarray:
        """The input in the layer's dtype; ids (``input_kind == "integer"``) stay as they are."""
        return x if self.input_kind == "integer" else x.astype(self.dtype, copy=False)

    def backward(self, grad_output) -> np.ndarray:
        """Return ``dJ/dx`` given ``dJ/dy`` of the last forward call; fill :attr:`grads`."""
        if self.cache is None:
            raise ValueError(self.error_message(
                "backward() called before forward(): run a forward pass on a batch first"))
        grad_output = self._check_array(grad_output, "gradient")
        if grad_output.shape != self._last_output_shape:
            raise ValueError(self.error_message(
                f"expected a gradient of the output's shape {self._last_output_shape}, "
                f"got shape {grad_output.shape}"))
        return self.call_backward(grad_output.astype(self.dtype, copy=False))

    def call(self, x: np.ndarray, training: bool) -> np.ndarray:
        """The forward formula, what a subclass writes (Keras's name for it).

        ``x`` is already checked and cast; store what ``call_backward`` needs in ``self.cache``.
        """
        raise NotImplementedError  # every concrete layer overrides it

    def call_backward(self, grad_output: np.ndarray) -> np.ndarray:
        """The derivative of ``call``: ``dJ/dx`` from ``dJ/dy``, filling ``self.grads``.

        Return None when ``compute_input_grad`` is False and skipping ``dJ/dx`` saves work.
        """
        raise NotImplementedError  # every concrete layer overrides it

    # ----------------------------------------------------------------------------- weights
    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights in Keras's order, as the Keras twin's ``get_weights()``."""
        return [self.params[n].copy() for n in self.weight_names if n in self.params]

    def set_weights(self, weights) -> None:
        """Set the weights from a list in Keras's order, e.g. ``keras_layer.get_weights()``.

        The count, every shape and every dtype (integers or floats: not complex, boolean or
        object) must match; nothing is changed unless all of them do.
        """
        self._write_weights(self._checked_weights(weights))

    def _weight_count(self) -> int:
        """How many arrays ``get_weights()`` returns (0 before the layer is built)."""
        return sum(1 for n in self.weight_names if n in self.params)

    def _checked_weights(self, weights) -> dict[str, np.ndarray]:
        """The new weights by name, checked and cast for :meth:`_write_weights`; sets nothing."""
        if not self.built:
            raise ValueError(self.error_message(
                "set_weights() before the layer has weights: call it on a batch first "
                "(or put it in a Sequential that starts with Input(shape)), as in Keras"))
        weights = _weight_list(weights, repr(self))
        names = [n for n in self.weight_names if n in self.params]
        if len(weights) != len(names):
            raise ValueError(self.error_message(
                f"expected {len(names)} weight arrays ({', '.join(names)}), got {len(weights)}"))
        new = {}
        for name, value in zip(names, weights, strict=True):
            try:
                value = np.asarray(value)
            except (ValueError, TypeError) as err:  # ragged nested lists
                raise TypeError(self.error_message(
                    f"weight '{name}' must be an array, got {type(value).__name__} that NumPy "
                    f"cannot turn into one")) from err
            if value.shape != self.params[name].shape:
                raise ValueError(self.error_message(
                    f"weight '{name}' must have shape {self.params[name].shape}, "
                    f"got {value.shape}"))
            # Complex values would lose their imaginary part, booleans are no weights: refused.
            value = check_array(value, f"weight '{name}'", repr(self), allow_nonfinite=True)
            new[name] = value.astype(self.dtype)
        return new

    def _write_weights(self, new: dict[str, np.ndarray]) -> None:
        for name, value in new.items():
            self.params[name][...] = value

    def regularization_loss(self) -> float:
        """Sum of this layer's weight penalties, e.g. ``λ Σ W²`` for an L2 kernel regularizer."""
        return float(sum(reg(self.params[name]) for name, reg in self.regularizers.items()
                         if name in self.params))

    def add_regularization_grads(self) -> None:
        """Add each penalty's gradient to :attr:`grads` (after ``backward``), as Keras does."""
        for name, reg in self.regularizers.items():
            if name in self.grads:
                self.grads[name] += reg.gradient(self.params[name])

    def count_params(self) -> int:
        """Number of scalar weights (0 before the layer is built)."""
        return int(sum(v.size for v in self.params.values()))

    # ----------------------------------------------------------------------------- config
    def get_config(self) -> dict:
        """The layer's settings under Keras's keys, in Keras's formats; not its weights.

        ``name``, ``dtype`` and every constructor argument (``units``, ``activation``, ...),
        written as Keras writes them (:mod:`dlcourse.scratch.config`): ``"relu"``, ``(3, 3)``,
        ``{"class_name": "L2", "config": {"l2": 0.01}, ...}``. The keys are those of the Keras
        twin's ``get_config()`` that the from-scratch layer supports, plus ``seed`` where it
        seeds the initial weights (Dense, Conv2D, SimpleRNN: Keras keeps a seed inside each
        initializer instead).
        ``type(layer).from_config(layer.get_config())`` is a new, unbuilt layer with the same
        settings, as in Keras.
        """
        return {key: config_format.to_config(key, self._setting(key))
                for key in self.config_keys()}

    @classmethod
    def config_keys(cls) -> tuple[str, ...]:
        """The keys of this layer type's config: ``name``, ``dtype`` and its other constructor
        arguments, in the constructor's order (a layer's config holds every setting it takes)."""
        return config_keys(cls)

    def _setting(self, argument: str):
        """The current value of constructor argument ``argument``."""
        if argument.endswith("_regularizer"):
            # The penalties the model adds are those of ``regularizers``, whatever else says.
            return self.regularizers.get(regularized_weight(argument))
        return getattr(self, argument)

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        """A new, unbuilt layer with the settings of ``config``, as ``get_config()`` returns it.

        Missing keys take the constructor's defaults; a key the layer does not take is
        refused by name. Weights are not part of a config: copy them with ``set_weights``.
        """
        owner = f"{cls.__name__}.from_config()"
        if not isinstance(config, dict):
            raise TypeError(f"{owner}: expected a dict such as layer.get_config() returns, "
                            f"got {type(config).__name__}")
        keys = cls.config_keys()
        unknown = [key for key in config if key not in keys]
        if unknown:
            raise ValueError(f"{owner}: unknown settings {', '.join(map(repr, unknown))}; a "
                             f"from-scratch {cls.__name__} takes {', '.join(keys)}")
        return cls(**{key: config_format.from_config(key, value, owner)
                      for key, value in config.items()})


def _weight_list(weights, owner: str) -> list:
    """``weights`` as a list of arrays; one array, a string or a dict is a mistake, not a list."""
    if isinstance(weights, (np.ndarray, str, bytes, dict)) or not hasattr(weights, "__iter__"):
        raise TypeError(f"{owner}: set_weights() expects a list of arrays, as get_weights() "
                        f"returns, got {type(weights).__name__}")
    return list(weights)


def _check_training(training, owner: str) -> bool:
    """``training`` as a bool; ``None`` means False, as in Keras."""
    return False if training is None else check_bool(training, "training", owner)
