"""The cost formulas of the layer types, one function each: parameters, output shape, FLOPs.

Each ``f(config, shape, owner) -> _Cost`` reads a layer's ``get_config()`` (Keras's keys) and the
shape of one example; :func:`dlcourse.compress.layer_cost` picks the formula by the layer's type
name and documents them all (under *Notes*). ``_formula(kind)`` registers one; test_layer_config
checks that every type of :func:`dlcourse.scratch.layer_types` has one. NumPy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from dlcourse.scratch.windows import as_pair, check_padding, conv_output_size
from dlcourse.validation import check_bool, check_int


class _Cost(NamedTuple):
    """What a cost formula returns: the rest of a :class:`LayerCost`."""

    output_shape: tuple
    params: int
    flops: int
    trainable_params: int


# Settings of a Keras layer that change its cost although the formulas below ignore them, with
# the value the formulas assume. The from-scratch layers have none of them, so their configs
# have no such key; a Keras layer's config has them.
_ASSUMED = {
    # A dilated kernel changes the output size, groups the number of weights; channels first
    # moves the channels to axis 1 (for Conv2D and MaxPooling2D; Flatten's count is the same).
    "Conv2D": {"dilation_rate": (1, 1), "groups": 1, "data_format": "channels_last"},
    "MaxPooling2D": {"data_format": "channels_last"},
    "SimpleRNN": {"return_state": False},   # a list of outputs, not one
    "LSTM": {"return_state": False},
    "GRU": {"return_state": False},
    "Dense": {"lora_rank": None},           # LoRA adds weights
    "Embedding": {"lora_rank": None},
    # A gate adds a projection (attention_axes: checked by the formula).
    "MultiHeadAttention": {"use_gate": False},
    "LayerNormalization": {"rms_scaling": False},    # no mean, no shift: other counts
}

# The cost formula of every layer type of dlcourse.scratch.layer_types(), by type name
# (test_layer_config checks that none is missing).
_FORMULAS: dict[str, Callable[[dict, tuple, str], _Cost]] = {}


def _formula(kind: str):
    """Decorator: ``f(config, shape, owner) -> _Cost`` is the cost formula of layers ``kind``."""
    def register(formula):
        _FORMULAS[kind] = formula
        return formula
    return register


def _check_layer_settings(config: dict, kind: str, owner: str) -> None:
    for setting, assumed in _ASSUMED.get(kind, {}).items():
        value = config.get(setting, assumed)
        if isinstance(value, list):
            value = tuple(value)
        if setting == "dilation_rate" and np.ndim(value) == 0:
            value = (value, value)
        if value != assumed:
            raise ValueError(f"{owner}: {setting}={value!r} is not counted here; the formulas "
                             f"assume {setting}={assumed!r}")


def _check_shape(input_shape, owner: str) -> tuple[int, ...]:
    """The shape of one example: a non-empty tuple of positive integers, no batch axis."""
    if not isinstance(input_shape, (tuple, list)):
        raise TypeError(f"{owner}: input_shape must be a tuple of positive integers (one "
                        f"example's shape), got {input_shape!r}")
    if not input_shape or input_shape[0] is None:
        raise ValueError(f"{owner}: input_shape must be the shape of one example, without the "
                         f"batch axis, e.g. (28, 28, 1); got {input_shape!r}")
    return tuple(check_int(size, f"input_shape[{i}]", owner, minimum=1)
                 for i, size in enumerate(input_shape))


def _rank(shape: tuple, rank: int, layout: str, owner: str) -> None:
    if len(shape) != rank:
        raise ValueError(f"{owner}: expects input_shape {layout}, got {shape}")


def _output_size(size: int, kernel: int, stride: int, padding: str, what: str,
                 shape: tuple, owner: str) -> int:
    if padding == "valid" and size < kernel:
        raise ValueError(f"{owner}: with padding 'valid' the input {shape} must be at least as "
                         f"large as the {what}")
    return conv_output_size(size, kernel, stride, padding)


def _use_bias(config: dict, owner: str) -> int:
    return int(check_bool(config.get("use_bias", True), "use_bias", owner))


def _activation_flops(config: dict, size: int) -> int:
    # TensorFlow's profiler counts a softmax as 5 operations per element (exponential, sum,
    # division and the max subtraction); it counts no other activation. A config names the
    # activation ("softmax"); a custom one is kept as the function or object itself.
    activation = config.get("activation")
    if not isinstance(activation, str):
        activation = getattr(activation, "name", None) or getattr(activation, "__name__", None)
    return 5 * size if activation == "softmax" else 0


def _all_trainable(output_shape: tuple, params: int, flops: int) -> _Cost:
    return _Cost(output_shape, params, flops, params)


@_formula("Dense")
def _dense_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    b = _use_bias(config, owner)
    n, u = shape[-1], check_int(config["units"], "units", owner, minimum=1)
    leading = math.prod(shape[:-1])
    return _all_trainable((*shape[:-1], u), n * u + b * u,
                          leading * (2 * n * u + b * u) + _activation_flops(config, leading * u))


@_formula("Conv2D")
def _conv2d_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    _rank(shape, 3, "(height, width, channels)", owner)
    b = _use_bias(config, owner)
    h, w, c = shape
    (kh, kw) = as_pair(config["kernel_size"], "kernel_size", owner)
    (sh, sw) = as_pair(config.get("strides", 1), "strides", owner)
    padding = check_padding(config.get("padding", "valid"), owner)
    f = check_int(config["filters"], "filters", owner, minimum=1)
    out = (_output_size(h, kh, sh, padding, "kernel", shape, owner),
           _output_size(w, kw, sw, padding, "kernel", shape, owner), f)
    positions = out[0] * out[1]
    return _all_trainable(out, kh * kw * c * f + b * f,
                          positions * (2 * kh * kw * c * f + b * f)
                          + _activation_flops(config, positions * f))


@_formula("MaxPooling2D")
def _max_pooling2d_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    _rank(shape, 3, "(height, width, channels)", owner)
    h, w, c = shape
    pool = as_pair(config.get("pool_size", 2), "pool_size", owner)
    strides = config.get("strides")
    strides = pool if strides is None else as_pair(strides, "strides", owner)
    padding = check_padding(config.get("padding", "valid"), owner)
    out = (_output_size(h, pool[0], strides[0], padding, "pool", shape, owner),
           _output_size(w, pool[1], strides[1], padding, "pool", shape, owner), c)
    return _all_trainable(out, 0, pool[0] * pool[1] * math.prod(out))


@_formula("SimpleRNN")
def _simple_rnn_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    _rank(shape, 2, "(time, features)", owner)
    b = _use_bias(config, owner)
    t, d = shape
    u = check_int(config["units"], "units", owner, minimum=1)
    sequences = check_bool(config.get("return_sequences", False), "return_sequences", owner)
    out = (t, u) if sequences else (u,)
    return _all_trainable(out, d * u + u * u + b * u,
                          t * (2 * d * u + 2 * u * u + b * u + u)
                          + _activation_flops(config, t * u))


def _gated_shape(config: dict, shape: tuple, owner: str) -> tuple[int, int, int, tuple]:
    """``T``, ``d``, ``u`` and the output shape of an LSTM or GRU on input ``(T, d)``."""
    _rank(shape, 2, "(time, features)", owner)
    t, d = shape
    u = check_int(config["units"], "units", owner, minimum=1)
    sequences = check_bool(config.get("return_sequences", False), "return_sequences", owner)
    return t, d, u, ((t, u) if sequences else (u,))


@_formula("LSTM")
def _lstm_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    b = _use_bias(config, owner)
    t, d, u, out = _gated_shape(config, shape, owner)
    # Per step: the products x_t K and h R (4u columns each), their sum, the bias, then
    # c = f c' + i g (3 u) and h = o tanh(c) (u); activations count 0.
    per_step = 2 * d * 4 * u + 2 * u * 4 * u + 4 * u + b * 4 * u + 4 * u
    return _all_trainable(out, 4 * (d * u + u * u + b * u), t * per_step)


@_formula("GRU")
def _gru_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    b = _use_bias(config, owner)
    reset_after = check_bool(config.get("reset_after", True), "reset_after", owner)
    t, d, u, out = _gated_shape(config, shape, owner)
    # Per step: the products x_t K (3u columns) and the recurrent ones (3u columns in all),
    # the input bias (3u), with reset_after the recurrent bias (3u); z and r: the sums x + h
    # (2u); the candidate: r times the recurrent part and the sum (2u); then
    # h = z h' + (1 - z) h~ (4u: two products, a subtraction, a sum).
    recurrent_bias = b if reset_after else 0
    per_step = (2 * d * 3 * u + 2 * u * 3 * u + b * 3 * u + recurrent_bias * 3 * u
                + 2 * u + 2 * u + 4 * u)
    return _all_trainable(out, 3 * (d * u + u * u) + (2 * b * 3 * u if reset_after
                                                      else b * 3 * u), t * per_step)


@_formula("Embedding")
def _embedding_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    v = check_int(config["input_dim"], "input_dim", owner, minimum=1)
    d = check_int(config["output_dim"], "output_dim", owner, minimum=1)
    return _all_trainable((*shape, d), v * d, 0)  # a lookup: no arithmetic


@_formula("BatchNormalization")
def _batch_normalization_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    rank = len(shape) + 1                                   # with the batch axis
    axis = check_int(config.get("axis", -1), "axis", owner)
    if not -rank <= axis < rank or axis % rank == 0:
        raise ValueError(f"{owner}: axis={axis} is not a feature axis of an input of shape "
                         f"(batch, {', '.join(map(str, shape))}); axis 0 is the batch")
    features = shape[axis % rank - 1]
    scale = int(check_bool(config.get("scale", True), "scale", owner))
    center = int(check_bool(config.get("center", True), "center", owner))
    return _Cost(shape, (2 + scale + center) * features,
                 2 * math.prod(shape) + (5 + scale) * features, (scale + center) * features)


@_formula("LayerNormalization")
def _layer_normalization_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    rank = len(shape) + 1                                   # with the batch axis
    axis = config.get("axis", -1)
    axes = [check_int(a, "axis", owner) for a in (axis if isinstance(axis, (list, tuple))
                                                  else (axis,))]
    if any(not -rank <= a < rank or a % rank == 0 for a in axes):
        raise ValueError(f"{owner}: axis={axis} is not a set of feature axes of an input of "
                         f"shape (batch, {', '.join(map(str, shape))}); axis 0 is the batch")
    normalised = math.prod(shape[a % rank - 1] for a in set(a % rank for a in axes))
    scale = int(check_bool(config.get("scale", True), "scale", owner))
    center = int(check_bool(config.get("center", True), "center", owner))
    elements = math.prod(shape)
    rows = elements // normalised
    # Per element: the mean's sum, x - mean, its square, the variance's sum, the product by
    # 1/sqrt and (as TensorFlow computes it) one more subtraction: 6; then x γ and + β. Per row:
    # the two divisions by m and + ε, the reciprocal square root counted in the subtraction.
    return _all_trainable(shape, (scale + center) * normalised,
                          (6 + scale + center) * elements + 3 * rows)


@_formula("MultiHeadAttention")
def _multi_head_attention_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    _rank(shape, 2, "(time, features): self-attention, layer(x, x)", owner)
    b = _use_bias(config, owner)
    t, d = shape
    axes = config.get("attention_axes")
    if axes is not None and tuple(np.atleast_1d(axes)) not in ((1,), (-2,)):
        # Keras writes (1,), the time axis, once built on (batch, time, features).
        raise ValueError(f"{owner}: attention_axes={axes!r} is not counted here; the formulas "
                         "assume attention over the time axis (None)")
    n = check_int(config["num_heads"], "num_heads", owner, minimum=1)
    k = check_int(config["key_dim"], "key_dim", owner, minimum=1)
    value_dim = config.get("value_dim")
    v = k if value_dim is None else check_int(value_dim, "value_dim", owner, minimum=1)
    output_shape = config.get("output_shape")
    if output_shape is None:
        out = (d,)
    else:
        out = tuple(check_int(size, "output_shape", owner, minimum=1) for size in
                    (output_shape if isinstance(output_shape, (tuple, list)) else (output_shape,)))
    p = math.prod(out)
    projections = n * (2 * k + v)                   # the columns of query, key and value
    params = d * projections + n * v * p + b * (projections + p)
    flops = (t * (2 * d * projections + b * projections)   # x W_q, x W_k, x W_v and biases
             + n * t * k                                    # the queries times 1/sqrt(k)
             + 2 * n * t * t * k                            # the scores Q K^T
             + 5 * n * t * t                                # their softmax
             + 2 * n * t * t * v                            # the weighted sums of the values
             + t * (2 * n * v * p + b * p))                 # the output projection and bias
    return _all_trainable((t, *out), params, flops)


@_formula("PositionEmbedding")
def _position_embedding_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    _rank(shape, 2, "(time, features)", owner)
    t, d = shape
    length = check_int(config["sequence_length"], "sequence_length", owner, minimum=1)
    if t > length:
        raise ValueError(f"{owner}: sequences of {t} steps are longer than "
                         f"sequence_length={length}")
    return _all_trainable(shape, length * d, t * d)  # one addition per element


@_formula("Flatten")
def _flatten_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    return _all_trainable((math.prod(shape),), 0, 0)


@_formula("Activation")
def _activation_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    return _all_trainable(shape, 0, _activation_flops(config, math.prod(shape)))


@_formula("Dropout")
def _dropout_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    return _all_trainable(shape, 0, 0)


@_formula("TransformerBlock")
def _transformer_block_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    _rank(shape, 2, "(time, features)", owner)
    t, d = shape
    n = check_int(config["num_heads"], "num_heads", owner, minimum=1)
    f = check_int(config["intermediate_dim"], "intermediate_dim", owner, minimum=1)
    if d < n:
        raise ValueError(f"{owner}: {d} features cannot make {n} heads of d // num_heads "
                         "features each")
    parts = (_FORMULAS["LayerNormalization"]({}, shape, owner),
             _FORMULAS["MultiHeadAttention"]({"num_heads": n, "key_dim": d // n}, shape, owner),
             _FORMULAS["LayerNormalization"]({}, shape, owner),
             _FORMULAS["Dense"]({"units": f, "activation": config.get("activation")}, shape,
                                owner),
             _FORMULAS["Dense"]({"units": d}, (t, f), owner))
    # The two residual sums add one operation per element each.
    return _all_trainable(shape, sum(p.params for p in parts),
                          sum(p.flops for p in parts) + 2 * t * d)
