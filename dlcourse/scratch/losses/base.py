"""``Loss``, the contract every loss follows, and the checks of its arguments, written once.

A loss is called as ``loss(y_true, y_pred) -> float`` (Keras's ``"sum_over_batch_size"``) and
``loss.gradient(y_true, y_pred) -> dJ/dy_pred``; both first check the predictions (floating
point, finite, non-empty) and the targets (real numbers, the predictions' shape or Keras's
squeeze of a trailing axis of 1, probabilities in [0, 1] where the loss needs them), so that
every concrete loss writes only its formulas. NumPy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Loss"]


class Loss:
    """Base class: validates ``y_true`` and ``y_pred``, then defers to ``_value``/``_gradient``.

    Subclasses set :attr:`name` (Keras's string name) and implement ``_prepare_targets`` (the
    checks of ``y_true`` against the predictions' shape, returning the array the formulas use),
    optionally ``_check_pred_values`` (e.g. probabilities in [0, 1]), ``_value`` and
    ``_gradient``.
    """

    #: Keras's string name of the loss, e.g. ``"mean_squared_error"``.
    name = "loss"

    def __call__(self, y_true, y_pred) -> float:
        """The loss averaged over the batch (Keras's ``"sum_over_batch_size"``).

        Parameters
        ----------
        y_true : array of shape ``(N, ...)``
            The targets: the shape of ``y_pred`` (one-hot rows for
            :class:`CategoricalCrossentropy`), or integer labels of shape ``(N,)`` or ``(N, 1)``
            for :class:`SparseCategoricalCrossentropy`.
        y_pred : float array of shape ``(N, ...)``
            The predictions: probabilities, or logits with ``from_logits=True``.

        Returns
        -------
        float
            ``J = (1/N) Σ_i ℓ_i``.
        """
        y_true, y_pred = self._prepare(y_true, y_pred)
        return float(self._value(y_true, y_pred))

    def gradient(self, y_true, y_pred) -> np.ndarray:
        """``dJ/dy_pred`` of the batch loss ``J``, the ``1/N`` included.

        Parameters
        ----------
        y_true, y_pred : arrays
            As for calling the loss.

        Returns
        -------
        ndarray, shape and dtype of ``y_pred``
            What the last layer's ``backward`` expects.
        """
        y_true, y_pred = self._prepare(y_true, y_pred)
        return self._gradient(y_true, y_pred)

    def check_targets(self, y_true, y_pred_shape, dtype="float64") -> None:
        """Check ``y_true`` for predictions of shape ``y_pred_shape`` without computing anything.

        The checks of a call on the targets alone (shapes, labels in range, probabilities
        in [0, 1]), so that a model can check all of its labels before its first training
        step instead of failing half-way through an epoch.

        Parameters
        ----------
        y_true : array
            The targets, as for calling the loss.
        y_pred_shape : tuple of int
            The shape the predictions will have, e.g. ``(N, classes)``.
        dtype : dtype
            The predictions' dtype, to which the targets are cast.
        """
        shape = tuple(int(d) for d in y_pred_shape)
        if len(shape) == 0 or 0 in shape:
            raise ValueError(self._error(
                f"expected a non-empty y_pred of rank >= 1, got shape {shape}"))
        self._prepare_targets(y_true, shape, np.dtype(dtype))

    def get_config(self) -> dict:
        """Constructor arguments by Keras name: ``keras.losses.<Class>(**config)`` is a twin."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------------- validation
    def _error(self, message: str) -> str:
        return f"{type(self).__name__}: {message}"

    def _check_pred(self, y_pred) -> np.ndarray:
        y_pred = np.asarray(y_pred)
        if y_pred.dtype == object or not np.issubdtype(y_pred.dtype, np.floating):
            raise TypeError(self._error(
                f"expected y_pred as a floating-point array (float32 or float64), "
                f"got dtype {y_pred.dtype}"))
        if y_pred.ndim == 0 or y_pred.size == 0:
            raise ValueError(self._error(
                f"expected a non-empty y_pred of rank >= 1, got shape {y_pred.shape}"))
        if not np.isfinite(y_pred).all():
            raise ValueError(self._error(
                f"y_pred contains NaN or infinite values "
                f"({int((~np.isfinite(y_pred)).sum())} of {y_pred.size} entries); "
                "a diverging model or a log(0) upstream is the usual cause"))
        return y_pred

    def _check_true(self, y_true, dtype) -> np.ndarray:
        try:
            y_true = np.asarray(y_true)
        except (ValueError, TypeError) as err:  # ragged nested lists
            raise TypeError(self._error(
                f"expected y_true as an array of numbers, got {type(y_true).__name__} that NumPy "
                "cannot turn into one")) from err
        # Booleans are fine targets (False/True as 0/1, as Keras casts them); complex numbers
        # would lose their imaginary part and objects or strings are no numbers: refused.
        if not (np.issubdtype(y_true.dtype, np.integer) or np.issubdtype(y_true.dtype, np.floating)
                or y_true.dtype == bool):
            raise TypeError(self._error(
                f"expected a y_true of real numbers (or booleans), got dtype {y_true.dtype}"))
        if not np.isfinite(y_true).all():
            raise ValueError(self._error(
                f"y_true contains NaN or infinite values "
                f"({int((~np.isfinite(y_true)).sum())} of {y_true.size} entries)"))
        return y_true.astype(dtype, copy=False)

    def _check_probabilities(self, array: np.ndarray, what: str) -> None:
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 1:
            hint = (" (these look like logits: pass from_logits=True)" if what == "y_pred"
                    else "")
            raise ValueError(self._error(
                f"expected {what} in [0, 1], got values in [{low:g}, {high:g}]{hint}"))

    def _same_shape(self, y_true: np.ndarray, shape: tuple) -> np.ndarray:
        # Keras's squeeze_or_expand_to_same_rank: a trailing axis of size 1 on either side is
        # dropped or added, so labels of shape (batch,) match predictions of shape (batch, 1).
        # Anything else must match exactly; broadcasting (batch,) against (batch, 1) would
        # silently compare every label with every prediction.
        if y_true.shape != shape and abs(y_true.ndim - len(shape)) == 1 \
                and y_true.size == int(np.prod(shape)) \
                and (y_true.shape[-1:] == (1,) or shape[-1:] == (1,)):
            y_true = y_true.reshape(shape)
        if y_true.shape != shape:
            raise ValueError(self._error(
                f"expected y_true of the shape of y_pred, {shape}, "
                f"got shape {y_true.shape}"))
        return y_true

    def _prepare(self, y_true, y_pred):
        """The checked ``(y_true, y_pred)`` that the formulas use."""
        y_pred = self._check_pred(y_pred)
        y_true = self._prepare_targets(y_true, y_pred.shape, y_pred.dtype)
        self._check_pred_values(y_pred)
        return y_true, y_pred

    def _prepare_targets(self, y_true, shape: tuple, dtype) -> np.ndarray:
        """``y_true`` checked for predictions of ``shape`` and ready for the formulas."""
        raise NotImplementedError  # every concrete loss overrides it

    def _check_pred_values(self, y_pred: np.ndarray) -> None:
        """Checks on the predictions' values beyond finiteness (e.g. probabilities in [0, 1])."""

    def _value(self, y_true, y_pred):
        raise NotImplementedError  # every concrete loss overrides it

    def _gradient(self, y_true, y_pred):
        raise NotImplementedError  # every concrete loss overrides it
