"""``compile`` / ``fit`` / ``evaluate`` / ``train_on_batch`` of a from-scratch model.

:class:`Trainer` is what :class:`~dlcourse.scratch.sequential.Sequential` inherits them from, as a
Keras model inherits them from Keras's ``Trainer``: the model supplies the passes
(``_check_x``, ``_run``, ``_predict_batch``, ``_backpropagate``, ``grads_and_vars``) and this class
the loop around them. NumPy only.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from dlcourse.scratch import losses as losses_module
from dlcourse.scratch import optimizers as optimizers_module
from dlcourse.scratch.base import _built_or_unchanged, get_rng
from dlcourse.scratch.training import (
    History,
    TrainingDivergedError,
    check_batch_size,
    check_metrics,
    check_target_array,
    check_validation_data,
    check_verbose,
    count_correct,
    progress_bar,
    split_validation,
)
from dlcourse.validation import check_bool, check_int, check_number

__all__ = ["EpochProgress", "Trainer", "trial_run"]


class Trainer:
    """The training loop of a model: see the module's docstring."""

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
            trial_run(self, x, y, len(x))
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
            trial_run(self, x, y, batch_size)
        validate = validation_data is not None or validation_split > 0
        n = len(x)
        steps = math.ceil(n / batch_size)
        history = History()
        history.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        for epoch in range(epochs):
            order = get_rng().permutation(n) if shuffle else None
            loss_sum, correct = 0.0, 0
            progress = EpochProgress(verbose, steps, epoch, epochs)
            for step in range(steps):
                batch = slice(step * batch_size, min(n, (step + 1) * batch_size))
                idx = order[batch] if order is not None else batch
                xb, yb = x[idx], y[idx]
                loss, batch_correct = self._train_step(xb, yb)
                if not math.isfinite(loss):
                    progress.close()
                    raise TrainingDivergedError.at(
                        epoch + 1, step + 1, steps, loss,
                        getattr(self.optimizer, "learning_rate", None), history)
                loss_sum += loss * len(xb)
                correct += batch_correct
                if progress.bar is not None:  # the running logs only where a bar shows them
                    progress.step(self._epoch_logs(loss_sum, correct, batch.stop))
            logs = self._epoch_logs(loss_sum, correct, n)
            if validate:
                logs.update(self._evaluate(x_val, y_val, batch_size, prefix="val_"))
            history._append(epoch, logs)
            progress.end(logs)
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


class EpochProgress:
    """What ``fit`` shows of an epoch: a progress bar (verbose=1), a line (2), or nothing."""

    def __init__(self, verbose: int, steps: int, epoch: int, epochs: int):
        self.verbose, self.epoch, self.epochs = verbose, epoch, epochs
        self.bar = progress_bar(steps, epoch, epochs) if verbose == 1 else None

    def step(self, logs: dict) -> None:
        """After a step, with the running logs of the epoch (only called when a bar shows)."""
        self.bar.update(1)
        self.bar.set_postfix(logs, refresh=False)

    def end(self, logs: dict) -> None:
        """After the epoch, with its logs."""
        if self.bar is not None:
            self.bar.set_postfix(logs)
            self.bar.close()
        elif self.verbose == 2:
            shown = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
            print(f"Epoch {self.epoch + 1}/{self.epochs} - {shown}", file=sys.stdout)

    def close(self) -> None:
        """Training stopped inside the epoch."""
        if self.bar is not None:
            self.bar.close()


def trial_run(model, x, y, batch_size: int) -> None:
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
    check_outputs = (not getattr(model.loss, "from_logits", True)
                     and getattr(model, "_outputs_suit", None) is not model.loss)
    if model.built and not check_outputs:
        return
    with _built_or_unchanged(model.layers, trial=True), \
            np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        out = model._predict_batch(x[:batch_size])
        if check_outputs and np.isfinite(out).all():  # divergence: the loop reports it
            try:
                model.loss(y[:batch_size], out)
            except (TypeError, ValueError) as err:
                raise type(err)(f"the model's outputs do not suit the loss: {err}") from err
            model._outputs_suit = model.loss
