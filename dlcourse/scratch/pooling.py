"""Two-dimensional max pooling from scratch: readable loops, a vectorised version, the layer.

Max pooling keeps the largest value of each window, channel by channel:

    y[b, r, q, c] = max_{i, j} x_pad[b, r·s_h + i, q·s_w + j, c]

and its gradient flows back only to the input that was the maximum: the others did not change
the output. When several inputs of a window tie for the maximum, TensorFlow gives the whole
gradient to the first of them in row-major order (top row first, then left to right); so do the
functions here. ``'same'`` pads with −∞ (a padded cell never wins), split as
:func:`dlcourse.scratch.windows.padding_split`; the strides default to the pool size, as in
Keras. The window's geometry is :mod:`dlcourse.scratch.windows`, shared with convolution.
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch.base import Layer, register_layer
from dlcourse.scratch.windows import (
    as_pair,
    check_padding,
    conv_output_size,
    offset_slice,
    output_hw,
    pad2d,
    padded_geometry,
)

__all__ = ["MaxPooling2D", "maxpool2d", "maxpool2d_backward", "maxpool2d_backward_naive",
           "maxpool2d_naive"]


def _check_pool_args(fname, x, pool_size, strides, padding, grad_output=None):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"{fname}: expected x of rank 4 (batch, height, width, channels), "
                         f"got shape {x.shape}")
    pool = as_pair(pool_size, "pool_size", fname)
    strides = pool if strides is None else as_pair(strides, "strides", fname)
    padding = check_padding(padding, fname)
    if padding == "valid" and (x.shape[1] < pool[0] or x.shape[2] < pool[1]):
        raise ValueError(f"{fname}: with padding 'valid' the image must be at least as large as "
                         f"the pool {pool}, got x of shape {x.shape}")
    if grad_output is not None:
        grad_output = np.asarray(grad_output)
        expected = _output_shape(x.shape, pool, strides, padding)
        if grad_output.shape != expected:
            raise ValueError(f"{fname}: expected grad_output of the output's shape {expected}, "
                             f"got shape {grad_output.shape}")
    return x, pool, strides, padding, grad_output


def _output_shape(x_shape, pool, strides, padding):
    return (x_shape[0], *output_hw(x_shape, pool, strides, padding), x_shape[3])


def _pad_for_pool(x, pool, strides, padding):
    # −∞ rather than 0, so that a padded cell never wins the max (inputs may be negative).
    fill = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    return pad2d(x, pool, strides, padding, value=fill)


# --------------------------------------------------------------------------------- naive
def maxpool2d_naive(x, pool_size=2, strides=None, padding="valid"):
    """2-D max pooling with loops, one window at a time.

    Parameters
    ----------
    x : ndarray, shape (batch, height, width, channels)
    pool_size : int or (int, int)
        ``(ph, pw)``.
    strides : int, (int, int) or None
        ``(s_h, s_w)``; None means ``pool_size``, as in Keras.
    padding : {'valid', 'same'}
        ``'same'`` pads with −∞, split as TensorFlow does.

    Returns
    -------
    y : ndarray, shape (batch, out_height, out_width, channels)
        Sizes from :func:`dlcourse.scratch.windows.conv_output_size`.

    Notes
    -----
    Forward: ``y[b, r, q, c] = max_{0 ≤ i < ph, 0 ≤ j < pw} x_pad[b, r·s_h + i, q·s_w + j, c]``.
    The backward pass is :func:`maxpool2d_backward_naive`.
    """
    x, (ph, pw), (sh, sw), padding, _ = _check_pool_args(
        "maxpool2d_naive()", x, pool_size, strides, padding)
    batch, out_h, out_w, channels = _output_shape(x.shape, (ph, pw), (sh, sw), padding)
    xp, _ = _pad_for_pool(x, (ph, pw), (sh, sw), padding)
    y = np.empty((batch, out_h, out_w, channels), dtype=x.dtype)
    for b in range(batch):
        for r in range(out_h):
            for q in range(out_w):
                for c in range(channels):
                    y[b, r, q, c] = np.max(xp[b, r * sh:r * sh + ph, q * sw:q * sw + pw, c])
    return y


def maxpool2d_backward_naive(grad_output, x, pool_size=2, strides=None, padding="valid"):
    """Gradient of 2-D max pooling with loops: each window's gradient goes to its maximum.

    Parameters
    ----------
    grad_output : ndarray, shape (batch, out_height, out_width, channels)
        ``∂J/∂y``.
    x : ndarray, shape (batch, height, width, channels)
        The forward input.
    pool_size : int or (int, int)
    strides : int, (int, int) or None
    padding : {'valid', 'same'}

    Returns
    -------
    grad_x : ndarray, shape (batch, height, width, channels)

    Notes
    -----
    ``y[b, r, q, c] = x_pad[b, r·s_h + i*, q·s_w + j*, c]`` for the position ``(i*, j*)`` of the
    window's maximum (the first in row-major order if several tie), so

        ∂J/∂x_pad[b, r·s_h + i*, q·s_w + j*, c] += ∂J/∂y[b, r, q, c]

    and every other input of the window gets nothing from this output. Overlapping windows
    (strides smaller than the pool) add up on an input that is the maximum of several.
    """
    x, (ph, pw), (sh, sw), padding, grad_output = _check_pool_args(
        "maxpool2d_backward_naive()", x, pool_size, strides, padding, grad_output)
    batch, out_h, out_w, channels = grad_output.shape
    xp, (top, left) = _pad_for_pool(x, (ph, pw), (sh, sw), padding)
    grad_xp = np.zeros(xp.shape, dtype=np.result_type(grad_output, np.float32))
    for b in range(batch):
        for r in range(out_h):
            for q in range(out_w):
                for c in range(channels):
                    window = xp[b, r * sh:r * sh + ph, q * sw:q * sw + pw, c]
                    # np.argmax returns the first maximum in row-major order, as TensorFlow.
                    i, j = np.unravel_index(np.argmax(window), window.shape)
                    grad_xp[b, r * sh + i, q * sw + j, c] += grad_output[b, r, q, c]
    return grad_xp[:, top:top + x.shape[1], left:left + x.shape[2], :].copy()


# --------------------------------------------------------------------------------- fast
def _window_views(xp, pool, strides, out_h, out_w):
    """The ``ph·pw`` strided views ``x_pad[:, i::s_h, j::s_w, :]``, offsets in row-major order.

    View ``i·pw + j`` holds input ``(i, j)`` of every window at once, shape
    ``(batch, out_h, out_w, channels)``.
    """
    return [xp[offset_slice(i, j, strides, (out_h, out_w))]
            for i in range(pool[0]) for j in range(pool[1])]


def _maxpool_forward(x, pool, strides, padding):
    """The vectorised forward pass on checked arguments; also returns where the maxima are.

    ``is_first_max[k, b, r, q, c]`` (shape ``(ph·pw, batch, out_h, out_w, channels)``) is True
    where input ``k`` (row-major) of window ``(b, r, q, c)`` is its first maximum.
    """
    _, out_h, out_w, _ = _output_shape(x.shape, pool, strides, padding)
    xp, _ = _pad_for_pool(x, pool, strides, padding)
    views = _window_views(xp, pool, strides, out_h, out_w)
    y = views[0].copy()
    for view in views[1:]:
        np.maximum(y, view, out=y)
    # Equal to the maximum and no earlier input was: the first of tied maxima, as TensorFlow.
    # (Boolean operations, several times faster than masked assignments.)
    is_first_max = np.empty((len(views), *y.shape), dtype=bool)
    taken = np.zeros(y.shape, dtype=bool)
    for k, view in enumerate(views):
        np.equal(view, y, out=is_first_max[k])
        is_first_max[k] &= ~taken
        taken |= is_first_max[k]
    return y, is_first_max


def _maxpool_backward(grad_output, x_shape, is_first_max, pool, strides, padding):
    """The vectorised backward pass on checked arguments, given the forward's maxima."""
    _, out_h, out_w, _ = grad_output.shape
    (top, left), padded_shape = padded_geometry(x_shape, pool, strides, padding)
    grad_xp = np.zeros(padded_shape, dtype=np.result_type(grad_output, np.float32))
    # Windows may overlap, but the inputs at one offset (i, j) of all windows are distinct
    # pixels, so ph·pw slice additions replace a slow scatter (np.add.at).
    for k, view in enumerate(_window_views(grad_xp, pool, strides, out_h, out_w)):
        view += grad_output * is_first_max[k]
    if padded_shape == tuple(x_shape):
        return grad_xp
    return grad_xp[:, top:top + x_shape[1], left:left + x_shape[2], :].copy()


def maxpool2d(x, pool_size=2, strides=None, padding="valid"):
    """2-D max pooling, vectorised; same signature and result as :func:`maxpool2d_naive`.

    Parameters
    ----------
    x : ndarray, shape (batch, height, width, channels)
    pool_size : int or (int, int)
    strides : int, (int, int) or None
        None means ``pool_size``.
    padding : {'valid', 'same'}

    Returns
    -------
    y : ndarray, shape (batch, out_height, out_width, channels)

    Notes
    -----
    ``y = max_{i, j} x_pad[:, i :: s_h, j :: s_w, :]`` (each slice cut to the output's size):
    the maximum over the ``ph·pw`` offsets, each offset one strided slice covering every window.
    """
    x, pool, strides, padding, _ = _check_pool_args(
        "maxpool2d()", x, pool_size, strides, padding)
    y, _ = _maxpool_forward(x, pool, strides, padding)
    return y


def maxpool2d_backward(grad_output, x, pool_size=2, strides=None, padding="valid"):
    """Gradient of 2-D max pooling, vectorised; same signature as the naive one.

    Parameters
    ----------
    grad_output : ndarray, shape (batch, out_height, out_width, channels)
        ``∂J/∂y``.
    x : ndarray, shape (batch, height, width, channels)
    pool_size : int or (int, int)
    strides : int, (int, int) or None
    padding : {'valid', 'same'}

    Returns
    -------
    grad_x : ndarray, shape (batch, height, width, channels)

    Notes
    -----
    With ``k*[b, r, q, c]`` the row-major offset of each window's first maximum,

        ∂J/∂x_pad[:, i :: s_h, j :: s_w, :] += ∂J/∂y ⊙ [k* = i·pw + j]   (Iverson bracket)

    for every offset ``(i, j)``, then the padded border is dropped.
    """
    x, pool, strides, padding, grad_output = _check_pool_args(
        "maxpool2d_backward()", x, pool_size, strides, padding, grad_output)
    _, is_first_max = _maxpool_forward(x, pool, strides, padding)
    return _maxpool_backward(grad_output, x.shape, is_first_max, pool, strides, padding)


# --------------------------------------------------------------------------------- the layer
@register_layer
class MaxPooling2D(Layer):
    """2-D max pooling layer, ``keras.layers.MaxPooling2D``'s twin (channels-last, no weights).

    Parameters
    ----------
    pool_size : int or (int, int)
        ``(ph, pw)``.
    strides : int, (int, int) or None
        None means ``pool_size``, as in Keras.
    padding : {'valid', 'same'}
    name : str, optional
    dtype : str or numpy dtype, optional
        The floating-point dtype it computes in; by default its first input's.

    Notes
    -----
    Forward: ``y[b, r, q, c] = max_{i, j} x_pad[b, r·s_h + i, q·s_w + j, c]``.
    Backward: each ``∂J/∂y[b, r, q, c]`` goes to the window's maximum (the first in row-major
    order if several tie); see :func:`maxpool2d_backward`.
    """

    input_ranks = (4,)
    input_layout = "(batch, height, width, channels)"

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None, dtype=None):
        owner = self._owner(name)
        pool_size = as_pair(pool_size, "pool_size", owner)
        strides = pool_size if strides is None else as_pair(strides, "strides", owner)
        padding = check_padding(padding, owner)
        super().__init__(name=name, dtype=dtype)
        self.pool_size, self.strides, self.padding = pool_size, strides, padding

    def _check_input_shape(self, shape: tuple) -> None:
        super()._check_input_shape(shape)
        too_small = [n is not None and n < p
                     for n, p in zip(shape[1:3], self.pool_size, strict=True)]
        if self.padding == "valid" and any(too_small):
            raise ValueError(self.error_message(
                f"with padding 'valid' the image must be at least as large as the pool "
                f"{self.pool_size}, got input of shape {tuple(shape)}; use padding='same' or a "
                "smaller pool_size"))

    def build(self, input_shape) -> None:
        """No weights; any image size and channel count is accepted later, as in Keras."""
        self.input_shape = (None, None, None)

    def compute_output_shape(self, input_shape) -> tuple:
        """``(batch, out_height, out_width, channels)``; unknown sizes (None) stay None."""
        batch, h, w, channels = input_shape
        out = [None if n is None else conv_output_size(n, k, s, self.padding)
               for n, k, s in zip((h, w), self.pool_size, self.strides, strict=True)]
        return (batch, *out, channels)

    def call(self, x, training):
        y, is_first_max = _maxpool_forward(x, self.pool_size, self.strides, self.padding)
        self.cache = {"x_shape": x.shape, "is_first_max": is_first_max}
        return y

    def call_backward(self, grad_output):
        return _maxpool_backward(grad_output, self.cache["x_shape"], self.cache["is_first_max"],
                                 self.pool_size, self.strides, self.padding)
