"""Mean squared error, the loss for real-valued targets, beside its gradient."""

from __future__ import annotations

import numpy as np

from dlcourse.scratch.losses.base import Loss

__all__ = ["MeanSquaredError"]


class MeanSquaredError(Loss):
    r"""Mean squared error, Keras's ``MeanSquaredError()`` (``"mse"``).

    Notes
    -----
    For ``y_pred`` of shape ``(N, d)`` (each row a sample with ``d`` outputs):

    .. math::

        J = \frac{1}{N} \sum_i \frac{1}{d} \sum_j (\hat y_{ij} - y_{ij})^2, \qquad
        \frac{\partial J}{\partial \hat y_{ij}} = \frac{2 (\hat y_{ij} - y_{ij})}{N d}.

    Keras averages over the last axis, then over the others; with equal-sized rows this is the
    mean over all entries, so ``(N,)`` predictions (``d = 1``) give the same value as ``(N, 1)``.
    Targets of shape ``(N,)`` are accepted for predictions of shape ``(N, 1)`` and vice versa,
    as in Keras; any other shape difference is an error (never a broadcast).
    """

    name = "mean_squared_error"

    def _prepare_targets(self, y_true, shape, dtype):
        return self._same_shape(self._check_true(y_true, dtype), shape)

    def _value(self, y_true, y_pred):
        return np.mean(np.square(y_true - y_pred))

    def _gradient(self, y_true, y_pred):
        return (2.0 / y_pred.size) * (y_pred - y_true)
