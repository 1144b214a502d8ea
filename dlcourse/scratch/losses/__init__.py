"""Loss functions, each beside its gradient, computed exactly as Keras 3 computes them.

Every loss has Keras's class name, constructor arguments and string ``name``, and two methods:

- ``loss(y_true, y_pred) -> float``: Keras's default reduction ``"sum_over_batch_size"``, i.e. the
  per-sample loss averaged over the batch, ``J = (1/N) Σ_i ℓ_i``;
- ``loss.gradient(y_true, y_pred) -> dJ/dy_pred``: same shape as ``y_pred``, the ``1/N`` included,
  ready to be passed to the last layer's ``backward``.

Probabilities are clipped to ``[ε, 1 − ε]`` with ``ε = 1e-7`` (``keras.config.epsilon()``) before
their logarithm is taken, so a confident wrong prediction costs at most ``−log ε ≈ 16.1`` instead
of infinity; the clip is flat outside that range, so there the gradient is exactly zero.

Softmax and cross-entropy belong together. For ``p = softmax(z)`` and a one-hot ``y``,

    J = −(1/N) Σ_i Σ_k y_ik log p_ik,      dJ/dz = (p − y) / N,

a gradient that never vanishes or overflows, whereas ``dJ/dp = −y / (N p)`` divides by a
probability that can underflow to zero. Prefer a last layer without activation and
``from_logits=True``: the loss then applies a log-softmax itself, stably. (Keras does this behind
your back: when ``y_pred`` comes out of a Keras ``softmax``/``sigmoid`` activation, Keras 3's
cross-entropies read the logits cached on that tensor and ignore ``from_logits=False``, so no
clipping happens in ``model.fit``. These losses only see arrays, so they clip.)

The losses live in one module per kind, with :class:`Loss` (the contract and the checks of
``y_true`` and ``y_pred``, written once) in :mod:`~dlcourse.scratch.losses.base`;
:mod:`~dlcourse.scratch.losses.squared_error` holds :class:`MeanSquaredError` and
:mod:`~dlcourse.scratch.losses.crossentropy` the three cross-entropies. Every name is
importable from here, and :func:`get` finds a loss by its Keras name.
"""

from __future__ import annotations

from dlcourse.scratch.losses.base import Loss
from dlcourse.scratch.losses.crossentropy import (
    EPSILON,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
from dlcourse.scratch.losses.squared_error import MeanSquaredError

__all__ = [
    "EPSILON", "BinaryCrossentropy", "CategoricalCrossentropy", "Loss", "MeanSquaredError",
    "SparseCategoricalCrossentropy", "get",
]


_LOSSES = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier) -> Loss:
    """A loss from an instance (returned as is) or a Keras string name (Keras's defaults).

    Parameters
    ----------
    identifier : Loss or str
        ``"mse"``, ``"mean_squared_error"``, ``"binary_crossentropy"``,
        ``"categorical_crossentropy"`` or ``"sparse_categorical_crossentropy"``.

    Returns
    -------
    Loss

    Raises
    ------
    ValueError
        For any other identifier.
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in _LOSSES:
        return _LOSSES[identifier]()
    raise ValueError(f"losses.get(): unknown loss {identifier!r}; expected one of "
                     f"{sorted(_LOSSES)} or an instance of a dlcourse.scratch.losses class")
