"""The cross-entropies (binary, categorical, sparse), each beside its gradient, as in Keras 3.

Probabilities are clipped to ``[ε, 1 − ε]`` (:data:`EPSILON`) before their logarithm is taken,
with TensorFlow's rule for the clip's gradient; logits go through a stable log-softmax (or
``log(1 + e^{−|z|})`` for the binary case). See :mod:`dlcourse.scratch.losses` for why
``from_logits=True`` is the better choice.
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch.activations import sigmoid
from dlcourse.scratch.losses.base import Loss
from dlcourse.validation import check_bool, check_number

__all__ = ["EPSILON", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy"]

#: Keras's fuzz factor ``keras.config.epsilon()``: probabilities are clipped to [ε, 1 − ε].
EPSILON = 1e-7


def _clip_with_mask(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``clip(p, ε, 1 − ε)`` and where the clip lets the gradient through.

    TensorFlow's clip passes the gradient where ``ε <= p <= 1 − ε`` (boundaries included) and
    blocks it elsewhere; so does this mask.
    """
    return np.clip(p, EPSILON, 1 - EPSILON), (p >= EPSILON) & (p <= 1 - EPSILON)


def _samples(y_pred: np.ndarray) -> int:
    """The divisor of ``"sum_over_batch_size"``: the number of per-sample losses."""
    return y_pred.size // y_pred.shape[-1]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """``z − log Σ_k e^{z_k}`` over the last axis, shifted by the max so ``exp`` cannot overflow."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


class _SmoothedLoss(Loss):
    """The settings Keras's binary and categorical cross-entropies share."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0):
        owner = type(self).__name__
        self.from_logits = check_bool(from_logits, "from_logits", owner)
        self.label_smoothing = check_number(label_smoothing, "label_smoothing", owner, 0, 1)

    def get_config(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


class BinaryCrossentropy(_SmoothedLoss):
    r"""Binary cross-entropy, Keras's ``BinaryCrossentropy`` (``"binary_crossentropy"``).

    Parameters
    ----------
    from_logits : bool
        False: ``y_pred`` holds probabilities ``p`` (e.g. a sigmoid's output), clipped to
        ``[ε, 1 − ε]``. True: ``y_pred`` holds logits ``z`` and ``p = σ(z)`` is applied inside,
        stably (recommended).
    label_smoothing : float in [0, 1]
        Targets are squeezed towards 1/2: ``y ← y (1 − s) + s / 2``.

    Notes
    -----
    For ``y_pred`` of shape ``(N, d)``, with ``c = clip(p, ε, 1 − ε)`` and ``y`` in [0, 1]:

    .. math::

        J = -\frac{1}{N d} \sum_{ij} \left[y_{ij} \log c_{ij}
            + (1 - y_{ij}) \log(1 - c_{ij})\right], \qquad
        \frac{\partial J}{\partial p_{ij}} = \frac{1}{N d}
            \left(\frac{1 - y_{ij}}{1 - c_{ij}} - \frac{y_{ij}}{c_{ij}}\right)
            [\varepsilon \le p_{ij} \le 1 - \varepsilon].

    Keras 3 adds no ε inside the logarithms (tf.keras 2 did: ``log(p + ε)``); the clip alone
    keeps them finite.

    From logits, ``J = (1/(N d)) Σ [max(z, 0) − z y + log(1 + e^{−|z|})]`` (never overflows) and
    ``∂J/∂z = (σ(z) − y) / (N d)``.
    """

    name = "binary_crossentropy"

    def _prepare_targets(self, y_true, shape, dtype):
        y_true = self._same_shape(self._check_true(y_true, dtype), shape)
        self._check_probabilities(y_true, "y_true")
        if self.label_smoothing:
            y_true = y_true * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        return y_true

    def _check_pred_values(self, y_pred):
        if not self.from_logits:
            self._check_probabilities(y_pred, "y_pred")

    def _value(self, y, p):
        if self.from_logits:
            z = p
            return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
        c, _ = _clip_with_mask(p)
        return -np.mean(y * np.log(c) + (1 - y) * np.log(1 - c))

    def _gradient(self, y, p):
        if self.from_logits:
            z = p
            # σ(z) − y written as (1 − y) − σ(−z) for z >= 0: for a confident right answer
            # (z = 30, y = 1) the result ~1e-13 would otherwise drown in 1 − σ(z)'s rounding.
            grad = np.where(z >= 0, (1 - y) - sigmoid(-z), sigmoid(z) - y)
        else:
            c, mask = _clip_with_mask(p)
            grad = ((1 - y) / (1 - c) - y / c) * mask
        return (grad / p.size).astype(p.dtype, copy=False)


class CategoricalCrossentropy(_SmoothedLoss):
    r"""Cross-entropy with one-hot targets, Keras's ``CategoricalCrossentropy``.

    Parameters
    ----------
    from_logits : bool
        False: ``y_pred`` holds probabilities (a softmax's output); True (recommended): logits,
        turned into log-probabilities by a stable log-softmax inside.
    label_smoothing : float in [0, 1]
        Targets become ``y (1 − s) + s / K`` for ``K`` classes.

    Notes
    -----
    ``y_true`` and ``y_pred`` have shape ``(N, K)``. From probabilities, Keras first normalises
    each row by its sum, then clips: ``q = p / Σ_k p_k``, ``c = clip(q, ε, 1 − ε)``,

    .. math::

        J = -\frac{1}{N} \sum_i \sum_k y_{ik} \log c_{ik}, \qquad
        g_{ik} = -\frac{y_{ik}}{N c_{ik}} [\varepsilon \le q_{ik} \le 1 - \varepsilon],
        \qquad
        \frac{\partial J}{\partial p_{ik}} = \frac{g_{ik} - \sum_j g_{ij} q_{ij}}{\sum_j p_{ij}}.

    From logits, with ``log p = z − logsumexp(z)``:

    .. math::

        J = -\frac{1}{N} \sum_{ik} y_{ik} \log p_{ik}, \qquad
        \frac{\partial J}{\partial z_{ik}} = \frac{p_{ik} \sum_j y_{ij} - y_{ik}}{N},

    which is the well-known ``(p − y) / N`` when each row of ``y_true`` sums to 1. (TensorFlow's
    fused kernel returns ``p − y`` even when it does not; this is the true derivative.)
    """

    name = "categorical_crossentropy"

    def _prepare_targets(self, y_true, shape, dtype):
        y_true = self._check_true(y_true, dtype)
        if y_true.ndim == len(shape) - 1 and shape[-1] > 1:
            raise ValueError(self._error(
                f"expected one-hot y_true of shape {shape}, got shape {y_true.shape}; "
                "for integer class labels use SparseCategoricalCrossentropy"))
        y_true = self._same_shape(y_true, shape)
        self._check_probabilities(y_true, "y_true")
        if self.label_smoothing:
            classes = shape[-1]
            y_true = y_true * (1 - self.label_smoothing) + self.label_smoothing / classes
        return y_true

    def _check_pred_values(self, y_pred):
        if not self.from_logits:
            self._check_probabilities(y_pred, "y_pred")
            empty = y_pred.sum(axis=-1) == 0
            if empty.any():
                raise ValueError(self._error(
                    f"y_pred has {int(empty.sum())} rows of zeros; probabilities must not all "
                    "be zero"))

    def _value(self, y, p):
        if self.from_logits:
            return -np.sum(y * _log_softmax(p)) / _samples(p)
        c, _ = _clip_with_mask(p / p.sum(axis=-1, keepdims=True))
        return -np.sum(y * np.log(c)) / _samples(p)

    def _gradient(self, y, p):
        n = _samples(p)
        if self.from_logits:
            probs = np.exp(_log_softmax(p))
            return (probs * y.sum(axis=-1, keepdims=True) - y) / n
        total = p.sum(axis=-1, keepdims=True)
        q = p / total
        c, mask = _clip_with_mask(q)
        g = -(y / c) * mask / n
        # Back through the normalisation q = p / Σp, whose Jacobian is (I − q 1ᵀ) / Σp.
        return (g - np.sum(g * q, axis=-1, keepdims=True)) / total


class SparseCategoricalCrossentropy(Loss):
    r"""Cross-entropy with integer class labels, Keras's ``SparseCategoricalCrossentropy``.

    Parameters
    ----------
    from_logits : bool
        False: ``y_pred`` holds probabilities (a softmax's output); True (recommended): logits.

    Notes
    -----
    ``y_pred`` has shape ``(N, K)``; ``y_true`` holds class indices in ``[0, K)`` with shape
    ``(N,)`` or ``(N, 1)``, integers (or floats with integral values). It is the categorical
    cross-entropy with ``y`` the one-hot encoding of the labels, without building it.

    From logits, with ``p = softmax(z)``:

    .. math::

        J = \frac{1}{N} \sum_i \left(\log \sum_k e^{z_{ik}} - z_{i y_i}\right), \qquad
        \frac{\partial J}{\partial z_{ik}} = \frac{p_{ik} - [k = y_i]}{N}.

    From probabilities, Keras clips first, ``c = clip(p, ε, 1 − ε)``, then takes the
    cross-entropy of ``log c`` as logits; so unlike :class:`CategoricalCrossentropy` it
    renormalises *after* clipping:

    .. math::

        J = \frac{1}{N} \sum_i \left(\log \sum_k c_{ik} - \log c_{i y_i}\right), \qquad
        \frac{\partial J}{\partial p_{ik}} = \frac{1}{N}
            \left(\frac{1}{\sum_j c_{ij}} - \frac{[k = y_i]}{c_{ik}}\right)
            [\varepsilon \le p_{ik} \le 1 - \varepsilon].
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False):
        self.from_logits = check_bool(from_logits, "from_logits", type(self).__name__)

    def get_config(self):
        return {"from_logits": self.from_logits}

    def _prepare_targets(self, y_true, shape, dtype):
        try:
            labels = np.asarray(y_true)
        except (ValueError, TypeError) as err:  # ragged nested lists
            raise TypeError(self._error(
                f"expected integer class labels as an array, got {type(y_true).__name__} that "
                "NumPy cannot turn into one")) from err
        batch_shape = shape[:-1]
        if labels.shape == batch_shape + (1,):
            labels = labels.reshape(batch_shape)
        if labels.shape != batch_shape:
            hint = (" (one-hot targets? use CategoricalCrossentropy)"
                    if labels.shape == shape else "")
            raise ValueError(self._error(
                f"expected integer labels of shape {batch_shape} or {batch_shape + (1,)} for "
                f"y_pred of shape {shape}, got shape {labels.shape}{hint}"))
        return self._check_labels(labels, classes=shape[-1])

    def _check_pred_values(self, y_pred):
        if not self.from_logits:
            self._check_probabilities(y_pred, "y_pred")

    def _check_labels(self, labels: np.ndarray, classes: int) -> np.ndarray:
        if np.issubdtype(labels.dtype, np.floating):
            if not np.isfinite(labels).all():
                raise ValueError(self._error("y_true contains NaN or infinite labels"))
            fractional = labels != np.round(labels)
            if fractional.any():
                index = tuple(int(i) for i in np.argwhere(fractional)[0])
                value = labels[index].item()
                raise ValueError(self._error(
                    f"expected integer class labels, got {value!r} at index {index}"))
        elif not np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool:
            raise TypeError(self._error(
                f"expected integer class labels, got dtype {labels.dtype}"))
        bad = (labels < 0) | (labels >= classes)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            value = labels[index].item()
            raise ValueError(self._error(
                f"label {value:g} at index {index} is out of range [0, {classes}) for y_pred "
                f"with {classes} classes ({int(bad.sum())} labels out of range in all)"))
        return labels.astype(np.intp)

    def _value(self, labels, p):
        if self.from_logits:
            picked = np.take_along_axis(_log_softmax(p), labels[..., None], axis=-1)
            return -np.sum(picked) / _samples(p)
        c, _ = _clip_with_mask(p)
        picked = np.take_along_axis(c, labels[..., None], axis=-1)[..., 0]
        return np.sum(np.log(c.sum(axis=-1)) - np.log(picked)) / _samples(p)

    def _gradient(self, labels, p):
        n = _samples(p)
        if self.from_logits:
            grad = np.exp(_log_softmax(p))
            np.put_along_axis(grad, labels[..., None],
                              np.take_along_axis(grad, labels[..., None], axis=-1) - 1, axis=-1)
            return grad / n
        c, mask = _clip_with_mask(p)
        grad = np.broadcast_to(1 / c.sum(axis=-1, keepdims=True), p.shape).copy()
        picked = np.take_along_axis(c, labels[..., None], axis=-1)
        np.put_along_axis(grad, labels[..., None],
                          np.take_along_axis(grad, labels[..., None], axis=-1) - 1 / picked,
                          axis=-1)
        return grad * mask / n
