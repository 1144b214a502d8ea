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

import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from dlcourse.scratch import losses as losses_module
from dlcourse.scratch import optimizers as optimizers_module
from dlcourse.scratch.base import Layer, _built_or_unchanged, _check_training, _weight_list, get_rng
from dlcourse.scratch.training import (
    History,
    Input,
    TrainingDivergedError,
    check_batch_size,
    check_metrics,
    check_target_array,
    check_validation_data,
    check_verbose,
    count_correct,
    progress_bar,
    split_validation,
    summary_table,
)
from dlcourse.validation import check_array, check_bool, check_int, check_number

__all__ = ["History", "Input", "Sequential", "TrainingDivergedError"]


class Sequential:
    """A linear stack of layers, trained like ``keras.Sequential``.

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
        """The mask the model's output carries for the input ``x`` (None: no mask).

        Walks the masks alone, as :meth:`_run` passes them, to refuse before any layer has run a
        mask reaching a layer that cannot honour it as its Keras twin does (``masking``).
        Only a model's first layer can make a mask from its input (an Embedding's ids).
        """
        mask = None
        for i, layer in enumerate(self.layers):
            if mask is not None and layer.masking == "refuse":
                raise ValueError(
                    f"{self._owner}: {layer!r} receives the mask of the layers before it "
                    f"(e.g. an Embedding with mask_zero=True), which its Keras twin would use "
                    "and this layer cannot; drop mask_zero or put a layer that uses the mask "
                    "(LSTM, GRU) before it")
            mask = self._next_mask(layer, x if i == 0 else None, mask)
        return mask

    @staticmethod
    def _next_mask(layer: Layer, layer_input, mask):
        """The mask of ``layer``'s output, as Keras: its ``compute_mask``, else the incoming one
        for a layer that passes it on, else None."""
        compute_mask = getattr(layer, "compute_mask", None)
        if compute_mask is not None:
            return compute_mask(layer_input, mask)
        return mask if layer.masking == "pass" else None

    def _run(self, x: np.ndarray, training: bool) -> np.ndarray:
        """``x`` through every layer, each given the mask the one before made, as Keras does."""
        mask = None
        for layer in self.layers:
            if layer.masking == "use":
                out = layer.forward_unchecked(x, training=training, mask=mask)
            else:
                out = layer.forward_unchecked(x, training=training)
            mask = self._next_mask(layer, x, mask)
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

    # ------------------------------------------------------------------------- training
    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        """Choose the optimizer, the loss and the metrics (only ``"accuracy"``), as in Keras.

        Everything is checked before anything is set: a refused argument leaves the model
        compiled as it was.
        """
        if loss is None:
            raise ValueError(f"{self._owner}: compile() needs a loss, e.g. "
                             "loss='sparse_categorical_crossentropy'")
        optimizer = optimizers_module.get(optimizer)
        loss = losses_module.get(loss)
        metrics = check_metrics(metrics, self._owner)
        self.optimizer, self.loss, self.metrics = optimizer, loss, metrics

    def _check_compiled(self, what: str) -> None:
        if self.loss is None:
            raise ValueError(f"{self._owner}: call compile(optimizer, loss) before {what}()")

    def _check_xy(self, x, y):
        """``x`` and every target checked against the model's output, before any step.

        Called inside :meth:`_context`, which says which call and which data it was.
        """
        x = self._check_x(x)
        if self._output_mask(x) is not None:
            raise ValueError(
                f"{self._owner}: the model's output carries a mask (the last recurrent layer "
                "has return_sequences=True after an Embedding with mask_zero=True); Keras would "
                "leave the masked steps out of the loss, which is not implemented here")
        y = check_target_array(y, len(x), self._owner)
        output_shape, dtype = self._propagate(x.shape, x.dtype, build=False)
        self.loss.check_targets(y, output_shape, dtype)
        return x, y

    def _trial_run(self, x, y, batch_size: int) -> None:
        """Run the first batch in inference mode, then undo everything it changed.

        Two mistakes show only when the model runs: weights that cannot be created (a custom
        initializer returning another shape) in a model not built yet, and outputs that the
        loss refuses (``from_logits=False`` expects probabilities, a last layer without softmax
        gives logits). The trial finds them before the first training step has moved any weight
        or BatchNormalization statistic; the weights it created are dropped and the shared
        generator rewound, so that training then draws exactly what it would have drawn.
        """
        # Once outputs have suited this loss, they always will (a softmax stays a softmax): the
        # trial is not repeated at every train_on_batch.
        check_outputs = (not getattr(self.loss, "from_logits", True)
                         and getattr(self, "_outputs_suit", None) is not self.loss)
        if self.built and not check_outputs:
            return
        with _built_or_unchanged(self.layers, trial=True), \
                np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            out = self._predict_batch(x[:batch_size])
            if check_outputs and np.isfinite(out).all():  # divergence: the loop reports it
                try:
                    self.loss(y[:batch_size], out)
                except (TypeError, ValueError) as err:
                    raise type(err)(f"the model's outputs do not suit the loss: {err}") from err
                self._outputs_suit = self.loss

    def _batch_logs(self, y_true, y_pred) -> tuple[float, int]:
        loss = float(self.loss(y_true, y_pred)) + self.regularization_loss()
        correct = count_correct(y_true, y_pred) if self.metrics else 0
        return loss, correct

    def _epoch_logs(self, loss_sum: float, correct: int, n: int, prefix: str = ""):
        logs = {f"{prefix}loss": loss_sum / n}
        for metric in self.metrics:
            logs[f"{prefix}{metric}"] = correct / n
        return logs

    def train_on_batch(self, x, y) -> tuple[float, int]:
        """One step of mini-batch gradient descent; returns (loss, correct predictions).

        ``x`` and ``y`` are checked before the step: if they are refused, nothing changes.
        """
        self._check_compiled("train_on_batch")
        with self._context("train_on_batch()"):
            x, y = self._check_xy(x, y)
            self._trial_run(x, y, len(x))
        return self._train_step(x, y)

    def _train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """The step itself, on checked arrays."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            y_pred = self._run(x, training=True)
            if not np.isfinite(y_pred).all():  # diverged: the weights overflowed
                return float("nan"), 0
            loss, correct = self._batch_logs(y, y_pred)
            if not math.isfinite(loss):
                return loss, correct
            self._backpropagate(self.loss.gradient(y, y_pred), compute_input_grad=False)
            for layer in self.layers:
                layer.add_regularization_grads()
            self.optimizer.apply_gradients(self.grads_and_vars())
        return loss, correct

    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, validation_data=None,
            shuffle: bool = True, verbose="auto", validation_split: float = 0.0) -> History:
        """Train with mini-batch gradient descent, as ``keras.Model.fit``.

        Everything is checked before the first step (the arguments, every input, every target,
        the validation data, and that the loss accepts the model's outputs): if anything is
        refused, the model, its optimizer and the shared generator are left as they were.

        Parameters
        ----------
        x : float array of shape ``(n, ...)`` (integer ids if the first layer is an Embedding)
        y : array of shape ``(n, ...)``, the targets the loss expects
        epochs : int
            Passes over the data.
        batch_size : int
            Examples per step; the last batch of an epoch may be smaller (None: 32, as Keras).
        validation_data : tuple ``(x_val, y_val)``, optional
            Evaluated after every epoch (``val_loss``, ``val_accuracy``).
        shuffle : bool
            Shuffle the examples before every epoch (with the generator of
            :func:`~dlcourse.scratch.set_random_seed`); ``False`` keeps the order, as Keras.
        verbose : {"auto", 0, 1, 2}
            0 silent; 1 (and "auto") a progress bar per epoch; 2 one line per epoch.
        validation_split : float in [0, 1)
            Hold out this fraction of the examples, the last ones before shuffling, as
            validation data (as Keras; not together with ``validation_data``).

        Returns
        -------
        History
            ``history.history`` maps ``loss``, ``accuracy`` (if compiled with it),
            ``val_loss``, ``val_accuracy`` to one value per epoch.

        Raises
        ------
        TrainingDivergedError
            When the loss becomes NaN or infinite; it names the epoch and the step and what
            usually helps. The weights stay as they were before that step's update.
        """
        self._check_compiled("fit")
        epochs = check_int(epochs, "epochs", self._owner, minimum=1)
        batch_size = check_batch_size(batch_size, self._owner)
        shuffle = check_bool(shuffle, "shuffle", self._owner)
        verbose = check_verbose(verbose, self._owner)
        validation_split = check_number(validation_split, "validation_split", self._owner, 0, 1,
                                        high_open=True)
        check_validation_data(validation_data, validation_split, self._owner)
        with self._context("fit()"):
            x, y = self._check_xy(x, y)
        if validation_data is not None:
            with self._context("fit() validation_data"):
                x_val, y_val = self._check_xy(*validation_data)
        elif validation_split:
            x, y, x_val, y_val = split_validation(x, y, validation_split, self._owner)
        with self._context("fit()"):
            self._trial_run(x, y, batch_size)
        validate = validation_data is not None or validation_split > 0
        n = len(x)
        steps = math.ceil(n / batch_size)
        history = History()
        history.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        for epoch in range(epochs):
            order = get_rng().permutation(n) if shuffle else None
            loss_sum, correct = 0.0, 0
            bar = progress_bar(steps, epoch, epochs) if verbose == 1 else None
            for step in range(steps):
                batch = slice(step * batch_size, min(n, (step + 1) * batch_size))
                idx = order[batch] if order is not None else batch
                xb, yb = x[idx], y[idx]
                loss, batch_correct = self._train_step(xb, yb)
                if not math.isfinite(loss):
                    if bar is not None:
                        bar.close()
                    raise TrainingDivergedError.at(
                        epoch + 1, step + 1, steps, loss,
                        getattr(self.optimizer, "learning_rate", None), history)
                loss_sum += loss * len(xb)
                correct += batch_correct
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(self._epoch_logs(loss_sum, correct, batch.stop), refresh=False)
            logs = self._epoch_logs(loss_sum, correct, n)
            if validate:
                logs.update(self._evaluate(x_val, y_val, batch_size, prefix="val_"))
            history._append(epoch, logs)
            if bar is not None:
                bar.set_postfix(logs)
                bar.close()
            elif verbose == 2:
                shown = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                print(f"Epoch {epoch + 1}/{epochs} - {shown}", file=sys.stdout)
        return history

    def _evaluate(self, x, y, batch_size: int, prefix: str = "") -> dict[str, float]:
        loss_sum, correct = 0.0, 0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for start in range(0, len(x), batch_size):
                xb, yb = x[start:start + batch_size], y[start:start + batch_size]
                loss, batch_correct = self._batch_logs(yb, self._predict_batch(xb))
                loss_sum += loss * len(xb)
                correct += batch_correct
        return self._epoch_logs(loss_sum, correct, len(x), prefix)

    def evaluate(self, x, y, batch_size: int = 32, verbose=0, return_dict: bool = False):
        """Loss (and metrics) on ``(x, y)`` in inference mode, as ``keras.Model.evaluate``.

        Returns the loss alone when compiled without metrics, else ``[loss, accuracy]``
        (or a dict with ``return_dict=True``). Every argument and target is checked first.
        """
        self._check_compiled("evaluate")
        batch_size = check_batch_size(batch_size, self._owner)
        check_verbose(verbose, self._owner)
        return_dict = check_bool(return_dict, "return_dict", self._owner)
        with self._context("evaluate()"):
            x, y = self._check_xy(x, y)
            with self._all_or_nothing():  # builds a model not built yet, or nothing
                logs = self._evaluate(x, y, batch_size)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: int = 32, verbose=0) -> np.ndarray:
        """The model's output for ``x``, computed in batches in inference mode."""
        batch_size = check_batch_size(batch_size, self._owner)
        check_verbose(verbose, self._owner)
        x = self._check_x(x)
        with self._all_or_nothing():  # builds a model not built yet, or nothing
            outputs = [self._predict_batch(x[start:start + batch_size])
                       for start in range(0, len(x), batch_size)]
        return np.concatenate(outputs)
