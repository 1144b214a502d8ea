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
Only the standard library is used: importing this module imports neither NumPy nor TensorFlow
(which is why its argument checks do not use :mod:`dlcourse.validation`, which imports NumPy;
they phrase their messages the same way). Every argument is checked before the first call.
"""

from __future__ import annotations

import math
import numbers
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


def _check_count(value, name: str, owner: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; the message of :func:`dlcourse.validation.check_int`.

    A float such as ``5.0`` is refused (TypeError), as a bool is; a count below ``minimum`` is
    a ValueError.
    """
    bound = " >= 1" if minimum == 1 else f" >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer{bound}, got {value!r} "
                        f"({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer{bound}, got {value!r}")
    return int(value)


def _check_callable(fn, name: str, owner: str) -> None:
    if not callable(fn):
        raise TypeError(f"{owner}: {name} must be a function of no argument, got {fn!r} "
                        f"({type(fn).__name__})")


def _check_reading(now, owner: str) -> float:
    """A reading of ``clock``: a finite real number of seconds."""
    if isinstance(now, bool) or not isinstance(now, numbers.Real) or not math.isfinite(now):
        raise TypeError(f"{owner}: clock must return the time in seconds as a finite number, "
                        f"got {now!r}")
    return now


def _time_calls(fn, number: int, clock, owner: str) -> float:
    start = clock()
    for _ in range(number):
        fn()
    end = clock()  # the readings are checked outside the timed interval
    elapsed = _check_reading(end, owner) - _check_reading(start, owner)
    if elapsed < 0:
        raise ValueError(f"{owner}: clock went backwards ({elapsed:g} s): use a monotonic clock "
                         "such as time.perf_counter")
    return elapsed / number


def time_calls(fn: Callable[[], object], number: int = 1,
               clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds per call of ``fn()``, called ``number`` times in a row.

    Parameters
    ----------
    fn : callable
        Called with no argument; its result is discarded.
    number : int >= 1
        Calls per measurement: several for a function too quick for the clock to resolve.
    clock : callable
        Returns the current time in seconds (monotonic: it never goes backwards).

    Returns
    -------
    float
        ``(clock after − clock before) / number``.
    """
    owner = "time_calls()"
    _check_callable(fn, "fn", owner)
    number = _check_count(number, "number", owner, minimum=1)
    _check_callable(clock, "clock", owner)
    return _time_calls(fn, number, clock, owner)


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
    owner = "median_time()"
    _check_callable(fn, "fn", owner)
    return _compare_times({"fn": fn}, repeat, warmup, number, clock, owner)["fn"]


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
    owner = "compare_times()"
    if not isinstance(functions, Mapping):
        raise TypeError(f"{owner}: functions must be a dict of name → function, e.g. "
                        f"{{'scratch': f, 'tensorflow': g}}, got {type(functions).__name__}")
    if not functions:
        raise ValueError(f"{owner}: functions must hold at least one function to time, got none")
    for name, fn in functions.items():
        _check_callable(fn, f"functions[{name!r}]", owner)
    return _compare_times(functions, repeat, warmup, number, clock, owner)


def _compare_times(functions: Mapping, repeat, warmup, number, clock,
                   owner: str) -> dict[str, Timing]:
    """:func:`compare_times` once ``functions`` is checked; checks the other arguments."""
    names = list(functions)
    repeat = _check_count(repeat, "repeat", owner, minimum=1)
    warmup = _check_count(warmup, "warmup", owner, minimum=0)
    if isinstance(number, Mapping):
        if set(number) != set(names):
            raise ValueError(f"{owner}: number must give a count for each of {names}, got one "
                             f"for {list(number)}")
        counts = {name: _check_count(number[name], f"number[{name!r}]", owner, minimum=1)
                  for name in names}
    else:
        counts = dict.fromkeys(names, _check_count(number, "number", owner, minimum=1))
    _check_callable(clock, "clock", owner)
    for _ in range(warmup):
        for name in names:
            functions[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeat):
        for name in (names if r % 2 == 0 else reversed(names)):
            times[name].append(_time_calls(functions[name], counts[name], clock, owner))
    return {name: Timing(statistics.median(times[name]), tuple(times[name])) for name in names}
