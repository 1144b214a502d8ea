"""Check of a 2-D convolution as Keras's Conv2D, with the usual mistakes.

The reference is :func:`dlcourse.scratch.conv.conv2d`, and every mistake is that same convolution
called the wrong way: the kernel flipped, the stride ignored, the 'same' padding split otherwise
than :func:`~dlcourse.scratch.conv.padding_split` splits it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dlcourse.check.catalogue import Hint, Mistake, Spec, recognises
from dlcourse.check.engine import Case, CheckResult, rng, run
from dlcourse.scratch.conv import conv2d as conv2d_reference
from dlcourse.scratch.windows import as_pair, conv_output_size, padding_split
from dlcourse.validation import check_bool

__all__ = ["conv2d", "int_pairs_hint"]


def int_pairs_hint(name: str) -> Hint:
    """The hint for a function that takes integers where the check passes pairs."""
    return Hint("int_pairs", "strides (or pool_size) taken as integers where pairs are passed",
                "strides (and pool_size) are passed as pairs such as (2, 2), as Keras stores "
                "them; if your function takes plain integers, call "
                f"check.{name}(fn, as_int=True)")


def _tf_split(size: int, k: int, stride: int) -> tuple[int, int]:
    return padding_split(size, k, stride, "same")


def _stride_one_split(size: int, k: int, stride: int) -> tuple[int, int]:
    total = k - 1  # the 'same' padding of stride 1, used whatever the stride
    return total // 2, total - total // 2


def _conv_variant(*, flip=False, use_bias=True, strides=None, padding=None, split=_tf_split,
                  swap_hw=False):
    """The reference convolution with one mistake built in.

    ``strides`` and ``padding`` map the right value to the mistaken one (``padding`` returns
    None when the mistake cannot happen); ``split(size, k, stride) -> (before, after)`` is how
    the mistaken 'same' padding is split.
    """
    def wrong(x, kernel, bias, s, p):
        k = kernel[::-1, ::-1] if flip else kernel
        k = k.transpose(1, 0, 2, 3) if swap_hw else k
        s = as_pair(s, "strides", "check.conv2d()")
        s = strides(s) if strides else s
        p = padding(p) if padding else p
        if p is None:
            return None
        if p == "same":
            (kh, kw), (sh, sw) = k.shape[:2], s
            x = np.pad(x, ((0, 0), split(x.shape[1], kh, sh), split(x.shape[2], kw, sw), (0, 0)))
        return conv2d_reference(x, k, bias if use_bias else None, s, "valid")
    return wrong


def _describe_same_padding(args) -> str:
    x, kernel, _, strides, _ = args
    sh, sw = as_pair(strides, "strides", "check.conv2d()")
    t, b = padding_split(x.shape[1], kernel.shape[0], sh, "same")
    l, r = padding_split(x.shape[2], kernel.shape[1], sw, "same")
    return (f"TensorFlow's 'same' padding adds a total of max((out − 1)·stride + k − size, 0) "
            f"rows, half before and the rest (the odd one) after; here rows: {t} at the top and "
            f"{b} at the bottom, columns: {l} on the left and {r} on the right")


def _output_size(args) -> str:
    x, kernel, _, strides, padding = args
    s = as_pair(strides, "strides", "check.conv2d()")
    formula = ("ceil(size / stride)" if padding == "same"
               else "floor((size − k) / stride) + 1")
    out = [conv_output_size(x.shape[1 + i], kernel.shape[i], s[i], padding) for i in (0, 1)]
    return (f"wrong output size: for padding={padding!r} the output has {formula} rows and "
            f"columns; here size {x.shape[1:3]}, kernel {kernel.shape[:2]}, stride {s}, so "
            f"(batch, {out[0]}, {out[1]}, filters)")


_SYMMETRIC = "the 'same' padding made symmetric (k // 2 or (k − 1) // 2 on both sides)"

CONV2D_SPEC = Spec(
    "conv2d", ("x", "kernel", "bias", "strides", "padding"), ("y",), conv2d_reference,
    mistakes=(
        Mistake("conv_flipped_kernel", "the kernel flipped (mathematical convolution)", "y",
                _conv_variant(flip=True),
                "you flipped the kernel (that is mathematical convolution; Keras and this "
                "course use cross-correlation): y[i, j] = Σ x[i·s + u, j·s + v] · kernel[u, v], "
                "no flip"),
        Mistake("conv_forgot_bias", "the bias forgotten", "y", _conv_variant(use_bias=False),
                "you forgot the bias: add bias (filters,) to every output position"),
        Mistake("conv_stride_ignored", "the stride ignored", "y",
                _conv_variant(strides=lambda s: (1, 1)),
                "the stride was ignored: you computed the output for stride 1; move the window "
                "by strides = (sh, sw) positions, the output has ceil(size / stride) rows for "
                "'same'"),
        Mistake("conv_stride_first_only", "strides[0] used in both directions", "y",
                _conv_variant(strides=lambda s: (s[0], s[0])),
                "you used strides[0] in both directions: the vertical stride is strides[0], the "
                "horizontal one strides[1]"),
        Mistake("conv_same_ignored", "padding='same' ignored", "y",
                _conv_variant(padding=lambda p: "valid" if p == "same" else None),
                "padding='same' was ignored: you returned the 'valid' output. Pad the input "
                "with zeros so that the output has ceil(size / stride) rows and columns"),
        Mistake("conv_padded_valid", "padding applied for padding='valid'", "y",
                _conv_variant(padding=lambda p: "same" if p == "valid" else None),
                "you padded although padding='valid': 'valid' means no padding at all"),
        Mistake("conv_same_stride_one_padding", "the 'same' padding computed as for stride 1",
                "y", _conv_variant(split=_stride_one_split),
                lambda a, g, e: ("you padded as for stride 1 (k − 1 in total): with a larger "
                                 "stride TensorFlow pads less. " + _describe_same_padding(a))),
        Mistake("conv_same_split", "the 'same' padding split the wrong way round", "y",
                _conv_variant(split=lambda n, k, s: _tf_split(n, k, s)[::-1]),
                lambda a, g, e: ("the 'same' padding is split the wrong way round: when the "
                                 "total is odd, TensorFlow puts the extra row at the bottom and "
                                 "the extra column on the right. " + _describe_same_padding(a))),
        Mistake("conv_symmetric_padding", _SYMMETRIC, "y",
                _conv_variant(split=lambda n, k, s: (k // 2, k // 2)),
                lambda a, g, e: ("you padded k // 2 on both sides, which is one too many for an "
                                 "even kernel size. " + _describe_same_padding(a))),
        Mistake("conv_symmetric_padding", _SYMMETRIC, "y",
                _conv_variant(split=lambda n, k, s: ((k - 1) // 2, (k - 1) // 2)),
                lambda a, g, e: ("you padded (k − 1) // 2 on both sides, which is one too few "
                                 "for an even kernel size. " + _describe_same_padding(a))),
        Mistake("conv_kernel_height_width_swapped", "the kernel's height and width swapped", "y",
                _conv_variant(swap_hw=True),
                "the kernel's height and width are swapped: Keras's kernel is (kernel_height, "
                "kernel_width, in_channels, filters)"),
        Mistake("conv_channels_first", "a channels-first output", "y",
                lambda x, k, b, s, p: conv2d_reference(x, k, b, s, p).transpose(0, 3, 1, 2),
                "your output is channels-first, (batch, filters, height, width): Keras and this "
                "course use channels-last, (batch, height, width, filters)"),
    ),
    layout="x (batch, height, width, channels), kernel (kernel_height, kernel_width, channels, "
           "filters), bias (filters,), y (batch, out_height, out_width, filters)",
    shape_hint=Hint("conv_output_size", "an output of the wrong size (the formula is shown)",
                    _output_size),
    type_error_hint=int_pairs_hint("conv2d"),
)


@recognises(CONV2D_SPEC)
def conv2d(fn, *, as_int: bool = False, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x, kernel, bias, strides, padding) -> y``, a 2D convolution as Keras's Conv2D.

    ``y[n, i, j, f] = bias[f] + Σ_{u, v, c} x_pad[n, i·sh + u, j·sw + v, c] · kernel[u, v, c, f]``
    (cross-correlation, as in every deep-learning framework: the kernel is not flipped).
    ``padding="valid"`` means no padding; ``"same"`` pads with zeros so that the output has
    ``ceil(size / stride)`` rows and columns, splitting the padding as TensorFlow does (the odd
    one at the bottom and on the right).

    Parameters
    ----------
    fn : callable
        ``fn(x, kernel, bias, strides, padding)`` with ``x (batch, height, width, channels)``,
        ``kernel (kernel_height, kernel_width, channels, filters)``, ``bias (filters,)``,
        ``strides`` a pair ``(sh, sw)`` and ``padding`` ``"valid"`` or ``"same"``; returns
        ``y (batch, out_height, out_width, filters)``.
    as_int : bool
        Pass ``strides`` as one integer (e.g. ``2``) instead of a pair; the test case with
        different vertical and horizontal strides is then left out.
    timeout : float, optional
        Seconds your function may run on one test case before it is stopped and the check
        fails; by default :data:`TIMEOUT`.

    Returns
    -------
    CheckResult

    Raises
    ------
    CheckFailed
        On the first wrong test case, with the diagnosis when recognised.
    """
    as_int = check_bool(as_int, "as_int", "check.conv2d()")
    spec = dataclasses.replace(CONV2D_SPEC, type_error_hint=None) if as_int else CONV2D_SPEC
    r = rng(8)
    settings = [((2, 5, 6, 3), (3, 3, 3, 4), (1, 1), "valid"),
                ((1, 5, 5, 2), (2, 3, 2, 3), (1, 1), "same"),
                ((2, 7, 6, 1), (3, 3, 1, 2), (2, 2), "valid"),
                ((2, 6, 6, 2), (3, 3, 2, 2), (2, 2), "same"),
                ((1, 5, 8, 2), (1, 3, 2, 3), (2, 1), "same")]
    cases = []
    for x_shape, k_shape, strides, padding in settings:
        if as_int and strides[0] != strides[1]:
            continue
        args = (r.normal(size=x_shape), r.normal(size=k_shape), r.normal(size=k_shape[3]),
                strides[0] if as_int else strides, padding)
        cases.append(Case(args, x_shape[0]))
    return run(spec, fn, cases, timeout=timeout)
