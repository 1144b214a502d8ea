"""What surrounds :class:`~dlcourse.scratch.sequential.Sequential`'s training loop.

- :class:`Input`, the shape of one example, as ``keras.Input(shape)``;
- :class:`History`, what ``fit`` returns, and :class:`TrainingDivergedError`, what it raises
  when the loss stops being a finite number (with the message saying what usually helps);
- the helpers of ``compile`` / ``fit`` / ``evaluate`` / ``summary``: Keras's "accuracy" (which of
  binary, sparse or categorical it means for the shapes), the argument checks they share
  (``batch_size``, ``verbose``, ``metrics``, ``validation_data``, ``validation_split``), the
  progress bar and the summary's table.

``Sequential`` itself (the passes, the weights, the loop) stays in
:mod:`dlcourse.scratch.sequential`, which re-exports the three public classes. NumPy only (tqdm
is imported for a progress bar).
"""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np

from dlcourse.validation import check_int

__all__ = ["History", "Input", "TrainingDivergedError"]


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

    @classmethod
    def at(cls, epoch: int, step: int, steps: int, loss: float, learning_rate,
           history: History) -> TrainingDivergedError:
        """The error for a loss that became ``loss`` at ``step`` (of ``steps``) of ``epoch``."""
        return cls(f"Training diverged at epoch {epoch}, step {step} of {steps}: the loss "
                   f"became {loss}. What usually helps: a smaller learning rate (it is "
                   f"{learning_rate}), gradient clipping (e.g. clipnorm=1.0 in the optimizer), "
                   "or scaling the inputs (e.g. pixels / 255).",
                   epoch=epoch, step=step, loss=loss, history=history)


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
    ``get_weights()`` work before any data has been seen). ``dtype`` is float32 or float64, or
    int32 or int64 for a model that starts with an Embedding (its input is ids).
    """

    def __init__(self, shape, dtype="float32"):
        given = shape
        if isinstance(shape, numbers.Integral) and not isinstance(shape, (bool, np.bool_)):
            shape = (shape,)
        if not isinstance(shape, (tuple, list)) or not shape or any(
                isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral) or s < 1
                for s in shape):
            raise ValueError(f"Input: shape must be a tuple of positive integers (one example, "
                             f"without the batch axis), got {given!r}")
        allowed = "float32 or float64 (or int32, int64 for ids)"
        try:
            dtype = np.dtype(dtype)
        except TypeError as err:
            raise TypeError(f"Input: dtype must be {allowed}, got {dtype!r}") from err
        if not (np.issubdtype(dtype, np.floating) or dtype in (np.int32, np.int64)):
            raise TypeError(f"Input: dtype must be {allowed}, got {dtype}")
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


def count_correct(y_true: np.ndarray, y_pred: np.ndarray) -> int:
    """How many predictions Keras's "accuracy" counts as right (see ``_accuracy_kind``)."""
    kind = _accuracy_kind(y_true, y_pred)
    if kind == "binary":
        hits = (y_pred > 0.5).astype(np.int8) == (np.asarray(y_true).reshape(y_pred.shape) > 0.5)
    elif kind == "sparse":
        hits = y_pred.argmax(axis=-1) == np.asarray(y_true).reshape(y_pred.shape[:-1])
    else:
        hits = y_pred.argmax(axis=-1) == np.asarray(y_true).argmax(axis=-1)
    return int(np.sum(hits))


def check_batch_size(batch_size, owner: str) -> int:
    """A positive int; None is Keras's default of 32."""
    if batch_size is None:
        return 32
    return check_int(batch_size, "batch_size", owner, minimum=1)


def check_verbose(verbose, owner: str) -> int:
    """Keras's ``verbose``: ``'auto'`` (which means 1), 0, 1 or 2."""
    if isinstance(verbose, str) and verbose == "auto":
        return 1
    if isinstance(verbose, numbers.Integral) and not isinstance(verbose, (bool, np.bool_)) \
            and verbose in (0, 1, 2):
        return int(verbose)
    raise ValueError(f"{owner}: verbose must be 'auto', 0, 1 or 2, got {verbose!r}")


def check_metrics(metrics, owner: str) -> list[str]:
    """``compile``'s metrics as a list; only ``"accuracy"`` (or ``"acc"``) is supported."""
    if isinstance(metrics, str):
        raise TypeError(f"{owner}: metrics must be a list, e.g. metrics=[{metrics!r}], "
                        f"got the string {metrics!r} (Keras refuses it too)")
    if metrics is not None and not isinstance(metrics, (list, tuple)):
        raise TypeError(f"{owner}: metrics must be a list, e.g. metrics=['accuracy'], "
                        f"got {type(metrics).__name__}")
    metrics = list(metrics or [])
    for metric in metrics:
        if metric not in ("accuracy", "acc"):
            raise ValueError(f"{owner}: unknown metric {metric!r} in metrics; "
                             "the from-scratch model supports 'accuracy'")
    return metrics


def check_target_array(y, n: int, owner: str) -> np.ndarray:
    """The targets as a numeric array with one entry per example (``n`` of them).

    Only what holds for every loss; the loss checks the rest (``Loss.check_targets``).
    """
    if y is None:
        raise TypeError(f"{owner}: needs the targets y")
    try:
        y = np.asarray(y)
    except (ValueError, TypeError) as err:  # ragged nested lists
        raise TypeError(f"{owner}: expected the targets as an array, got "
                        f"{type(y).__name__} that NumPy cannot turn into one") from err
    if y.dtype == object:
        raise TypeError(f"{owner}: expected numeric targets, got an object array")
    if y.ndim == 0:
        raise ValueError(f"{owner}: expected one target per example, got a scalar {y!r}")
    if len(y) != n:
        raise ValueError(f"{owner}: got {n} inputs but {len(y)} targets")
    return y


def check_validation_data(validation_data, validation_split: float, owner: str) -> None:
    """``validation_data`` is None or a pair ``(x_val, y_val)``, and not given with a split."""
    if validation_data is None:
        return
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError(f"{owner}: validation_data must be a tuple (x_val, y_val)")
    if validation_split:
        raise ValueError(f"{owner}: give validation_data or validation_split, "
                         f"not both (got validation_split={validation_split})")


def split_validation(x, y, validation_split: float, owner: str):
    """Keras's split: the last ``validation_split`` of the examples, before shuffling.

    Returns ``x_train, y_train, x_val, y_val``.
    """
    n = len(x)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"{owner}: validation_split={validation_split} leaves "
                         f"{split_at} of the {n} examples for training and {n - split_at} "
                         "for validation; both need at least one")
    return x[:split_at], y[:split_at], x[split_at:], y[split_at:]


def summary_table(name: str, rows: list[tuple[str, str, str]], total: int, nbytes: int) -> str:
    """Keras's summary: a title, one row ``(layer (type), output shape, params)`` per layer."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) + 2
              for i, h in enumerate(("Layer (type)", "Output Shape", "Param #"))]
    line = "─" * (sum(widths) + 2)
    out = [f'Model: "{name}"', line,
           f"{'Layer (type)':<{widths[0]}} {'Output Shape':<{widths[1]}} "
           f"{'Param #':>{widths[2]}}", line]
    out += [f"{a:<{widths[0]}} {b:<{widths[1]}} {c:>{widths[2]}}" for a, b, c in rows]
    out += [line, f" Total params: {total:,} ({_size(nbytes)})"]
    return "\n".join(out)


def _size(nbytes: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.2f} {unit}" if unit != "B" else f"{nbytes} B"
        nbytes /= 1024
    return f"{nbytes} B"


def progress_bar(steps: int, epoch: int, epochs: int):
    """A tqdm bar for one epoch of ``steps`` steps, on stdout."""
    from tqdm import tqdm  # only needed when a progress bar is shown

    # stdout, not tqdm's default stderr: notebooks and the book treat stderr as a warning.
    return tqdm(total=steps, desc=f"Epoch {epoch + 1}/{epochs}", unit="step", file=sys.stdout,
                leave=True, dynamic_ncols=True)
