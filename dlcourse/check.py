"""Self-checks for your own implementations, with the usual mistakes diagnosed by name.

Write the function an exercise asks for, then hand it to the checker of the same name::

    from dlcourse import check

    def dense_backward(x, kernel, bias, grad_output):
        ...
        return grad_x, grad_kernel, grad_bias

    check.dense_backward(dense_backward)

The checker calls your function on a few chosen inputs (several shapes, a batch of one,
non-square matrices), each time on fresh copies so that your function cannot spoil the next test
case, and compares the result with a reference implementation written here in NumPy.

- If every result is right, it returns a :class:`CheckResult`, shown in a notebook as
  "✔ dense_backward: correct on 4 test cases".
- Otherwise it raises :class:`CheckFailed` saying which test case failed (the shapes of its
  inputs), what was expected and what your function returned (a shape, or the largest relative
  error), and, when the values match a known mistake, the mistake in plain words, e.g. "the bias
  gradient is not summed over the batch". If your function raises an exception, that is reported
  the same way, with the line of your code it came from. A function that does not return within
  :data:`TIMEOUT` seconds on a test case (an endless loop) is stopped and reported too.

Results are compared in float64 with a relative error (:func:`dlcourse.gradcheck.rel_error`) of at
most ``1e-4``: loose enough for a float32 result, far tighter than any real mistake. Returning a
list instead of an array, or a list instead of a tuple of results, is fine.

The conventions are Keras's, as everywhere in the course: channels-last images
``x (batch, height, width, channels)``, a Dense kernel ``(in_features, units)``, a convolution
kernel ``(kernel_height, kernel_width, in_channels, filters)``, a bias ``(units,)``, and the
row-vector form of the recurrent step, ``h_t = tanh(x_t @ kernel + h_prev @ recurrent_kernel +
bias)``, which is the chapter's ``h_t = tanh(W_hh h_{t−1} + W_xh x_t + b_h)`` with
``W_xh = kernel.T`` and ``W_hh = recurrent_kernel.T``.
"""

from __future__ import annotations

import copy
import os
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlcourse.gradcheck import rel_error
from dlcourse.scratch import activations as _act
from dlcourse.validation import check_bool, check_number

__all__ = [
    "CheckFailed", "CheckResult", "activation", "activation_derivative", "conv2d",
    "cross_entropy", "dense_backward", "dense_forward", "gradient_descent_step", "maxpool2d",
    "rnn_forward", "rnn_step", "softmax", "softmax_cross_entropy_backward",
]

#: Largest relative error accepted: float32 results stay well below it, real mistakes far above.
TOLERANCE = 1e-4

#: Seconds the learner's function may run on one test case before the check stops it and fails
#: (every test case is small: a right answer takes milliseconds, even written with loops).
#: Each checker also takes ``timeout=`` for one call.
TIMEOUT = 10.0


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
        # IPython shows this instead of a traceback through this module's internals, which
        # would only bury the message the learner needs.
        return [f"CheckFailed: {self}"]


# ================================================================================== machinery
@dataclass(frozen=True)
class _Mistake:
    """A known mistake: what it returns for given arguments, and how to explain it.

    ``wrong(*args)`` computes the mistaken result for one output (raising, or returning None,
    when the mistake cannot happen for these arguments). ``diagnosis`` is the explanation, or a
    callable ``(args, given_shape, expected_shape) -> str`` when it quotes the test case.
    """

    key: str
    output: str
    wrong: Callable
    diagnosis: str | Callable[[tuple, tuple, tuple], str]

    def explain(self, args, given_shape, expected_shape) -> str:
        if callable(self.diagnosis):
            return self.diagnosis(args, given_shape, expected_shape)
        return self.diagnosis


@dataclass(frozen=True)
class _Spec:
    """What a checker checks: the call, the outputs, the reference and the known mistakes."""

    name: str
    params: tuple[str, ...]
    outputs: tuple[str, ...]
    reference: Callable
    mistakes: tuple[_Mistake, ...] = ()
    tuple_output: bool = False
    #: Shown with every failure: the expected arguments and results, with their shapes.
    layout: str = ""
    #: ``(key, message)`` when an output of the wrong shape gets a standing explanation.
    shape_hint: tuple[str, Callable[[tuple], str]] | None = None
    #: ``(key, message)`` for an output containing NaN or inf that no mistake explains.
    nonfinite_hint: tuple[str, str] | None = None
    #: ``(key, message)`` added when the learner's function raises a TypeError.
    type_error_hint: tuple[str, str] | None = None
    #: A sentence added to every report of an exception (e.g. the label format).
    error_hint: str = ""


@dataclass(frozen=True)
class _Case:
    args: tuple
    batch: int | None = None


@dataclass
class _Problem:
    output: str
    what: str
    key: str | None = None
    diagnosis: str | None = None


#: Mistakes recognised for every checker, whatever the function.
GENERIC_MISTAKES = {
    "raised": "your function raised an exception",
    "timeout": "your function did not return in time (a loop that never ends)",
    "returned_none": "returned None (a missing return statement)",
    "in_place_none": "updated an argument in place and returned None",
    "not_a_tuple": "returned one value where a tuple of results is expected",
    "tuple_length": "returned a tuple with the wrong number of results",
    "not_an_array": "returned something that is not an array of numbers",
    "swapped_outputs": "returned the results in the wrong order",
    "zeros": "returned all zeros",
    "sign": "wrong sign",
    "batch_factor": "off by a factor of the batch size",
    "factor": "off by a constant factor",
    "transposed": "returned the transpose",
    "extra_axis": "right values with an extra or missing axis of length 1",
    "reshaped": "right values in the wrong shape",
}


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


def _describe_args(spec: _Spec, args: tuple) -> str:
    parts = []
    for name, value in zip(spec.params, args, strict=True):
        if isinstance(value, np.ndarray):
            kind = "" if np.issubdtype(value.dtype, np.floating) else f" {value.dtype}"
            parts.append(f"{name} {value.shape}{kind}")
        else:
            parts.append(f"{name}={value!r}")
    return ", ".join(parts)


def _signature(spec: _Spec) -> str:
    result = (f"({', '.join(spec.outputs)})" if spec.tuple_output else spec.outputs[0])
    return f"{spec.name}({', '.join(spec.params)}) -> {result}"


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


def _mistaken_value(mistake: _Mistake, args: tuple) -> np.ndarray | None:
    try:
        with np.errstate(all="ignore"):
            value = mistake.wrong(*args)
    except Exception:  # the mistake is impossible for these shapes (e.g. a failed matmul)
        return None
    return _as_float_array(value)


def _your_line(err: BaseException) -> str:
    """Where in the learner's code the exception came from (skipping NumPy and this module)."""
    numpy_dir = os.path.dirname(np.__file__)
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if os.path.abspath(f.filename) != os.path.abspath(__file__)
              and not os.path.abspath(f.filename).startswith(numpy_dir)]
    if not frames:
        return ""
    frame = frames[-1]
    code = f": {frame.line.strip()}" if frame.line else ""
    return f"in {frame.name}(), line {frame.lineno}{code}"


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
            return "zeros", (f"{output} is all zeros: did you return an array before filling it "
                             "(np.zeros_like) or fill a copy?")
        norm = float(np.sum(e * e))
        if norm > 0:
            c = float(np.sum(g * e)) / norm
            if abs(c - 1) > 1e-3 and rel_error(g, c * e) <= TOLERANCE:
                diagnosis = _factor_diagnosis(output, c, batch)
                # Any wrong scalar is some multiple of the right one: only a telling factor counts.
                if g.size > 1 or diagnosis[0] != "factor":
                    return diagnosis
        if g.ndim == 2 and g.shape[0] == g.shape[1] and _same(g, e.T):
            return "transposed", (f"{output} is transposed: you returned the transpose of the "
                                  "expected array")
        return None
    if g.ndim == 2 and e.ndim == 2 and g.shape == e.shape[::-1] and _same(g, e.T):
        return "transposed", (f"{output} is transposed: expected shape {e.shape}, you returned "
                              f"its transpose, shape {g.shape}")
    if g.size == e.size and _same(g.reshape(e.shape), e):
        if tuple(d for d in g.shape if d != 1) == tuple(d for d in e.shape if d != 1):
            return "extra_axis", (f"{output} has the right values but shape {g.shape} instead of "
                                  f"{e.shape}: an axis of length 1 is extra or missing (a "
                                  "keepdims=True, a [:, None], or a reshape too many)")
        return "reshaped", (f"{output} has the right values but shape {g.shape} instead of "
                            f"{e.shape}: the values are laid out in the wrong shape")
    return None


def _factor_diagnosis(output: str, c: float, batch: int | None):
    if abs(c + 1) < 1e-3:
        return "sign", f"{output} has the wrong sign: every value is minus the expected one"
    if batch is not None and batch > 1:
        if abs(c - batch) < 1e-3 * batch:
            return "batch_factor", (
                f"{output} is off by a factor of the batch size: {batch} times too large (you "
                "summed over the batch where the mean is needed, or forgot to divide by the "
                "batch size)")
        if abs(c * batch - 1) < 1e-3:
            return "batch_factor", (
                f"{output} is off by a factor of the batch size: {batch} times too small (you "
                "averaged over the batch where the sum is needed, or divided by the batch size "
                "twice)")
    return "factor", f"{output} is off by a constant factor: {c:.4g} times the expected values"


def _compare_output(spec: _Spec, case: _Case, name: str, given, expected: np.ndarray):
    """None if ``given`` is right, else the :class:`_Problem` with its diagnosis."""
    g = _as_float_array(given)
    if g is None:
        return _Problem(name, f"expected an array of shape {expected.shape}, got "
                              f"{_describe_value(given)}", "not_an_array",
                        f"{name} must be an array of numbers (a NumPy array, or a list that "
                        "np.asarray turns into one)")
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
        return _Problem(name, what, *spec.nonfinite_hint)
    generic = _generic_diagnosis(name, g, expected, case.batch)
    if generic:
        return _Problem(name, what, *generic)
    if spec.shape_hint and g.shape != expected.shape:
        key, hint = spec.shape_hint
        return _Problem(name, what, key, hint(case.args))
    return _Problem(name, what)


def _problems(spec: _Spec, case: _Case, result, expected, args_after: tuple) -> list[_Problem]:
    n = len(spec.outputs)
    if result is None:
        changed = [p for p, a, b in zip(spec.params, case.args, args_after, strict=True)
                   if _changed(a, b)]
        if not spec.tuple_output and changed:
            i = spec.params.index(changed[0])
            after = _as_float_array(args_after[i])
            if after is not None and _same(after, expected):
                return [_Problem(spec.outputs[0], "got None", "in_place_none",
                                 f"you updated {changed[0]} in place and returned None: end "
                                 f"with `return {changed[0]}` (or compute and return a new "
                                 "array)")]
        return [_Problem("", "your function returned None", "returned_none",
                         "did you forget the return statement?")]
    if spec.tuple_output:
        names = ", ".join(spec.outputs)
        if isinstance(result, np.ndarray) or not isinstance(result, (tuple, list)):
            return [_Problem("", f"expected a tuple of {n} arrays ({names}), got "
                                 f"{_describe_value(result)}", "not_a_tuple",
                             f"return all {n} results: return {names}")]
        if len(result) != n:
            return [_Problem("", f"expected a tuple of {n} arrays ({names}), got "
                                 f"{_describe_value(result)}", "tuple_length",
                             f"return exactly {n} results, in this order: return {names}")]
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
                problem.key = "swapped_outputs"
                problem.diagnosis = (f"the result in position {i + 1} is {spec.outputs[j]}, not "
                                     f"{name}: return ({', '.join(spec.outputs)}) in this order")
                break
        problems.append(problem)
    return problems


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


def _run(spec: _Spec, fn, cases: list[_Case], timeout: float | None = None) -> CheckResult:
    if not callable(fn):
        raise TypeError(f"check.{spec.name}() expects your function, got {_describe_value(fn)}: "
                        f"pass the function itself, e.g. check.{spec.name}({spec.name}), "
                        f"not the result of calling it")
    timeout = check_number(TIMEOUT if timeout is None else timeout, "timeout",
                           f"check.{spec.name}()", 0, low_open=True)
    total = len(cases)
    for number, case in enumerate(cases, start=1):
        expected = spec.reference(*case.args)
        args = copy.deepcopy(case.args)  # the learner's function may modify them in place
        header = [f"{spec.name}: test case {number} of {total} failed",
                  f"  inputs: {_describe_args(spec, case.args)}"]
        try:
            result = _call(fn, args, timeout)
        except _TimedOut as stop:
            lines = [f"{spec.name}: test case {number} of {total} did not finish", header[1],
                     f"  your function did not return within {timeout:g} s: look for a loop "
                     "that never ends (a while loop whose condition never becomes False, a "
                     "counter or index that is never updated)"]
            if not stop.stopped:
                lines.append("  note: it could not be stopped and is still running in the "
                             "background; restart the kernel to stop it")
            lines.append(f"  expected: {_signature(spec)}")
            raise CheckFailed("\n".join(lines), spec.name, number, ("timeout",)) from None
        except (Exception, SystemExit) as err:
            lines = [f"{spec.name}: test case {number} of {total} raised an exception",
                     header[1], f"  {type(err).__name__}: {err}"]
            where = _your_line(err)
            if where:
                lines.append(f"  {where}")
            lines.append(f"  expected: {_signature(spec)}")
            if spec.layout:
                lines.append(f"  with {spec.layout}")
            keys = ["raised"]
            if isinstance(err, NotImplementedError):
                lines.append("  hint: replace the `raise NotImplementedError` by your code")
            if isinstance(err, SystemExit):
                lines.append("  hint: your function called exit() or sys.exit(); return the "
                             "result instead")
            if isinstance(err, TypeError) and spec.type_error_hint:
                keys.append(spec.type_error_hint[0])
                lines.append(f"  hint: {spec.type_error_hint[1]}")
            if spec.error_hint:
                lines.append(f"  hint: {spec.error_hint}")
            raise CheckFailed("\n".join(lines), spec.name, number, tuple(keys)) from None
        problems = _problems(spec, case, result, expected, args)
        if problems:
            lines = list(header)
            for p in problems:
                lines.append(f"  {p.output}: {p.what}" if p.output else f"  {p.what}")
                if p.diagnosis:
                    lines.append(f"  diagnosis: {p.diagnosis}")
            changed = [name for name, a, b in zip(spec.params, case.args, args, strict=True)
                       if _changed(a, b)]
            if changed and not any(p.key == "in_place_none" for p in problems):
                lines.append(f"  note: your function modified {', '.join(changed)} in place")
            if not any(p.diagnosis for p in problems) and spec.layout:
                lines.append(f"  expected: {_signature(spec)}, with {spec.layout}")
            keys = tuple(p.key for p in problems if p.key)
            raise CheckFailed("\n".join(lines), spec.name, number, keys)
    return CheckResult(spec.name, total)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _pair(value) -> tuple[int, int]:
    return (int(value), int(value)) if np.isscalar(value) else tuple(int(v) for v in value)


# ================================================================================== activations
_FUNCTIONS = {"sigmoid": _act.sigmoid, "tanh": _act.tanh, "relu": _act.relu}
_DERIVATIVES = {"sigmoid": _act.sigmoid_derivative, "tanh": _act.tanh_derivative,
                "relu": _act.relu_derivative}
_FORMULAS = {"sigmoid": "σ(z) = 1 / (1 + exp(−z))", "tanh": "tanh(z), e.g. np.tanh(z)",
             "relu": "relu(z) = max(0, z)"}


def _other_activations(name: str) -> tuple[_Mistake, ...]:
    return tuple(_Mistake("wrong_activation", "a", _FUNCTIONS[other],
                          f"you computed {other}, not {name}: {_FORMULAS[name]}")
                 for other in _FUNCTIONS if other != name)


_ACTIVATION_MISTAKES = {
    "sigmoid": (
        _Mistake("sigmoid_exponent_sign", "a", lambda z: 1 / (1 + np.exp(z)),
                 "the sign in the exponent is wrong (you computed σ(−z) = 1 / (1 + exp(z))): "
                 "σ(z) = 1 / (1 + exp(−z))"),
        _Mistake("returned_derivative", "a", _act.sigmoid_derivative,
                 "you returned the derivative σ'(z) instead of σ(z)"),
        *_other_activations("sigmoid"),
    ),
    "tanh": (
        _Mistake("tanh_from_sigmoid", "a", lambda z: 2 * _act.sigmoid(z) - 1,
                 "2σ(z) − 1 is tanh(z/2): tanh(z) = 2σ(2z) − 1, or simply np.tanh(z)"),
        _Mistake("tanh_missing_denominator", "a", lambda z: (np.exp(z) - np.exp(-z)) / 2,
                 "you computed sinh(z) = (e^z − e^−z) / 2: tanh(z) = (e^z − e^−z) / (e^z + e^−z)"),
        _Mistake("returned_derivative", "a", _act.tanh_derivative,
                 "you returned the derivative 1 − tanh(z)² instead of tanh(z)"),
        *_other_activations("tanh"),
    ),
    "relu": (
        _Mistake("returned_derivative", "a", _act.relu_derivative,
                 "you returned the 0/1 mask (relu's derivative) instead of max(0, z)"),
        _Mistake("relu_negative_part", "a", lambda z: np.minimum(z, 0),
                 "you kept the negative part: relu(z) = max(0, z) keeps the positive part and "
                 "sets the rest to 0"),
        _Mistake("relu_abs", "a", np.abs,
                 "you returned |z|: relu sets negative inputs to 0, it does not flip their sign"),
        *_other_activations("relu"),
    ),
}

_DERIVATIVE_MISTAKES = {
    "sigmoid": (
        _Mistake("derivative_formula_on_z", "f'(z)", lambda z: z * (1 - z),
                 "you computed z (1 − z): the formula a (1 − a) needs the activation a = σ(z), "
                 "not z. Compute s = σ(z), then s * (1 − s)"),
        _Mistake("derivative_at_output", "f'(z)",
                 lambda z: _act.sigmoid_derivative(_act.sigmoid(z)),
                 "you evaluated the derivative at the output a = σ(z) instead of at the input z "
                 "(σ applied twice): σ'(z) = σ(z) (1 − σ(z))"),
        _Mistake("returned_function", "f'(z)", _act.sigmoid,
                 "you returned σ(z) itself, not its derivative σ'(z) = σ(z) (1 − σ(z))"),
    ),
    "tanh": (
        _Mistake("derivative_formula_on_z", "f'(z)", lambda z: 1 - z ** 2,
                 "you computed 1 − z²: the formula 1 − a² needs the activation a = tanh(z), not "
                 "z. Compute 1 − np.tanh(z) ** 2"),
        _Mistake("derivative_at_output", "f'(z)", lambda z: _act.tanh_derivative(np.tanh(z)),
                 "you evaluated the derivative at the output a = tanh(z) instead of at the input "
                 "z (tanh applied twice): tanh'(z) = 1 − tanh(z)²"),
        _Mistake("tanh_derivative_no_square", "f'(z)", lambda z: 1 - np.tanh(z),
                 "the square is missing: tanh'(z) = 1 − tanh(z)²"),
        _Mistake("tanh_derivative_no_one_minus", "f'(z)", lambda z: np.tanh(z) ** 2,
                 "you returned tanh(z)²: tanh'(z) = 1 − tanh(z)²"),
        _Mistake("returned_function", "f'(z)", np.tanh,
                 "you returned tanh(z) itself, not its derivative 1 − tanh(z)²"),
    ),
    "relu": (
        _Mistake("relu_derivative_at_zero", "f'(z)", lambda z: (z >= 0).astype(float),
                 "relu'(0) must be 0, as in TensorFlow: use z > 0, not z >= 0"),
        _Mistake("returned_function", "f'(z)", _act.relu,
                 "you returned relu(z) itself, not its derivative (1 where z > 0, else 0)"),
    ),
}


def _activation_cases() -> list[_Case]:
    rng = _rng(1)
    first = rng.normal(scale=2.0, size=(4, 5))
    first[0, :3] = 0.0  # exact zeros, where relu's derivative is a convention
    first[1, 0], first[2, 1] = 8.0, -8.0
    return [_Case((first,)), _Case((rng.normal(size=(1, 7)),)),
            _Case((rng.normal(scale=3.0, size=(2, 3, 3)),)),
            _Case((np.linspace(-20.0, 20.0, 9),))]


def _activation_name(name: str, checker: str) -> str:
    if not isinstance(name, str) or name not in _FUNCTIONS:
        raise ValueError(f"check.{checker}(): unknown activation {name!r}; expected one of "
                         f"{sorted(_FUNCTIONS)}")
    return name


def activation(fn, name: str, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(z) -> a``, the activation ``name`` applied elementwise.

    Parameters
    ----------
    fn : callable
        ``fn(z)``, ``z`` an array of any shape; returns an array of the same shape.
    name : {"sigmoid", "tanh", "relu"}
        The activation ``fn`` should compute.
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

    Notes
    -----
    Recognised mistakes: computing another of the three activations or the derivative instead;
    for sigmoid, the wrong sign in the exponent; for tanh, ``2σ(z) − 1`` (which is ``tanh(z/2)``)
    and ``sinh`` (the denominator forgotten); for relu, keeping the negative part or returning
    ``|z|``. Also a wrong sign and every mistake of :data:`GENERIC_MISTAKES`.
    """
    name = _activation_name(name, "activation")
    spec = _Spec(name, ("z",), ("a",), _FUNCTIONS[name], _ACTIVATION_MISTAKES[name],
                 layout="z of any shape, a of the same shape")
    return _run(spec, fn, _activation_cases(), timeout=timeout)


def activation_derivative(fn, name: str, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(z) -> f'(z)``, the derivative of the activation ``name`` at the input ``z``.

    Parameters
    ----------
    fn : callable
        ``fn(z)``, ``z`` the activation's input (the pre-activation) of any shape; returns
        ``f'(z)``, same shape.
    name : {"sigmoid", "tanh", "relu"}
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

    Notes
    -----
    ``relu'(0)`` is taken to be 0, as in TensorFlow. Recognised mistakes: applying the formula
    written for the output to the input (``z (1 − z)`` for sigmoid, ``1 − z²`` for tanh); the
    derivative evaluated at the output (the activation applied twice); returning the activation
    itself; for tanh, ``1 − tanh(z)`` and ``tanh(z)²``; for relu, ``relu'(0) = 1``. Also a wrong
    sign and every mistake of :data:`GENERIC_MISTAKES`.
    """
    name = _activation_name(name, "activation_derivative")
    spec = _Spec(f"{name}_derivative", ("z",), ("f'(z)",), _DERIVATIVES[name],
                 _DERIVATIVE_MISTAKES[name], layout="z of any shape, f'(z) of the same shape")
    return _run(spec, fn, _activation_cases(), timeout=timeout)


# ================================================================================== dense
def _dense_forward(x, kernel, bias):
    return x @ kernel + bias


def _dense_backward(x, kernel, bias, grad_output):
    return grad_output @ kernel.T, x.T @ grad_output, grad_output.sum(axis=0)


_DENSE_LAYOUT = ("x (batch, in_features), kernel (in_features, units), bias (units,), "
                 "y (batch, units)")

_DENSE_FORWARD_MISTAKES = (
    _Mistake("forgot_bias", "y", lambda x, k, b: x @ k,
             "you forgot the bias: y = x @ kernel + bias"),
    _Mistake("kernel_transposed", "y", lambda x, k, b: x @ k.T + b,
             "the kernel is used transposed: with Keras's layout kernel (in_features, units), "
             "y = x @ kernel + bias (the row-vector form of W x, with W = kernel.T)"),
    _Mistake("output_transposed", "y", lambda x, k, b: (x @ k + b).T,
             "your output is transposed, (units, batch): the course puts one sample per row, "
             "y = x @ kernel + bias of shape (batch, units)"),
    _Mistake("bias_wrong_axis", "y", lambda x, k, b: x @ k + b[:, None],
             "the bias is added along the batch axis: it has one entry per unit, so add it "
             "along the last axis, y = x @ kernel + bias with bias of shape (units,)"),
)


def _dense_cases() -> list[_Case]:
    # The first case is square throughout, so that a swapped or transposed operand still
    # runs and can be diagnosed from the values instead of failing in a matmul.
    rng = _rng(2)
    cases = []
    for batch, n_in, units in [(3, 3, 3), (4, 3, 5), (1, 4, 2), (5, 6, 3)]:
        x = rng.normal(size=(batch, n_in))
        kernel = rng.normal(size=(n_in, units))
        bias = rng.normal(size=units)
        cases.append(_Case((x, kernel, bias), batch))
    return cases


def dense_forward(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x, kernel, bias) -> y``, the forward pass of a Dense layer without activation.

    ``y = x @ kernel + bias``: the row-vector form of ``W x + b`` with ``W = kernel.T``.

    Parameters
    ----------
    fn : callable
        ``fn(x, kernel, bias)`` with ``x (batch, in_features)``, ``kernel (in_features, units)``
        and ``bias (units,)``; returns ``y (batch, units)``.
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

    Notes
    -----
    Recognised mistakes: the bias forgotten, the kernel used transposed, the output transposed,
    the bias added along the batch axis; and every mistake of :data:`GENERIC_MISTAKES`.
    """
    spec = _Spec("dense_forward", ("x", "kernel", "bias"), ("y",), _dense_forward,
                 _DENSE_FORWARD_MISTAKES, layout=_DENSE_LAYOUT)
    return _run(spec, fn, _dense_cases(), timeout=timeout)


_DENSE_BACKWARD_MISTAKES = (
    _Mistake("grad_x_kernel_not_transposed", "grad_x", lambda x, k, b, g: g @ k,
             "grad_x uses kernel where its transpose is needed: grad_x = grad_output @ kernel.T"),
    _Mistake("grad_kernel_transposed", "grad_kernel", lambda x, k, b, g: g.T @ x,
             lambda a, given, expected: (
                 "grad_kernel is transposed: you computed grad_output.T @ x"
                 + (f", shape {given}, but grad_kernel must have the kernel's shape "
                    f"{a[1].shape}" if given != a[1].shape else "")
                 + ". Compute grad_kernel = x.T @ grad_output")),
    _Mistake("grad_bias_not_summed", "grad_bias", lambda x, k, b, g: g,
             "the bias gradient is not summed over the batch: the bias is used by every sample, "
             "so grad_bias = grad_output.sum(axis=0), of shape (units,)"),
    _Mistake("grad_bias_keepdims", "grad_bias", lambda x, k, b, g: g.sum(axis=0, keepdims=True),
             "grad_bias has shape (1, units) but the bias has shape (units,): sum over axis 0 "
             "without keepdims=True"),
    _Mistake("grad_bias_wrong_axis", "grad_bias", lambda x, k, b, g: g.sum(axis=1),
             "grad_bias is summed over the units instead of over the batch: use "
             "grad_output.sum(axis=0)"),
    _Mistake("grad_bias_total", "grad_bias", lambda x, k, b, g: g.sum(),
             "grad_bias is summed over everything: sum over the batch only, "
             "grad_output.sum(axis=0), keeping one entry per unit"),
)


def dense_backward(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x, kernel, bias, grad_output) -> (grad_x, grad_kernel, grad_bias)``.

    For ``y = x @ kernel + bias`` and ``grad_output = dJ/dy``::

        grad_x      = grad_output @ kernel.T     (batch, in_features)
        grad_kernel = x.T @ grad_output          (in_features, units)
        grad_bias   = grad_output.sum(axis=0)    (units,)

    Parameters
    ----------
    fn : callable
        ``fn(x, kernel, bias, grad_output)`` with ``x (batch, in_features)``,
        ``kernel (in_features, units)``, ``bias (units,)`` and ``grad_output (batch, units)``;
        returns the three gradients as a tuple (or list), in this order.
    timeout : float, optional
        Seconds your function may run on one test case before it is stopped and the check
        fails; by default :data:`TIMEOUT`.

    Returns
    -------
    CheckResult

    Raises
    ------
    CheckFailed
        On the first wrong test case, naming every wrong gradient with its diagnosis.

    Notes
    -----
    Recognised mistakes: ``grad_kernel`` transposed; ``grad_x`` computed with ``kernel`` instead
    of ``kernel.T``; ``grad_bias`` not summed over the batch, summed with ``keepdims=True``, over
    the wrong axis, or over everything; a factor of the batch size; a wrong sign; the results in
    the wrong order; and every other mistake of :data:`GENERIC_MISTAKES`.
    """
    spec = _Spec("dense_backward", ("x", "kernel", "bias", "grad_output"),
                 ("grad_x", "grad_kernel", "grad_bias"), _dense_backward,
                 _DENSE_BACKWARD_MISTAKES, tuple_output=True,
                 layout=_DENSE_LAYOUT.replace("y (batch, units)", "grad_output (batch, units)"))
    rng = _rng(3)
    cases = []
    # Batch 4 with a square kernel first: a kernel used untransposed still runs and is
    # diagnosed from the values, and batch ≠ units keeps every bias mistake apart.
    for batch, n_in, units in [(4, 3, 3), (3, 4, 5), (1, 4, 2), (5, 6, 3)]:
        args = (rng.normal(size=(batch, n_in)), rng.normal(size=(n_in, units)),
                rng.normal(size=units), rng.normal(size=(batch, units)))
        cases.append(_Case(args, batch))
    return _run(spec, fn, cases, timeout=timeout)


# ================================================================================== softmax
def _onehot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes)[labels]


def _softmax_ref(z):
    return _act.softmax(z, axis=-1)


_SOFTMAX_MISTAKES = (
    _Mistake("softmax_not_normalised", "p", np.exp,
             "you forgot to divide by the sum: softmax(z) = exp(z) / exp(z).sum(axis=-1, "
             "keepdims=True)"),
    _Mistake("softmax_not_normalised", "p", lambda z: np.exp(z - z.max(axis=-1, keepdims=True)),
             "you forgot to divide by the sum: with e = exp(z − max), softmax(z) = "
             "e / e.sum(axis=-1, keepdims=True)"),
    _Mistake("softmax_wrong_axis", "p",
             lambda z: np.exp(z) / np.exp(z).sum(axis=0, keepdims=True),
             "you normalised over the batch axis: each row (one sample) must sum to 1, so sum "
             "over the last axis: exp(z).sum(axis=-1, keepdims=True)"),
    _Mistake("softmax_global_sum", "p", lambda z: np.exp(z) / np.exp(z).sum(),
             "you divided by the sum over the whole batch: divide each row by its own sum, "
             "exp(z).sum(axis=-1, keepdims=True)"),
    _Mistake("softmax_no_keepdims", "p", lambda z: np.exp(z) / np.exp(z).sum(axis=-1),
             "the sum lost its axis: e / e.sum(axis=-1) divides column j by the sum of row j; "
             "use e.sum(axis=-1, keepdims=True)"),
)


def softmax(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(z) -> p``, the softmax of each row of ``z``.

    ``p[i, k] = exp(z[i, k]) / Σ_j exp(z[i, j])``, computed as ``softmax(z − max_j z[i, j])`` so
    that large logits do not overflow.

    Parameters
    ----------
    fn : callable
        ``fn(z)`` with logits ``z (batch, classes)``; returns ``p (batch, classes)``, each row
        summing to 1.
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

    Notes
    -----
    The last test case has logits up to 1000, where ``np.exp`` overflows unless the row's
    maximum is subtracted first. Recognised mistakes: the overflow; the division forgotten; the
    sum over the batch axis, over everything, or without ``keepdims=True``; and every mistake of
    :data:`GENERIC_MISTAKES`.
    """
    spec = _Spec("softmax", ("z",), ("p",), _softmax_ref, _SOFTMAX_MISTAKES,
                 layout="z (batch, classes), p (batch, classes)",
                 nonfinite_hint=("softmax_overflow",
                                 "np.exp overflows for large logits (this case has logits up to "
                                 "1000): subtract each row's maximum first, "
                                 "z - z.max(axis=-1, keepdims=True); the softmax is unchanged"))
    rng = _rng(4)
    large = rng.normal(size=(3, 6))
    large[:, 0] += 1000.0  # exp(1000) overflows to inf in float64
    large[1, 2] = -1000.0
    cases = [rng.normal(scale=2.0, size=(4, 4)), rng.normal(size=(2, 5)),
             rng.normal(size=(1, 3)), large]
    return _run(spec, fn, [_Case((z,), len(z)) for z in cases], timeout=timeout)


# ================================================================================== losses
def _class_indices(labels):
    return labels.argmax(axis=-1) if labels.ndim == 2 else labels


def _probs_true(probs, labels):
    return probs[np.arange(len(probs)), _class_indices(labels)]


def _cross_entropy(probs, labels):
    return -np.mean(np.log(_probs_true(probs, labels)))


def _sparse_only(fn):
    # These mistakes index probs with the labels, which only integer labels allow.
    def wrong(probs, labels):
        return None if labels.ndim == 2 else fn(probs, labels)
    return wrong


_CROSS_ENTROPY_MISTAKES = (
    _Mistake("ce_missing_minus", "loss", lambda p, y: np.mean(np.log(_probs_true(p, y))),
             "the minus sign is missing: the loss is −mean(log p[true class]), a positive "
             "number"),
    _Mistake("ce_per_sample", "loss", lambda p, y: -np.log(_probs_true(p, y)),
             "you returned one loss per sample, shape (batch,): average them to a single "
             "number, the mean over the batch"),
    _Mistake("ce_mean_over_classes", "loss",
             lambda p, y: -np.mean(_onehot(_class_indices(y), p.shape[1]) * np.log(p)),
             "you averaged over the classes too (np.mean of one_hot * log(p) divides by "
             "batch × classes): sum over the classes, then average over the batch"),
    _Mistake("ce_rows_indexed", "loss", _sparse_only(lambda p, y: -np.mean(np.log(p[y]))),
             "probs[labels] picks whole rows (samples), not one entry per sample: use "
             "probs[np.arange(batch), labels]"),
    _Mistake("ce_all_pairs", "loss", _sparse_only(lambda p, y: -np.mean(np.log(p[:, y]))),
             "probs[:, labels] picks every label's column for every sample (batch × batch "
             "entries): use probs[np.arange(batch), labels], one entry per sample"),
    _Mistake("ce_all_classes", "loss", lambda p, y: -np.mean(np.sum(np.log(p), axis=1)),
             "you took the log of every class's probability: only the true class counts, "
             "−mean(log probs[np.arange(batch), labels])"),
    _Mistake("ce_max_probability", "loss", lambda p, y: -np.mean(np.log(p.max(axis=1))),
             "you took the log of the largest probability, not of the true class's: "
             "−mean(log probs[np.arange(batch), labels])"),
    _Mistake("ce_binary_formula", "loss",
             lambda p, y: -np.mean(np.sum(_onehot(_class_indices(y), p.shape[1]) * np.log(p)
                                          + (1 - _onehot(_class_indices(y), p.shape[1]))
                                          * np.log(1 - p), axis=1)),
             "you used the binary cross-entropy y log p + (1 − y) log(1 − p) for every class: "
             "for one class out of many, only −log p[true class] remains"),
    _Mistake("ce_log_base", "loss", lambda p, y: -np.mean(np.log10(_probs_true(p, y))),
             "you used log10: cross-entropy uses the natural logarithm, np.log"),
    _Mistake("ce_log_base", "loss", lambda p, y: -np.mean(np.log2(_probs_true(p, y))),
             "you used log2: cross-entropy uses the natural logarithm, np.log"),
)


def _label_cases(seed: int, one_hot: bool, shapes) -> list[_Case]:
    rng = _rng(seed)
    cases = []
    for batch, classes in shapes:
        logits = rng.normal(size=(batch, classes))
        # Every class appears when it can, so that a mistake tied to one class shows.
        labels = rng.permutation(np.arange(batch) % classes)
        cases.append(_Case((logits, _onehot(labels, classes) if one_hot else labels), batch))
    return cases


def _labels_hint(name: str, one_hot: bool) -> str:
    if one_hot:
        return ("here labels are one-hot, shape (batch, classes); if your function expects "
                f"integer class indices, call check.{name}(fn) without one_hot=True")
    return ("here labels are integer class indices, shape (batch,); if your function expects "
            f"one-hot labels (batch, classes), call check.{name}(fn, one_hot=True)")


def cross_entropy(fn, *, one_hot: bool = False, timeout: float | None = None) -> CheckResult:
    """Check ``fn(probs, labels) -> loss``, the categorical cross-entropy averaged over the batch.

    ``loss = −(1/batch) Σ_i log probs[i, labels[i]]``, the same as Keras's
    ``sparse_categorical_crossentropy`` (or ``categorical_crossentropy`` with one-hot labels).

    Parameters
    ----------
    fn : callable
        ``fn(probs, labels)`` with ``probs (batch, classes)`` (rows summing to 1, no zeros) and
        ``labels``; returns a scalar (a 1-element array is fine too).
    one_hot : bool
        Pass ``labels`` one-hot, ``(batch, classes)``, instead of integer class indices
        ``(batch,)``.
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

    Notes
    -----
    Recognised mistakes: the sum over the batch instead of the mean (a factor of the batch size);
    the minus sign missing; one loss per sample instead of their mean; the mean over the classes
    too; the log of the wrong entries (``probs[labels]``, ``probs[:, labels]``, every class, the
    largest probability); the binary cross-entropy formula; ``log10`` or ``log2``; and every
    mistake of :data:`GENERIC_MISTAKES`.
    """
    one_hot = check_bool(one_hot, "one_hot", "check.cross_entropy()")
    spec = _Spec("cross_entropy", ("probs", "labels"), ("loss",), _cross_entropy,
                 _CROSS_ENTROPY_MISTAKES,
                 layout="probs (batch, classes), labels "
                        + ("(batch, classes) one-hot" if one_hot else "(batch,) class indices")
                        + ", loss a scalar",
                 error_hint=_labels_hint("cross_entropy", one_hot))
    cases = _label_cases(5, one_hot, [(5, 3), (1, 4), (4, 6), (6, 2)])
    cases = [_Case((_softmax_ref(c.args[0]), c.args[1]), c.batch) for c in cases]
    return _run(spec, fn, cases, timeout=timeout)


def _softmax_cross_entropy_backward(logits, labels):
    onehot = _onehot(_class_indices(labels), logits.shape[1])
    return (_softmax_ref(logits) - onehot) / len(logits)


def _sce_variant(fn):
    def wrong(logits, labels):
        onehot = _onehot(_class_indices(labels), logits.shape[1])
        return fn(_softmax_ref(logits), onehot, logits, len(logits))
    return wrong


_SCE_MISTAKES = (
    _Mistake("sce_missing_batch_division", "grad_logits",
             _sce_variant(lambda p, y, z, n: p - y),
             "the division by the batch size is missing: the loss is a mean over the batch, so "
             "dJ/dlogits = (softmax(logits) − one_hot) / batch"),
    _Mistake("sce_wrong_sign", "grad_logits", _sce_variant(lambda p, y, z, n: (y - p) / n),
             "wrong sign: dJ/dlogits = (softmax(logits) − one_hot) / batch, not "
             "(one_hot − softmax(logits)) / batch"),
    _Mistake("sce_no_onehot", "grad_logits", _sce_variant(lambda p, y, z, n: p / n),
             "you forgot to subtract the one-hot labels: dJ/dlogits = (softmax(logits) − "
             "one_hot) / batch"),
    _Mistake("sce_minus_one_everywhere", "grad_logits",
             _sce_variant(lambda p, y, z, n: (p - 1) / n),
             "you subtracted 1 from every entry: subtract 1 only at the true class, "
             "(softmax(logits) − one_hot) / batch"),
    _Mistake("sce_logits_not_probs", "grad_logits", _sce_variant(lambda p, y, z, n: (z - y) / n),
             "you used the logits where the probabilities are needed: dJ/dlogits = "
             "(softmax(logits) − one_hot) / batch"),
)


def softmax_cross_entropy_backward(fn, *, one_hot: bool = False,
                                   timeout: float | None = None) -> CheckResult:
    """Check ``fn(logits, labels) -> grad_logits``, the gradient of softmax + cross-entropy.

    For ``J = cross_entropy(softmax(logits), labels)`` averaged over the batch,
    ``dJ/dlogits = (softmax(logits) − one_hot(labels)) / batch``.

    Parameters
    ----------
    fn : callable
        ``fn(logits, labels)`` with ``logits (batch, classes)`` and ``labels``; returns
        ``grad_logits (batch, classes)``.
    one_hot : bool
        Pass ``labels`` one-hot, ``(batch, classes)``, instead of integer class indices
        ``(batch,)``.
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

    Notes
    -----
    Recognised mistakes: the division by the batch size missing; a wrong sign; the one-hot not
    subtracted, or 1 subtracted from every entry; the logits used instead of the probabilities;
    and every mistake of :data:`GENERIC_MISTAKES`.
    """
    one_hot = check_bool(one_hot, "one_hot", "check.softmax_cross_entropy_backward()")
    spec = _Spec("softmax_cross_entropy_backward", ("logits", "labels"), ("grad_logits",),
                 _softmax_cross_entropy_backward, _SCE_MISTAKES,
                 layout="logits (batch, classes), labels "
                        + ("(batch, classes) one-hot" if one_hot else "(batch,) class indices")
                        + ", grad_logits (batch, classes)",
                 error_hint=_labels_hint("softmax_cross_entropy_backward", one_hot))
    cases = _label_cases(6, one_hot, [(4, 3), (1, 5), (3, 3), (6, 2)])
    return _run(spec, fn, cases, timeout=timeout)


# ================================================================================== optimizers
_GRADIENT_DESCENT_MISTAKES = (
    _Mistake("gd_wrong_sign", "new_theta", lambda t, g, lr: t + lr * g,
             "wrong sign: gradient descent moves against the gradient, "
             "theta − learning_rate * grad"),
    _Mistake("gd_learning_rate_ignored", "new_theta", lambda t, g, lr: t - g,
             "the learning rate is ignored: theta − learning_rate * grad"),
    _Mistake("gd_learning_rate_squared", "new_theta", lambda t, g, lr: t - lr ** 2 * g,
             "the learning rate is applied twice (learning_rate² * grad): "
             "theta − learning_rate * grad"),
    _Mistake("gd_divided_by_learning_rate", "new_theta", lambda t, g, lr: t - g / lr,
             "you divided by the learning rate: theta − learning_rate * grad"),
    _Mistake("gd_no_update", "new_theta", lambda t, g, lr: t,
             "you returned theta unchanged: the step is theta − learning_rate * grad"),
    _Mistake("gd_returned_step", "new_theta", lambda t, g, lr: -lr * g,
             "you returned the step −learning_rate * grad, not the updated parameters "
             "theta − learning_rate * grad"),
)


def gradient_descent_step(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(theta, grad, learning_rate) -> new_theta``, one step of gradient descent.

    ``new_theta = theta − learning_rate * grad``.

    Parameters
    ----------
    fn : callable
        ``fn(theta, grad, learning_rate)`` with ``theta`` and ``grad`` arrays of the same shape
        and a float ``learning_rate``; returns the new parameters, same shape. Updating ``theta``
        in place is fine as long as the function returns it too.
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

    Notes
    -----
    Recognised mistakes: the wrong sign; the learning rate ignored, squared or divided by;
    returning the step instead of the new parameters; updating ``theta`` in place and returning
    None; and every mistake of :data:`GENERIC_MISTAKES`.
    """
    spec = _Spec("gradient_descent_step", ("theta", "grad", "learning_rate"), ("new_theta",),
                 lambda t, g, lr: t - lr * g, _GRADIENT_DESCENT_MISTAKES,
                 layout="theta and grad of the same shape, learning_rate a float")
    rng = _rng(7)
    cases = [_Case((rng.normal(size=shape), rng.normal(size=shape), lr))
             for shape, lr in [((5,), 0.1), ((2, 4), 0.5), ((3, 2, 2), 0.01), ((1,), 0.3)]]
    return _run(spec, fn, cases, timeout=timeout)


# ================================================================================== convolution
def _same_padding(size: int, k: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding: the total is split with the extra one after (bottom/right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def _conv2d_padded(x, kernel, bias, strides, pads):
    (top, bottom), (left, right) = pads
    x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw = kernel.shape[:2]
    sh, sw = strides
    oh = (x.shape[1] - kh) // sh + 1
    ow = (x.shape[2] - kw) // sw + 1
    y = np.zeros((x.shape[0], oh, ow, kernel.shape[3]))
    # One matmul per kernel position: the window's top-left corners are a strided slice.
    for i in range(kh):
        for j in range(kw):
            window = x[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :]
            y += window @ kernel[i, j]
    return y + bias


def _conv_pads(x, kernel, strides, padding, split=_same_padding):
    if padding == "valid":
        return (0, 0), (0, 0)
    return (split(x.shape[1], kernel.shape[0], strides[0]),
            split(x.shape[2], kernel.shape[1], strides[1]))


def _conv2d(x, kernel, bias, strides, padding):
    strides = _pair(strides)
    return _conv2d_padded(x, kernel, bias, strides, _conv_pads(x, kernel, strides, padding))


def _conv_variant(*, flip=False, use_bias=True, strides=None, padding=None, split=_same_padding,
                  swap_hw=False):
    """The reference convolution with one mistake built in."""
    def wrong(x, kernel, bias, s, p):
        s = _pair(s)
        k = kernel[::-1, ::-1] if flip else kernel
        k = k.transpose(1, 0, 2, 3) if swap_hw else k
        s = strides(s) if strides else s
        p = padding(p) if padding else p
        if p is None:
            return None
        return _conv2d_padded(x, k, bias if use_bias else 0.0, s, _conv_pads(x, k, s, p, split))
    return wrong


def _stride_one_split(size, k, stride):
    total = k - 1  # the 'same' padding of stride 1, used whatever the stride
    return total // 2, total - total // 2


def _describe_same_padding(a, given, expected) -> str:
    x, kernel, _, strides, _ = a
    s = _pair(strides)
    (t, b), (l, r) = _conv_pads(x, kernel, s, "same")
    return (f"TensorFlow's 'same' padding adds a total of max((out − 1)·stride + k − size, 0) "
            f"rows, half before and the rest (the odd one) after; here rows: {t} at the top and "
            f"{b} at the bottom, columns: {l} on the left and {r} on the right")


_CONV_MISTAKES = (
    _Mistake("conv_flipped_kernel", "y", _conv_variant(flip=True),
             "you flipped the kernel (that is mathematical convolution; Keras and this course "
             "use cross-correlation): y[i, j] = Σ x[i·s + u, j·s + v] · kernel[u, v], no flip"),
    _Mistake("conv_forgot_bias", "y", _conv_variant(use_bias=False),
             "you forgot the bias: add bias (filters,) to every output position"),
    _Mistake("conv_stride_ignored", "y", _conv_variant(strides=lambda s: (1, 1)),
             "the stride was ignored: you computed the output for stride 1; move the window by "
             "strides = (sh, sw) positions, the output has ceil(size / stride) rows for 'same'"),
    _Mistake("conv_stride_first_only", "y", _conv_variant(strides=lambda s: (s[0], s[0])),
             "you used strides[0] in both directions: the vertical stride is strides[0], the "
             "horizontal one strides[1]"),
    _Mistake("conv_same_ignored", "y",
             _conv_variant(padding=lambda p: "valid" if p == "same" else None),
             "padding='same' was ignored: you returned the 'valid' output. Pad the input with "
             "zeros so that the output has ceil(size / stride) rows and columns"),
    _Mistake("conv_padded_valid", "y",
             _conv_variant(padding=lambda p: "same" if p == "valid" else None),
             "you padded although padding='valid': 'valid' means no padding at all"),
    _Mistake("conv_same_stride_one_padding", "y", _conv_variant(split=_stride_one_split),
             lambda a, g, e: ("you padded as for stride 1 (k − 1 in total): with a larger "
                              "stride TensorFlow pads less. " + _describe_same_padding(a, g, e))),
    _Mistake("conv_same_split", "y",
             _conv_variant(split=lambda n, k, s: _same_padding(n, k, s)[::-1]),
             lambda a, g, e: ("the 'same' padding is split the wrong way round: when the total "
                              "is odd, TensorFlow puts the extra row at the bottom and the extra "
                              "column on the right. " + _describe_same_padding(a, g, e))),
    _Mistake("conv_symmetric_padding", "y",
             _conv_variant(split=lambda n, k, s: (k // 2, k // 2)),
             lambda a, g, e: ("you padded k // 2 on both sides, which is one too many for an "
                              "even kernel size. " + _describe_same_padding(a, g, e))),
    _Mistake("conv_symmetric_padding", "y",
             _conv_variant(split=lambda n, k, s: ((k - 1) // 2, (k - 1) // 2)),
             lambda a, g, e: ("you padded (k − 1) // 2 on both sides, which is one too few for "
                              "an even kernel size. " + _describe_same_padding(a, g, e))),
    _Mistake("conv_kernel_height_width_swapped", "y", _conv_variant(swap_hw=True),
             "the kernel's height and width are swapped: Keras's kernel is (kernel_height, "
             "kernel_width, in_channels, filters)"),
    _Mistake("conv_channels_first", "y",
             lambda x, k, b, s, p: _conv2d(x, k, b, s, p).transpose(0, 3, 1, 2),
             "your output is channels-first, (batch, filters, height, width): Keras and this "
             "course use channels-last, (batch, height, width, filters)"),
)


def _conv_output_size_hint(a) -> str:
    x, kernel, _, strides, padding = a
    s = _pair(strides)
    formula = ("ceil(size / stride)" if padding == "same"
               else "floor((size − k) / stride) + 1")
    out = _conv2d(x, kernel, np.zeros(kernel.shape[3]), strides, padding).shape
    return (f"wrong output size: for padding={padding!r} the output has {formula} rows and "
            f"columns; here size {x.shape[1:3]}, kernel {kernel.shape[:2]}, stride {s}, so "
            f"(batch, {out[1]}, {out[2]}, filters)")


_PAIRS_HINT = ("strides (and pool_size) are passed as pairs such as (2, 2), as Keras stores "
               "them; if your function takes plain integers, call check.{name}(fn, as_int=True)")


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

    Notes
    -----
    Recognised mistakes: the kernel flipped; the bias forgotten; the stride ignored, or
    ``strides[0]`` used in both directions; ``'same'`` ignored or padding applied for
    ``'valid'``; the ``'same'`` padding split the wrong way round, computed as for stride 1, or
    made symmetric; the kernel's height and width swapped; a channels-first output; an output of
    the wrong size (with the formula); and every mistake of :data:`GENERIC_MISTAKES`.
    """
    as_int = check_bool(as_int, "as_int", "check.conv2d()")
    spec = _Spec("conv2d", ("x", "kernel", "bias", "strides", "padding"), ("y",), _conv2d,
                 _CONV_MISTAKES,
                 layout="x (batch, height, width, channels), kernel (kernel_height, "
                        "kernel_width, channels, filters), bias (filters,), "
                        "y (batch, out_height, out_width, filters)",
                 shape_hint=("conv_output_size", _conv_output_size_hint),
                 type_error_hint=(None if as_int else
                                  ("int_pairs", _PAIRS_HINT.format(name="conv2d"))))
    rng = _rng(8)
    settings = [((2, 5, 6, 3), (3, 3, 3, 4), (1, 1), "valid"),
                ((1, 5, 5, 2), (2, 3, 2, 3), (1, 1), "same"),
                ((2, 7, 6, 1), (3, 3, 1, 2), (2, 2), "valid"),
                ((2, 6, 6, 2), (3, 3, 2, 2), (2, 2), "same"),
                ((1, 5, 8, 2), (1, 3, 2, 3), (2, 1), "same")]
    cases = []
    for x_shape, k_shape, strides, padding in settings:
        if as_int and strides[0] != strides[1]:
            continue
        args = (rng.normal(size=x_shape), rng.normal(size=k_shape), rng.normal(size=k_shape[3]),
                strides[0] if as_int else strides, padding)
        cases.append(_Case(args, x_shape[0]))
    return _run(spec, fn, cases, timeout=timeout)


def _pool(x, pool_size, strides, reduce=np.max):
    ph, pw = _pair(pool_size)
    sh, sw = _pair(strides)
    oh = (x.shape[1] - ph) // sh + 1
    ow = (x.shape[2] - pw) // sw + 1
    windows = [x[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :]
               for i in range(ph) for j in range(pw)]
    return reduce(np.stack(windows), axis=0)


def _maxpool2d(x, pool_size, strides):
    return _pool(x, pool_size, strides)


_MAXPOOL_MISTAKES = (
    _Mistake("pool_average", "y", lambda x, p, s: _pool(x, p, s, np.mean),
             "you took the average of each window: max pooling takes the maximum"),
    _Mistake("pool_stride_is_pool_size", "y", lambda x, p, s: _pool(x, p, p),
             "the stride was ignored: you moved the window by pool_size; move it by strides "
             "(which may differ from pool_size, e.g. overlapping windows)"),
    _Mistake("pool_stride_one", "y", lambda x, p, s: _pool(x, p, 1),
             "the stride was ignored: you moved the window by 1; move it by strides"),
    _Mistake("pool_first_size_only", "y",
             lambda x, p, s: _pool(x, _pair(p)[0], (_pair(s)[0], _pair(s)[0])),
             "you used pool_size[0] and strides[0] in both directions: the second entries are "
             "the horizontal window size and stride"),
    _Mistake("pool_over_channels", "y",
             lambda x, p, s: np.broadcast_to(_pool(x, p, s).max(axis=3, keepdims=True),
                                             _pool(x, p, s).shape),
             "you took the maximum over the channels too: pool each channel separately, "
             "max over the window's rows and columns only (axes 1 and 2)"),
    _Mistake("pool_over_channels", "y", lambda x, p, s: _pool(x, p, s).max(axis=3),
             "you took the maximum over the channels too, which lost the channel axis: pool each "
             "channel separately, max over the window's rows and columns only (axes 1 and 2)"),
    _Mistake("pool_channels_first", "y", lambda x, p, s: _pool(x, p, s).transpose(0, 3, 1, 2),
             "your output is channels-first, (batch, channels, height, width): Keras and this "
             "course use channels-last, (batch, height, width, channels)"),
)


def _pool_output_size_hint(a) -> str:
    x, pool_size, strides = a
    out = _pool(x, pool_size, strides).shape
    return (f"wrong output size: without padding the output has floor((size − pool) / stride) "
            f"+ 1 rows and columns; here size {x.shape[1:3]}, pool_size {_pair(pool_size)}, "
            f"strides {_pair(strides)}, so (batch, {out[1]}, {out[2]}, channels)")


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

    Notes
    -----
    Recognised mistakes: the average instead of the maximum; the stride ignored (the window
    moved by ``pool_size`` or by 1); the first entries of the pairs used in both directions;
    the maximum taken over the channels too; a channels-first output; an output of the wrong
    size (with the formula); and every mistake of :data:`GENERIC_MISTAKES`.
    """
    as_int = check_bool(as_int, "as_int", "check.maxpool2d()")
    spec = _Spec("maxpool2d", ("x", "pool_size", "strides"), ("y",), _maxpool2d,
                 _MAXPOOL_MISTAKES,
                 layout="x (batch, height, width, channels), y (batch, out_height, out_width, "
                        "channels)",
                 shape_hint=("pool_output_size", _pool_output_size_hint),
                 type_error_hint=(None if as_int else
                                  ("int_pairs", _PAIRS_HINT.format(name="maxpool2d"))))
    rng = _rng(9)
    settings = [((2, 4, 6, 3), (2, 2), (2, 2)), ((1, 5, 5, 2), (3, 3), (2, 2)),
                ((2, 4, 5, 1), (2, 2), (1, 1)), ((1, 6, 4, 2), (3, 2), (3, 2))]
    cases = []
    for x_shape, pool_size, strides in settings:
        if as_int and (pool_size[0] != pool_size[1] or strides[0] != strides[1]):
            continue
        if as_int:
            pool_size, strides = pool_size[0], strides[0]
        cases.append(_Case((rng.normal(size=x_shape), pool_size, strides), x_shape[0]))
    return _run(spec, fn, cases, timeout=timeout)


# ================================================================================== recurrent
def _rnn_step(x_t, h_prev, kernel, recurrent_kernel, bias, activation=np.tanh):
    return activation(x_t @ kernel + h_prev @ recurrent_kernel + bias)


_RNN_LAYOUT = ("x_t (batch, input_dim), h_prev (batch, units), kernel (input_dim, units), "
               "recurrent_kernel (units, units), bias (units,), h_t (batch, units)")

_RNN_STEP_MISTAKES = (
    _Mistake("rnn_weights_swapped", "h_t",
             lambda x, h, k, rk, b: np.tanh(x @ rk + h @ k + b),
             "W_xh and W_hh are swapped: the input x_t goes through kernel (W_xh.T, shape "
             "(input_dim, units)) and the previous state h_prev through recurrent_kernel "
             "(W_hh.T, shape (units, units))"),
    _Mistake("rnn_weights_transposed", "h_t",
             lambda x, h, k, rk, b: np.tanh(x @ k.T + h @ rk.T + b),
             "both weights are used transposed: in the row-vector form the course uses, "
             "h_t = tanh(x_t @ kernel + h_prev @ recurrent_kernel + bias) (kernel is W_xh.T)"),
    _Mistake("rnn_recurrent_kernel_transposed", "h_t",
             lambda x, h, k, rk, b: np.tanh(x @ k + h @ rk.T + b),
             "recurrent_kernel is used transposed: h_prev @ recurrent_kernel (which is W_hh.T, "
             "so that this is the row-vector form of W_hh h_prev)"),
    _Mistake("rnn_no_activation", "h_t", lambda x, h, k, rk, b: x @ k + h @ rk + b,
             "the activation is missing: h_t = tanh(x_t @ kernel + h_prev @ recurrent_kernel + "
             "bias)"),
    _Mistake("rnn_ignores_state", "h_t", lambda x, h, k, rk, b: np.tanh(x @ k + b),
             "the previous state is ignored: add h_prev @ recurrent_kernel inside the tanh"),
    _Mistake("rnn_forgot_bias", "h_t", lambda x, h, k, rk, b: np.tanh(x @ k + h @ rk),
             "you forgot the bias: h_t = tanh(x_t @ kernel + h_prev @ recurrent_kernel + bias)"),
    _Mistake("rnn_wrong_activation", "h_t",
             lambda x, h, k, rk, b: _rnn_step(x, h, k, rk, b, _act.sigmoid),
             "you used sigmoid: SimpleRNN's activation is tanh"),
    _Mistake("rnn_wrong_activation", "h_t",
             lambda x, h, k, rk, b: _rnn_step(x, h, k, rk, b, _act.relu),
             "you used relu: SimpleRNN's activation is tanh"),
)


def _rnn_weights(rng, input_dim: int, units: int):
    # Small weights keep tanh out of saturation, where a missing tanh would barely show.
    return (rng.normal(scale=0.5, size=(input_dim, units)),
            rng.normal(scale=0.5, size=(units, units)), rng.normal(scale=0.5, size=units))


def rnn_step(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t``, one SimpleRNN step.

    ``h_t = tanh(x_t @ kernel + h_prev @ recurrent_kernel + bias)``: the row-vector form of
    ``h_t = tanh(W_hh h_{t−1} + W_xh x_t + b_h)`` with ``W_xh = kernel.T``,
    ``W_hh = recurrent_kernel.T``.

    Parameters
    ----------
    fn : callable
        ``fn(x_t, h_prev, kernel, recurrent_kernel, bias)`` with ``x_t (batch, input_dim)``,
        ``h_prev (batch, units)``, ``kernel (input_dim, units)``,
        ``recurrent_kernel (units, units)`` and ``bias (units,)``; returns ``h_t (batch, units)``.
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

    Notes
    -----
    Recognised mistakes: ``kernel`` and ``recurrent_kernel`` swapped (W_xh and W_hh); both or
    only the recurrent one transposed; the activation missing, or sigmoid or relu instead of
    tanh; the previous state ignored; the bias forgotten; and every mistake of
    :data:`GENERIC_MISTAKES`.
    """
    spec = _Spec("rnn_step", ("x_t", "h_prev", "kernel", "recurrent_kernel", "bias"), ("h_t",),
                 _rnn_step, _RNN_STEP_MISTAKES, layout=_RNN_LAYOUT)
    rng = _rng(10)
    cases = []
    # First input_dim == units, so that swapped weights still run and can be diagnosed.
    for batch, input_dim, units in [(3, 4, 4), (1, 3, 5), (4, 6, 2)]:
        x_t = rng.normal(size=(batch, input_dim))
        h_prev = np.tanh(rng.normal(size=(batch, units)))
        cases.append(_Case((x_t, h_prev, *_rnn_weights(rng, input_dim, units)), batch))
    return _run(spec, fn, cases, timeout=timeout)


def _rnn_forward(x, kernel, recurrent_kernel, bias, activation=np.tanh, carry=True):
    h = np.zeros((x.shape[0], kernel.shape[1]))
    states = []
    for t in range(x.shape[1]):
        h_prev = h if carry else np.zeros_like(h)
        h = _rnn_step(x[:, t], h_prev, kernel, recurrent_kernel, bias, activation)
        states.append(h)
    return np.stack(states, axis=1)


def _rnn_forward_with_h0(x, k, rk, b):
    states = _rnn_forward(x, k, rk, b)
    return np.concatenate([np.zeros_like(states[:, :1]), states], axis=1)


_RNN_FORWARD_MISTAKES = (
    _Mistake("rnn_last_state_only", "states", lambda x, k, rk, b: _rnn_forward(x, k, rk, b)[:, -1],
             "you returned only the last state: return every h_t, stacked as (batch, time, "
             "units) (Keras's return_sequences=True)"),
    _Mistake("rnn_time_major", "states",
             lambda x, k, rk, b: _rnn_forward(x, k, rk, b).transpose(1, 0, 2),
             "your states are time-major, (time, batch, units): stack them along axis 1, "
             "np.stack(states, axis=1), to get (batch, time, units)"),
    _Mistake("rnn_includes_h0", "states", _rnn_forward_with_h0,
             "you included the initial state h_0 = 0: return h_1, ..., h_T, one per time step"),
    _Mistake("rnn_states_one_step_late", "states",
             lambda x, k, rk, b: _rnn_forward_with_h0(x, k, rk, b)[:, :-1],
             "your states are one step late: you stored h before updating it; store h_t after "
             "computing it (the first state returned is h_1, not h_0 = 0)"),
    _Mistake("rnn_state_not_carried", "states",
             lambda x, k, rk, b: _rnn_forward(x, k, rk, b, carry=False),
             "the state is not carried from step to step: each h_t must use the h_{t−1} just "
             "computed, starting from zeros"),
    _Mistake("rnn_batch_as_time", "states",
             lambda x, k, rk, b: _rnn_forward(x.transpose(1, 0, 2), k, rk, b).transpose(1, 0, 2),
             "you stepped over the batch axis: x is (batch, time, features), so step t uses "
             "x[:, t], not x[t]"),
    _Mistake("rnn_reversed", "states", lambda x, k, rk, b: _rnn_forward(x[:, ::-1], k, rk, b),
             "you ran the sequence backwards: step t uses x[:, t], from t = 0 to time − 1"),
    _Mistake("rnn_reversed", "states",
             lambda x, k, rk, b: _rnn_forward(x[:, ::-1], k, rk, b)[:, ::-1],
             "you ran the sequence backwards (from the last step to the first): step t uses "
             "x[:, t], from t = 0 to time − 1, each h_t computed from h_{t−1}"),
    _Mistake("rnn_weights_swapped", "states",
             lambda x, k, rk, b: _rnn_forward(x, rk, k, b),
             "W_xh and W_hh are swapped: the input x_t goes through kernel (W_xh.T, shape "
             "(features, units)) and the previous state through recurrent_kernel (W_hh.T)"),
    _Mistake("rnn_no_activation", "states",
             lambda x, k, rk, b: _rnn_forward(x, k, rk, b, activation=lambda z: z),
             "the activation is missing: h_t = tanh(x_t @ kernel + h_{t−1} @ recurrent_kernel + "
             "bias)"),
)


def rnn_forward(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x, kernel, recurrent_kernel, bias) -> states``, a SimpleRNN over a sequence.

    Starting from ``h_0 = 0``, ``h_t = tanh(x[:, t] @ kernel + h_{t−1} @ recurrent_kernel + bias)``
    for ``t = 1 … time``; the result stacks ``h_1 … h_time`` as Keras's
    ``SimpleRNN(return_sequences=True)`` does.

    Parameters
    ----------
    fn : callable
        ``fn(x, kernel, recurrent_kernel, bias)`` with ``x (batch, time, features)``,
        ``kernel (features, units)``, ``recurrent_kernel (units, units)`` and ``bias (units,)``;
        returns ``states (batch, time, units)``.
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

    Notes
    -----
    Test cases include a batch of one and a sequence of length one. Recognised mistakes: only
    the last state returned; time-major states; ``h_0`` included, or the states one step late;
    the state not carried from step to step; the loop over the batch axis instead of time; the
    sequence run backwards; the weights swapped; the activation missing; and every mistake of
    :data:`GENERIC_MISTAKES`.
    """
    spec = _Spec("rnn_forward", ("x", "kernel", "recurrent_kernel", "bias"), ("states",),
                 _rnn_forward, _RNN_FORWARD_MISTAKES,
                 layout="x (batch, time, features), kernel (features, units), recurrent_kernel "
                        "(units, units), bias (units,), states (batch, time, units)")
    rng = _rng(11)
    cases = []
    # First features == units (weights swappable), batch ≠ time (layouts distinguishable).
    for batch, time, features, units in [(2, 4, 3, 3), (1, 5, 2, 4), (3, 1, 4, 2)]:
        x = rng.normal(size=(batch, time, features))
        cases.append(_Case((x, *_rnn_weights(rng, features, units)), batch))
    return _run(spec, fn, cases, timeout=timeout)


#: Every checker's own mistakes, by checker name (the tests make sure each one is recognised).
_MISTAKES = {
    **_ACTIVATION_MISTAKES,
    **{f"{name}_derivative": m for name, m in _DERIVATIVE_MISTAKES.items()},
    "dense_forward": _DENSE_FORWARD_MISTAKES,
    "dense_backward": _DENSE_BACKWARD_MISTAKES,
    "softmax": _SOFTMAX_MISTAKES,
    "cross_entropy": _CROSS_ENTROPY_MISTAKES,
    "softmax_cross_entropy_backward": _SCE_MISTAKES,
    "gradient_descent_step": _GRADIENT_DESCENT_MISTAKES,
    "conv2d": _CONV_MISTAKES,
    "maxpool2d": _MAXPOOL_MISTAKES,
    "rnn_step": _RNN_STEP_MISTAKES,
    "rnn_forward": _RNN_FORWARD_MISTAKES,
}

#: Keys of the standing hints some checkers add (overflow, output size, pairs given as ints).
_HINT_KEYS = ("softmax_overflow", "conv_output_size", "pool_output_size", "int_pairs")
