"""The engine of :mod:`dlcourse.check`: run a learner's function, compare, diagnose, report.

For each test case :func:`run` computes the expected result with the checker's reference, calls
the learner's function on fresh copies of the arguments under a time limit, and compares every
output in float64. A wrong output is explained by the first of the checker's known mistakes that
reproduces it (:class:`~dlcourse.check.catalogue.Mistake`), else by a mistake any function can
make (:data:`~dlcourse.check.catalogue.GENERIC`), else by the checker's standing hint; the report
is raised as :class:`CheckFailed`. Nothing here knows any particular function: the topic modules
(``activations``, ``core``, ``losses``, ...) describe theirs with a
:class:`~dlcourse.check.catalogue.Spec`.
"""

from __future__ import annotations

import copy
import os
import signal
import threading
import traceback
from dataclasses import dataclass

import numpy as np

from dlcourse.check.catalogue import Spec, explain
from dlcourse.gradcheck import rel_error
from dlcourse.validation import check_number

__all__ = ["TOLERANCE", "Case", "CheckFailed", "CheckResult", "rng", "run"]

#: Largest relative error accepted: float32 results stay well below it, real mistakes far above.
TOLERANCE = 1e-4


# ================================================================================== results
@dataclass(frozen=True, repr=False)
class CheckResult:
    """A passed check: which function, and on how many test cases.

    Shown in a notebook as ``✔ dense_backward: correct on 4 test cases``.
    """

    name: str
    cases: int

    def __str__(self) -> str:
        plural = "" if self.cases == 1 else "s"
        return f"✔ {self.name}: correct on {self.cases} test case{plural}"

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        return str(self).replace(self.name, f"`{self.name}`", 1)


class CheckFailed(AssertionError):
    """A learner's function failed a check; the message says where, what, and why if known.

    Attributes
    ----------
    function : str
        The name of the check, e.g. ``"dense_backward"``.
    case : int or None
        The 1-based number of the failed test case.
    mistakes : tuple of str
        Short keys of the mistakes recognised (e.g. ``"grad_bias_not_summed"``); empty when the
        result is wrong in a way the checker does not recognise.
    """

    def __init__(self, message: str, function: str = "", case: int | None = None,
                 mistakes: tuple[str, ...] = ()):
        super().__init__(message)
        self.function = function
        self.case = case
        self.mistakes = tuple(mistakes)

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback through this package's internals, which
        # would only bury the message the learner needs.
        return [f"CheckFailed: {self}"]


@dataclass(frozen=True)
class Case:
    """One test case: the arguments, and the batch size when a factor of it is telling."""

    args: tuple
    batch: int | None = None


@dataclass
class _Problem:
    output: str
    what: str
    key: str | None = None
    diagnosis: str | None = None


def rng(seed: int) -> np.random.Generator:
    """The random generator of a checker's test cases: fixed, so every run checks the same."""
    return np.random.default_rng(seed)


# ================================================================================== describing
def _shape(a) -> tuple:
    return tuple(np.shape(a))


def _describe_value(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        numeric = value.dtype == bool or (np.issubdtype(value.dtype, np.number)
                                          and not np.issubdtype(value.dtype, np.complexfloating))
        dtype = "" if numeric else f" of dtype {value.dtype}"
        return f"an array of shape {value.shape}{dtype}"
    if isinstance(value, (tuple, list)):
        shapes = ", ".join(str(_shape(v)) if isinstance(v, np.ndarray) else type(v).__name__
                           for v in value[:5])
        more = ", ..." if len(value) > 5 else ""
        return f"a {type(value).__name__} of {len(value)} values ({shapes}{more})"
    if isinstance(value, dict):
        keys = ", ".join(repr(k) for k in list(value)[:5])
        return f"a dict with keys {keys}{', ...' if len(value) > 5 else ''}"
    text = " ".join(repr(value).split())  # one line, however the object prints itself
    return f"a {type(value).__name__} ({text:.60})"


def _describe_args(spec: Spec, args: tuple) -> str:
    parts = []
    for name, value in zip(spec.params, args, strict=True):
        if isinstance(value, np.ndarray):
            kind = "" if np.issubdtype(value.dtype, np.floating) else f" {value.dtype}"
            parts.append(f"{name} {value.shape}{kind}")
        else:
            parts.append(f"{name}={value!r}")
    return ", ".join(parts)


def _signature(spec: Spec) -> str:
    result = (f"({', '.join(spec.outputs)})" if spec.tuple_output else spec.outputs[0])
    return f"{spec.name}({', '.join(spec.params)}) -> {result}"


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _your_line(err: BaseException) -> str:
    """Where in the learner's code the exception came from (skipping NumPy and this package)."""
    numpy_dir = os.path.dirname(np.__file__)
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if not os.path.abspath(f.filename).startswith((_PACKAGE_DIR + os.sep, numpy_dir))]
    if not frames:
        return ""
    frame = frames[-1]
    code = f": {frame.line.strip()}" if frame.line else ""
    return f"in {frame.name}(), line {frame.lineno}{code}"


# ================================================================================== comparing
def _as_float_array(value) -> np.ndarray | None:
    """The value as a float64 array, or None if it is not numeric (ragged lists, None, text)."""
    if value is None:
        return None
    try:
        array = np.asarray(value)
    except Exception:  # ragged nested sequences, objects whose conversion fails
        return None
    if array.dtype == bool or (np.issubdtype(array.dtype, np.number)
                               and not np.issubdtype(array.dtype, np.complexfloating)):
        return array.astype(np.float64)
    return None


def _same(given: np.ndarray, wanted: np.ndarray) -> bool:
    return (given.shape == wanted.shape and bool(np.isfinite(given).all())
            and bool(np.isfinite(wanted).all()) and rel_error(given, wanted) <= TOLERANCE)


def _mistaken_value(mistake, args: tuple) -> np.ndarray | None:
    try:
        with np.errstate(all="ignore"):
            value = mistake.wrong(*args)
    except Exception:  # the mistake is impossible for these shapes (e.g. a failed matmul)
        return None
    return _as_float_array(value)


def _changed(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return not (isinstance(after, np.ndarray) and after.shape == before.shape
                    and np.array_equal(after, before, equal_nan=True))
    return False


def _generic_diagnosis(output: str, g: np.ndarray, e: np.ndarray, batch: int | None):
    """``(key, diagnosis)`` for mistakes any function can make, or None."""
    if not np.isfinite(g).all():
        return None
    if g.shape == e.shape:
        if g.size > 1 and not g.any() and e.any():
            return explain("zeros", output=output)
        norm = float(np.sum(e * e))
        if norm > 0:
            c = float(np.sum(g * e)) / norm
            if abs(c - 1) > 1e-3 and rel_error(g, c * e) <= TOLERANCE:
                diagnosis = _factor_diagnosis(output, c, batch)
                # Any wrong scalar is some multiple of the right one: only a telling factor counts.
                if g.size > 1 or diagnosis[0] != "factor":
                    return diagnosis
        if g.ndim == 2 and g.shape[0] == g.shape[1] and _same(g, e.T):
            return explain("transposed", "square", output=output)
        return None
    if g.ndim == 2 and e.ndim == 2 and g.shape == e.shape[::-1] and _same(g, e.T):
        return explain("transposed", "shape", output=output, expected=e.shape, given=g.shape)
    if g.size == e.size and _same(g.reshape(e.shape), e):
        key = ("extra_axis" if tuple(d for d in g.shape if d != 1)
               == tuple(d for d in e.shape if d != 1) else "reshaped")
        return explain(key, output=output, given=g.shape, expected=e.shape)
    return None


def _factor_diagnosis(output: str, c: float, batch: int | None):
    if abs(c + 1) < 1e-3:
        return explain("sign", output=output)
    if batch is not None and batch > 1:
        if abs(c - batch) < 1e-3 * batch:
            return explain("batch_factor", "large", output=output, batch=batch)
        if abs(c * batch - 1) < 1e-3:
            return explain("batch_factor", "small", output=output, batch=batch)
    return explain("factor", output=output, factor=c)


def _compare_output(spec: Spec, case: Case, name: str, given, expected: np.ndarray):
    """None if ``given`` is right, else the :class:`_Problem` with its diagnosis."""
    g = _as_float_array(given)
    if g is None:
        return _Problem(name, f"expected an array of shape {expected.shape}, got "
                              f"{_describe_value(given)}", *explain("not_an_array", output=name))
    if expected.ndim == 0 and g.size == 1:
        g = g.reshape(())  # a 1-element array for a scalar is fine
    if _same(g, expected):
        return None
    if not np.isfinite(g).all():
        bad = int((~np.isfinite(g)).sum())
        what = f"contains NaN or infinite values ({bad} of {g.size} entries)"
    elif g.shape != expected.shape:
        what = f"expected shape {expected.shape}, got shape {g.shape}"
    elif expected.ndim == 0:
        what = f"wrong value: expected {float(expected):.6g}, got {float(g):.6g}"
    else:
        diff = np.abs(g - expected)
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
        what = (f"wrong values (relative error {rel_error(g, expected):.2g}; largest difference "
                f"at index {index}: expected {expected[index]:.6g}, got {g[index]:.6g})")
    for mistake in spec.mistakes:
        if mistake.output != name:
            continue
        wrong = _mistaken_value(mistake, case.args)
        if wrong is not None and _same(g, wrong) and not _same(wrong, expected):
            return _Problem(name, what, mistake.key,
                            mistake.explain(case.args, g.shape, expected.shape))
    if spec.nonfinite_hint and not np.isfinite(g).all():
        hint = spec.nonfinite_hint
        return _Problem(name, what, hint.key, hint.explain(case.args))
    generic = _generic_diagnosis(name, g, expected, case.batch)
    if generic:
        return _Problem(name, what, *generic)
    if spec.shape_hint and g.shape != expected.shape:
        hint = spec.shape_hint
        return _Problem(name, what, hint.key, hint.explain(case.args))
    return _Problem(name, what)


def _problems(spec: Spec, case: Case, result, expected, args_after: tuple) -> list[_Problem]:
    n = len(spec.outputs)
    if result is None:
        changed = [p for p, a, b in zip(spec.params, case.args, args_after, strict=True)
                   if _changed(a, b)]
        if not spec.tuple_output and changed:
            i = spec.params.index(changed[0])
            after = _as_float_array(args_after[i])
            if after is not None and _same(after, expected):
                return [_Problem(spec.outputs[0], "got None",
                                 *explain("in_place_none", param=changed[0]))]
        return [_Problem("", "your function returned None", *explain("returned_none"))]
    if spec.tuple_output:
        names = ", ".join(spec.outputs)
        if isinstance(result, np.ndarray) or not isinstance(result, (tuple, list)):
            return [_Problem("", f"expected a tuple of {n} arrays ({names}), got "
                                 f"{_describe_value(result)}",
                             *explain("not_a_tuple", n=n, names=names))]
        if len(result) != n:
            return [_Problem("", f"expected a tuple of {n} arrays ({names}), got "
                                 f"{_describe_value(result)}",
                             *explain("tuple_length", n=n, names=names))]
        results, wanted = list(result), list(expected)
    else:
        results, wanted = [result], [expected]
    problems = []
    for i, (name, given, e) in enumerate(zip(spec.outputs, results, wanted, strict=True)):
        problem = _compare_output(spec, case, name, given, e)
        if problem is None:
            continue
        g = _as_float_array(given)
        for j, other in enumerate(wanted):
            if j != i and g is not None and _same(g, other):
                problem.key, problem.diagnosis = explain(
                    "swapped_outputs", position=i + 1, other=spec.outputs[j], output=name,
                    outputs=", ".join(spec.outputs))
                break
        problems.append(problem)
    return problems


# ================================================================================== time limit
class _TimedOut(BaseException):
    """Raised inside the learner's function when its time is up.

    A ``BaseException``, like ``KeyboardInterrupt``, so that an ``except Exception`` inside the
    learner's loop cannot swallow it.
    """

    def __init__(self, stopped: bool):
        super().__init__()
        self.stopped = stopped  # False: it still runs, in a thread that cannot be stopped


def _invoke(fn, args: tuple):
    with np.errstate(all="ignore"):  # NaN and inf are reported by the comparison, with a reason
        return fn(*args)


def _can_use_alarm() -> bool:
    """Whether SIGALRM can stop the call: on the main thread, where no one else set a timer."""
    return (hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0)


def _call_with_alarm(fn, args: tuple, timeout: float):
    """``fn(*args)``, stopped by a SIGALRM after ``timeout`` s (Unix, main thread)."""
    fired = False

    def on_alarm(signum, frame):
        nonlocal fired
        fired = True
        raise _TimedOut(stopped=True)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            result = _invoke(fn, args)
        except BaseException:
            if fired:  # a bare `except:` caught the timeout and raised something else
                raise _TimedOut(stopped=True) from None
            raise
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
    if fired:  # a bare `except:` caught the timeout and the function returned something
        raise _TimedOut(stopped=True)
    return result


def _call_in_thread(fn, args: tuple, timeout: float):
    """``fn(*args)`` in a daemon thread, given up after ``timeout`` s (it cannot be stopped)."""
    outcome: dict = {}

    def target():
        try:
            outcome["result"] = _invoke(fn, args)
        except BaseException as err:  # re-raised in the caller's thread
            outcome["error"] = err

    thread = threading.Thread(target=target, name="dlcourse.check", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise _TimedOut(stopped=False)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _call(fn, args: tuple, timeout: float):
    """``fn(*args)`` with at most ``timeout`` seconds to return, else :class:`_TimedOut`.

    On the main thread of a Unix system (a script, a test, a Jupyter kernel) a SIGALRM timer
    interrupts the learner's function, even a ``while True: pass``, and the check goes on. Where
    that is impossible (another thread, Windows, a timer already set by someone else) the
    function runs in a daemon thread that the check stops waiting for; that thread cannot be
    killed and keeps running until the process (the kernel) ends.
    """
    if _can_use_alarm():
        return _call_with_alarm(fn, args, timeout)
    return _call_in_thread(fn, args, timeout)


def _default_timeout() -> float:
    """:data:`dlcourse.check.TIMEOUT`, read at each check so that setting it takes effect."""
    from dlcourse import check  # the package, complete by the time a check runs

    return check.TIMEOUT


# ================================================================================== reporting
def _timeout_report(spec: Spec, number: int, total: int, inputs: str, timeout: float,
                    stopped: bool) -> CheckFailed:
    key, diagnosis = explain("timeout", timeout=timeout)
    lines = [f"{spec.name}: test case {number} of {total} did not finish", inputs,
             f"  {diagnosis}"]
    if not stopped:
        lines.append("  note: it could not be stopped and is still running in the "
                     "background; restart the kernel to stop it")
    lines.append(f"  expected: {_signature(spec)}")
    return CheckFailed("\n".join(lines), spec.name, number, (key,))


def _exception_report(spec: Spec, number: int, total: int, inputs: str,
                      err: BaseException) -> CheckFailed:
    lines = [f"{spec.name}: test case {number} of {total} raised an exception", inputs,
             f"  {type(err).__name__}: {err}"]
    where = _your_line(err)
    if where:
        lines.append(f"  {where}")
    lines.append(f"  expected: {_signature(spec)}")
    if spec.layout:
        lines.append(f"  with {spec.layout}")
    keys = ["raised"]
    for kind in (NotImplementedError, SystemExit):
        if isinstance(err, kind):
            lines.append(f"  hint: {explain('raised', kind.__name__)[1]}")
    if isinstance(err, TypeError) and spec.type_error_hint:
        keys.append(spec.type_error_hint.key)
        lines.append(f"  hint: {spec.type_error_hint.explain(())}")
    if spec.error_hint:
        lines.append(f"  hint: {spec.error_hint}")
    return CheckFailed("\n".join(lines), spec.name, number, tuple(keys))


def _wrong_result_report(spec: Spec, number: int, total: int, inputs: str,
                         problems: list[_Problem], changed: list[str]) -> CheckFailed:
    lines = [f"{spec.name}: test case {number} of {total} failed", inputs]
    for p in problems:
        lines.append(f"  {p.output}: {p.what}" if p.output else f"  {p.what}")
        if p.diagnosis:
            lines.append(f"  diagnosis: {p.diagnosis}")
    if changed and not any(p.key == "in_place_none" for p in problems):
        lines.append(f"  note: your function modified {', '.join(changed)} in place")
    if not any(p.diagnosis for p in problems) and spec.layout:
        lines.append(f"  expected: {_signature(spec)}, with {spec.layout}")
    keys = tuple(p.key for p in problems if p.key)
    return CheckFailed("\n".join(lines), spec.name, number, keys)


def run(spec: Spec, fn, cases: list[Case], timeout: float | None = None) -> CheckResult:
    """Check ``fn`` against ``spec`` on every test case; raise :class:`CheckFailed` on the first
    wrong one.

    ``timeout`` is the time limit per test case in seconds; None means
    :data:`dlcourse.check.TIMEOUT`.
    """
    if not callable(fn):
        raise TypeError(f"check.{spec.name}() expects your function, got {_describe_value(fn)}: "
                        f"pass the function itself, e.g. check.{spec.name}({spec.name}), "
                        f"not the result of calling it")
    timeout = check_number(_default_timeout() if timeout is None else timeout, "timeout",
                           f"check.{spec.name}()", 0, low_open=True)
    total = len(cases)
    for number, case in enumerate(cases, start=1):
        expected = spec.reference(*case.args)
        expected = (tuple(map(np.asarray, expected)) if spec.tuple_output
                    else np.asarray(expected))
        args = copy.deepcopy(case.args)  # the learner's function may modify them in place
        inputs = f"  inputs: {_describe_args(spec, case.args)}"
        try:
            result = _call(fn, args, timeout)
        except _TimedOut as stop:
            raise _timeout_report(spec, number, total, inputs, timeout, stop.stopped) from None
        except (Exception, SystemExit) as err:
            raise _exception_report(spec, number, total, inputs, err) from None
        problems = _problems(spec, case, result, expected, args)
        if problems:
            changed = [name for name, a, b in zip(spec.params, case.args, args, strict=True)
                       if _changed(a, b)]
            raise _wrong_result_report(spec, number, total, inputs, problems, changed)
    return CheckResult(spec.name, total)
