"""dlcourse.timing: warm-up, repeats, medians and alternation, checked with a fake clock.

No test asserts how fast anything runs: the clock is fake, so every time is known exactly.
"""

import subprocess
import sys

import pytest

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


@pytest.mark.parametrize("kwargs, message", [
    ({"repeat": 0}, "repeat must be an int >= 1"),
    ({"warmup": -1}, "warmup must be an int >= 0"),
    ({"number": 0}, "number must be an int >= 1"),
    ({"repeat": 2.5}, "repeat must be an int"),
    ({"repeat": True}, "repeat must be an int"),
])
def test_bad_counts_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        median_time(lambda: None, **kwargs)


def test_compare_times_refuses_bad_functions_and_numbers():
    with pytest.raises(ValueError, match="at least one function"):
        compare_times({})
    with pytest.raises(TypeError, match="'b' is not callable"):
        compare_times({"a": lambda: None, "b": 3})
    with pytest.raises(ValueError, match="a count for each of"):
        compare_times({"a": lambda: None, "b": lambda: None}, number={"a": 2})
    with pytest.raises(ValueError, match="number must be an int >= 1"):
        time_calls(lambda: None, number=0)


def test_importing_timing_imports_neither_numpy_nor_tensorflow():
    code = ("import sys, dlcourse.timing; "
            "print(sorted(m for m in ('numpy', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
