r"""Scaled dot-product attention, forward and backward: the formula inside every attention layer.

For queries :math:`Q` ``(T, d_k)``, keys :math:`K` ``(S, d_k)`` and values :math:`V` ``(S, d_v)``,

.. math::

    A = \frac{Q K^\top}{\sqrt{d_k}}, \qquad
    P = \operatorname{softmax}_{\text{rows}}(\tilde A), \qquad
    O = P V,

where :math:`\tilde A_{ts} = A_{ts}` where the boolean mask :math:`M_{ts}` is True (query ``t``
may attend to key ``s``) and :math:`-10^9` where it is False. That is exactly what Keras does
(``keras.layers.Softmax`` with a mask, used by ``MultiHeadAttention``): it *replaces* a masked
score by ``-1e9`` (it adds nothing), so ``exp`` makes its probability 0, and then sets the
probabilities of masked positions to 0, so that a row with every key masked attends to nothing
(its output is 0, not the mean of the values that a softmax of equal scores would give).

Backward, with :math:`G = \partial J / \partial O`, the chain rule through the three steps:

.. math::

    \frac{\partial J}{\partial V} = P^\top G, \qquad
    \frac{\partial J}{\partial P} = G V^\top, \qquad
    \frac{\partial J}{\partial A_{ts}} = P_{ts}\Big(\frac{\partial J}{\partial P_{ts}}
        - \sum_j \frac{\partial J}{\partial P_{tj}} P_{tj}\Big) \quad (0 \text{ where masked}),

    \frac{\partial J}{\partial Q} = \frac{1}{\sqrt{d_k}} \frac{\partial J}{\partial A} K,
    \qquad \frac{\partial J}{\partial K}
        = \frac{1}{\sqrt{d_k}} \Big(\frac{\partial J}{\partial A}\Big)^\top Q.

The third line is the softmax's Jacobian-vector product: :math:`\partial P_{tj} / \partial A_{ts}
= P_{tj}(\delta_{js} - P_{ts})`, one row at a time.

Each operation comes twice with identical signatures, as elsewhere in :mod:`dlcourse.scratch`:
``*_naive`` loops over the leading (batch, head) indices and the query positions and reads like
the equations; the fast version is a few batched matrix products. The forward returns an
:class:`AttentionCache` that the backward takes, so the backward recomputes nothing. The layer
:class:`~dlcourse.scratch.attention.MultiHeadAttention` projects its inputs once per head, calls
:func:`scaled_dot_product_attention` (all heads at once) and projects the heads' outputs back.

Dropout on the attention weights (what Keras's ``MultiHeadAttention(dropout=...)`` does in
training) multiplies :math:`P` by a mask :math:`D` (entries 0 or :math:`1/(1 - \text{rate})`)
before the values are averaged, :math:`O = (P \odot D) V`; its backward multiplies
:math:`\partial J/\partial P` by the same :math:`D` and uses :math:`P \odot D` in
:math:`\partial J/\partial V`. The functions take that mask as ``dropout_mask``; drawing it is
the layer's job.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dlcourse.validation import check_array, check_int, check_number

__all__ = ["MASK_VALUE", "AttentionCache", "AttentionGradients", "attention_backward",
           "attention_backward_naive", "causal_mask", "scaled_dot_product_attention",
           "scaled_dot_product_attention_naive"]

#: What a masked score becomes before the softmax: Keras's ``Softmax`` value outside float16.
MASK_VALUE = -1e9


class AttentionCache(NamedTuple):
    """What :func:`attention_backward` needs from the forward pass, by name.

    ``query`` (..., T, d_k), ``key`` (..., S, d_k), ``value`` (..., S, d_v); ``probs``
    (..., T, S) the attention weights :math:`P` (0 where masked); ``mask`` a boolean array
    broadcastable to (..., T, S), or None; ``scale`` the factor of the scores,
    :math:`1/\\sqrt{d_k}` unless another was given; ``dropout_mask`` :math:`D`, broadcastable to
    (..., T, S), or None.
    """

    query: np.ndarray
    key: np.ndarray
    value: np.ndarray
    probs: np.ndarray
    mask: np.ndarray | None
    scale: float
    dropout_mask: np.ndarray | None = None


class AttentionGradients(NamedTuple):
    """``dJ/dQ`` (..., T, d_k), ``dJ/dK`` (..., S, d_k) and ``dJ/dV`` (..., S, d_v)."""

    grad_query: np.ndarray
    grad_key: np.ndarray
    grad_value: np.ndarray


def causal_mask(query_length: int, key_length: int | None = None) -> np.ndarray:
    """The boolean ``(T, S)`` mask that lets query ``t`` attend to keys ``s <= t`` only.

    Keras's ``use_causal_mask=True``: the lower triangle, aligned at the first position even
    when ``S != T`` (``key_length`` defaults to ``query_length``).
    """
    t = check_int(query_length, "query_length", "causal_mask()", minimum=1)
    s = t if key_length is None else check_int(key_length, "key_length", "causal_mask()",
                                               minimum=1)
    return np.arange(s)[None, :] <= np.arange(t)[:, None]


def _check_args(where: str, query, key, value, mask, scale, dropout_mask):
    """The arguments checked: arrays, shapes that fit, boolean masks; ``scale`` as a float."""
    query = check_array(query, "query", where, kind="float")
    key = check_array(key, "key", where, kind="float")
    value = check_array(value, "value", where, kind="float")
    if query.ndim < 2 or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"{where}: expected query (..., T, d_k), key (..., S, d_k) and value "
                         f"(..., S, d_v) of the same rank >= 2, got shapes {query.shape}, "
                         f"{key.shape} and {value.shape}")
    if key.shape[-1] != query.shape[-1] or value.shape[-2] != key.shape[-2]:
        raise ValueError(f"{where}: key must have the query's depth d_k and value the key's "
                         f"length S, got query {query.shape}, key {key.shape}, value "
                         f"{value.shape}")
    lead = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    scores_shape = (*lead, query.shape[-2], key.shape[-2])
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"{where}: mask must be a boolean array (True: attend), got dtype "
                            f"{mask.dtype}")
        _check_broadcast(where, "mask", mask.shape, scores_shape)
    if dropout_mask is not None:
        dropout_mask = check_array(dropout_mask, "dropout_mask", where, kind="float")
        _check_broadcast(where, "dropout_mask", dropout_mask.shape, scores_shape)
    scale = (1.0 / math.sqrt(query.shape[-1]) if scale is None
             else check_number(scale, "scale", where, 0, low_open=True))
    return query, key, value, mask, float(scale), dropout_mask


def _check_broadcast(where: str, what: str, shape: tuple, scores_shape: tuple) -> None:
    try:
        np.broadcast_shapes(shape, scores_shape)
    except ValueError:
        raise ValueError(f"{where}: {what} of shape {shape} does not broadcast to the "
                         f"scores' shape {scores_shape} (..., T, S)") from None


# ------------------------------------------------------------------------------ forward
def scaled_dot_product_attention_naive(query, key, value, mask=None, *, scale=None,
                                       dropout_mask=None):
    r"""``softmax(Q Kᵀ / √d_k, masked) V``, one query position at a time (for reading).

    Parameters
    ----------
    query : ndarray, shape (..., T, d_k)
        The leading axes (batch, heads) are looped over; they broadcast between the three.
    key : ndarray, shape (..., S, d_k)
    value : ndarray, shape (..., S, d_v)
    mask : bool ndarray broadcastable to (..., T, S), optional
        True where query ``t`` may attend to key ``s``.
    scale : float > 0, optional
        The factor of the scores, :math:`1/\sqrt{d_k}` by default (Keras's ``scale``).
    dropout_mask : ndarray broadcastable to (..., T, S), optional
        :math:`D`, multiplied into the attention weights before they average the values
        (dropout in training: entries 0 or ``1/(1 - rate)``).

    Returns
    -------
    output : ndarray, shape (..., T, d_v)
    probs : ndarray, shape (..., T, S)
        The attention weights, each row summing to 1 (to 0 if fully masked), before dropout:
        what Keras returns with ``return_attention_scores=True``.
    cache : AttentionCache
        For :func:`attention_backward_naive` or :func:`attention_backward`.
    """
    query, key, value, mask, scale, dropout_mask = _check_args(
        "scaled_dot_product_attention_naive()", query, key, value, mask, scale, dropout_mask)
    lead = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    T, S, d_v = query.shape[-2], *value.shape[-2:]
    q, k, v = (np.broadcast_to(a, (*lead, *a.shape[-2:])) for a in (query, key, value))
    m = None if mask is None else np.broadcast_to(mask, (*lead, T, S))
    d = None if dropout_mask is None else np.broadcast_to(dropout_mask, (*lead, T, S))
    dtype = np.result_type(query, key, value)
    out = np.zeros((*lead, T, d_v), dtype=dtype)
    probs = np.zeros((*lead, T, S), dtype=dtype)
    for i in np.ndindex(*lead):
        for t in range(T):
            scores = np.array([q[i][t] @ k[i][s] * scale for s in range(S)])  # A_t = q_t·k_s/√d_k
            if m is not None:
                scores = np.where(m[i][t], scores, MASK_VALUE)
            e = np.exp(scores - scores.max())
            p = e / e.sum()
            if m is not None:
                p = np.where(m[i][t], p, 0.0)  # a fully masked row attends to nothing
            probs[i][t] = p
            if d is not None:
                p = p * d[i][t]                # dropout: some weights 0, the others scaled up
            out[i][t] = sum(p[s] * v[i][s] for s in range(S))  # O_t = Σ_s P_ts v_s
    return out, probs, AttentionCache(query, key, value, probs, mask, scale, dropout_mask)


def scaled_dot_product_attention(query, key, value, mask=None, *, scale=None,
                                 dropout_mask=None):
    """``softmax(Q Kᵀ / √d_k, masked) V`` with batched matrix products (the layer's version).

    Same parameters, results and formula as :func:`scaled_dot_product_attention_naive`.
    """
    query, key, value, mask, scale, dropout_mask = _check_args(
        "scaled_dot_product_attention()", query, key, value, mask, scale, dropout_mask)
    scores = (query * scale) @ np.swapaxes(key, -1, -2)  # scaled first, as Keras does
    if mask is not None:
        scores = np.where(mask, scores, MASK_VALUE)
    # softmax along the keys, in place in the scores' array (it is ours: large, and fresh)
    probs = scores
    probs -= scores.max(axis=-1, keepdims=True)
    np.exp(probs, out=probs)
    probs /= probs.sum(axis=-1, keepdims=True)
    if mask is not None:
        probs = np.where(mask, probs, 0.0)
    kept = probs if dropout_mask is None else probs * dropout_mask
    return kept @ value, probs, AttentionCache(query, key, value, probs, mask, scale,
                                               dropout_mask)


# ------------------------------------------------------------------------------ backward
def _check_backward(where: str, grad_output, cache: AttentionCache) -> np.ndarray:
    if not isinstance(cache, AttentionCache):
        raise TypeError(f"{where}: expected the AttentionCache that the forward pass returned, "
                        f"got {type(cache).__name__}")
    grad_output = check_array(grad_output, "grad_output", where, kind="float")
    expected = (*cache.probs.shape[:-1], cache.value.shape[-1])
    if grad_output.shape != expected:
        raise ValueError(f"{where}: expected grad_output of the output's shape {expected}, got "
                         f"shape {grad_output.shape}")
    return grad_output


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """``grad`` summed over the leading axes that broadcasting added or stretched to ``shape``."""
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra else grad
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


def attention_backward_naive(grad_output, cache: AttentionCache) -> AttentionGradients:
    r"""``dJ/dQ``, ``dJ/dK``, ``dJ/dV`` one query row at a time, the module's formulas in order.

    Parameters
    ----------
    grad_output : ndarray, shape (..., T, d_v)
        ``dJ/dO``.
    cache : AttentionCache
        From either forward function.

    Returns
    -------
    AttentionGradients
        With the shapes of ``query``, ``key`` and ``value`` as given to the forward pass.
    """
    g = _check_backward("attention_backward_naive()", grad_output, cache)
    q, k, v, p, mask, scale, dropout_mask = cache
    lead = p.shape[:-2]
    T, S = p.shape[-2:]
    q_b, k_b, v_b = (np.broadcast_to(a, (*lead, *a.shape[-2:])) for a in (q, k, v))
    m = None if mask is None else np.broadcast_to(mask, p.shape)
    d = np.ones(p.shape) if dropout_mask is None else np.broadcast_to(dropout_mask, p.shape)
    dq = np.zeros(q_b.shape, dtype=g.dtype)
    dk = np.zeros(k_b.shape, dtype=g.dtype)
    dv = np.zeros(v_b.shape, dtype=g.dtype)
    for i in np.ndindex(*lead):
        for t in range(T):
            row = p[i][t]
            for s in range(S):
                dv[i][s] += row[s] * d[i][t][s] * g[i][t]           # dV = (P ⊙ D)ᵀ G
            dp = np.array([g[i][t] @ v_b[i][s] for s in range(S)]) * d[i][t]  # dP = G Vᵀ ⊙ D
            if m is not None:
                dp = np.where(m[i][t], dp, 0.0)  # the masked P were set to 0, not computed
            da = row * (dp - np.sum(dp * row))   # the softmax's Jacobian-vector product
            for s in range(S):
                dq[i][t] += scale * da[s] * k_b[i][s]                # dQ = dA K / √d_k
                dk[i][s] += scale * da[s] * q_b[i][t]                # dK = dAᵀ Q / √d_k
    return AttentionGradients(_unbroadcast(dq, q.shape), _unbroadcast(dk, k.shape),
                              _unbroadcast(dv, v.shape))


def attention_backward(grad_output, cache: AttentionCache) -> AttentionGradients:
    """``dJ/dQ``, ``dJ/dK``, ``dJ/dV`` with batched matrix products (the layer's version).

    Same parameters, results and formulas as :func:`attention_backward_naive`.
    """
    g = _check_backward("attention_backward()", grad_output, cache)
    q, k, v, p, mask, scale, dropout_mask = cache
    kept = p if dropout_mask is None else p * dropout_mask
    dv = np.swapaxes(kept, -1, -2) @ g
    dp = g @ np.swapaxes(v, -1, -2)
    if dropout_mask is not None:
        dp *= dropout_mask
    if mask is not None:
        dp = np.where(mask, dp, 0.0)
    # da = P ⊙ (dP − Σ_s dP ⊙ P), in place in dP's array (ours, and fresh)
    da = dp
    da -= np.sum(dp * p, axis=-1, keepdims=True)
    da *= p
    dq = scale * (da @ k)
    dk = scale * (np.swapaxes(da, -1, -2) @ q)
    return AttentionGradients(_unbroadcast(dq, q.shape), _unbroadcast(dk, k.shape),
                              _unbroadcast(dv, v.shape))
