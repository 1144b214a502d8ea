"""dlcourse.timing: warm-up, repeats, medians and alternation, checked with a fake clock.

No test asserts how fast anything runs: the clock is fake, so every time is known exactly.
"""

import subprocess
import sys
import time

import pytest

from dlcourse import timing
from dlcourse.timing import Timing, compare_times, median_time, time_calls


class FakeClock:
    """A clock that only moves when a timed function tells it to; logs every call it sees."""

    def __init__(self):
        self.now = 0.0
        self.log: list[str] = []

    def __call__(self) -> float:
        return self.now

    def function(self, name: str, durations):
        """A function that "takes" the next of ``durations`` seconds on each call."""
        durations = iter(durations)

        def fn():
            self.log.append(name)
            self.now += next(durations)
        return fn


def test_time_calls_divides_by_number():
    clock = FakeClock()
    fn = clock.function("f", [1.0, 2.0, 3.0])
    assert time_calls(fn, number=3, clock=clock) == pytest.approx(2.0)
    assert clock.log == ["f", "f", "f"]


def test_median_time_discards_the_warmup_and_takes_the_median():
    clock = FakeClock()
    # Warm-up of 100 s (tracing, say) then five repeats with one slow outlier.
    fn = clock.function("f", [100.0, 1.0, 9.0, 2.0, 3.0, 50.0])
    result = median_time(fn, repeat=5, warmup=1, clock=clock)
    assert isinstance(result, Timing)
    assert result.times == (1.0, 9.0, 2.0, 3.0, 50.0)  # in the order measured, warm-up out
    assert result.median == 3.0  # the outlier 50 does not move it; the mean would be 13
    assert result.best == 1.0
    assert result.spread == pytest.approx((50.0 - 1.0) / 3.0)
    assert len(clock.log) == 6


def test_median_of_an_even_number_of_repeats_is_the_middle_mean():
    clock = FakeClock()
    result = median_time(clock.function("f", [1.0, 4.0, 2.0, 8.0]), repeat=4, warmup=0,
                         clock=clock)
    assert result.median == 3.0


def test_median_time_with_number_reports_time_per_call():
    clock = FakeClock()
    result = median_time(clock.function("f", [0.5] * 2 + [0.1] * 6), repeat=3, warmup=2,
                         number=2, clock=clock)
    assert result.times == pytest.approx((0.1, 0.1, 0.1))


def test_compare_times_alternates_the_order_of_the_sides():
    clock = FakeClock()
    a = clock.function("A", [1.0] * 10)
    b = clock.function("B", [2.0] * 10)
    result = compare_times({"A": a, "B": b}, repeat=4, warmup=1, clock=clock)
    # Warm-up A B, then rounds A B | B A | A B | B A.
    assert clock.log == ["A", "B", "A", "B", "B", "A", "A", "B", "B", "A"]
    assert list(result) == ["A", "B"]
    assert result["A"].median == 1.0 and result["B"].median == 2.0
    assert result["A"].times == (1.0,) * 4


def test_compare_times_cancels_a_steady_drift_of_the_machine():
    """The load grows call after call: running A before B every round would favour A.

    Call ``k`` (0-based) is slowed by a factor ``k + 1``. In the order A B | B A | A B | B A the
    two sides see the factors (1, 4, 5, 8) and (2, 3, 6, 7): the same median, so the ratio of
    the medians is the true ratio, 2. (Always A then B would give (1, 3, 5, 7) and (2, 4, 6, 8):
    a ratio of 2 × 5 / 4 = 2.5.)
    """
    clock = FakeClock()
    calls = iter(range(1, 100))

    def side(cost):
        def fn():
            clock.now += cost * next(calls)
        return fn

    result = compare_times({"A": side(1.0), "B": side(2.0)}, repeat=4, warmup=0, clock=clock)
    assert result["B"].median / result["A"].median == pytest.approx(2.0)


def test_compare_times_number_per_function():
    clock = FakeClock()
    slow = clock.function("slow", [3.0] * 3)
    fast = clock.function("fast", [0.01] * 30)
    result = compare_times({"slow": slow, "fast": fast}, repeat=3, warmup=0,
                           number={"slow": 1, "fast": 10}, clock=clock)
    assert clock.log.count("slow") == 3 and clock.log.count("fast") == 30
    assert result["fast"].median == pytest.approx(0.01)
    assert result["slow"].median == pytest.approx(3.0)


def test_real_clock_measures_something():
    result = compare_times({"sum": lambda: sum(range(1000)), "nothing": lambda: None},
                           repeat=3, warmup=1)
    assert all(t >= 0 for timing in result.values() for t in timing.times)
    assert result["sum"].median > 0


@pytest.mark.parametrize("kwargs, error, message", [
    ({"repeat": 0}, ValueError, "repeat must be an integer >= 1, got 0"),
    ({"warmup": -1}, ValueError, "warmup must be an integer >= 0, got -1"),
    ({"number": 0}, ValueError, "number must be an integer >= 1, got 0"),
    ({"repeat": 2.5}, TypeError, "repeat must be an integer >= 1, got 2.5"),
    ({"repeat": True}, TypeError, "repeat must be an integer >= 1, got True"),
])
def test_bad_counts_are_refused(kwargs, error, message):
    with pytest.raises(error, match=rf"^median_time\(\): {message}"):
        median_time(lambda: None, **kwargs)


def test_compare_times_refuses_bad_functions_and_numbers():
    with pytest.raises(ValueError, match="at least one function"):
        compare_times({})
    with pytest.raises(TypeError, match=r"functions\['b'\] must be a function of no argument"):
        compare_times({"a": lambda: None, "b": 3})
    with pytest.raises(ValueError, match="a count for each of"):
        compare_times({"a": lambda: None, "b": lambda: None}, number={"a": 2})
    with pytest.raises(ValueError, match="number must be an integer >= 1"):
        time_calls(lambda: None, number=0)


def nothing():
    return None


GOOD = {  # valid arguments of every public function; each row of BAD changes one of them
    "time_calls": {"fn": nothing, "number": 2, "clock": time.perf_counter},
    "median_time": {"fn": nothing, "repeat": 3, "warmup": 1, "number": 2,
                    "clock": time.perf_counter},
    "compare_times": {"functions": {"a": nothing, "b": nothing}, "repeat": 3, "warmup": 1,
                      "number": {"a": 1, "b": 2}, "clock": time.perf_counter},
}
COUNTS = [(0, ValueError), (-1, ValueError), (2.5, TypeError), (3.0, TypeError),
          (True, TypeError), ("3", TypeError), (None, TypeError)]
BAD = [  # function, argument, bad value, expected error, what the message names
    *[(f, "fn", v, TypeError, "fn") for f in ("time_calls", "median_time")
      for v in (None, 3, "nothing", nothing())],
    *[("compare_times", "functions", v, e, n) for v, e, n in [
        ([nothing], TypeError, "functions"), (nothing, TypeError, "functions"),
        ("f", TypeError, "functions"), ({}, ValueError, "functions"),
        ({"a": nothing, "b": 3}, TypeError, "functions['b']"),
        ({"a": nothing()}, TypeError, "functions['a']")]],
    *[(f, "number", v, e, "number") for f in ("time_calls", "median_time", "compare_times")
      for v, e in COUNTS],
    *[("compare_times", "number", v, e, n) for v, e, n in [
        ({"a": 1}, ValueError, "number"), ({"a": 1, "b": 0}, ValueError, "number['b']"),
        ({"a": 1, "b": 1.5}, TypeError, "number['b']"), ({"a": 1, "b": 1, "c": 1}, ValueError,
                                                         "number")]],
    *[(f, "repeat", v, e, "repeat") for f in ("median_time", "compare_times")
      for v, e in COUNTS],
    *[(f, "warmup", v, e, "warmup") for f in ("median_time", "compare_times")
      for v, e in [(-1, ValueError), (1.0, TypeError), (False, TypeError)]],
    *[(f, "clock", v, e, "clock") for f in ("time_calls", "median_time", "compare_times")
      for v, e in [(None, TypeError), (0.0, TypeError), (time, TypeError),
                   (lambda: "now", TypeError), (lambda: float("nan"), TypeError),
                   (iter([5.0, 4.0] * 20).__next__, ValueError)]],       # goes backwards
]


@pytest.mark.parametrize(("func", "arg", "value", "error", "named"), BAD,
                         ids=[f"{f}-{a}-{i}" for i, (f, a, *_) in enumerate(BAD)])
def test_bad_arguments_are_refused_by_name(func, arg, value, error, named):
    with pytest.raises(error) as err:
        getattr(timing, func)(**{**GOOD[func], arg: value})
    message = str(err.value)
    assert message.startswith(f"{func}(): "), message
    assert named in message, message


def test_every_public_function_has_bad_arguments_tried():
    functions = {name for name in timing.__all__
                 if callable(getattr(timing, name)) and not isinstance(getattr(timing, name),
                                                                        type)}
    assert issubclass(Timing, tuple)         # a record the functions return
    assert functions == set(GOOD) == {func for func, *_ in BAD}
    for func, kwargs in GOOD.items():        # and the valid arguments of the table are valid
        getattr(timing, func)(**kwargs)


def test_nothing_is_called_before_every_argument_is_checked():
    clock = FakeClock()
    a, b = clock.function("A", [1.0] * 10), clock.function("B", [1.0] * 10)
    for bad in ({"repeat": 0}, {"number": {"A": 1, "B": 0}}, {"clock": None}):
        with pytest.raises((TypeError, ValueError)):
            compare_times({"A": a, "B": b}, **{"warmup": 2, "clock": clock, **bad})
    with pytest.raises(TypeError, match=r"functions\['B'\]"):
        compare_times({"A": a, "B": "b"}, warmup=2, clock=clock)
    assert clock.log == []                  # no warm-up call ran


def test_a_clock_that_goes_backwards_is_refused_not_averaged():
    # time.time can be set back by the system; a negative time would silently pull the median
    # down.
    readings = iter([10.0, 9.0])
    with pytest.raises(ValueError, match=r"time_calls\(\): clock went backwards \(-1 s\)"):
        time_calls(lambda: None, clock=lambda: next(readings))


def test_importing_timing_imports_neither_numpy_nor_tensorflow():
    code = ("import sys, dlcourse.timing; "
            "print(sorted(m for m in ('numpy', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
