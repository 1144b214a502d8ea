"""``Sequential``: a stack of from-scratch layers with Keras's ``compile`` / ``fit`` / ``evaluate``.

One training step is the whole of deep learning in four lines::

    y_pred = model.forward(x_batch, training=True)   # forward pass, layer by layer
    loss = model.loss(y_batch, y_pred)               # J(θ)
    model.backward(model.loss.gradient(y_batch, y_pred))   # ∇J(θ), layer by layer, in reverse
    model.optimizer.apply_gradients(model.grads_and_vars())  # θ ← θ − α ∇J(θ)

``fit`` repeats it over mini-batches and epochs, keeps Keras's history (``loss``, ``accuracy``,
``val_loss``, ``val_accuracy``), and stops with :class:`TrainingDivergedError` the moment the loss
stops being a finite number.

:class:`Input`, :class:`History`, :class:`TrainingDivergedError` and the loop's helpers (the
accuracy metric, the argument checks, the progress bar, the summary's table) live in
:mod:`dlcourse.scratch.training`; they are importable from here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from dlcourse.scratch.base import Layer, _built_or_unchanged, _check_training, _weight_list
from dlcourse.scratch.masking import next_mask, output_mask
from dlcourse.scratch.trainer import Trainer
from dlcourse.scratch.training import (
    History,
    Input,
    TrainingDivergedError,
    check_batch_size,
    check_verbose,
    summary_table,
)
from dlcourse.validation import check_array, check_bool

__all__ = ["History", "Input", "Sequential", "TrainingDivergedError"]


class Sequential(Trainer):
    """A linear stack of layers, trained like ``keras.Sequential``.

    The structure, the passes and the weights are here; ``compile``, ``fit``, ``evaluate`` and
    ``train_on_batch`` come from :class:`~dlcourse.scratch.trainer.Trainer`, as a Keras model
    gets them from Keras's ``Trainer``.

    Parameters
    ----------
    layers : list
        Layers of :mod:`dlcourse.scratch`, optionally preceded by an :class:`Input`.
    name : str
        Shown by ``summary()``.

    Examples
    --------
    >>> from dlcourse.scratch import Sequential, Input, Dense
    >>> model = Sequential([Input((784,)), Dense(128, activation="relu"), Dense(10)])
    >>> model.compile(optimizer="adam",
    ...               loss=SparseCategoricalCrossentropy(from_logits=True),
    ...               metrics=["accuracy"])                                  # doctest: +SKIP
    >>> history = model.fit(x_train, y_train, epochs=5, batch_size=32)      # doctest: +SKIP
    """

    def __init__(self, layers=None, name: str = "sequential"):
        if not isinstance(name, str) or not name or "/" in name:
            raise TypeError(f"Sequential: name must be a non-empty string without '/', "
                            f"got {name!r}")
        if layers is not None and not isinstance(layers, (list, tuple)):
            raise TypeError(f"Sequential '{name}': layers must be a list, e.g. "
                            f"Sequential([Input((784,)), Dense(10)]), got {type(layers).__name__}")
        self.name = name
        self.layers: list[Layer] = []
        self.input: Input | None = None
        self.optimizer = None
        self.loss = None
        self.metrics: list[str] = []
        items = list(layers or [])
        # If a layer is refused, the ones before it are left unbuilt, as they were given.
        with _built_or_unchanged([item for item in items if isinstance(item, Layer)]):
            for item in items:
                self.add(item)

    @property
    def _owner(self) -> str:
        return f"Sequential '{self.name}'"

    @contextmanager
    def _all_or_nothing(self, *new_layers: Layer) -> Iterator[None]:
        """If the block raises, undo its changes: layer list, Input, weights built, generator.

        Every method that changes the model checks everything inside such a block first, so
        that an error leaves the model as it was (Layer.set_weights' rule, for the whole model).
        """
        layers, model_input = list(self.layers), self.input
        try:
            with _built_or_unchanged([*self.layers, *new_layers]):
                yield
        except BaseException:
            self.layers[:] = layers
            self.input = model_input
            raise

    @contextmanager
    def _context(self, what: str) -> Iterator[None]:
        """Say which call and which data an error is about: ``"Sequential 'm': fit(): ..."``."""
        try:
            yield
        except (TypeError, ValueError) as err:
            if type(err) not in (TypeError, ValueError):
                raise
            prefix = f"{self._owner}: "
            message = str(err).removeprefix(prefix)
            raise type(err)(f"{prefix}{what}: {message}") from err

    # ------------------------------------------------------------------------- structure
    def add(self, layer) -> None:
        """Append a layer (or, first of all, an :class:`Input`); if it fails, nothing changes."""
        if isinstance(layer, Input):
            if self.layers or self.input is not None:
                raise ValueError(f"{self._owner}: an Input can only come first")
            self.input = layer
            return
        if isinstance(layer, type) and issubclass(layer, Layer):
            raise TypeError(f"{self._owner}: expected a layer, got the class {layer.__name__}; "
                            f"create one first, e.g. {layer.__name__}(...)")
        if not isinstance(layer, Layer):
            raise TypeError(f"{self._owner}: expected a dlcourse.scratch layer, got "
                            f"{type(layer).__name__} (Keras layers go in keras.Sequential)")
        if any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"{self._owner}: two layers are named '{layer.name}'")
        if getattr(layer, "return_state", False):
            raise ValueError(f"{self._owner}: {layer!r} has return_state=True: its output is a "
                             "tuple (output, *states), which the next layer cannot take; a "
                             "Sequential model needs return_state=False")
        if self.layers and layer.input_kind != "float":
            raise ValueError(f"{self._owner}: {layer!r} takes {layer.input_kind} input (ids), "
                             f"so it can only be the first layer; {self.layers[-1]!r} outputs "
                             "floating-point values")
        with self._all_or_nothing(layer):
            self.layers.append(layer)
            if self.input is not None:
                self.build()

    def build(self, input_shape=None) -> None:
        """Create every layer's weights for examples of ``input_shape``.

        ``input_shape`` is the shape of one example, e.g. ``(784,)``, or Keras's
        ``(None, 784)`` with the batch axis. A model already built for another shape is refused,
        as Keras does (its weights depend on that shape); if anything fails, nothing changes.
        """
        with self._all_or_nothing():
            if input_shape is not None:
                shape = input_shape
                if isinstance(shape, (tuple, list)) and len(shape) > 1 and shape[0] is None:
                    shape = tuple(shape[1:])  # Keras's form, batch axis first
                new = Input(shape, self.input.dtype if self.input is not None
                            else self._default_input_dtype())
                if self.input is not None and new.shape != self.input.shape \
                        and any(layer.built for layer in self.layers):
                    raise ValueError(
                        f"{self._owner}: already built for input shape {self.input.shape}; "
                        f"build({input_shape!r}) cannot change it (the weights depend on it): "
                        "create a new model for the new shape")
                self.input = new
            if self.input is None:
                raise ValueError(f"{self._owner}: build() needs an input shape")
            self._propagate((None, *self.input.shape), self.input.dtype, build=True)

    def _default_input_dtype(self) -> str:
        """int32 for a model that starts with ids (an Embedding), as Keras, else float32."""
        integer = self.layers and self.layers[0].input_kind == "integer"
        return "int32" if integer else "float32"

    def _propagate(self, shape: tuple, dtype, build: bool) -> tuple[tuple, np.dtype]:
        """Pass ``shape`` through the layers, checking that each one can take it.

        Returns the output's shape and dtype. Shapes alone: a model finds the layer that cannot
        take its input here, before a forward pass has changed anything. With ``build=True``
        the layers not built yet are built; otherwise they are only checked, and are built by
        the first batch that reaches them, as they always were (so the order of the draws from
        the shared generator, and every number that depends on it, stays the same).
        """
        for layer in self.layers:
            if build or layer.built:
                layer._ensure_built(shape, layer.dtype or dtype)
            else:
                layer._check_input_shape(tuple(shape))
            if layer.dtype is None and not np.issubdtype(np.dtype(dtype), np.floating):
                dtype = np.float32  # ids in, an unbuilt Embedding's default dtype out
            shape, dtype = layer.compute_output_shape(shape), layer.dtype or dtype
        return tuple(shape), np.dtype(dtype)

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(layer.built for layer in self.layers)

    def _check_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(f"{self._owner}: {what} needs the weights; start the "
                             "model with Input(shape) or call it on a batch first")

    # ------------------------------------------------------------------------- passes
    def _check_x(self, x) -> np.ndarray:
        """``x`` checked once for the whole model, and its shape against every layer.

        Changes nothing: the layers not built yet are built by the first batch that reaches
        them, as before.
        """
        if not self.layers:
            raise ValueError(f"{self._owner}: the model has no layers")
        x = self.layers[0]._check_input(x)
        if self.input is not None and tuple(x.shape[1:]) != self.input.shape:
            raise ValueError(f"{self._owner}: expected input of shape "
                             f"(batch, {', '.join(map(str, self.input.shape))}), got {x.shape}")
        self._propagate(x.shape, x.dtype, build=False)
        self._output_mask(x)
        return x

    def _output_mask(self, x: np.ndarray):
        """The mask the model's output carries for the input ``x`` (None: no mask)."""
        return output_mask(self.layers, x, self._owner)

    def _run(self, x: np.ndarray, training: bool) -> np.ndarray:
        """``x`` through every layer, each given the mask the one before made, as Keras does."""
        mask = None
        for layer in self.layers:
            if layer.masking == "use":
                out = layer.forward_unchecked(x, training=training, mask=mask)
            else:
                out = layer.forward_unchecked(x, training=training)
            mask = next_mask(layer, x, mask)
            x = out
        return x

    def forward(self, x, training: bool = False) -> np.ndarray:
        """Run ``x`` through every layer; the input is checked once, here."""
        training = _check_training(training, self._owner)
        x = self._check_x(x)
        with self._all_or_nothing():  # a layer built on the way whose weights fail is undone
            return self._run(x, training)

    __call__ = forward

    def _predict_batch(self, x: np.ndarray) -> np.ndarray:
        return self._run(x, training=False)

    def backward(self, grad_output, compute_input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``dJ/dy`` through the layers in reverse; returns ``dJ/dx``.

        ``grad_output`` must have the shape of the last forward call's output. With
        ``compute_input_grad=False`` (as in ``fit``) the first layer skips ``dJ/dx``, which
        training never uses, and None is returned.
        """
        compute_input_grad = check_bool(compute_input_grad, "compute_input_grad", self._owner)
        if not self.layers or any(layer.cache is None for layer in self.layers):
            raise ValueError(f"{self._owner}: backward() before forward()")
        grad_output = check_array(grad_output, "the gradient", self._owner, kind="float")
        expected = self.layers[-1]._last_output_shape
        if grad_output.shape != expected:
            raise ValueError(f"{self._owner}: expected a gradient of the output's shape "
                             f"{expected}, got shape {grad_output.shape}")
        return self._backpropagate(grad_output, compute_input_grad)

    def _backpropagate(self, grad: np.ndarray, compute_input_grad: bool) -> np.ndarray | None:
        first = self.layers[0]
        saved, first.compute_input_grad = first.compute_input_grad, compute_input_grad
        try:
            for layer in reversed(self.layers):
                grad = layer.call_backward(grad)
        finally:
            first.compute_input_grad = saved
        return grad

    def grads_and_vars(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(gradient, weight)`` pairs of every trainable weight, for ``apply_gradients``."""
        return [(layer.grads[name], layer.params[name])
                for layer in self.layers for name in layer.weight_names if name in layer.grads]

    def regularization_loss(self) -> float:
        return float(sum(layer.regularization_loss() for layer in self.layers))

    # ------------------------------------------------------------------------- weights
    def get_weights(self) -> list[np.ndarray]:
        """Every layer's weights in order, exactly as ``keras_model.get_weights()``."""
        self._check_built("get_weights()")
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights) -> None:
        """Set all weights from a list such as ``keras_model.get_weights()``.

        Every layer's arrays are checked before any is written: if one is refused, no weight
        of the model has changed.
        """
        self._check_built("set_weights()")
        weights = _weight_list(weights, self._owner)
        counts = [layer._weight_count() for layer in self.layers]
        if len(weights) != sum(counts):
            raise ValueError(f"{self._owner}: expected {sum(counts)} weight arrays "
                             f"(per layer: {counts}), got {len(weights)}")
        checked, start = [], 0
        for layer, count in zip(self.layers, counts, strict=True):
            checked.append(layer._checked_weights(weights[start:start + count]))
            start += count
        for layer, new in zip(self.layers, checked, strict=True):
            layer._write_weights(new)

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print) -> None:
        """Print the layers, their output shapes and parameter counts, as Keras does."""
        if not callable(print_fn):
            raise TypeError(f"{self._owner}: print_fn must be a function such as print, "
                            f"got {type(print_fn).__name__}")
        self._check_built("summary()")
        rows = []
        shape: tuple = (None, *self.input.shape) if self.input else None
        for layer in self.layers:
            shape = layer.compute_output_shape(shape) if shape is not None else None
            rows.append((f"{layer.name} ({type(layer).__name__})",
                         str(shape) if shape else "?",
                         f"{layer.count_params():,}"))
        nbytes = sum(v.nbytes for layer in self.layers for v in layer.params.values())
        print_fn(summary_table(self.name, rows, self.count_params(), nbytes))

    def predict(self, x, batch_size: int = 32, verbose=0) -> np.ndarray:
        """The model's output for ``x``, computed in batches in inference mode."""
        batch_size = check_batch_size(batch_size, self._owner)
        check_verbose(verbose, self._owner)
        x = self._check_x(x)
        with self._all_or_nothing():  # builds a model not built yet, or nothing
            outputs = [self._predict_batch(x[start:start + batch_size])
                       for start in range(0, len(x), batch_size)]
        return np.concatenate(outputs)
