"""Two-dimensional max pooling from scratch: readable loops, fast kernels, the layer.

Max pooling keeps the largest value of each window, channel by channel:

    y[b, r, q, c] = max_{i, j} x_pad[b, r·s_h + i, q·s_w + j, c]

and its gradient flows back only to the input that was the maximum: the others did not change
the output. When several inputs of a window tie for the maximum, TensorFlow gives the whole
gradient to the first of them in row-major order (top row first, then left to right); so do the
functions here. ``'same'`` pads with −∞ (a padded cell never wins), split as
:func:`dlcourse.scratch.windows.padding_split`; the strides default to the pool size, as in
Keras. The window's geometry is :mod:`dlcourse.scratch.windows`, shared with convolution.

The module reads top to bottom, as :mod:`dlcourse.scratch.conv` does: the readable loops
(:func:`maxpool2d_naive`, :func:`maxpool2d_backward_naive`); the kernels, each equal to a piece
of those loops (a test keeps them equal): :func:`pool_windows` (every window at once, a view),
:func:`window_max` (their maxima), :func:`first_max_mask` (where each window's first maximum
is) and :func:`add_to_first_maxima` (the gradient sent there); their fast twins
:func:`maxpool2d` and :func:`maxpool2d_backward`, with the loops' signatures; and
:class:`MaxPooling2D`, whose ``call`` and ``call_backward`` are the fast twins' lines.
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
    window_view,
)

__all__ = ["MaxPooling2D", "add_to_first_maxima", "first_max_mask", "maxpool2d",
           "maxpool2d_backward", "maxpool2d_backward_naive", "maxpool2d_naive", "pool_windows",
           "window_max"]


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


# --------------------------------------------------------------------------------- kernels
def pool_windows(x, pool, strides, padding) -> np.ndarray:
    """Every window of ``x``, padded with −∞, as a read-only view (no copy).

    ``windows[b, r, q, i, j, c] = x_pad[b, r·s_h + i, q·s_w + j, c]``: the ``window`` of
    :func:`maxpool2d_naive`'s loop body, for every ``(b, r, q)`` at once, so
    ``windows.max(axis=(3, 4))`` (computed fast by :func:`window_max`) is that loop.

    Parameters
    ----------
    x : ndarray, shape (batch, height, width, channels)
    pool, strides : (int, int)
    padding : {'valid', 'same'}

    Returns
    -------
    windows : ndarray, shape (batch, out_height, out_width, ph, pw, channels)
    """
    xp, _ = _pad_for_pool(x, pool, strides, padding)
    return window_view(xp, pool, strides, output_hw(x.shape, pool, strides, padding))


def window_max(windows: np.ndarray) -> np.ndarray:
    """``windows.max(axis=(3, 4))``, the maximum of every window, several times faster.

    Equal to :func:`maxpool2d_naive` on the windows of :func:`pool_windows` (a test keeps them
    equal). NumPy's reduction over two strided axes is slow; ``ph·pw`` elementwise maxima, each
    over one offset ``(i, j)`` of every window at once, are not.

    Parameters
    ----------
    windows : ndarray, shape (batch, out_height, out_width, ph, pw, channels)

    Returns
    -------
    y : ndarray, shape (batch, out_height, out_width, channels)
    """
    _, _, _, ph, pw, _ = windows.shape
    y = windows[:, :, :, 0, 0, :].copy()
    for k in range(1, ph * pw):
        np.maximum(y, windows[:, :, :, k // pw, k % pw, :], out=y)
    return y


def first_max_mask(windows: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Where each window's first maximum is, in row-major order (TensorFlow's rule for ties).

    ``is_first_max[i·pw + j, b, r, q, c]`` is True exactly when ``(i, j)`` is the position
    ``np.argmax`` finds in :func:`maxpool2d_backward_naive`'s loop body for window
    ``(b, r, q, c)`` (a test keeps them equal).

    Parameters
    ----------
    windows : ndarray, shape (batch, out_height, out_width, ph, pw, channels)
        From :func:`pool_windows`.
    y : ndarray, shape (batch, out_height, out_width, channels)
        Their maxima, :func:`window_max`.

    Returns
    -------
    is_first_max : bool ndarray, shape (ph·pw, batch, out_height, out_width, channels)
    """
    _, _, _, ph, pw, _ = windows.shape
    is_first_max = np.empty((ph * pw, *y.shape), dtype=bool)
    taken = np.zeros(y.shape, dtype=bool)
    # Equal to the maximum and no earlier input was: the first of tied maxima. (Boolean
    # operations on one offset of every window at a time, several times faster than masked
    # assignments.)
    for k in range(ph * pw):
        np.equal(windows[:, :, :, k // pw, k % pw, :], y, out=is_first_max[k])
        is_first_max[k] &= ~taken
        taken |= is_first_max[k]
    return is_first_max


def add_to_first_maxima(grad_output, is_first_max, x_shape, pool, strides,
                        padding) -> np.ndarray:
    """``∂J/∂x`` of max pooling: each window's gradient added onto its first maximum.

    Equal to :func:`maxpool2d_backward_naive` (a test keeps them equal).

    Parameters
    ----------
    grad_output : ndarray, shape (batch, out_height, out_width, channels)
        ``∂J/∂y``.
    is_first_max : bool ndarray, shape (ph·pw, batch, out_height, out_width, channels)
        From :func:`first_max_mask`.
    x_shape : tuple (batch, height, width, channels)
    pool, strides : (int, int)
    padding : {'valid', 'same'}

    Returns
    -------
    grad_x : ndarray, shape x_shape

    Notes
    -----
    ``∂J/∂x_pad[:, i :: s_h, j :: s_w, :] += ∂J/∂y ⊙ is_first_max[i·pw + j]`` for every offset
    ``(i, j)``, then the padded border is dropped. Windows may overlap, but the inputs at one
    offset of all windows are distinct pixels, one strided slice, so ``ph·pw`` slice additions
    replace a slow scatter (``np.add.at``).
    """
    _, out_h, out_w, _ = grad_output.shape
    (top, left), padded_shape = padded_geometry(x_shape, pool, strides, padding)
    grad_xp = np.zeros(padded_shape, dtype=np.result_type(grad_output, np.float32))
    for k in range(pool[0] * pool[1]):
        i, j = divmod(k, pool[1])
        grad_xp[offset_slice(i, j, strides, (out_h, out_w))] += grad_output * is_first_max[k]
    if padded_shape == tuple(x_shape):
        return grad_xp
    return grad_xp[:, top:top + x_shape[1], left:left + x_shape[2], :].copy()


# --------------------------------------------------------------------------------- fast
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
    ``y = windows.max(axis=(3, 4))`` (:func:`window_max`) with ``windows[b, r, q, i, j, c] =
    x_pad[b, r·s_h + i, q·s_w + j, c]`` a strided view of every window (:func:`pool_windows`):
    the loop of :func:`maxpool2d_naive` for every window at once, without a copy.
    """
    x, pool, strides, padding, _ = _check_pool_args(
        "maxpool2d()", x, pool_size, strides, padding)
    return window_max(pool_windows(x, pool, strides, padding))


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
    windows = pool_windows(x, pool, strides, padding)
    is_first_max = first_max_mask(windows, window_max(windows))
    return add_to_first_maxima(grad_output, is_first_max, x.shape, pool, strides, padding)


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
    order if several tie), as in :func:`maxpool2d_backward_naive`. ``call`` and
    ``call_backward`` compute them on every window at once (:func:`pool_windows`,
    :func:`window_max`, :func:`first_max_mask`, :func:`add_to_first_maxima`), the lines of
    :func:`maxpool2d` and
    :func:`maxpool2d_backward`.
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
        # windows[b, r, q, i, j, c] = x_pad[b, r·s_h + i, q·s_w + j, c] (padded with −∞): a view
        windows = pool_windows(x, self.pool_size, self.strides, self.padding)
        y = window_max(windows)  # y[b, r, q, c] = max_{i,j} x_pad[b, r·s_h + i, q·s_w + j, c]
        # The gradient goes to each window's first maximum in row-major order, as in TensorFlow.
        self.cache = {"x_shape": x.shape, "is_first_max": first_max_mask(windows, y)}
        return y

    def call_backward(self, grad_output):
        # ∂J/∂x_pad[b, r·s_h + i*, q·s_w + j*, c] += ∂J/∂y[b, r, q, c], (i*, j*) the first maximum
        return add_to_first_maxima(grad_output, self.cache["is_first_max"], self.cache["x_shape"],
                                   self.pool_size, self.strides, self.padding)
