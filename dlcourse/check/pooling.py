"""Check of 2-D max pooling as Keras's MaxPooling2D, with the usual mistakes.

The reference is :func:`dlcourse.scratch.pooling.maxpool2d`, and most mistakes are that same
pooling called the wrong way (the stride ignored, the first entries of the pairs used twice).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dlcourse.check.catalogue import Hint, Mistake, Spec, recognises
from dlcourse.check.conv import int_pairs_hint
from dlcourse.check.engine import Case, CheckResult, rng, run
from dlcourse.scratch.conv import conv2d
from dlcourse.scratch.pooling import maxpool2d as maxpool2d_reference
from dlcourse.scratch.windows import as_pair, conv_output_size
from dlcourse.validation import check_bool

__all__ = ["maxpool2d"]

_OWNER = "check.maxpool2d()"


def _maxpool(x, pool_size, strides):
    return maxpool2d_reference(x, pool_size, strides)


def _average_pool(x, pool_size, strides):
    """Average pooling: a convolution whose kernel averages each channel over the window."""
    ph, pw = as_pair(pool_size, "pool_size", _OWNER)
    channels = x.shape[3]
    kernel = np.einsum("ij,cf->ijcf", np.full((ph, pw), 1 / (ph * pw)), np.eye(channels))
    return conv2d(x, kernel, None, strides, "valid")


def _first_entries_only(x, pool_size, strides):
    return _maxpool(x, as_pair(pool_size, "pool_size", _OWNER)[0],
                    as_pair(strides, "strides", _OWNER)[0])


def _output_size(args) -> str:
    x, pool_size, strides = args
    pool, s = as_pair(pool_size, "pool_size", _OWNER), as_pair(strides, "strides", _OWNER)
    out = [conv_output_size(x.shape[1 + i], pool[i], s[i], "valid") for i in (0, 1)]
    return (f"wrong output size: without padding the output has floor((size − pool) / stride) "
            f"+ 1 rows and columns; here size {x.shape[1:3]}, pool_size {pool}, "
            f"strides {s}, so (batch, {out[0]}, {out[1]}, channels)")


MAXPOOL2D_SPEC = Spec(
    "maxpool2d", ("x", "pool_size", "strides"), ("y",), _maxpool,
    mistakes=(
        Mistake("pool_average", "the average instead of the maximum", "y", _average_pool,
                "you took the average of each window: max pooling takes the maximum"),
        Mistake("pool_stride_is_pool_size", "the window moved by pool_size, not strides", "y",
                lambda x, p, s: _maxpool(x, p, p),
                "the stride was ignored: you moved the window by pool_size; move it by strides "
                "(which may differ from pool_size, e.g. overlapping windows)"),
        Mistake("pool_stride_one", "the window moved by 1, not strides", "y",
                lambda x, p, s: _maxpool(x, p, 1),
                "the stride was ignored: you moved the window by 1; move it by strides"),
        Mistake("pool_first_size_only", "pool_size[0] and strides[0] used in both directions",
                "y", _first_entries_only,
                "you used pool_size[0] and strides[0] in both directions: the second entries "
                "are the horizontal window size and stride"),
        Mistake("pool_over_channels", "the maximum taken over the channels too", "y",
                lambda x, p, s: np.broadcast_to(_maxpool(x, p, s).max(axis=3, keepdims=True),
                                                _maxpool(x, p, s).shape),
                "you took the maximum over the channels too: pool each channel separately, "
                "max over the window's rows and columns only (axes 1 and 2)"),
        Mistake("pool_over_channels", "the maximum taken over the channels too", "y",
                lambda x, p, s: _maxpool(x, p, s).max(axis=3),
                "you took the maximum over the channels too, which lost the channel axis: pool "
                "each channel separately, max over the window's rows and columns only (axes 1 "
                "and 2)"),
        Mistake("pool_channels_first", "a channels-first output", "y",
                lambda x, p, s: _maxpool(x, p, s).transpose(0, 3, 1, 2),
                "your output is channels-first, (batch, channels, height, width): Keras and "
                "this course use channels-last, (batch, height, width, channels)"),
    ),
    layout="x (batch, height, width, channels), y (batch, out_height, out_width, channels)",
    shape_hint=Hint("pool_output_size", "an output of the wrong size (the formula is shown)",
                    _output_size),
    type_error_hint=int_pairs_hint("maxpool2d"),
)


@recognises(MAXPOOL2D_SPEC)
def maxpool2d(fn, *, as_int: bool = False, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x, pool_size, strides) -> y``, 2D max pooling as Keras's MaxPooling2D.

    ``y[n, i, j, c] = max_{u < ph, v < pw} x[n, i·sh + u, j·sw + v, c]``, without padding
    (``padding="valid"``), each channel separately.

    Parameters
    ----------
    fn : callable
        ``fn(x, pool_size, strides)`` with ``x (batch, height, width, channels)`` and the pairs
        ``pool_size (ph, pw)`` and ``strides (sh, sw)``; returns
        ``y (batch, out_height, out_width, channels)``.
    as_int : bool
        Pass ``pool_size`` and ``strides`` as single integers instead of pairs; the test case
        with a non-square window is then left out.
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
    as_int = check_bool(as_int, "as_int", _OWNER)
    spec = dataclasses.replace(MAXPOOL2D_SPEC, type_error_hint=None) if as_int else MAXPOOL2D_SPEC
    r = rng(9)
    settings = [((2, 4, 6, 3), (2, 2), (2, 2)), ((1, 5, 5, 2), (3, 3), (2, 2)),
                ((2, 4, 5, 1), (2, 2), (1, 1)), ((1, 6, 4, 2), (3, 2), (3, 2))]
    cases = []
    for x_shape, pool_size, strides in settings:
        if as_int and (pool_size[0] != pool_size[1] or strides[0] != strides[1]):
            continue
        if as_int:
            pool_size, strides = pool_size[0], strides[0]
        cases.append(Case((r.normal(size=x_shape), pool_size, strides), x_shape[0]))
    return run(spec, fn, cases, timeout=timeout)
