"""``Sequential``: a stack of from-scratch layers with Keras's ``compile`` / ``fit`` / ``evaluate``.

One training step is the whole of deep learning in four lines::

    y_pred = model.forward(x_batch, training=True)   # forward pass, layer by layer
    loss = model.loss(y_batch, y_pred)               # J(θ)
    model.backward(model.loss.gradient(y_batch, y_pred))   # ∇J(θ), layer by layer, in reverse
    model.optimizer.apply_gradients(model.grads_and_vars())  # θ ← θ − α ∇J(θ)

``fit`` repeats it over mini-batches and epochs, keeps Keras's history (``loss``, ``accuracy``,
``val_loss``, ``val_accuracy``), and stops with :class:`TrainingDivergedError` the moment the loss
stops being a finite number.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from dlcourse.scratch import losses as losses_module
from dlcourse.scratch import optimizers as optimizers_module
from dlcourse.scratch.base import Layer, get_rng

__all__ = ["History", "Input", "Sequential", "TrainingDivergedError"]


class TrainingDivergedError(FloatingPointError):
    """Training produced a loss that is NaN or infinite.

    Attributes
    ----------
    epoch, step : int
        Where it happened (1-based, as a progress bar counts).
    loss : float
        The offending value.
    history : History
        The history of the epochs completed before it.
    """

    def __init__(self, message: str, epoch: int, step: int, loss: float, history: History):
        super().__init__(message)
        self.epoch, self.step, self.loss, self.history = epoch, step, loss, history


class History:
    """What ``fit`` returns, as in Keras: ``history.history["loss"]`` is one value per epoch."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params: dict = {}

    def _append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __repr__(self):
        keys = ", ".join(self.history)
        return f"<History: {len(self.epoch)} epochs of {keys}>"


class Input:
    """The shape of one example, without the batch axis, as ``keras.Input(shape)``.

    Put it first in a :class:`Sequential` to create every weight at once (so ``summary()`` and
    ``get_weights()`` work before any data has been seen).
    """

    def __init__(self, shape, dtype="float32"):
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if not shape or any(not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
            raise ValueError(f"Input: shape must be a tuple of positive integers, got {shape!r}")
        dtype = np.dtype(dtype)
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"Input: dtype must be float32 or float64, got {dtype}")
        self.shape = tuple(int(s) for s in shape)
        self.dtype = dtype

    def __repr__(self):
        return f"Input(shape={self.shape}, dtype={self.dtype})"


def _accuracy_kind(y_true: np.ndarray, y_pred: np.ndarray) -> str:
    """Which accuracy Keras means by "accuracy" for these shapes (compile_utils.get_metric)."""
    if y_pred.shape[-1] == 1:
        return "binary"
    if y_true.ndim < y_pred.ndim or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1):
        return "sparse"
    return "categorical"


def _count_correct(y_true: np.ndarray, y_pred: np.ndarray) -> int:
    kind = _accuracy_kind(y_true, y_pred)
    if kind == "binary":
        hits = (y_pred > 0.5).astype(np.int8) == (np.asarray(y_true).reshape(y_pred.shape) > 0.5)
    elif kind == "sparse":
        hits = y_pred.argmax(axis=-1) == np.asarray(y_true).reshape(y_pred.shape[:-1])
    else:
        hits = y_pred.argmax(axis=-1) == np.asarray(y_true).argmax(axis=-1)
    return int(np.sum(hits))


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
        self.name = name
        self.layers: list[Layer] = []
        self.input: Input | None = None
        self.optimizer = None
        self.loss = None
        self.metrics: list[str] = []
        for item in layers or []:
            self.add(item)

    # ------------------------------------------------------------------------- structure
    def add(self, layer) -> None:
        """Append a layer (or, first of all, an :class:`Input`)."""
        if isinstance(layer, Input):
            if self.layers or self.input is not None:
                raise ValueError(f"Sequential '{self.name}': an Input can only come first")
            self.input = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}': expected a dlcourse.scratch layer, got "
                            f"{type(layer).__name__} (Keras layers go in keras.Sequential)")
        if any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"Sequential '{self.name}': two layers are named '{layer.name}'")
        self.layers.append(layer)
        if self.input is not None:
            self.build()

    def build(self, input_shape=None) -> None:
        """Create every layer's weights for examples of ``input_shape`` (batch axis excluded)."""
        if input_shape is not None:
            self.input = Input(input_shape, self.input.dtype if self.input else "float32")
        if self.input is None:
            raise ValueError(f"Sequential '{self.name}': build() needs an input shape")
        shape: tuple = (None, *self.input.shape)
        for layer in self.layers:
            if not layer.built:
                layer._ensure_built(shape, layer.dtype or self.input.dtype)
            shape = layer.compute_output_shape(shape)

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(layer.built for layer in self.layers)

    def _check_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(f"Sequential '{self.name}': {what} needs the weights; start the "
                             "model with Input(shape) or call it on a batch first")

    # ------------------------------------------------------------------------- passes
    def _check_x(self, x) -> np.ndarray:
        if not self.layers:
            raise ValueError(f"Sequential '{self.name}': the model has no layers")
        x = self.layers[0]._check_input(x)
        if self.input is not None and tuple(x.shape[1:]) != self.input.shape:
            raise ValueError(f"Sequential '{self.name}': expected input of shape "
                             f"(batch, {', '.join(map(str, self.input.shape))}), got {x.shape}")
        return x

    def forward(self, x, training: bool = False) -> np.ndarray:
        """Run ``x`` through every layer; the input is checked once, here."""
        out = self._check_x(x)
        for layer in self.layers:
            out = layer.call(out, training=training)
        return out

    __call__ = forward

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``dJ/dy`` through the layers in reverse; returns ``dJ/dx``.

        With ``input_grad=False`` (as in ``fit``) the first layer skips ``dJ/dx``, which
        training never uses, and None is returned.
        """
        if any(layer.cache is None for layer in self.layers):
            raise ValueError(f"Sequential '{self.name}': backward() before forward()")
        grad = grad_output
        first = self.layers[0]
        saved, first.input_grad = first.input_grad, input_grad
        try:
            for layer in reversed(self.layers):
                grad = layer._backward(grad)
        finally:
            first.input_grad = saved
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
        """Set all weights from a list such as ``keras_model.get_weights()``."""
        self._check_built("set_weights()")
        weights = list(weights)
        counts = [len(layer.get_weights()) for layer in self.layers]
        if len(weights) != sum(counts):
            raise ValueError(f"Sequential '{self.name}': expected {sum(counts)} weight arrays "
                             f"(per layer: {counts}), got {len(weights)}")
        start = 0
        for layer, count in zip(self.layers, counts, strict=True):
            layer.set_weights(weights[start:start + count])
            start += count

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print) -> None:
        """Print the layers, their output shapes and parameter counts, as Keras does."""
        self._check_built("summary()")
        rows = []
        shape: tuple = (None, *self.input.shape) if self.input else None
        for layer in self.layers:
            shape = layer.compute_output_shape(shape) if shape is not None else None
            rows.append((f"{layer.name} ({type(layer).__name__})",
                         str(shape) if shape else "?",
                         f"{layer.count_params():,}"))
        widths = [max(len(h), *(len(r[i]) for r in rows)) + 2
                  for i, h in enumerate(("Layer (type)", "Output Shape", "Param #"))]
        line = "─" * (sum(widths) + 2)
        out = [f'Model: "{self.name}"', line,
               f"{'Layer (type)':<{widths[0]}} {'Output Shape':<{widths[1]}} "
               f"{'Param #':>{widths[2]}}", line]
        out += [f"{a:<{widths[0]}} {b:<{widths[1]}} {c:>{widths[2]}}" for a, b, c in rows]
        total = self.count_params()
        nbytes = sum(v.nbytes for layer in self.layers for v in layer.params.values())
        out += [line, f" Total params: {total:,} ({_size(nbytes)})"]
        print_fn("\n".join(out))

    # ------------------------------------------------------------------------- training
    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        """Choose the optimizer, the loss and the metrics (only ``"accuracy"``), as in Keras."""
        if loss is None:
            raise ValueError(f"Sequential '{self.name}': compile() needs a loss, e.g. "
                             "loss='sparse_categorical_crossentropy'")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        metrics = list(metrics or [])
        for metric in metrics:
            if metric not in ("accuracy", "acc"):
                raise ValueError(f"Sequential '{self.name}': unknown metric {metric!r}; "
                                 "the from-scratch model supports 'accuracy'")
        self.metrics = metrics

    def _check_compiled(self, what: str) -> None:
        if self.loss is None:
            raise ValueError(f"Sequential '{self.name}': call compile(optimizer, loss) "
                             f"before {what}()")

    def _check_xy(self, x, y, what: str):
        x = self._check_x(x)
        y = np.asarray(y)
        if y.dtype == object:
            raise TypeError(f"Sequential '{self.name}': {what}() expected numeric targets, "
                            "got an object array")
        if len(y) != len(x):
            raise ValueError(f"Sequential '{self.name}': {what}() got {len(x)} inputs but "
                             f"{len(y)} targets")
        return x, y

    def _batch_logs(self, y_true, y_pred) -> tuple[float, int]:
        loss = float(self.loss(y_true, y_pred)) + self.regularization_loss()
        correct = _count_correct(y_true, y_pred) if self.metrics else 0
        return loss, correct

    def _epoch_logs(self, loss_sum: float, correct: int, n: int, prefix: str = ""):
        logs = {f"{prefix}loss": loss_sum / n}
        for metric in self.metrics:
            logs[f"{prefix}{metric}"] = correct / n
        return logs

    def train_on_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """One step of mini-batch gradient descent; returns (loss, correct predictions)."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            y_pred = self.forward(x, training=True)
            if not np.isfinite(y_pred).all():  # diverged: the weights overflowed
                return float("nan"), 0
            loss, correct = self._batch_logs(y, y_pred)
            if not math.isfinite(loss):
                return loss, correct
            self.backward(self.loss.gradient(y, y_pred), input_grad=False)
            for layer in self.layers:
                layer.add_regularization_grads()
            self.optimizer.apply_gradients(self.grads_and_vars())
        return loss, correct

    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, validation_data=None,
            shuffle: bool = True, verbose="auto") -> History:
        """Train with mini-batch gradient descent, as ``keras.Model.fit``.

        Parameters
        ----------
        x : float array of shape ``(n, ...)``
        y : array of shape ``(n, ...)``, the targets the loss expects
        epochs : int
            Passes over the data.
        batch_size : int
            Examples per step; the last batch of an epoch may be smaller.
        validation_data : tuple ``(x_val, y_val)``, optional
            Evaluated after every epoch (``val_loss``, ``val_accuracy``).
        shuffle : bool
            Shuffle the examples before every epoch (with the generator of
            :func:`~dlcourse.scratch.set_random_seed`); ``False`` keeps the order, as Keras.
        verbose : {"auto", 0, 1, 2}
            0 silent; 1 (and "auto") a progress bar per epoch; 2 one line per epoch.

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
        x, y = self._check_xy(x, y, "fit")
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Sequential '{self.name}': {name} must be a positive integer, "
                                 f"got {value!r}")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError(f"Sequential '{self.name}': validation_data must be a tuple "
                                 "(x_val, y_val)")
            x_val, y_val = self._check_xy(*validation_data, "fit (validation_data)")
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ValueError(f"Sequential '{self.name}': verbose must be 'auto', 0, 1 or 2, "
                             f"got {verbose!r}")
        n = len(x)
        steps = math.ceil(n / batch_size)
        history = History()
        history.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        for epoch in range(epochs):
            order = get_rng().permutation(n) if shuffle else None
            loss_sum, correct = 0.0, 0
            bar = _progress(steps, epoch, epochs) if verbose == 1 else None
            for step in range(steps):
                batch = slice(step * batch_size, min(n, (step + 1) * batch_size))
                idx = order[batch] if order is not None else batch
                xb, yb = x[idx], y[idx]
                loss, batch_correct = self.train_on_batch(xb, yb)
                if not math.isfinite(loss):
                    if bar is not None:
                        bar.close()
                    lr = getattr(self.optimizer, "learning_rate", None)
                    raise TrainingDivergedError(
                        f"Training diverged at epoch {epoch + 1}, step {step + 1} of {steps}: "
                        f"the loss became {loss}. What usually helps: a smaller learning rate "
                        f"(it is {lr}), gradient clipping (e.g. clipnorm=1.0 in the optimizer), "
                        "or scaling the inputs (e.g. pixels / 255).",
                        epoch=epoch + 1, step=step + 1, loss=loss, history=history)
                loss_sum += loss * len(xb)
                correct += batch_correct
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(self._epoch_logs(loss_sum, correct, batch.stop), refresh=False)
            logs = self._epoch_logs(loss_sum, correct, n)
            if validation_data is not None:
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
                out = xb
                for layer in self.layers:
                    out = layer.call(out, training=False)
                loss, batch_correct = self._batch_logs(yb, out)
                loss_sum += loss * len(xb)
                correct += batch_correct
        return self._epoch_logs(loss_sum, correct, len(x), prefix)

    def evaluate(self, x, y, batch_size: int = 32, verbose=0, return_dict: bool = False):
        """Loss (and metrics) on ``(x, y)`` in inference mode, as ``keras.Model.evaluate``.

        Returns the loss alone when compiled without metrics, else ``[loss, accuracy]``
        (or a dict with ``return_dict=True``).
        """
        self._check_compiled("evaluate")
        x, y = self._check_xy(x, y, "evaluate")
        logs = self._evaluate(x, y, batch_size)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: int = 32, verbose=0) -> np.ndarray:
        """The model's output for ``x``, computed in batches in inference mode."""
        x = self._check_x(x)
        outputs = []
        for start in range(0, len(x), batch_size):
            out = x[start:start + batch_size]
            for layer in self.layers:
                out = layer.call(out, training=False)
            outputs.append(out)
        return np.concatenate(outputs)


def _size(nbytes: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.2f} {unit}" if unit != "B" else f"{nbytes} B"
        nbytes /= 1024
    return f"{nbytes} B"


def _progress(steps: int, epoch: int, epochs: int):
    from tqdm import tqdm  # only needed when a progress bar is shown

    # stdout, not tqdm's default stderr: notebooks and the book treat stderr as a warning.
    return tqdm(total=steps, desc=f"Epoch {epoch + 1}/{epochs}", unit="step", file=sys.stdout,
                leave=True, dynamic_ncols=True)
