"""Smaller models, measured: int8 quantization, magnitude pruning, and what a model costs.

NumPy only; nothing here imports TensorFlow.

- **Quantization** (post-training, affine, as in Jacob et al., CVPR 2018, and TensorFlow
  Lite): a real value ``r`` is stored as an 8-bit integer ``q`` with ``r ≈ S (q − Z)``, one
  ``scale`` S and ``zero_point`` Z per tensor or per output channel.
  :func:`quantization_params`, :func:`quantize`, :func:`dequantize`, and for whole models
  :func:`quantize_weights` / :func:`dequantize_weights`, which return :class:`QuantizedTensor`.
- **Pruning** by magnitude (Han et al., NeurIPS 2015): set the smallest weights to zero.
  :func:`magnitude_mask`, :func:`prune_weights`, :func:`sparsity`.
- **Costs** from the layers' shapes alone: parameters, floating-point operations and memory.
  :func:`layer_cost`, :func:`model_costs`, :func:`count_params`, :func:`count_flops`,
  :func:`memory_bytes`. They read only each layer's ``get_config()``, whose keys the
  from-scratch layers share with Keras (``units``, ``filters``, ``kernel_size``, ``strides``,
  ``padding``, ``pool_size``, ``use_bias``, ...), so they measure a ``keras.Sequential`` as well
  as a from-scratch one; the layer types they know are those of
  :func:`dlcourse.scratch.layer_types`, one formula each.

FLOPs follow TensorFlow's profiler (``tf.compat.v1.profiler``) so that the two can be compared:
a multiply-add counts 2, adding a bias 1 per output, a max pooling 1 per element of each window,
a softmax 5 per output, other activations and reshapes 0. Counts are per example, for inference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dlcourse.scratch.base import layer_types
from dlcourse.scratch.conv import as_pair, check_padding, conv_output_size
from dlcourse.scratch.model import Input
from dlcourse.validation import check_array, check_bool, check_choice, check_int, check_number

__all__ = [
    "INT8_MAX",
    "INT8_MIN",
    "LayerCost",
    "QuantizedTensor",
    "count_flops",
    "count_params",
    "dequantize",
    "dequantize_weights",
    "layer_cost",
    "magnitude_mask",
    "memory_bytes",
    "model_costs",
    "nbytes",
    "prune_weights",
    "quantization_params",
    "quantize",
    "quantize_tensor",
    "quantize_weights",
    "sparsity",
]

#: The range of a signed 8-bit integer.
INT8_MIN, INT8_MAX = -128, 127


# ------------------------------------------------------------------------------ quantization
def _round_half_up(x: np.ndarray) -> np.ndarray:
    # floor(x + 0.5): the rounding of TensorFlow's fake-quantization kernels, so that ties
    # (exactly halfway between two integers) go the same way in both.
    return np.floor(x + 0.5)


def _axis(axis, ndim: int, func: str) -> int | None:
    """``axis`` as a non-negative index of an ``ndim``-d array, or None (per tensor)."""
    if axis is None:
        return None
    owner = f"{func}()"
    if ndim == 0:
        raise ValueError(f"{owner}: axis must be None for a single number (there are no "
                         f"channels), got {axis!r}")
    return check_int(axis, "axis", owner, minimum=-ndim, maximum=ndim - 1) % ndim


def _broadcastable(values, axis: int | None, ndim: int) -> np.ndarray:
    """``values`` (a scalar or one value per channel) shaped to broadcast along ``axis``."""
    values = np.asarray(values)
    if axis is None:
        return values
    shape = [1] * ndim
    shape[axis] = -1
    return values.reshape(shape)


def _check_qrange(qmin, qmax, func: str) -> tuple[int, int]:
    """The integer range: ``qmin < 0 < qmax``, both within int32 (the widest result dtype)."""
    owner = f"{func}()"
    qmin = check_int(qmin, "qmin", owner, minimum=-2**31, maximum=-1)
    qmax = check_int(qmax, "qmax", owner, minimum=1, maximum=2**31 - 1)
    return qmin, qmax


def _check_real(x, func: str, name: str = "x") -> np.ndarray:
    """A non-empty array of finite real numbers (no booleans, complex numbers or objects)."""
    x = check_array(x, name, f"{func}()")
    if x.size == 0:
        raise ValueError(f"{func}(): {name} must be a non-empty array, got shape {x.shape}")
    return x


def _check_float_dtype(dtype, owner: str) -> np.dtype:
    """``dtype`` as a NumPy floating-point dtype (an integer one would truncate the values)."""
    try:
        if dtype is None:  # np.dtype(None) would be float64, silently
            raise TypeError("no dtype")
        result = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{owner}: dtype must be a floating-point dtype such as np.float32, "
                        f"got {dtype!r}") from err
    if not np.issubdtype(result, np.floating):
        raise TypeError(f"{owner}: dtype must be a floating-point dtype such as np.float32, "
                        f"got {result}")
    return result


def _shown(values: np.ndarray) -> str:
    return repr(values.item()) if values.size == 1 else np.array2string(values, threshold=8)


def _check_params(scale, zero_point, axis, original_axis, shape, func: str, qmin=None,
                  qmax=None) -> tuple[np.ndarray, np.ndarray]:
    """``scale`` and ``zero_point`` checked and shaped to broadcast against ``shape``.

    Per tensor (``axis`` None) each must be one number; per channel, one number or one value
    per index along ``axis``. One value per channel with ``axis=None`` is the usual slip (the
    parameters came from ``quantization_params(..., axis=-1)``): NumPy would broadcast them
    along the last axis, whatever axis they were computed along, so it is refused.
    """
    owner = f"{func}()"
    scale = check_array(scale, "scale", owner)
    zero_point = check_array(zero_point, "zero_point", owner, kind="integer")
    for name, values in (("scale", scale), ("zero_point", zero_point)):
        if axis is None:
            if values.ndim > 1 or values.size != 1:
                hint = (f" ({values.size} values, one per channel: pass the axis they run along, "
                        "e.g. axis=-1, as given to quantization_params)"
                        if values.ndim == 1 else "")
                raise ValueError(f"{owner}: with axis=None (per tensor) {name} must be a single "
                                 f"number, got shape {values.shape}{hint}")
        elif values.ndim > 1 or (values.ndim == 1 and values.size != shape[axis]):
            raise ValueError(f"{owner}: with axis={original_axis} {name} must be a single number "
                             f"or hold one value per channel, shape ({shape[axis]},), for an "
                             f"array of shape {tuple(shape)}; got shape {values.shape}")
    if np.any(scale <= 0):
        raise ValueError(f"{owner}: scale must be positive (> 0), got {_shown(scale)}")
    if qmin is not None and (np.any(zero_point < qmin) or np.any(zero_point > qmax)):
        raise ValueError(f"{owner}: zero_point must be an integer in [{qmin}, {qmax}] (the "
                         f"integer range), got {_shown(zero_point)}")
    if axis is None:
        scale, zero_point = scale.reshape(()), zero_point.reshape(())
    return (_broadcastable(scale.astype(np.float64), axis, len(shape)),
            _broadcastable(zero_point.astype(np.float64), axis, len(shape)))


def _check_weight_list(weights, func: str) -> list:
    """``weights`` as a list; one array on its own is refused (its rows would be taken as
    the weights)."""
    if isinstance(weights, (np.ndarray, QuantizedTensor, str, bytes)) \
            or not isinstance(weights, Iterable):
        raise TypeError(f"{func}(): weights must be a list of arrays such as "
                        f"model.get_weights(), got {type(weights).__name__}")
    return list(weights)


def quantization_params(x, axis=None, symmetric: bool = False, qmin: int = INT8_MIN,
                        qmax: int = INT8_MAX):
    r"""The scale and zero point that map the range of ``x`` onto the integers ``qmin..qmax``.

    Parameters
    ----------
    x : array_like
        The real values to be quantized (weights, or a sample of activations).
    axis : int or None
        ``None``: one scale and zero point for the whole tensor (per-tensor). An axis: one per
        index along it (per-channel), e.g. ``-1`` for the output units of a Dense kernel
        ``(n_in, units)`` or the filters of a Conv2D kernel ``(kh, kw, in, out)``.
    symmetric : bool
        ``False`` (affine): the range ``[min(x, 0), max(x, 0)]`` is mapped onto
        ``[qmin, qmax]``. ``True``: ``[-m, m]`` with ``m = max |x|`` is mapped onto
        ``[-qmax, qmax]`` and the zero point is 0 (what TensorFlow Lite uses for weights).
    qmin, qmax : int
        The integer range, -128 and 127 for int8.

    Returns
    -------
    scale : float32 scalar or array of shape ``(x.shape[axis],)``
        ``S > 0``, the real step between two consecutive integers.
    zero_point : int32 scalar or array of the same shape
        ``Z``, the integer that represents the real value 0 exactly.

    Notes
    -----
    Affine (asymmetric) quantization, with ``r_min = min(x, 0)``, ``r_max = max(x, 0)``:

    .. math::

        S = \frac{r_{\max} - r_{\min}}{q_{\max} - q_{\min}}, \qquad
        Z = \operatorname{round}\Big(q_{\min} - \frac{r_{\min}}{S}\Big).

    The range always contains 0 so that 0 (a zero weight, ReLU's output, padding) is
    represented exactly, as ``q = Z``. ``S`` is stored in float32 and rounded *up* to it, so that
    ``qmax − qmin`` steps still cover the whole range: then every value of that range comes back
    from :func:`quantize` and :func:`dequantize` within ``S / 2``. An all-zero tensor (or
    channel) gets ``S = 1``.
    """
    x = _check_real(x, "quantization_params")
    qmin, qmax = _check_qrange(qmin, qmax, "quantization_params")
    axis = _axis(axis, x.ndim, "quantization_params")
    symmetric = check_bool(symmetric, "symmetric", "quantization_params()")
    reduce = None if axis is None else tuple(a for a in range(x.ndim) if a != axis)
    x64 = x.astype(np.float64)
    r_min = np.minimum(x64.min(axis=reduce), 0.0)
    r_max = np.maximum(x64.max(axis=reduce), 0.0)
    if symmetric:
        scale = np.maximum(-r_min, r_max) / qmax
    else:
        scale = (r_max - r_min) / (qmax - qmin)
    scale = np.where(scale > 0, scale, 1.0)
    scale32 = scale.astype(np.float32)
    # Round up to float32, never down, so that the integer range still covers [r_min, r_max].
    scale32 = np.where(scale32.astype(np.float64) < scale,
                       np.nextafter(scale32, np.float32(np.inf)), scale32).astype(np.float32)
    if symmetric:
        zero_point = np.zeros_like(scale32, dtype=np.int32)
    else:
        zero_point = np.clip(_round_half_up(qmin - r_min / scale32.astype(np.float64)),
                             qmin, qmax).astype(np.int32)
    if axis is None:
        return np.float32(scale32), np.int32(zero_point)
    return scale32, zero_point


def quantize(x, scale, zero_point, axis=None, qmin: int = INT8_MIN, qmax: int = INT8_MAX):
    r"""Real values to 8-bit integers: ``q = clip(round(x / S) + Z, qmin, qmax)``.

    Parameters
    ----------
    x : array_like
        Real values, any shape.
    scale, zero_point : scalar or 1-d array
        From :func:`quantization_params`: ``S > 0`` (finite) and an integer ``Z`` in
        ``[qmin, qmax]``; 1-d, one per channel, only when ``axis`` is given.
    axis : int or None
        The channel axis of ``x`` that ``scale`` and ``zero_point`` run along (per-channel), or
        None (per-tensor): the same as given to :func:`quantization_params`.
    qmin, qmax : int
        The integer range, -128 and 127 for int8.

    Returns
    -------
    int8 array of the shape of ``x`` (int16/int32 if the range needs it)

    Notes
    -----
    Rounding is half up, ``round(v) = ⌊v + 1/2⌋``, as in TensorFlow's fake-quantization ops.
    Values outside the range that ``S`` and ``Z`` represent are clipped to ``qmin``/``qmax``.
    """
    x = _check_real(x, "quantize")
    qmin, qmax = _check_qrange(qmin, qmax, "quantize")
    channel_axis = _axis(axis, x.ndim, "quantize")
    scale, zero_point = _check_params(scale, zero_point, channel_axis, axis, x.shape, "quantize",
                                      qmin, qmax)
    q = np.clip(_round_half_up(x.astype(np.float64) / scale) + zero_point, qmin, qmax)
    dtype = np.int8 if (qmin >= -128 and qmax <= 127) else \
        np.int16 if (qmin >= -2**15 and qmax < 2**15) else np.int32
    return q.astype(dtype)


def dequantize(q, scale, zero_point, axis=None, dtype=np.float32) -> np.ndarray:
    """Integers back to real values: ``r = S (q − Z)``.

    Parameters
    ----------
    q : integer array
        From :func:`quantize`.
    scale, zero_point : scalar or 1-d array
        The same as given to :func:`quantize`; 1-d, one per channel, only when ``axis`` is
        given.
    axis : int or None
        The channel axis (per-channel) or None (per-tensor), as given to :func:`quantize`.
    dtype : floating-point numpy dtype
        Of the result (computed in float64 first).

    Returns
    -------
    array of the shape of ``q``
    """
    q = check_array(q, "q", "dequantize()", kind="integer")
    channel_axis = _axis(axis, q.ndim, "dequantize")
    scale, zero_point = _check_params(scale, zero_point, channel_axis, axis, q.shape,
                                      "dequantize")
    dtype = _check_float_dtype(dtype, "dequantize()")
    return (scale * (q.astype(np.float64) - zero_point)).astype(dtype)


@dataclass(frozen=True)
class QuantizedTensor:
    """An int8 tensor with its quantization parameters: ``real ≈ scale · (values − zero_point)``.

    Attributes
    ----------
    values : int8 array
        The quantized values, in the shape of the original tensor.
    scale : float32 scalar or array of shape ``(values.shape[axis],)``
    zero_point : int32 scalar or array of the same shape
    axis : int or None
        The channel axis of per-channel parameters, None for per-tensor.
    dtype : numpy dtype
        The dtype of the original tensor, which :meth:`dequantize` returns.
    """

    values: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None
    dtype: np.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape

    @property
    def nbytes(self) -> int:
        """Bytes to store it: one per value, plus 4 per scale (float32) and per zero point."""
        return int(self.values.nbytes + 4 * np.size(self.scale) + 4 * np.size(self.zero_point))

    def dequantize(self) -> np.ndarray:
        """The real values it stands for, in the original dtype."""
        return dequantize(self.values, self.scale, self.zero_point, self.axis, self.dtype)


def quantize_tensor(x, axis=None, symmetric: bool = False) -> QuantizedTensor:
    """Quantize one array to int8 (:func:`quantization_params` then :func:`quantize`).

    Parameters
    ----------
    x : float array
    axis : int or None
        Per-channel along this axis, or per-tensor (None).
    symmetric : bool
        Symmetric (zero point 0) instead of affine quantization.

    Returns
    -------
    QuantizedTensor
    """
    x = _check_real(x, "quantize_tensor")
    axis = _axis(axis, x.ndim, "quantize_tensor")
    symmetric = check_bool(symmetric, "symmetric", "quantize_tensor()")
    scale, zero_point = quantization_params(x, axis=axis, symmetric=symmetric)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float32)
    return QuantizedTensor(quantize(x, scale, zero_point, axis), scale, zero_point, axis,
                           np.dtype(dtype))


def quantize_weights(weights, per_channel: bool = False, symmetric: bool = False) -> list:
    """Post-training quantization of a model's weights (a ``get_weights()`` list).

    Kernels (arrays of 2 or more dimensions) become :class:`QuantizedTensor`; biases (1-d) stay
    as they are, in floating point: they are few, and an error in a bias shifts every output
    of its unit. (Integer-only inference stores them in int32 instead.)

    Parameters
    ----------
    weights : list of arrays
        E.g. ``model.get_weights()`` of a from-scratch or a Keras model.
    per_channel : bool
        One scale and zero point per output channel (the last axis) instead of per tensor.
    symmetric : bool
        Symmetric quantization (zero point 0).

    Returns
    -------
    list
        Same length and order; :class:`QuantizedTensor` for kernels, the float arrays for
        biases. :func:`dequantize_weights` turns it back into a ``set_weights()`` list.
    """
    weights = _check_weight_list(weights, "quantize_weights")
    per_channel = check_bool(per_channel, "per_channel", "quantize_weights()")
    symmetric = check_bool(symmetric, "symmetric", "quantize_weights()")
    arrays = [_check_real(w, "quantize_weights", f"weights[{i}]") for i, w in enumerate(weights)]
    return [quantize_tensor(w, axis=-1 if per_channel else None, symmetric=symmetric)
            if w.ndim >= 2 else w for w in arrays]


def dequantize_weights(weights) -> list[np.ndarray]:
    """The float arrays that a list from :func:`quantize_weights` stands for.

    Parameters
    ----------
    weights : list of QuantizedTensor and arrays
        As returned by :func:`quantize_weights`.

    Returns
    -------
    list of arrays
        In the original dtypes and shapes, ready for ``model.set_weights()``.
    """
    weights = _check_weight_list(weights, "dequantize_weights")
    return [w.dequantize() if isinstance(w, QuantizedTensor)
            else check_array(w, f"weights[{i}]", "dequantize_weights()")
            for i, w in enumerate(weights)]


def nbytes(weights) -> int:
    """Bytes to store a list of arrays and :class:`QuantizedTensor` (the model's size).

    Parameters
    ----------
    weights : list of arrays and QuantizedTensor
        E.g. ``model.get_weights()`` or the result of :func:`quantize_weights`.

    Returns
    -------
    int
        ``array.nbytes`` for arrays, :attr:`QuantizedTensor.nbytes` for quantized tensors.
    """
    weights = _check_weight_list(weights, "nbytes")
    return int(sum(w.nbytes if isinstance(w, QuantizedTensor)
                   else check_array(w, f"weights[{i}]", "nbytes()", allow_nonfinite=True).nbytes
                   for i, w in enumerate(weights)))


# ------------------------------------------------------------------------------ pruning
def _check_sparsity(value, func: str) -> float:
    """The fraction of weights set to zero, a number in [0, 1]."""
    return check_number(value, "sparsity", f"{func}()", 0.0, 1.0)


def magnitude_mask(w, sparsity: float) -> np.ndarray:
    """Which weights survive magnitude pruning: all but the ``round(sparsity · n)`` smallest |w|.

    Parameters
    ----------
    w : array_like
        Weights, any shape, ``n`` entries.
    sparsity : float in [0, 1]
        The fraction of entries to remove.

    Returns
    -------
    bool array of the shape of ``w``
        True where the weight is kept. Exactly ``round(sparsity · n)`` entries are False; among
        equal magnitudes the earlier entries (in C order) go first.
    """
    w = check_array(w, "w", "magnitude_mask()")
    sparsity = _check_sparsity(sparsity, "magnitude_mask")
    n_pruned = int(round(sparsity * w.size))
    order = np.argsort(np.abs(w), axis=None, kind="stable")
    keep = np.ones(w.size, dtype=bool)
    keep[order[:n_pruned]] = False
    return keep.reshape(w.shape)


def prune_weights(weights, sparsity: float, scope: str = "layer"):
    """Magnitude pruning of a model's kernels: the smallest weights become exactly 0.

    Parameters
    ----------
    weights : list of arrays
        E.g. ``model.get_weights()``.
    sparsity : float in [0, 1]
        The fraction of kernel weights removed.
    scope : {"layer", "global"}
        ``"layer"``: remove that fraction from every kernel. ``"global"``: rank the weights of
        all kernels together, so that layers with many small weights lose more.

    Returns
    -------
    pruned : list of arrays
        New arrays (the input is not modified); biases (1-d arrays) are never pruned.
    masks : list of bool arrays
        True where a weight was kept (all True for biases).
    """
    weights = _check_weight_list(weights, "prune_weights")
    sparsity = _check_sparsity(sparsity, "prune_weights")
    scope = check_choice(scope, "scope", "prune_weights()", ("layer", "global"))
    weights = [check_array(w, f"weights[{i}]", "prune_weights()") for i, w in enumerate(weights)]
    kernels = [i for i, w in enumerate(weights) if w.ndim >= 2]
    masks = [np.ones(w.shape, dtype=bool) for w in weights]
    if scope == "layer":
        for i in kernels:
            masks[i] = magnitude_mask(weights[i], sparsity)
    elif kernels:
        flat = np.concatenate([weights[i].ravel() for i in kernels])
        keep = magnitude_mask(flat, sparsity)
        start = 0
        for i in kernels:
            masks[i] = keep[start:start + weights[i].size].reshape(weights[i].shape)
            start += weights[i].size
    return [w * m for w, m in zip(weights, masks, strict=True)], masks


def sparsity(weights) -> float:
    """The fraction of entries that are exactly zero, over a list of arrays.

    Parameters
    ----------
    weights : list of arrays

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        If the arrays hold no entries at all.
    """
    weights = _check_weight_list(weights, "sparsity")
    arrays = [check_array(w, f"weights[{i}]", "sparsity()", allow_nonfinite=True)
              for i, w in enumerate(weights)]
    total = sum(a.size for a in arrays)
    if total == 0:
        raise ValueError("sparsity(): no weights given")
    return sum(int(np.count_nonzero(a == 0)) for a in arrays) / total


# ------------------------------------------------------------------------------ costs
class LayerCost(NamedTuple):
    """What one layer costs, per example.

    Attributes
    ----------
    name, kind : str
        The layer's name and class name (``"Dense"``, ``"Conv2D"``, ...).
    output_shape : tuple of int
        Without the batch axis.
    params : int
        Number of weights (trainable or not), as Keras's ``count_params()``.
    flops : int
        Floating-point operations of one forward pass, in TensorFlow's profiler's convention.
    trainable_params : int
        The weights that training changes by gradient descent, which have a gradient and
        optimizer slots: all of ``params`` except BatchNormalization's moving statistics (and
        none for a Keras layer with ``trainable=False``).
    """

    name: str
    kind: str
    output_shape: tuple
    params: int
    flops: int
    trainable_params: int


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
    "Dense": {"lora_rank": None},           # LoRA adds weights
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


@_formula("Flatten")
def _flatten_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    return _all_trainable((math.prod(shape),), 0, 0)


@_formula("Activation")
def _activation_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    return _all_trainable(shape, 0, _activation_flops(config, math.prod(shape)))


@_formula("Dropout")
def _dropout_cost(config: dict, shape: tuple, owner: str) -> _Cost:
    return _all_trainable(shape, 0, 0)


def layer_cost(layer, input_shape) -> LayerCost:
    r"""Parameters, output shape and FLOPs of one layer, from its config and input shape.

    Parameters
    ----------
    layer : a layer of :mod:`dlcourse.scratch` or of Keras
        Of one of the types of :func:`dlcourse.scratch.layer_types` (``Dense``, ``Conv2D``,
        ``MaxPooling2D``, ``SimpleRNN``, ``BatchNormalization``, ``Flatten``, ``Dropout``,
        ``Activation``). Only its ``get_config()`` is read (Keras's layers and the from-scratch
        ones write the same keys), never its weights.
    input_shape : tuple of int
        The shape of one example entering the layer, without the batch axis.

    Returns
    -------
    LayerCost

    Raises
    ------
    TypeError
        For any other kind of layer.
    ValueError
        For a shape that is not one example's (sizes below 1, a batch axis of None), an input
        smaller than a ``'valid'`` kernel, or a Keras setting the formulas do not count
        (``dilation_rate``, ``groups``, ``data_format='channels_first'``, ``return_state``,
        LoRA).

    Notes
    -----
    With ``b = 1`` if the layer has a bias (else 0):

    - Dense, input ``(..., n)``, ``u`` units: ``n u + b u`` parameters;
      ``m (2 n u + b u)`` FLOPs, ``m`` the product of the leading axes (1 for a vector).
    - Conv2D, input ``(h, w, c)``, kernel ``k_h × k_w``, ``f`` filters, output
      ``(h', w', f)``: ``k_h k_w c f + b f`` parameters; ``h' w' (2 k_h k_w c f + b f)`` FLOPs.
    - MaxPooling2D, pool ``p_h × p_w``, output ``(h', w', c)``: ``p_h p_w h' w' c`` FLOPs.
    - SimpleRNN, input ``(T, d)``, ``u`` units: ``d u + u^2 + b u`` parameters;
      ``T (2 d u + 2 u^2 + b u + u)`` FLOPs (the products ``x_t K`` and ``h_{t−1} R``, the
      bias, and their sum).
    - BatchNormalization, ``C`` features (the size of ``axis``), ``E`` elements in all:
      ``(2 + g + β) C`` parameters, of which ``(g + β) C`` trainable (``γ`` if ``scale``,
      ``β`` if ``center``; the moving mean and variance count as parameters, as in Keras, but
      have no gradient); at inference ``y = x k + d`` with ``k = γ / √(σ² + ε)`` and
      ``d = β − μ k`` computed once per feature, so ``2 E + (5 + g) C`` FLOPs (per feature:
      ``+ ε``, the reciprocal square root, which the profiler counts as 2, ``μ k`` and the
      subtraction, and ``× γ`` if ``scale``).
    - Flatten, Dropout (at inference): no parameters, 0 FLOPs.
    - Activations (on their own or inside a layer): 0 FLOPs, except softmax, 5 per output.
    """
    kind = type(layer).__name__
    name = getattr(layer, "name", kind)
    owner = f"layer_cost(): {kind} '{name}'"
    shape = _check_shape(input_shape, owner)
    formula = _FORMULAS.get(kind) if kind in layer_types() else None
    if formula is None:
        raise TypeError(f"layer_cost(): no formula for layers of type {kind} ('{name}'); "
                        f"supported: {', '.join(k for k in layer_types() if k in _FORMULAS)}")
    get_config = getattr(layer, "get_config", None)
    if not callable(get_config):
        raise TypeError(f"{owner}: the layer has no get_config(), from which its cost is read")
    config = get_config()
    _check_layer_settings(config, kind, owner)
    cost = formula(config, shape, owner)
    trainable = cost.trainable_params if config.get("trainable", True) is not False else 0
    return LayerCost(name, kind, cost.output_shape, cost.params, cost.flops, trainable)


def _input_shape(model, func: str) -> tuple[int, ...]:
    model_input = getattr(model, "input", None)
    if isinstance(model_input, Input):                    # from scratch: no batch axis
        return model_input.shape
    try:
        keras_inputs = getattr(model, "inputs", None)     # Keras: [KerasTensor (None, ...)]
    except (AttributeError, ValueError):                  # a Keras model not built yet
        keras_inputs = None
    shape = keras_inputs[0].shape if keras_inputs else None
    if shape is not None and len(shape) > 1 and None not in tuple(shape)[1:]:
        return tuple(int(s) for s in tuple(shape)[1:])
    raise ValueError(f"{func}(): the model has no input shape; start it with "
                     "Input(shape) (or keras.Input(shape))")


def _model_costs(model, func: str) -> list[LayerCost]:
    layers = getattr(model, "layers", None)
    if isinstance(model, (str, bytes)) or not isinstance(layers, (list, tuple)):
        raise TypeError(f"{func}(): model must be a dlcourse.scratch.Sequential or a "
                        f"keras.Sequential, got {type(model).__name__}")
    shape = _input_shape(model, func)
    costs = []
    for layer in layers:
        cost = layer_cost(layer, shape)
        costs.append(cost)
        shape = cost.output_shape
    return costs


def model_costs(model) -> list[LayerCost]:
    """:func:`layer_cost` of every layer of a ``Sequential`` (from scratch or Keras), in order.

    Parameters
    ----------
    model : dlcourse.scratch.Sequential or keras.Sequential
        With a known input shape (started with ``Input(shape)`` / ``keras.Input(shape)``).

    Returns
    -------
    list of LayerCost
    """
    return _model_costs(model, "model_costs")


def count_params(model) -> int:
    """Number of weights of the model, from its layers' shapes (see :func:`layer_cost`).

    Parameters
    ----------
    model : dlcourse.scratch.Sequential or keras.Sequential

    Returns
    -------
    int
        Equal to Keras's ``count_params()`` for the same architecture.
    """
    return sum(cost.params for cost in _model_costs(model, "count_params"))


def count_flops(model) -> int:
    """FLOPs of one forward pass for one example (see :func:`layer_cost`).

    Parameters
    ----------
    model : dlcourse.scratch.Sequential or keras.Sequential

    Returns
    -------
    int
        In the convention of TensorFlow's profiler (``tf.compat.v1.profiler``), which counts
        the same number for the model's graph, recurrent loops unrolled.
    """
    return sum(cost.flops for cost in _model_costs(model, "count_flops"))


def memory_bytes(model, batch_size: int = 1, optimizer_slots: int = 0,
                 dtype=None) -> dict[str, int]:
    """Memory for the weights, their gradients, the optimizer's state and the activations.

    Parameters
    ----------
    model : dlcourse.scratch.Sequential or keras.Sequential
    batch_size : int
        Examples in flight at once (the activations scale with it), at least 1.
    optimizer_slots : int
        Arrays the optimizer keeps per weight: 0 for SGD, 1 for momentum or RMSprop, 2 for Adam.
    dtype : numpy dtype, optional
        Of the weights and activations (a numeric dtype, e.g. ``"int8"`` for quantized
        weights); by default the first layer's (float32 if unknown).

    Returns
    -------
    dict
        ``weights`` (params × itemsize), ``gradients`` (trainable params × itemsize: the same
        but for BatchNormalization's moving statistics), ``optimizer`` (``optimizer_slots`` ×
        gradients), ``activations`` (the outputs of every layer for the batch, which
        backpropagation keeps), ``inference`` (weights + activations) and ``training`` (all
        four).
    """
    owner = "memory_bytes()"
    batch_size = check_int(batch_size, "batch_size", owner, minimum=1)
    optimizer_slots = check_int(optimizer_slots, "optimizer_slots", owner, minimum=0)
    costs = _model_costs(model, "memory_bytes")
    if dtype is None:
        dtype = getattr(model.layers[0], "dtype", None) if model.layers else None
        dtype = getattr(dtype, "name", dtype) or "float32"
    try:
        itemsize = np.dtype(dtype).itemsize
        numeric = np.issubdtype(np.dtype(dtype), np.number)
    except TypeError:
        numeric = False
    if not numeric:
        raise TypeError(f"{owner}: dtype must be a numeric dtype such as 'float32', "
                        f"got {dtype!r}")
    weights = itemsize * sum(c.params for c in costs)
    gradients = itemsize * sum(c.trainable_params for c in costs)
    activations = itemsize * batch_size * sum(math.prod(c.output_shape) for c in costs)
    return {"weights": weights, "gradients": gradients, "optimizer": optimizer_slots * gradients,
            "activations": activations, "inference": weights + activations,
            "training": weights + (1 + optimizer_slots) * gradients + activations}
