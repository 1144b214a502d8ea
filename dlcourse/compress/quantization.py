"""Post-training int8 quantization: a real value ``r`` stored as an integer ``q``, r ≈ S (q − Z).

Affine quantization, as in Jacob et al. (CVPR 2018) and TensorFlow Lite: one ``scale`` S and
``zero_point`` Z per tensor or per output channel. :func:`quantization_params`,
:func:`quantize`, :func:`dequantize`; for whole models :func:`quantize_weights` /
:func:`dequantize_weights`, which return :class:`QuantizedTensor`; :func:`nbytes`, a model's
size. NumPy only. Rounding is half up, as TensorFlow's fake-quantization kernels round.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from dlcourse.validation import check_array, check_bool, check_int

__all__ = [
    "INT8_MAX", "INT8_MIN", "QuantizedTensor", "dequantize", "dequantize_weights", "nbytes",
    "quantization_params", "quantize", "quantize_tensor", "quantize_weights",
]

#: The range of a signed 8-bit integer.
INT8_MIN, INT8_MAX = -128, 127


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
