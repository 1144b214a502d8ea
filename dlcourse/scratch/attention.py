r"""Scaled dot-product attention and Keras's ``MultiHeadAttention``, forward and backward.

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
:class:`MultiHeadAttention` projects its inputs once per head, attends (all heads at once) and
projects the heads' outputs back.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dlcourse.scratch import initializers
from dlcourse.scratch.base import (
    Layer,
    _built_or_unchanged,
    _check_training,
    get_rng,
    register_layer,
)
from dlcourse.validation import check_array, check_bool, check_int, check_number

__all__ = ["MASK_VALUE", "AttentionCache", "AttentionGradients", "MultiHeadAttention",
           "MultiHeadAttentionGradients", "attention_backward", "attention_backward_naive",
           "causal_mask", "scaled_dot_product_attention", "scaled_dot_product_attention_naive"]

#: What a masked score becomes before the softmax: Keras's ``Softmax`` value outside float16.
MASK_VALUE = -1e9


class AttentionCache(NamedTuple):
    """What :func:`attention_backward` needs from the forward pass, by name.

    ``query`` (..., T, d_k), ``key`` (..., S, d_k), ``value`` (..., S, d_v); ``probs``
    (..., T, S) the attention weights :math:`P` (0 where masked); ``mask`` a boolean array
    broadcastable to (..., T, S), or None; ``scale`` :math:`1/\\sqrt{d_k}`.
    """

    query: np.ndarray
    key: np.ndarray
    value: np.ndarray
    probs: np.ndarray
    mask: np.ndarray | None
    scale: float


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


def _check_args(where: str, query, key, value, mask):
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
        try:
            np.broadcast_shapes(mask.shape, scores_shape)
        except ValueError:
            raise ValueError(f"{where}: mask of shape {mask.shape} does not broadcast to the "
                             f"scores' shape {scores_shape} (..., T, S)") from None
    return query, key, value, mask


# ------------------------------------------------------------------------------ forward
def scaled_dot_product_attention_naive(query, key, value, mask=None):
    r"""``softmax(Q Kᵀ / √d_k, masked) V``, one query position at a time (for reading).

    Parameters
    ----------
    query : ndarray, shape (..., T, d_k)
        The leading axes (batch, heads) are looped over; they broadcast between the three.
    key : ndarray, shape (..., S, d_k)
    value : ndarray, shape (..., S, d_v)
    mask : bool ndarray broadcastable to (..., T, S), optional
        True where query ``t`` may attend to key ``s``.

    Returns
    -------
    output : ndarray, shape (..., T, d_v)
    probs : ndarray, shape (..., T, S)
        The attention weights, each row summing to 1 (to 0 if fully masked): what Keras returns
        with ``return_attention_scores=True``.
    cache : AttentionCache
        For :func:`attention_backward_naive` or :func:`attention_backward`.
    """
    query, key, value, mask = _check_args("scaled_dot_product_attention_naive()", query, key,
                                          value, mask)
    lead = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    T, d_k = query.shape[-2:]
    S, d_v = value.shape[-2:]
    scale = 1.0 / math.sqrt(d_k)  # a Python float: keeps float32 inputs in float32
    q, k, v = (np.broadcast_to(a, (*lead, *a.shape[-2:])) for a in (query, key, value))
    m = None if mask is None else np.broadcast_to(mask, (*lead, T, S))
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
            out[i][t] = sum(p[s] * v[i][s] for s in range(S))  # O_t = Σ_s P_ts v_s
    return out, probs, AttentionCache(query, key, value, probs, mask, scale)


def scaled_dot_product_attention(query, key, value, mask=None):
    """``softmax(Q Kᵀ / √d_k, masked) V`` with batched matrix products (the layer's version).

    Same parameters, results and formula as :func:`scaled_dot_product_attention_naive`.
    """
    query, key, value, mask = _check_args("scaled_dot_product_attention()", query, key, value,
                                          mask)
    scale = 1.0 / math.sqrt(query.shape[-1])  # a Python float: keeps float32 in float32
    scores = (query * scale) @ np.swapaxes(key, -1, -2)  # scaled first, as Keras does
    if mask is not None:
        scores = np.where(mask, scores, MASK_VALUE)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    if mask is not None:
        probs = np.where(mask, probs, 0.0)
    return probs @ value, probs, AttentionCache(query, key, value, probs, mask, scale)


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
    q, k, v, p, mask, scale = cache
    lead = p.shape[:-2]
    T, S = p.shape[-2:]
    q_b, k_b, v_b = (np.broadcast_to(a, (*lead, *a.shape[-2:])) for a in (q, k, v))
    m = None if mask is None else np.broadcast_to(mask, p.shape)
    dq = np.zeros(q_b.shape, dtype=g.dtype)
    dk = np.zeros(k_b.shape, dtype=g.dtype)
    dv = np.zeros(v_b.shape, dtype=g.dtype)
    for i in np.ndindex(*lead):
        for t in range(T):
            row = p[i][t]
            for s in range(S):
                dv[i][s] += row[s] * g[i][t]                         # dV = Pᵀ G
            dp = np.array([g[i][t] @ v_b[i][s] for s in range(S)])  # dP_t = G_t Vᵀ
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
    q, k, v, p, mask, scale = cache
    dv = np.swapaxes(p, -1, -2) @ g
    dp = g @ np.swapaxes(v, -1, -2)
    if mask is not None:
        dp = np.where(mask, dp, 0.0)
    da = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
    dq = scale * (da @ k)
    dk = scale * (np.swapaxes(da, -1, -2) @ q)
    return AttentionGradients(_unbroadcast(dq, q.shape), _unbroadcast(dk, k.shape),
                              _unbroadcast(dv, v.shape))


# ------------------------------------------------------------------------------ the layer
class MultiHeadAttentionGradients(NamedTuple):
    """What :meth:`MultiHeadAttention.backward` returns: ``dJ/d query`` (batch, T, d_q),
    ``dJ/d key`` (batch, S, d_k) and ``dJ/d value`` (batch, S, d_v).

    ``grad_key`` is None when the layer was called without ``key``: the value then served as the
    key too, and ``grad_value`` holds both paths. In self-attention, ``layer(x, x)``, the layer
    cannot know that query and value are one array: ``dJ/dx = grad_query + grad_value``, added
    by the caller, as for any input used twice.
    """

    grad_query: np.ndarray
    grad_key: np.ndarray | None
    grad_value: np.ndarray


@register_layer
class MultiHeadAttention(Layer):
    r"""Attention with several heads, each on its own projections: Keras's ``MultiHeadAttention``.

    Parameters
    ----------
    num_heads : int >= 1
    key_dim : int >= 1
        Size of each head's queries and keys, :math:`d_k`.
    value_dim : int >= 1, optional
        Size of each head's values; ``key_dim`` by default (kept as such, as in Keras's config).
    dropout : float
        Dropout on the attention probabilities; only 0.0 is supported here.
    use_bias : bool
        Whether the four projections have biases.
    output_shape : int or tuple of int, optional
        The output's last axes; by default the query's feature size.
    kernel_initializer, bias_initializer : str or callable
        Keras names (``"glorot_uniform"``, ``"zeros"``) of the projections' initial values.
    seed : int, optional
        Seed of the initial weights.
    name, dtype
        As for every layer.

    Notes
    -----
    Called as Keras calls it, ``layer(query, value, key=None, attention_mask=None,
    use_causal_mask=False, return_attention_scores=False, training=False)`` with query
    ``(batch, T, d_q)`` and value, key ``(batch, S, ·)`` (key defaults to value). For each head
    :math:`n`, with the weights of Keras's ``query``, ``key``, ``value`` and ``attention_output``
    projections (``kernel`` ``(in, heads, dim)``, ``bias`` ``(heads, dim)``):

    .. math::

        Q_n = X_q W^q_n + b^q_n, \quad K_n = X_k W^k_n + b^k_n, \quad V_n = X_v W^v_n + b^v_n,
        \quad C_n = \operatorname{softmax}\Big(\frac{Q_n K_n^\top}{\sqrt{d_k}}\Big) V_n,
        \quad Y = \sum_n C_n W^o_n + b^o.

    ``attention_mask`` ``(batch, T, S)`` (True: attend) and the causal mask (key ``s <= t``)
    are combined with a logical and. Backward runs the same steps in reverse: each projection
    is a matrix product (``dW = Xᵀ dZ``, ``dX = dZ Wᵀ``, ``db = Σ dZ``) around
    :func:`attention_backward`.

    The key's bias gets a zero gradient: it adds :math:`q_t \cdot b^k_n` to every score of
    row ``t``, and a softmax ignores what is added to a whole row.

    A row whose keys are all masked attends to nothing here, as Keras's layer does with
    ``return_attention_scores=True``; without it Keras takes a fused path that gives such a row
    the mean of the values instead. Rows with at least one key agree either way.
    """

    weight_names = ("query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel",
                    "value/bias", "attention_output/kernel", "attention_output/bias")
    masking = "refuse"  # Keras's reads the query's and value's masks; this one takes none
    input_ranks = (3,)
    input_layout = "(batch, time, features)"

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 seed: int | None = None, name: str | None = None, dtype=None):
        owner = self._owner(name)
        num_heads = check_int(num_heads, "num_heads", owner, minimum=1)
        key_dim = check_int(key_dim, "key_dim", owner, minimum=1)
        value_dim = key_dim if value_dim is None else check_int(value_dim, "value_dim", owner,
                                                                minimum=1)
        dropout = check_number(dropout, "dropout", owner, 0, 1, high_open=True)
        if dropout != 0.0:
            raise ValueError(f"{owner}: dropout must be 0.0 (dropout on the attention "
                             f"probabilities is not implemented from scratch), got {dropout!r}")
        use_bias = check_bool(use_bias, "use_bias", owner)
        if output_shape is not None:
            dims = (output_shape,) if not isinstance(output_shape, (tuple, list)) else output_shape
            output_shape = tuple(check_int(d, "output_shape", owner, minimum=1) for d in dims)
            if not output_shape:
                raise ValueError(f"{owner}: output_shape must be an integer >= 1 or a non-empty "
                                 f"tuple of them, got {dims!r}")
        kernel_initializer = initializers.get(kernel_initializer, owner, "kernel_initializer")
        bias_initializer = initializers.get(bias_initializer, owner, "bias_initializer")
        super().__init__(name=name, seed=seed, dtype=dtype)
        self.num_heads, self.key_dim, self.value_dim = num_heads, key_dim, value_dim
        self.dropout, self.use_bias, self.output_shape = dropout, use_bias, output_shape
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self._input_dims: tuple[int, int, int] | None = None  # features of query, key, value

    # ----------------------------------------------------------------------------- building
    def build(self, query_shape: tuple, value_shape: tuple, key_shape: tuple | None = None):
        """Create the four projections' weights for these input shapes (batch axis included)."""
        key_shape = value_shape if key_shape is None else key_shape
        rng = get_rng(self.seed)
        heads = self.num_heads
        out = self.output_shape or (query_shape[-1],)
        for part, features, dim in (("query", query_shape[-1], self.key_dim),
                                    ("key", key_shape[-1], self.key_dim),
                                    ("value", value_shape[-1], self.value_dim)):
            self._initial_weight(f"{part}/kernel", self.kernel_initializer, "kernel_initializer",
                                 (features, heads, dim), rng)
            if self.use_bias:
                self._initial_weight(f"{part}/bias", self.bias_initializer, "bias_initializer",
                                     (heads, dim), rng)
        self._initial_weight("attention_output/kernel", self.kernel_initializer,
                             "kernel_initializer", (heads, self.value_dim, *out), rng)
        if self.use_bias:
            self._initial_weight("attention_output/bias", self.bias_initializer,
                                 "bias_initializer", out, rng)
        self._input_dims = (query_shape[-1], key_shape[-1], value_shape[-1])

    def _unbuild(self) -> None:
        super()._unbuild()
        self._input_dims = None

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None) -> tuple:
        """``(batch, T, *output_shape)``, by default the query's shape."""
        query_shape = tuple(query_shape)
        return query_shape[:-1] + (self.output_shape or query_shape[-1:])

    def _check_inputs(self, query, value, key):
        arrays = {"query": self._check_array(query, "query"),
                  "value": self._check_array(value, "value")}
        if key is not None:
            arrays["key"] = self._check_array(key, "key")
        for what, a in arrays.items():
            if a.ndim != 3 or a.shape[0] == 0:
                raise ValueError(self.error_message(
                    f"expected {what} of rank 3 {self.input_layout} with a non-empty batch, "
                    f"got shape {a.shape}"))
        shapes = {what: a.shape for what, a in arrays.items()}
        if len({s[0] for s in shapes.values()}) > 1 or (
                key is not None and shapes["key"][1] != shapes["value"][1]):
            raise ValueError(self.error_message(
                "expected query, value and key with the same batch size, and key and value of "
                f"the same length, got shapes {shapes}"))
        return arrays["query"], arrays["value"], arrays.get("key")

    def _attention_mask(self, attention_mask, use_causal_mask, batch, T, S):
        """The combined boolean mask, (batch or 1, T, S), or None."""
        mask = None
        if attention_mask is not None:
            mask = check_array(attention_mask, "attention_mask", repr(self), kind="real") \
                if np.asarray(attention_mask).dtype != np.bool_ else np.asarray(attention_mask)
            if mask.ndim not in (2, 3) or mask.shape[-2:] != (T, S) or (
                    mask.ndim == 3 and mask.shape[0] not in (1, batch)):
                raise ValueError(self.error_message(
                    f"expected attention_mask of shape (batch, T, S) = ({batch}, {T}, {S}) "
                    f"(True: attend), got shape {mask.shape}"))
            mask = (mask != 0).reshape(-1, T, S)  # Keras casts to bool: nonzero attends
        if use_causal_mask:
            causal = causal_mask(T, S)[None]
            mask = causal if mask is None else mask & causal
        return mask

    # ----------------------------------------------------------------------------- passes
    def forward(self, query, value, key=None, attention_mask=None, use_causal_mask=False,
                return_attention_scores=False, training=False):
        """The attention output ``(batch, T, *output_shape)``, and the scores if asked.

        With ``return_attention_scores=True``, returns ``(output, scores)``, ``scores``
        ``(batch, heads, T, S)`` the attention probabilities, as Keras does.
        """
        _check_training(training, repr(self))
        use_causal_mask = check_bool(use_causal_mask, "use_causal_mask", repr(self))
        return_attention_scores = check_bool(return_attention_scores, "return_attention_scores",
                                             repr(self))
        query, value, key_in = self._check_inputs(query, value, key)
        key = value if key_in is None else key_in
        if self.built and self._input_dims != (query.shape[-1], key.shape[-1], value.shape[-1]):
            raise ValueError(self.error_message(
                f"expected query, key and value with {self._input_dims} features as on the "
                f"first call, got shapes {query.shape}, {key.shape} and {value.shape}"))
        mask = self._attention_mask(attention_mask, use_causal_mask, *query.shape[:2],
                                    key.shape[1])
        if not self.built:
            with _built_or_unchanged([self]):
                dtype = query.dtype if self._dtype_given is None else self._dtype_given
                self.dtype = np.dtype(dtype)
                self.input_shape = (None, query.shape[-1])
                self.build(query.shape, value.shape, key.shape)
                self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
                self.built = True
        query, key, value = (a.astype(self.dtype, copy=False) for a in (query, key, value))
        batch, T, _ = query.shape
        q, k, v = (self._project(part, x) for part, x in (("query", query), ("key", key),
                                                          ("value", value)))
        heads, probs, attention = scaled_dot_product_attention(
            q, k, v, None if mask is None else mask[:, None])  # one mask for every head
        kernel = self.params["attention_output/kernel"]
        out = np.einsum("bnth,nhp->btp", heads, kernel.reshape(*kernel.shape[:2], -1))
        out = out.reshape(batch, T, *kernel.shape[2:])
        if self.use_bias:
            out += self.params["attention_output/bias"]
        self.cache = {"query": query, "key": key, "value": value, "key_given": key_in is not None,
                      "heads": heads, "attention": attention}
        self._last_output_shape = out.shape
        return (out, probs) if return_attention_scores else out

    __call__ = forward

    def _project(self, part: str, x: np.ndarray) -> np.ndarray:
        """``x W + b`` for every head: (batch, time, features) → (batch, heads, time, dim)."""
        z = np.einsum("btd,dnh->bnth", x, self.params[f"{part}/kernel"])
        if self.use_bias:
            z += self.params[f"{part}/bias"][:, None, :]
        return z

    def forward_unchecked(self, x, training: bool = False):
        raise TypeError(self.error_message(
            "takes (query, value), not one input, so it cannot be a layer of a Sequential "
            "(nor can Keras's); call it as layer(query, value)"))

    def call_backward(self, grad_output: np.ndarray) -> MultiHeadAttentionGradients:
        c = self.cache
        kernel = self.params["attention_output/kernel"]
        g = grad_output.reshape(*grad_output.shape[:2], -1)              # (batch, T, P)
        kernel2 = kernel.reshape(*kernel.shape[:2], -1)                  # (heads, d_v, P)
        self.grads["attention_output/kernel"][...] = np.einsum(
            "bnth,btp->nhp", c["heads"], g).reshape(kernel.shape)
        if self.use_bias:
            self.grads["attention_output/bias"][...] = grad_output.sum(axis=(0, 1))
        grad_heads = np.einsum("btp,nhp->bnth", g, kernel2)
        dq, dk, dv = attention_backward(grad_heads, c["attention"])
        grads = {}
        for part, dz in (("query", dq), ("key", dk), ("value", dv)):
            x, w = c[part], self.params[f"{part}/kernel"]
            self.grads[f"{part}/kernel"][...] = np.einsum("btd,bnth->dnh", x, dz)
            if self.use_bias:
                self.grads[f"{part}/bias"][...] = dz.sum(axis=(0, 2))
            grads[part] = np.einsum("bnth,dnh->btd", dz, w)
        if not c["key_given"]:  # the value was the key too: both paths reach it
            return MultiHeadAttentionGradients(grads["query"], None,
                                               grads["value"] + grads["key"])
        return MultiHeadAttentionGradients(grads["query"], grads["key"], grads["value"])
