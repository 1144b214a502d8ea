"""The geometry of a window sliding over an image, shared by convolution and pooling.

A kernel (or pool) of ``k`` rows sliding with stride ``s`` over ``n`` rows, with Keras's two
paddings, ``'valid'`` (no padding) and ``'same'`` (zero padding, split as TensorFlow splits it):
the output size, the rows added before and after, the padded image, and two ways of looking at
every window at once without a copy (one strided view of all windows, or one strided slice per
offset inside the window), and every window copied into one row of a matrix (im2col), which
turns a convolution into one matrix product. Height and width follow the same rules, axis by
axis. NumPy only.

Every array is channels-last: ``x`` is ``(batch, height, width, channels)``.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = [
    "PADDINGS", "as_pair", "check_padding", "conv_output_size", "im2col", "offset_slice",
    "output_hw", "pad2d", "padded_geometry", "padding_split", "window_view",
]

#: The padding names Keras accepts for 2-D convolution and pooling.
PADDINGS = ("valid", "same")


# --------------------------------------------------------------------------------- arguments
def as_pair(value, what: str, owner: str) -> tuple[int, int]:
    """``value`` as a pair of positive ints: ``3 -> (3, 3)``, ``(2, 3) -> (2, 3)``.

    Parameters
    ----------
    value : int or pair of int
        E.g. a ``kernel_size``, ``strides`` or ``pool_size``.
    what : str
        The argument's name, for the error message.
    owner : str
        Prefix of the error message (a function or layer name).

    Returns
    -------
    tuple of two int

    Raises
    ------
    ValueError
        If ``value`` is neither a positive int nor a pair of positive ints.
    """
    def positive_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0

    if positive_int(value):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(map(positive_int, value)):
        return int(value[0]), int(value[1])
    raise ValueError(f"{owner}: {what} must be a positive int or a pair of positive ints, "
                     f"got {value!r}")


def check_padding(padding, owner: str) -> str:
    """The padding name in lower case (as Keras accepts it), or a ValueError naming the choices."""
    if isinstance(padding, str) and padding.lower() in PADDINGS:
        return padding.lower()
    raise ValueError(f"{owner}: padding must be one of {list(PADDINGS)}, got {padding!r}")


# --------------------------------------------------------------------------------- sizes
def conv_output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Length of one spatial axis of the output of a convolution or a pooling.

    Notes
    -----
    With input length ``n``, kernel (or pool) length ``k`` and stride ``s``:

    - ``'valid'`` (no padding): ``⌊(n − k) / s⌋ + 1``, the number of whole windows;
    - ``'same'`` (zero padding): ``⌈n / s⌉``, independent of ``k`` (equal to ``n`` when ``s = 1``).

    Parameters
    ----------
    size, kernel, stride : int
        ``n``, ``k`` and ``s``.
    padding : {'valid', 'same'}

    Returns
    -------
    int

    Raises
    ------
    ValueError
        For an unknown padding, or a ``'valid'`` input shorter than the kernel.
    """
    padding = check_padding(padding, "conv_output_size()")
    if padding == "same":
        return -(-size // stride)
    if size < kernel:
        raise ValueError(f"conv_output_size(): with padding 'valid' the input length must be at "
                         f"least the kernel length {kernel}, got {size}")
    return (size - kernel) // stride + 1


def output_hw(x_shape, window, strides, padding: str) -> tuple[int, int]:
    """``(out_height, out_width)`` for ``x`` of shape ``(batch, height, width, channels)``.

    :func:`conv_output_size` on each spatial axis, with ``window = (kh, kw)`` and
    ``strides = (s_h, s_w)`` already pairs.
    """
    return (conv_output_size(x_shape[1], window[0], strides[0], padding),
            conv_output_size(x_shape[2], window[1], strides[1], padding))


def padding_split(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """How many rows (or columns) TensorFlow pads before and after one spatial axis.

    Notes
    -----
    ``'valid'`` pads nothing. ``'same'`` pads just enough for ``out = ⌈n / s⌉`` windows:

        pad_total  = max((out − 1)·s + k − n, 0)
        pad_before = ⌊pad_total / 2⌋,   pad_after = pad_total − pad_before

    so an odd total puts the extra row after (bottom, right), as TensorFlow does; with stride 2
    or an even kernel the two sides differ.

    Parameters
    ----------
    size, kernel, stride : int
        Input length ``n``, kernel length ``k`` and stride ``s``.
    padding : {'valid', 'same'}

    Returns
    -------
    (pad_before, pad_after) : tuple of two int
    """
    padding = check_padding(padding, "padding_split()")
    if padding == "valid":
        return 0, 0
    out = conv_output_size(size, kernel, stride, padding)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def padded_geometry(x_shape, window, strides,
                    padding: str) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """Where ``x`` starts in its padded copy, and that copy's shape, without padding anything.

    Parameters
    ----------
    x_shape : tuple (batch, height, width, channels)
    window, strides : (int, int)
    padding : {'valid', 'same'}

    Returns
    -------
    (top, left) : tuple of two int
    padded_shape : tuple (batch, height + top + bottom, width + left + right, channels)
        The shape :func:`pad2d` would return; a backward pass adds gradients onto an array of
        this shape, then crops ``[top:top + height, left:left + width]``.
    """
    top, bottom = padding_split(x_shape[1], window[0], strides[0], padding)
    left, right = padding_split(x_shape[2], window[1], strides[1], padding)
    return (top, left), (x_shape[0], x_shape[1] + top + bottom, x_shape[2] + left + right,
                         x_shape[3])


def pad2d(x: np.ndarray, window, strides, padding: str,
          value: float = 0.0) -> tuple[np.ndarray, tuple[int, int]]:
    """``x`` padded on height and width as TensorFlow pads it for a window sliding over it.

    Parameters
    ----------
    x : ndarray, shape (batch, height, width, channels)
    window : int or (int, int)
        The kernel (or pool) size ``(kh, kw)``.
    strides : int or (int, int)
    padding : {'valid', 'same'}
        ``'valid'`` returns ``x`` itself; ``'same'`` pads as :func:`padding_split`.
    value : float
        The padding value: 0 for a convolution, −∞ for max pooling.

    Returns
    -------
    x_pad : ndarray, shape (batch, height + top + bottom, width + left + right, channels)
    (top, left) : tuple of two int
        Where ``x`` starts in ``x_pad``: ``x = x_pad[:, top:top + height, left:left + width]``.
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"pad2d(): expected x of rank 4 (batch, height, width, channels), "
                         f"got shape {x.shape}")
    window = as_pair(window, "window", "pad2d()")
    strides = as_pair(strides, "strides", "pad2d()")
    top, bottom = padding_split(x.shape[1], window[0], strides[0], padding)
    left, right = padding_split(x.shape[2], window[1], strides[1], padding)
    if top == bottom == left == right == 0:
        return x, (0, 0)
    return (np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value),
            (top, left))


# --------------------------------------------------------------------------------- windows
def window_view(xp: np.ndarray, window, strides, out_hw) -> np.ndarray:
    """Every window of ``xp`` at once, as a read-only view (no copy).

    Parameters
    ----------
    xp : ndarray, shape (batch, padded_height, padded_width, channels)
        The padded image (:func:`pad2d`).
    window, strides : (int, int)
        ``(kh, kw)`` and ``(s_h, s_w)``.
    out_hw : (int, int)
        ``(out_h, out_w)`` from :func:`output_hw`.

    Returns
    -------
    ndarray, shape (batch, out_h, out_w, kh, kw, channels)
        ``view[b, r, q, i, j, c] = xp[b, r·s_h + i, q·s_w + j, c]``.
    """
    batch, _, _, channels = xp.shape
    (kh, kw), (sh, sw), (out_h, out_w) = window, strides, out_hw
    sb, sr, sc, sch = xp.strides
    # Window (r, q) starts at row r·s_h, column q·s_w; inside it, rows and columns step by one.
    return as_strided(xp, shape=(batch, out_h, out_w, kh, kw, channels),
                      strides=(sb, sr * sh, sc * sw, sr, sc, sch), writeable=False)


def offset_slice(i: int, j: int, strides, out_hw) -> tuple[slice, slice, slice, slice]:
    """Index of the pixels at offset ``(i, j)`` of every window: one strided slice.

    ``xp[offset_slice(i, j, strides, (out_h, out_w))]`` has shape
    ``(batch, out_h, out_w, channels)`` and holds ``xp[b, r·s_h + i, q·s_w + j, c]`` at
    ``[b, r, q, c]``. Windows may overlap, but within one offset the pixels are distinct, so a
    backward pass can add a gradient onto such a slice without a scatter (``np.add.at``).
    """
    (sh, sw), (out_h, out_w) = strides, out_hw
    return (slice(None), slice(i, i + sh * (out_h - 1) + 1, sh),
            slice(j, j + sw * (out_w - 1) + 1, sw), slice(None))


def im2col(x, window, strides=1, padding="valid") -> np.ndarray:
    """Every window of ``x`` (padded as TensorFlow pads it) as one row of a matrix.

    Row ``(b, r, q)`` is ``x_pad[b, r·s_h : r·s_h + kh, q·s_w : q·s_w + kw, :]`` flattened in
    the order ``(i, j, c)``: exactly the ``window`` that
    :func:`dlcourse.scratch.conv.conv2d_naive`'s loop body multiplies by the kernel, so
    ``im2col(x, ...) @ kernel.reshape(-1, filters)`` is that loop for every output at once (a
    test keeps them equal). The columns are ordered like
    ``kernel.reshape(kh·kw·channels, filters)``.

    Parameters
    ----------
    x : ndarray, shape (batch, height, width, channels)
    window : int or (int, int)
        ``(kh, kw)``, the kernel's height and width.
    strides : int or (int, int)
    padding : {'valid', 'same'}
        ``'same'`` pads with zeros, as :func:`pad2d`.

    Returns
    -------
    windows : ndarray, shape (batch·out_height·out_width, kh·kw·channels)
        A new C-ordered array (a copy: each pixel appears in up to ``kh·kw`` windows).
    """
    window = as_pair(window, "window", "im2col()")
    strides = as_pair(strides, "strides", "im2col()")
    xp, _ = pad2d(x, window, strides, padding)  # checks x's rank and the padding
    out_hw = output_hw(np.shape(x), window, strides, padding)
    view = window_view(xp, window, strides, out_hw)  # (batch, out_h, out_w, kh, kw, c): no copy
    # One contiguous copy, so that a matrix product runs on a plain C-ordered matrix.
    return np.ascontiguousarray(view).reshape(-1, window[0] * window[1] * xp.shape[3])
