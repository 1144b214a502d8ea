"""The loss of the course's classifiers on :class:`Tensor` logits: softmax cross-entropy."""

from __future__ import annotations

import numpy as np

from dlcourse.autograd.graph import accumulate
from dlcourse.autograd.tensor import Tensor, _as_float_array
from dlcourse.validation import check_array

__all__ = ["softmax_cross_entropy"]


def softmax_cross_entropy(logits, labels) -> Tensor:
    r"""Mean cross-entropy of the softmax of ``logits`` with integer class ``labels``.

    Parameters
    ----------
    logits : Tensor of shape (N, K)
        Unnormalised scores :math:`z`, one row per example.
    labels : array_like of int, shape (N,)
        The class :math:`y_i \in [0, K)` of each row.

    Returns
    -------
    Tensor of shape ()
        :math:`J = \frac{1}{N}\sum_i \left(\log \sum_k e^{z_{ik}} - z_{i y_i}\right)`.

    Notes
    -----
    With :math:`p = \mathrm{softmax}(z)` row by row, the backward is the well-known

    .. math::

        \bar z_{ik} = \bar J \, \frac{p_{ik} - [k = y_i]}{N}.

    The log-sum-exp is computed after subtracting each row's maximum, so large logits do not
    overflow. It equals ``-logits.log_softmax()[np.arange(N), labels].mean()``, built from
    the operations above, and Keras's ``SparseCategoricalCrossentropy(from_logits=True)``.
    """
    owner = "softmax_cross_entropy()"
    if not isinstance(logits, Tensor):
        logits = Tensor(_as_float_array(logits, "logits", owner))
    if logits.ndim != 2 or 0 in logits.shape:
        raise ValueError(f"{owner}: logits must have shape (batch, classes), both >= 1, got "
                         f"shape {logits.shape}")
    n, k = logits.shape
    labels = check_array(labels, "labels", owner, kind="integer")
    if labels.shape != (n,):
        raise ValueError(f"{owner}: labels must have shape ({n},), one class index per row of "
                         f"logits of shape {logits.shape}, got shape {labels.shape}")
    bad = np.flatnonzero((labels < 0) | (labels >= k))
    if bad.size:
        raise ValueError(f"{owner}: labels must be class indices in [0, {k}) for logits of "
                         f"shape {logits.shape}, got {labels[bad[0]]} at index {bad[0]}")
    rows = np.arange(n)
    shifted = logits.data - logits.data.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    out = Tensor._result(-log_p[rows, labels].mean(), (logits,), "softmax_cross_entropy")

    def _backward():
        d = np.exp(log_p)  # p
        d[rows, labels] -= 1  # p - onehot(y)
        accumulate(logits, out.grad * d / n)
    out._backward = _backward
    return out
