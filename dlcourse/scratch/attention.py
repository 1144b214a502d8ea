r"""Keras's ``MultiHeadAttention`` from scratch: its projections and heads, forward and backward.

The formula each head computes, softmax(Q Kᵀ/√d_k + mask) V, and its backward are the functions
of :mod:`dlcourse.scratch.scaled_dot_product`, imported here too (this module's names for them
are kept for the code that imports them from here).
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
from dlcourse.scratch.scaled_dot_product import (
    MASK_VALUE,
    AttentionCache,
    AttentionGradients,
    attention_backward,
    attention_backward_naive,
    causal_mask,
    scaled_dot_product_attention,
    scaled_dot_product_attention_naive,
)
from dlcourse.validation import check_array, check_bool, check_int, check_number

__all__ = ["MASK_VALUE", "AttentionCache", "AttentionGradients", "MultiHeadAttention",
           "MultiHeadAttentionGradients", "attention_backward", "attention_backward_naive",
           "causal_mask", "keras_scale", "scaled_dot_product_attention",
           "scaled_dot_product_attention_naive"]


def keras_scale(key_dim: int) -> float:
    """``1/√key_dim`` rounded to float32, the factor Keras's ``MultiHeadAttention`` applies.

    Keras keeps the scale as a Python float and TensorFlow turns a Python float into a float32
    tensor before casting it to the scores' dtype: even in float64 the scores are multiplied by
    the float32 nearest to 1/√d_k (a relative difference up to 3e-8). The layer uses the same
    number, so that it agrees with Keras's to float64 precision, not merely to 1e-8.
    """
    return float(np.float32(1.0 / np.sqrt(key_dim)))


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
    dropout : float in [0, 1)
        In training, the rate at which attention weights are dropped (set to 0, the others
        scaled by ``1/(1 - dropout)``) before they average the values, as Keras does.
    use_bias : bool
        Whether the four projections have biases.
    output_shape : int or tuple of int, optional
        The output's last axes; by default the query's feature size.
    kernel_initializer, bias_initializer : str or callable
        Keras names (``"glorot_uniform"``, ``"zeros"``) of the projections' initial values.
    seed : int, optional
        Seed of the initial weights and of the dropout masks.
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

    The scores are scaled by :func:`keras_scale` (``1/√d_k`` rounded to float32), Keras's
    number. With ``dropout`` and ``training=True`` each call draws a new mask :math:`D` of the
    scores' shape and the heads compute :math:`(P \odot D) V_n` (the scores returned are
    :math:`P`, before dropout, as Keras's); backward uses the same :math:`D`.

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
        # One generator for the layer's life, as Dropout's: a seeded layer repeats its masks.
        self._rng = None if seed is None else get_rng(seed)

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
        training = _check_training(training, repr(self))
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
            self._build_for(query.shape, value.shape, key.shape, query.dtype)
        query, key, value = (a.astype(self.dtype, copy=False) for a in (query, key, value))
        batch, T, _ = query.shape
        q, k, v = (self._project(part, x) for part, x in (("query", query), ("key", key),
                                                          ("value", value)))
        dropped = None
        if training and self.dropout > 0:
            rng = self._rng if self._rng is not None else get_rng()
            keep = rng.random((batch, self.num_heads, T, key.shape[1])) >= self.dropout
            dropped = keep.astype(self.dtype) * self.dtype.type(1.0 / (1.0 - self.dropout))
        heads, probs, attention = scaled_dot_product_attention(
            q, k, v, None if mask is None else mask[:, None],  # one mask for every head
            scale=keras_scale(self.key_dim), dropout_mask=dropped)
        kernel = self.params["attention_output/kernel"]
        # Y = Σ_n C_n W^o_n: the heads side by side, (batch·T, heads·d_v), times the kernel
        # (heads·d_v, P). One matrix product (np.einsum("bnth,nhp->btp") would loop in C).
        out = _merge_heads(heads) @ kernel.reshape(-1, math.prod(kernel.shape[2:]))
        out = out.reshape(batch, T, *kernel.shape[2:])
        if self.use_bias:
            out += self.params["attention_output/bias"]
        self.cache = {"query": query, "key": key, "value": value, "key_given": key_in is not None,
                      "heads": heads, "attention": attention}
        self._last_output_shape = out.shape
        return (out, probs) if return_attention_scores else out

    __call__ = forward

    def _build_for(self, query_shape: tuple, value_shape: tuple, key_shape: tuple,
                   dtype) -> None:
        """Build for these input shapes in ``dtype`` (unless one was given); all or nothing."""
        with _built_or_unchanged([self]):
            self.dtype = np.dtype(dtype if self._dtype_given is None else self._dtype_given)
            self.input_shape = (None, query_shape[-1])
            self.build(query_shape, value_shape, key_shape)
            self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
            self.built = True

    def _project(self, part: str, x: np.ndarray) -> np.ndarray:
        """``x W_n + b_n`` for every head n: (batch, time, features) → (batch, heads, time, dim).

        One matrix product for all heads: the kernel ``(features, heads, dim)`` is a
        ``(features, heads·dim)`` matrix.
        """
        kernel = self.params[f"{part}/kernel"]
        z = (x.reshape(-1, x.shape[-1]) @ kernel.reshape(kernel.shape[0], -1)).reshape(
            *x.shape[:2], *kernel.shape[1:])                             # (batch, T, heads, dim)
        if self.use_bias:
            z += self.params[f"{part}/bias"]
        return np.ascontiguousarray(z.transpose(0, 2, 1, 3))  # contiguous: faster products

    def forward_unchecked(self, x, training: bool = False):
        raise TypeError(self.error_message(
            "takes (query, value), not one input, so it cannot be a layer of a Sequential "
            "(nor can Keras's); call it as layer(query, value)"))

    def call_backward(self, grad_output: np.ndarray) -> MultiHeadAttentionGradients:
        # Each projection Z = X W + b, as matrices (batch·time rows): dW = Xᵀ dZ, db = Σ dZ,
        # dX = dZ Wᵀ; the heads' kernels (in, heads, dim) are (in, heads·dim) matrices.
        c = self.cache
        kernel = self.params["attention_output/kernel"]
        heads, d_v = kernel.shape[:2]
        batch, T = grad_output.shape[:2]
        g = grad_output.reshape(batch * T, -1)                           # (batch·T, P)
        kernel2 = kernel.reshape(heads * d_v, -1)                        # (heads·d_v, P)
        self.grads["attention_output/kernel"][...] = (
            _merge_heads(c["heads"]).T @ g).reshape(kernel.shape)
        if self.use_bias:
            self.grads["attention_output/bias"][...] = grad_output.sum(axis=(0, 1))
        grad_heads = (g @ kernel2.T).reshape(batch, T, heads, d_v).transpose(0, 2, 1, 3)
        dq, dk, dv = attention_backward(grad_heads, c["attention"])
        grads = {}
        for part, dz in (("query", dq), ("key", dk), ("value", dv)):
            x, w = c[part], self.params[f"{part}/kernel"]
            dz2 = _merge_heads(dz)                                       # (batch·time, heads·dim)
            x2 = x.reshape(-1, x.shape[-1])
            self.grads[f"{part}/kernel"][...] = (x2.T @ dz2).reshape(w.shape)
            if self.use_bias:
                self.grads[f"{part}/bias"][...] = dz2.sum(axis=0).reshape(w.shape[1:])
            grads[part] = (dz2 @ w.reshape(w.shape[0], -1).T).reshape(x.shape)
        if not c["key_given"]:  # the value was the key too: both paths reach it
            return MultiHeadAttentionGradients(grads["query"], None,
                                               grads["value"] + grads["key"])
        return MultiHeadAttentionGradients(grads["query"], grads["key"], grads["value"])


def _merge_heads(z: np.ndarray) -> np.ndarray:
    """(batch, heads, time, dim) → (batch·time, heads·dim): each row the heads side by side."""
    batch, heads, time, dim = z.shape
    return z.transpose(0, 2, 1, 3).reshape(batch * time, heads * dim)
