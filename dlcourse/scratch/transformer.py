r"""The transformer block: attention and a feed-forward network, each inside a residual connection.

A block is a layer made of layers: it owns a ``LayerNormalization``, a ``MultiHeadAttention``,
a second ``LayerNormalization`` and two ``Dense`` layers, and runs them in a pattern that is not
a plain stack, because each half adds its input back to its output (a *residual connection*).
Its ``call`` is the whole forward pass and its ``call_backward`` the chain rule through it, on
one screen, where a reader sees the residual's gradients add up.
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch import activations, initializers
from dlcourse.scratch.attention import MultiHeadAttention
from dlcourse.scratch.base import Layer, get_rng, register_layer
from dlcourse.scratch.core import Dense
from dlcourse.scratch.normalization import LayerNormalization
from dlcourse.validation import check_bool, check_int, check_number

__all__ = ["TransformerBlock"]

#: The sublayers in the order of their weights (the Keras twin's order), by their names.
SUBLAYERS = ("self_attention_layer_norm", "self_attention_layer", "feedforward_layer_norm",
             "feedforward_intermediate_dense", "feedforward_output_dense")


@register_layer
class TransformerBlock(Layer):
    r"""A pre-norm transformer block: self-attention, then a feed-forward network, each residual.

    Parameters
    ----------
    intermediate_dim : int >= 1
        Width of the feed-forward network's hidden layer (often 4 × the model width).
    num_heads : int >= 1
        Heads of the self-attention. Each head's queries, keys and values have
        ``key_dim = d // num_heads`` features, ``d`` the model width (the input's last axis),
        as in keras_hub's ``TransformerEncoder``.
    activation : str
        Activation of the feed-forward network's hidden layer (``"relu"``, ``"tanh"``...).
    layer_norm_epsilon : float > 0
        ``epsilon`` of both layer normalisations (keras_hub's default 1e-5).
    use_causal_mask : bool
        Whether position ``t`` attends to positions ``s <= t`` only (a language model).
    kernel_initializer, bias_initializer : str or callable
        Keras names of the initial values of the attention's and the Dense layers' weights.
    seed : int, optional
        Seed of the initial weights of every sublayer.
    name, dtype
        As for every layer.

    Notes
    -----
    For an input :math:`x` of shape ``(batch, T, d)``, the output has the same shape:

    .. math::

        h = x + \operatorname{MHA}(\mathrm{LN}_1(x), \mathrm{LN}_1(x)), \qquad
        y = h + W_2\, f(\mathrm{LN}_2(h)\, W_1 + b_1) + b_2 .

    *Pre-norm* (GPT-2's arrangement, keras_hub's ``normalize_first=True``): each branch
    normalises its own input and the residual path :math:`x \to h \to y` carries the input
    through unchanged, so that at the start of training the block is close to the identity
    and gradients reach the first layers without passing through a normalisation. The original
    transformer (Vaswani et al., 2017) is *post-norm*, :math:`y = \mathrm{LN}(h + F(h))`:
    the same parts, the normalisation after the sum.

    Backward: a sum passes its gradient to both terms, so the gradient reaching :math:`h`
    is the one reaching :math:`y` (the residual path) plus the one back through the
    feed-forward branch; the same again at :math:`x`. The attention's query and value are
    both :math:`\mathrm{LN}_1(x)`, so their gradients add up too:

    .. math::

        \frac{\partial J}{\partial h} = \frac{\partial J}{\partial y}
            + \mathrm{LN}_2'\big(F'(\tfrac{\partial J}{\partial y})\big), \qquad
        \frac{\partial J}{\partial x} = \frac{\partial J}{\partial h}
            + \mathrm{LN}_1'\big(\mathrm{MHA}'_q + \mathrm{MHA}'_v\big).

    The weights are the sublayers', in the order of :data:`SUBLAYERS`, named
    ``"<sublayer>/<weight>"`` (``"self_attention_layer/query/kernel"``): 16 arrays, the same
    list as the Keras twin's ``get_weights()`` (:class:`dlcourse.keras_ref.TransformerBlock`).
    """

    weight_names = (
        "self_attention_layer_norm/gamma", "self_attention_layer_norm/beta",
        *(f"self_attention_layer/{n}" for n in MultiHeadAttention.weight_names),
        "feedforward_layer_norm/gamma", "feedforward_layer_norm/beta",
        "feedforward_intermediate_dense/kernel", "feedforward_intermediate_dense/bias",
        "feedforward_output_dense/kernel", "feedforward_output_dense/bias")
    masking = "refuse"  # a padding mask would have to reach the attention: not supported
    input_ranks = (3,)
    input_layout = "(batch, time, features)"

    def __init__(self, intermediate_dim: int, num_heads: int, activation="relu",
                 layer_norm_epsilon: float = 1e-5, use_causal_mask: bool = False,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 seed: int | None = None, name: str | None = None, dtype=None):
        owner = self._owner(name)
        intermediate_dim = check_int(intermediate_dim, "intermediate_dim", owner, minimum=1)
        num_heads = check_int(num_heads, "num_heads", owner, minimum=1)
        activation = activations.get(activation, owner=owner)
        layer_norm_epsilon = check_number(layer_norm_epsilon, "layer_norm_epsilon", owner, 0,
                                          low_open=True)
        use_causal_mask = check_bool(use_causal_mask, "use_causal_mask", owner)
        kernel_initializer = initializers.get(kernel_initializer, owner, "kernel_initializer")
        bias_initializer = initializers.get(bias_initializer, owner, "bias_initializer")
        super().__init__(name=name, seed=seed, dtype=dtype)
        self.intermediate_dim, self.num_heads = intermediate_dim, num_heads
        self.activation, self.layer_norm_epsilon = activation, layer_norm_epsilon
        self.use_causal_mask = use_causal_mask
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.sublayers: dict[str, Layer] = {}  # created by build, in the order of SUBLAYERS

    # ----------------------------------------------------------------------------- building
    def _check_input_shape(self, shape: tuple) -> None:
        super()._check_input_shape(shape)
        d = shape[-1]
        if self.built and d != self.input_shape[-1]:
            raise ValueError(self.error_message(
                f"expected {self.input_shape[-1]} features as on its first call, got shape "
                f"{shape}"))
        if d is not None and d < self.num_heads:
            raise ValueError(self.error_message(
                f"each head has features // num_heads features, which is 0 for {d} features "
                f"and {self.num_heads} heads: use at most {d} heads"))

    def build(self, input_shape: tuple) -> None:
        """Create and build the five sublayers for inputs ``(batch, T, d)``; share their weights."""
        d = input_shape[-1]
        seeds = get_rng(self.seed).integers(0, 2**31 - 1, size=3)
        common = {"kernel_initializer": self.kernel_initializer,
                  "bias_initializer": self.bias_initializer, "dtype": self.dtype}
        norm = {"epsilon": self.layer_norm_epsilon, "dtype": self.dtype}
        layers = [
            LayerNormalization(name=SUBLAYERS[0], **norm),
            MultiHeadAttention(self.num_heads, d // self.num_heads,
                               seed=int(seeds[0]), name=SUBLAYERS[1], **common),
            LayerNormalization(name=SUBLAYERS[2], **norm),
            Dense(self.intermediate_dim, activation=self.activation, seed=int(seeds[1]),
                  name=SUBLAYERS[3], **common),
            Dense(d, seed=int(seeds[2]), name=SUBLAYERS[4], **common),
        ]
        shape = (None, *input_shape[1:])
        for layer in layers:
            if isinstance(layer, MultiHeadAttention):
                layer._build_for(shape, shape, shape, self.dtype)
            else:
                layer._ensure_built(shape, self.dtype)
            shape = layer.compute_output_shape(shape)
        self.sublayers = dict(zip(SUBLAYERS, layers, strict=True))
        for sub, layer in self.sublayers.items():
            for weight, value in layer.params.items():
                self.params[f"{sub}/{weight}"] = value  # the same array: one set of weights
        self.input_shape = (None, d)  # any length

    def _unbuild(self) -> None:
        super()._unbuild()
        self.sublayers = {}

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    # ----------------------------------------------------------------------------- passes
    def call(self, x: np.ndarray, training: bool) -> np.ndarray:
        norm1, attention, norm2, hidden, out = self.sublayers.values()
        a = norm1.forward_unchecked(x, training)                              # LN₁(x)
        h = x + attention.forward(a, a, use_causal_mask=self.use_causal_mask,
                                  training=training)                          # x + MHA(a, a)
        f = hidden.forward_unchecked(norm2.forward_unchecked(h, training),
                                     training)                                # f(LN₂(h) W₁ + b₁)
        self.cache = {}  # what backward needs, each sublayer keeps
        return h + out.forward_unchecked(f, training)                         # h + f W₂ + b₂

    def call_backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        norm1, attention, norm2, hidden, out = self.sublayers.values()
        branch = norm2.call_backward(hidden.call_backward(out.call_backward(grad_output)))
        grad_h = grad_output + branch                      # y = h + F(h): both paths add up
        through = attention.call_backward(grad_h)
        norm1.compute_input_grad = self.compute_input_grad  # the model's first layer: no dJ/dx
        branch = norm1.call_backward(through.grad_query + through.grad_value)  # a: query, value
        for sub, layer in self.sublayers.items():
            for weight, grad in layer.grads.items():
                self.grads[f"{sub}/{weight}"][...] = grad
        return None if branch is None else grad_h + branch  # h = x + A(x): both paths add up
