"""Timing code fairly: a warm-up, repeated runs, the median, and two sides measured in turns.

A single stopwatch reading is a poor measurement on a laptop: the first call pays for caches,
lazy imports and (in TensorFlow) tracing, and any later call can be slowed by another program.
The functions here follow three rules:

- **warm up** first: a few calls whose times are thrown away;
- **repeat** and report the **median**, which one slow outlier does not move;
- when two implementations are compared, **alternate** them in one process (A, B, then B, A, ...)
  so that a change of machine load hits both sides alike, instead of all the runs of one side.

:func:`median_time` times one function; :func:`compare_times` times several in turns. Both take a
``clock`` argument (``time.perf_counter`` by default) so that tests can pass a fake one.
Only the standard library is used: importing this module imports neither NumPy nor TensorFlow.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

__all__ = ["Timing", "compare_times", "median_time", "time_calls"]


class Timing(NamedTuple):
    """The result of timing one function.

    Attributes
    ----------
    median : float
        Median time of one call, in seconds.
    times : tuple of float
        Time of one call in each repeat, in seconds, in the order measured (warm-up excluded).
    """

    median: float
    times: tuple[float, ...]

    @property
    def best(self) -> float:
        """The fastest repeat: what the machine can do when nothing else gets in the way."""
        return min(self.times)

    @property
    def spread(self) -> float:
        """``(max − min) / median`` of the repeats: near 0 for a steady measurement."""
        return (max(self.times) - min(self.times)) / self.median if self.median > 0 else 0.0


def _check_counts(repeat, warmup, number, owner: str) -> None:
    for name, value, low in (("repeat", repeat, 1), ("warmup", warmup, 0), ("number", number, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{owner}: {name} must be an int >= {low}, got {value!r}")


def time_calls(fn: Callable[[], object], number: int = 1,
               clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds per call of ``fn()``, called ``number`` times in a row.

    Parameters
    ----------
    fn : callable
        Called with no argument; its result is discarded.
    number : int
        Calls per measurement: several for a function too quick for the clock to resolve.
    clock : callable
        Returns the current time in seconds.

    Returns
    -------
    float
        ``(clock after − clock before) / number``.
    """
    _check_counts(1, 0, number, "time_calls()")
    start = clock()
    for _ in range(number):
        fn()
    return (clock() - start) / number


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1, number: int = 1,
                clock: Callable[[], float] = time.perf_counter) -> Timing:
    r"""Median time of one call of ``fn()`` over ``repeat`` measurements, after a warm-up.

    Parameters
    ----------
    fn : callable
        Called with no argument.
    repeat : int
        Measurements kept; their median is reported.
    warmup : int
        Calls made first and not timed (caches, lazy imports, tracing).
    number : int
        Calls per measurement (see :func:`time_calls`).
    clock : callable
        Returns the current time in seconds; ``time.perf_counter`` by default.

    Returns
    -------
    Timing
        ``median`` and the per-call ``times`` of every repeat, in seconds.

    Notes
    -----
    With per-call times :math:`t_1, \dots, t_R` of the ``repeat`` measurements, the result is
    :math:`\operatorname{median}(t_1, \dots, t_R)`: one run slowed by another program moves
    the mean, not the median.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.ones((200, 200))
    >>> median_time(lambda: a @ a, repeat=3).median > 0
    True
    """
    return compare_times({"fn": fn}, repeat, warmup, number, clock)["fn"]


def compare_times(functions: Mapping[str, Callable[[], object]], repeat: int = 5,
                  warmup: int = 1, number: int | Mapping[str, int] = 1,
                  clock: Callable[[], float] = time.perf_counter) -> dict[str, Timing]:
    """Time several functions in turns, in one process: warm-up, then alternating repeats.

    Parameters
    ----------
    functions : mapping of str to callable
        The implementations to compare, e.g. ``{"scratch": f, "tensorflow": g}``; each is
        called with no argument.
    repeat : int
        Measurements of each function; the median is reported.
    warmup : int
        Untimed calls of each function before the first measurement.
    number : int or mapping of str to int
        Calls per measurement (see :func:`time_calls`), the same for every function or one per
        name: e.g. 1 for a loop that takes a second, 20 for a library call of a millisecond.
    clock : callable
        Returns the current time in seconds.

    Returns
    -------
    dict of str to Timing
        One :class:`Timing` per name, in the order of ``functions``.

    Notes
    -----
    Round ``r`` (0-based) runs the functions in their given order when ``r`` is even and in
    reverse when ``r`` is odd (A B, B A, A B, ...). A slow spell of the machine then lands on
    both sides, and neither always runs right after the other (which can warm or evict its
    caches).
    """
    if not functions:
        raise ValueError("compare_times(): expected at least one function to time")
    names = list(functions)
    if isinstance(number, Mapping):
        if set(number) != set(names):
            raise ValueError(f"compare_times(): number must give a count for each of {names}, "
                             f"got one for {list(number)}")
        numbers = dict(number)
    else:
        numbers = dict.fromkeys(names, number)
    for name in names:
        _check_counts(repeat, warmup, numbers[name], "compare_times()")
        if not callable(functions[name]):
            raise TypeError(f"compare_times(): {name!r} is not callable, got "
                            f"{type(functions[name]).__name__}")
    for _ in range(warmup):
        for name in names:
            functions[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeat):
        for name in (names if r % 2 == 0 else reversed(names)):
            times[name].append(time_calls(functions[name], numbers[name], clock))
    return {name: Timing(statistics.median(times[name]), tuple(times[name])) for name in names}
