"""Two-dimensional convolution from scratch: readable loops, fast kernels, the layer.

The book writes one output value of one filter as

    y(x, y) = Σ_c Σ_i Σ_j S(x+i−1, y+j−1) · W_c(i, j)

(1-based indices): the kernel slides over the image ``S`` without being flipped, a
cross-correlation, which is what Keras and TensorFlow compute and call a convolution. With 0-based
indices, a batch, strides ``(s_h, s_w)``, input channels ``c`` and filters ``f``:

    y[b, r, q, f] = bias[f] + Σ_{i, j, c} x_pad[b, r·s_h + i, q·s_w + j, c] · W[i, j, c, f]

Every array is channels-last, as in Keras: ``x`` is ``(batch, height, width, in_channels)``, the
kernel ``(kh, kw, in_channels, filters)`` and the bias ``(filters,)``, so weights move between
:class:`Conv2D` and ``keras.layers.Conv2D`` with one ``set_weights`` call.

The module reads top to bottom:

- the readable loops, :func:`conv2d_naive` and :func:`conv2d_backward_naive`: the formula and its
  chain rule spelled out one output value at a time (what the book shows);
- the kernels, where the speed is, each equal to a piece of those loops (a test keeps them
  equal): :func:`~dlcourse.scratch.windows.im2col` copies every window into one row of a
  matrix, so the whole forward pass becomes one matrix product, and :func:`conv2d_transpose`
  adds every window's gradient back onto the pixels it came from (the loops' ``∂J/∂x``);
- :func:`conv2d` and :func:`conv2d_backward`, the fast twins of the loops, with the same
  signatures and results;
- :class:`Conv2D`, the layer, whose ``call`` and ``call_backward`` show the formula as matrix
  products on the windows.

The window's geometry (output size, TensorFlow's 'same' padding, the strided view of every
window, im2col) is :mod:`dlcourse.scratch.windows`, shared with pooling; its public functions
are importable from here too, as the chapters import them.
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch import activations, initializers, regularizers
from dlcourse.scratch.base import Layer, get_rng, register_layer
from dlcourse.scratch.windows import (
    PADDINGS,
    as_pair,
    check_padding,
    conv_output_size,
    im2col,
    offset_slice,
    output_hw,
    pad2d,
    padded_geometry,
    padding_split,
)
from dlcourse.validation import check_bool, check_int

__all__ = [
    "PADDINGS", "Conv2D", "as_pair", "check_padding", "conv2d", "conv2d_backward",
    "conv2d_backward_naive", "conv2d_naive", "conv2d_transpose", "conv_output_size", "im2col",
    "pad2d", "padding_split",
]


def _check_conv_args(fname, x, kernel, bias, strides, padding, grad_output=None):
    x = np.asarray(x)
    kernel = np.asarray(kernel)
    if x.ndim != 4:
        raise ValueError(f"{fname}: expected x of rank 4 (batch, height, width, channels), "
                         f"got shape {x.shape}")
    if kernel.ndim != 4:
        raise ValueError(f"{fname}: expected a kernel of rank 4 (kh, kw, in_channels, filters), "
                         f"got shape {kernel.shape}")
    if kernel.shape[2] != x.shape[3]:
        raise ValueError(f"{fname}: the kernel {kernel.shape} expects {kernel.shape[2]} input "
                         f"channels, got x of shape {x.shape}")
    strides = as_pair(strides, "strides", fname)
    padding = check_padding(padding, fname)
    if padding == "valid" and (x.shape[1] < kernel.shape[0] or x.shape[2] < kernel.shape[1]):
        raise ValueError(f"{fname}: with padding 'valid' the image must be at least as large as "
                         f"the kernel {kernel.shape[:2]}, got x of shape {x.shape}")
    if bias is not None:
        bias = np.asarray(bias)
        if bias.shape != (kernel.shape[3],):
            raise ValueError(f"{fname}: expected a bias of shape ({kernel.shape[3]},), "
                             f"got shape {bias.shape}")
    if grad_output is not None:
        grad_output = np.asarray(grad_output)
        expected = _output_shape(x.shape, kernel.shape, strides, padding)
        if grad_output.shape != expected:
            raise ValueError(f"{fname}: expected grad_output of the output's shape {expected}, "
                             f"got shape {grad_output.shape}")
    return x, kernel, bias, strides, padding, grad_output


def _output_shape(x_shape, kernel_shape, strides, padding):
    return (x_shape[0], *output_hw(x_shape, kernel_shape[:2], strides, padding), kernel_shape[3])


# --------------------------------------------------------------------------------- naive
def conv2d_naive(x, kernel, bias=None, strides=1, padding="valid"):
    """2-D convolution (cross-correlation) with loops, one output value at a time.

    Parameters
    ----------
    x : ndarray, shape (batch, height, width, in_channels)
    kernel : ndarray, shape (kh, kw, in_channels, filters)
    bias : ndarray, shape (filters,), optional
    strides : int or (int, int)
        ``(s_h, s_w)``.
    padding : {'valid', 'same'}
        ``'same'`` pads with zeros, split as :func:`padding_split`.

    Returns
    -------
    y : ndarray, shape (batch, out_height, out_width, filters)
        Sizes from :func:`conv_output_size`.

    Notes
    -----
    Forward:
    ``y[b, r, q, f] = bias[f] + Σ_{i,j,c} x_pad[b, r·s_h + i, q·s_w + j, c] · W[i, j, c, f]``.
    The backward pass is :func:`conv2d_backward_naive`.
    """
    x, kernel, bias, (sh, sw), padding, _ = _check_conv_args(
        "conv2d_naive()", x, kernel, bias, strides, padding)
    kh, kw, _, filters = kernel.shape
    batch, _, _, _ = x.shape
    _, out_h, out_w, _ = _output_shape(x.shape, kernel.shape, (sh, sw), padding)
    xp, _ = pad2d(x, (kh, kw), (sh, sw), padding)
    y = np.zeros((batch, out_h, out_w, filters), dtype=np.result_type(x, kernel))
    for b in range(batch):
        for r in range(out_h):
            for q in range(out_w):
                window = xp[b, r * sh:r * sh + kh, q * sw:q * sw + kw, :]  # (kh, kw, in)
                for f in range(filters):
                    y[b, r, q, f] = np.sum(window * kernel[:, :, :, f])
    if bias is not None:
        y += bias
    return y


def conv2d_backward_naive(grad_output, x, kernel, strides=1, padding="valid",
                          compute_input_grad=True):
    """Gradients of a 2-D convolution with loops: each output value sends its gradient back.

    Parameters
    ----------
    grad_output : ndarray, shape (batch, out_height, out_width, filters)
        ``∂J/∂y``.
    x : ndarray, shape (batch, height, width, in_channels)
        The forward input.
    kernel : ndarray, shape (kh, kw, in_channels, filters)
    strides : int or (int, int)
    padding : {'valid', 'same'}
    compute_input_grad : bool
        Whether to compute ``∂J/∂x``; the first layer of a network does not need it.

    Returns
    -------
    grad_x : ndarray, shape (batch, height, width, in_channels)
        None if not ``compute_input_grad``
    grad_kernel : ndarray, shape (kh, kw, in_channels, filters)
    grad_bias : ndarray, shape (filters,)

    Notes
    -----
    Output ``y[b, r, q, f]`` used input ``x_pad[b, r·s_h + i, q·s_w + j, c]`` with weight
    ``W[i, j, c, f]``, so by the chain rule (sums over every ``b, r, q`` that used it):

    - ``∂J/∂W[i, j, c, f] = Σ_{b,r,q} ∂J/∂y[b, r, q, f] · x_pad[b, r·s_h + i, q·s_w + j, c]``
    - ``∂J/∂x_pad[b, r·s_h + i, q·s_w + j, c] += Σ_f ∂J/∂y[b, r, q, f] · W[i, j, c, f]``
    - ``∂J/∂bias[f] = Σ_{b,r,q} ∂J/∂y[b, r, q, f]``

    and ``∂J/∂x`` is ``∂J/∂x_pad`` without the padded border.
    """
    x, kernel, _, (sh, sw), padding, grad_output = _check_conv_args(
        "conv2d_backward_naive()", x, kernel, None, strides, padding, grad_output)
    kh, kw, _, filters = kernel.shape
    batch, out_h, out_w, _ = grad_output.shape
    xp, (top, left) = pad2d(x, (kh, kw), (sh, sw), padding)
    dtype = np.result_type(grad_output, x, kernel)
    grad_xp = np.zeros(xp.shape, dtype=dtype)
    grad_kernel = np.zeros(kernel.shape, dtype=dtype)
    for b in range(batch):
        for r in range(out_h):
            for q in range(out_w):
                rows = slice(r * sh, r * sh + kh)
                cols = slice(q * sw, q * sw + kw)
                for f in range(filters):
                    g = grad_output[b, r, q, f]
                    grad_kernel[:, :, :, f] += g * xp[b, rows, cols, :]
                    if compute_input_grad:
                        grad_xp[b, rows, cols, :] += g * kernel[:, :, :, f]
    grad_bias = grad_output.sum(axis=(0, 1, 2)).astype(dtype)
    if not compute_input_grad:
        return None, grad_kernel, grad_bias
    grad_x = grad_xp[:, top:top + x.shape[1], left:left + x.shape[2], :]
    return np.ascontiguousarray(grad_x), grad_kernel, grad_bias


# --------------------------------------------------------------------------------- kernels
def conv2d_transpose(grad_output, kernel, x_shape, strides=1, padding="valid") -> np.ndarray:
    """``∂J/∂x`` of a convolution from ``∂J/∂y``: each window's gradient added back onto its pixels.

    Equal to the ``grad_x`` of :func:`conv2d_backward_naive` (a test keeps them equal), and to
    TensorFlow's ``tf.nn.conv2d_transpose(grad_output, kernel, x_shape, strides,
    padding.upper())``: the transposed convolution is the convolution's gradient with respect
    to its input.

    Parameters
    ----------
    grad_output : ndarray, shape (batch, out_height, out_width, filters)
        ``∂J/∂y``.
    kernel : ndarray, shape (kh, kw, in_channels, filters)
    x_shape : tuple (batch, height, width, in_channels)
        The shape of the convolution's input.
    strides : int or (int, int)
    padding : {'valid', 'same'}

    Returns
    -------
    grad_x : ndarray, shape x_shape

    Notes
    -----
    Output ``y[b, r, q, k]`` used pixel ``x_pad[b, r·s_h + i, q·s_w + j, c]`` with weight
    ``W[i, j, c, k]``, so

        ∂J/∂x_pad[b, r·s_h + i, q·s_w + j, c] += Σ_k ∂J/∂y[b, r, q, k] · W[i, j, c, k]

    for every ``(b, r, q)`` and kernel offset ``(i, j)``; then the padded border is dropped.
    Windows overlap, so several outputs add onto the same pixel, but within one offset
    ``(i, j)`` they never do: the pixels ``x_pad[:, r·s_h + i, q·s_w + j, :]`` of all windows
    form one strided slice, so ``kh·kw`` slice additions replace a slow scatter (``np.add.at``).
    Each offset's block ``G · W[i, j]ᵀ`` is computed on its own, which keeps the addend
    contiguous (faster than slicing one big ``(rows, kh·kw·in)`` matrix).
    """
    grad_output, kernel = np.asarray(grad_output), np.asarray(kernel)
    kh, kw, channels, filters = kernel.shape
    strides = as_pair(strides, "strides", "conv2d_transpose()")
    padding = check_padding(padding, "conv2d_transpose()")
    x_shape = tuple(x_shape)
    expected = (x_shape[0], *output_hw(x_shape, (kh, kw), strides, padding), filters)
    if grad_output.shape != expected or x_shape[3] != channels:
        raise ValueError(f"conv2d_transpose(): for x of shape {x_shape} and a kernel of shape "
                         f"{kernel.shape}, expected grad_output of shape {expected}, got shape "
                         f"{grad_output.shape}")
    batch, out_h, out_w, _ = grad_output.shape
    (top, left), padded_shape = padded_geometry(x_shape, (kh, kw), strides, padding)
    grad_2d = np.ascontiguousarray(grad_output).reshape(-1, filters)
    grad_xp = np.zeros(padded_shape, dtype=np.result_type(grad_2d, kernel))
    for i in range(kh):
        for j in range(kw):
            block = (grad_2d @ kernel[i, j].T).reshape(batch, out_h, out_w, channels)
            grad_xp[offset_slice(i, j, strides, (out_h, out_w))] += block
    if padded_shape == x_shape:
        return grad_xp
    return np.ascontiguousarray(grad_xp[:, top:top + x_shape[1], left:left + x_shape[2], :])


def _sum_rows(matrix: np.ndarray) -> np.ndarray:
    """``matrix.sum(axis=0)``, as a matrix-vector product: several times faster on a tall matrix."""
    return np.ones(matrix.shape[0], dtype=matrix.dtype) @ matrix


# --------------------------------------------------------------------------------- fast
def conv2d(x, kernel, bias=None, strides=1, padding="valid"):
    """2-D convolution as one matrix product (im2col); same signature and result as the naive one.

    Parameters
    ----------
    x : ndarray, shape (batch, height, width, in_channels)
    kernel : ndarray, shape (kh, kw, in_channels, filters)
    bias : ndarray, shape (filters,), optional
    strides : int or (int, int)
    padding : {'valid', 'same'}

    Returns
    -------
    y : ndarray, shape (batch, out_height, out_width, filters)

    Notes
    -----
    Copy every receptive field ``x_pad[b, r·s_h : r·s_h + kh, q·s_w : q·s_w + kw, :]`` into row
    ``(b, r, q)`` of a matrix ``X_col`` of shape ``(batch·out_h·out_w, kh·kw·in)``
    (:func:`im2col`); then

        Y = X_col · W_mat + bias,   W_mat = kernel.reshape(kh·kw·in, filters)

    is the formula of :func:`conv2d_naive` for every output at once, and ``Y`` reshaped to
    ``(batch, out_h, out_w, filters)`` is ``y``. :class:`Conv2D`'s ``call`` is these lines.
    """
    x, kernel, bias, strides, padding, _ = _check_conv_args(
        "conv2d()", x, kernel, bias, strides, padding)
    windows = im2col(x, kernel.shape[:2], strides, padding)
    y = windows @ kernel.reshape(-1, kernel.shape[3])
    if bias is not None:
        y += bias
    return y.reshape(_output_shape(x.shape, kernel.shape, strides, padding))


def conv2d_backward(grad_output, x, kernel, strides=1, padding="valid", compute_input_grad=True):
    """Gradients of a 2-D convolution with matrix products; same signature as the naive one.

    Parameters
    ----------
    grad_output : ndarray, shape (batch, out_height, out_width, filters)
        ``∂J/∂y``.
    x : ndarray, shape (batch, height, width, in_channels)
    kernel : ndarray, shape (kh, kw, in_channels, filters)
    strides : int or (int, int)
    padding : {'valid', 'same'}
    compute_input_grad : bool
        Whether to compute ``∂J/∂x`` (skip it for the first layer: it is most of the cost).

    Returns
    -------
    grad_x : ndarray, shape (batch, height, width, in_channels)
        None if not ``compute_input_grad``
    grad_kernel : ndarray, shape (kh, kw, in_channels, filters)
    grad_bias : ndarray, shape (filters,)

    Notes
    -----
    With ``Y = X_col · W_mat`` (see :func:`conv2d`) and ``G = ∂J/∂Y`` of shape
    ``(batch·out_h·out_w, filters)``:

    - ``∂J/∂W_mat = X_colᵀ · G``, reshaped to the kernel's shape;
    - ``∂J/∂bias = Σ_rows G``;
    - ``∂J/∂x``: the rows of ``G · W_matᵀ`` added back onto the receptive fields they were
      copied from, the padded border dropped (:func:`conv2d_transpose`).

    :class:`Conv2D`'s ``call_backward`` is these lines.
    """
    x, kernel, _, strides, padding, grad_output = _check_conv_args(
        "conv2d_backward()", x, kernel, None, strides, padding, grad_output)
    windows = im2col(x, kernel.shape[:2], strides, padding)
    grad_2d = np.ascontiguousarray(grad_output).reshape(-1, kernel.shape[3])
    grad_kernel = (windows.T @ grad_2d).reshape(kernel.shape)
    grad_bias = _sum_rows(grad_2d)
    if not compute_input_grad:
        return None, grad_kernel, grad_bias
    grad_x = conv2d_transpose(grad_output, kernel, x.shape, strides, padding)
    return grad_x, grad_kernel, grad_bias


# --------------------------------------------------------------------------------- the layer
@register_layer
class Conv2D(Layer):
    """2-D convolution layer, ``keras.layers.Conv2D``'s twin (channels-last).

    Parameters
    ----------
    filters : int
        Number of filters, the output's channels.
    kernel_size : int or (int, int)
        ``(kh, kw)``.
    strides : int or (int, int)
        ``(s_h, s_w)``.
    padding : {'valid', 'same'}
        ``'same'`` pads with zeros as TensorFlow does (see :func:`padding_split`).
    activation : str or None
        A Keras activation name (see :func:`dlcourse.scratch.activations.names`); ``None`` is
        linear.
    use_bias : bool
    kernel_initializer, bias_initializer : str or callable
        Keras names, or ``f(shape, rng, dtype)``.
    kernel_regularizer : None, str or Regularizer
        Kept in ``regularizers["kernel"]`` (the attribute reads and writes that entry); its
        penalty is added by the model.
    name : str, optional
    seed : int, optional
        Seed of the weight initialisation.
    dtype : str or numpy dtype, optional
        The floating-point dtype it computes in; by default its first input's.

    Attributes
    ----------
    params : dict
        ``kernel`` of shape ``(kh, kw, in_channels, filters)`` and ``bias`` of shape
        ``(filters,)``, as in Keras (the same order as ``get_weights()``).
    compute_input_grad : bool
        When False, ``backward`` fills :attr:`grads` but skips ``∂J/∂x`` and returns None: set
        it on the first layer of a network, whose input gradient nobody uses.

    Notes
    -----
    Forward, with ``f`` the activation:

        z[b, r, q, k] = bias[k] + Σ_{i,j,c} x_pad[b, r·s_h + i, q·s_w + j, c] · W[i, j, c, k]
        a = f(z)

    Backward: ``∂J/∂z = ∂J/∂a ⊙ f'(z)``, then ``∂J/∂W``, ``∂J/∂bias`` and ``∂J/∂x`` from
    ``∂J/∂z`` as in :func:`conv2d_backward_naive`. ``call`` and ``call_backward`` compute them as
    matrix products on the windows (:func:`im2col`), the lines of :func:`conv2d` and
    :func:`conv2d_backward`.
    """

    weight_names = ("kernel", "bias")
    kernel_regularizer = regularizers.PenaltyArgument()
    input_ranks = (4,)
    input_layout = "(batch, height, width, channels)"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, name=None, seed=None, dtype=None):
        owner = self._owner(name)
        filters = check_int(filters, "filters", owner, minimum=1)
        kernel_size = as_pair(kernel_size, "kernel_size", owner)
        strides = as_pair(strides, "strides", owner)
        padding = check_padding(padding, owner)
        activation = activations.get(activation, owner)
        use_bias = check_bool(use_bias, "use_bias", owner)
        kernel_initializer = initializers.get(kernel_initializer, owner, "kernel_initializer")
        bias_initializer = initializers.get(bias_initializer, owner, "bias_initializer")
        kernel_regularizer = regularizers.get(kernel_regularizer, owner, "kernel_regularizer")
        super().__init__(name=name, seed=seed, dtype=dtype)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.compute_input_grad = True

    def _check_spatial(self, shape) -> None:
        too_small = [n is not None and n < k
                     for n, k in zip(shape[1:3], self.kernel_size, strict=True)]
        if self.padding == "valid" and any(too_small):
            raise ValueError(self.error_message(
                f"with padding 'valid' the image must be at least as large as the kernel "
                f"{self.kernel_size}, got input of shape {tuple(shape)}; use padding='same' or "
                "a smaller kernel"))

    def _check_input_shape(self, shape: tuple) -> None:
        super()._check_input_shape(shape)
        # Like Keras, only the channels are fixed by the first call; the image size may change.
        if self.built and shape[-1] != self.input_shape[-1]:
            raise ValueError(self.error_message(
                f"expected input with {self.input_shape[-1]} channels (last axis) as on its "
                f"first call, got shape {shape}"))
        self._check_spatial(shape)

    def build(self, input_shape) -> None:
        """Create ``kernel`` (kh, kw, in_channels, filters) and ``bias`` (filters,)."""
        input_shape = tuple(input_shape)
        if len(input_shape) != 4:
            raise ValueError(self.error_message(
                f"expected input of rank 4 {self.input_layout}, got shape {input_shape}"))
        self._check_spatial(input_shape)
        # Only the channel count is fixed; None lets later batches have other image sizes.
        self.input_shape = (None, None, input_shape[-1])
        rng = get_rng(self.seed)
        kernel_shape = (*self.kernel_size, input_shape[-1], self.filters)
        self._initial_weight("kernel", self.kernel_initializer, "kernel_initializer",
                             kernel_shape, rng)
        if self.use_bias:
            self._initial_weight("bias", self.bias_initializer, "bias_initializer",
                                 (self.filters,), rng)

    def compute_output_shape(self, input_shape) -> tuple:
        """``(batch, out_height, out_width, filters)``; unknown sizes (None) stay None."""
        batch, h, w, _ = input_shape
        out = [None if n is None else conv_output_size(n, k, s, self.padding)
               for n, k, s in zip((h, w), self.kernel_size, self.strides, strict=True)]
        return (batch, *out, self.filters)

    def call(self, x, training):
        kernel = self.params["kernel"]  # (kh, kw, in_channels, filters)
        # Row (b, r, q) of `windows` is x_pad[b, r·s_h : r·s_h + kh, q·s_w : q·s_w + kw, :].
        windows = im2col(x, self.kernel_size, self.strides, self.padding)
        # z[b, r, q, k] = bias[k] + Σ_{i,j,c} x_pad[b, r·s_h + i, q·s_w + j, c] · W[i, j, c, k]
        z = windows @ kernel.reshape(-1, self.filters)
        if self.use_bias:
            z += self.params["bias"]
        z = z.reshape(self.compute_output_shape(x.shape))
        a = self.activation.forward(z)
        self.cache = {"x_shape": x.shape, "windows": windows, "z": z, "a": a}
        return a

    def call_backward(self, grad_output):
        kernel, windows = self.params["kernel"], self.cache["windows"]
        grad_z = self.activation.backward(self.cache["z"], self.cache["a"], grad_output)
        grad_2d = grad_z.reshape(-1, self.filters)  # row (b, r, q): ∂J/∂z[b, r, q, :]
        # ∂J/∂W[i, j, c, k] = Σ_{b,r,q} x_pad[b, r·s_h + i, q·s_w + j, c] · ∂J/∂z[b, r, q, k]
        # (in place, so that an optimizer holding these arrays sees the new values)
        self.grads["kernel"][...] = (windows.T @ grad_2d).reshape(kernel.shape)
        if self.use_bias:
            self.grads["bias"][...] = _sum_rows(grad_2d)  # ∂J/∂bias[k] = Σ_{b,r,q} ∂J/∂z
        if not self.compute_input_grad:
            return None
        # ∂J/∂x_pad[b, r·s_h + i, q·s_w + j, c] += Σ_k ∂J/∂z[b, r, q, k] · W[i, j, c, k]
        return conv2d_transpose(grad_z, kernel, self.cache["x_shape"], self.strides,
                                self.padding)
