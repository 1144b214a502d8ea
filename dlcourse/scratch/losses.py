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
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch.activations import sigmoid
from dlcourse.validation import check_bool, check_number

__all__ = [
    "EPSILON", "BinaryCrossentropy", "CategoricalCrossentropy", "Loss", "MeanSquaredError",
    "SparseCategoricalCrossentropy", "get",
]

#: Keras's fuzz factor ``keras.config.epsilon()``: probabilities are clipped to [ε, 1 − ε].
EPSILON = 1e-7


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


def _clip_with_mask(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``clip(p, ε, 1 − ε)`` and where the clip lets the gradient through.

    TensorFlow's clip passes the gradient where ``ε <= p <= 1 − ε`` (boundaries included) and
    blocks it elsewhere; so does this mask.
    """
    return np.clip(p, EPSILON, 1 - EPSILON), (p >= EPSILON) & (p <= 1 - EPSILON)


def _samples(y_pred: np.ndarray) -> int:
    """The divisor of ``"sum_over_batch_size"``: the number of per-sample losses."""
    return y_pred.size // y_pred.shape[-1]


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


class BinaryCrossentropy(Loss):
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

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0):
        owner = type(self).__name__
        self.from_logits = check_bool(from_logits, "from_logits", owner)
        self.label_smoothing = check_number(label_smoothing, "label_smoothing", owner, 0, 1)

    def get_config(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}

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


class CategoricalCrossentropy(Loss):
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

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0):
        owner = type(self).__name__
        self.from_logits = check_bool(from_logits, "from_logits", owner)
        self.label_smoothing = check_number(label_smoothing, "label_smoothing", owner, 0, 1)

    def get_config(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}

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


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """``z − log Σ_k e^{z_k}`` over the last axis, shifted by the max so ``exp`` cannot overflow."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


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
