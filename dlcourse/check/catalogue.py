"""What a checker knows: the mistakes it recognises, and the documentation generated from them.

A checker is described by a :class:`Spec`: its call, its outputs, a reference implementation and
its catalogue of known mistakes. Each :class:`Mistake` computes the wrong result the mistake gives
on a test case, so that the engine recognises it by value, and carries the diagnosis shown to the
learner and a one-line summary; a :class:`Hint` is a standing explanation for a kind of failure
that no single wrong formula reproduces (an output of the wrong size, an overflow). The mistakes
any function can make (a missing ``return``, a wrong sign, a transpose) are :data:`GENERIC`, whose
summaries are the public :data:`GENERIC_MISTAKES`.

Every text lives once, beside the code it describes: the "Recognised mistakes" section of each
checker's docstring is generated from its catalogue by :func:`recognises`, and the engine's
generic diagnoses are read from :data:`GENERIC`, so neither can drift from what runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CATALOGUE", "GENERIC", "GENERIC_MISTAKES", "Generic", "Hint", "Mistake", "Spec",
           "explain", "generic_section", "mistakes_section", "recognises"]


@dataclass(frozen=True)
class Mistake:
    """A known mistake: the wrong result it gives, and how to explain it.

    ``wrong(*args)`` computes the mistaken value of the output ``output`` for a test case's
    arguments (raising, or returning None, when the mistake cannot happen for them).
    ``diagnosis`` is what the learner reads, or a callable ``(args, given_shape,
    expected_shape) -> str`` when it quotes the test case. ``summary`` is the mistake in a few
    words, for the checker's docstring.
    """

    key: str
    summary: str
    output: str
    wrong: Callable
    diagnosis: str | Callable[[tuple, tuple, tuple], str]

    def explain(self, args, given_shape, expected_shape) -> str:
        if callable(self.diagnosis):
            return self.diagnosis(args, given_shape, expected_shape)
        return self.diagnosis


@dataclass(frozen=True)
class Hint:
    """A standing explanation, given when a failure of its kind has no more precise diagnosis.

    ``message`` is the text, or a callable ``(args) -> str`` when it quotes the test case;
    ``summary`` is the mistake in a few words, for the checker's docstring.
    """

    key: str
    summary: str
    message: str | Callable[[tuple], str]

    def explain(self, args) -> str:
        return self.message(args) if callable(self.message) else self.message


@dataclass(frozen=True)
class Spec:
    """What a checker checks: the call, the outputs, the reference and the known mistakes."""

    name: str
    params: tuple[str, ...]
    outputs: tuple[str, ...]
    reference: Callable
    mistakes: tuple[Mistake, ...] = ()
    tuple_output: bool = False
    #: Shown with every failure: the expected arguments and results, with their shapes.
    layout: str = ""
    #: For an output of the wrong shape that no mistake explains.
    shape_hint: Hint | None = None
    #: For an output containing NaN or inf that no mistake explains.
    nonfinite_hint: Hint | None = None
    #: Added when the learner's function raises a TypeError.
    type_error_hint: Hint | None = None
    #: A sentence added to every report of an exception (e.g. the label format); no mistake.
    error_hint: str = ""

    def catalogue(self) -> tuple[Mistake | Hint, ...]:
        """Every mistake this checker recognises besides the generic ones, in order."""
        hints = (self.nonfinite_hint, self.shape_hint, self.type_error_hint)
        return (*self.mistakes, *(h for h in hints if h is not None))


# ================================================================================== generic
@dataclass(frozen=True)
class Generic:
    """A mistake any function can make: its summary, and its diagnosis as a template.

    ``diagnosis`` is a :meth:`str.format` template filled by the engine (``{output}``,
    ``{given}``, ...), or a dict of such templates when the mistake comes in variants.
    """

    key: str
    summary: str
    diagnosis: str | dict[str, str]


#: The mistakes any function can make, by key: the engine's generic diagnoses come from here.
GENERIC: dict[str, Generic] = {g.key: g for g in (
    Generic("raised", "your function raised an exception", {
        "NotImplementedError": "replace the `raise NotImplementedError` by your code",
        "SystemExit": "your function called exit() or sys.exit(); return the result instead"}),
    Generic("timeout", "your function did not return in time (a loop that never ends)",
            "your function did not return within {timeout:g} s: look for a loop that never ends "
            "(a while loop whose condition never becomes False, a counter or index that is never "
            "updated)"),
    Generic("returned_none", "returned None (a missing return statement)",
            "did you forget the return statement?"),
    Generic("in_place_none", "updated an argument in place and returned None",
            "you updated {param} in place and returned None: end with `return {param}` (or "
            "compute and return a new array)"),
    Generic("not_a_tuple", "returned one value where a tuple of results is expected",
            "return all {n} results: return {names}"),
    Generic("tuple_length", "returned a tuple with the wrong number of results",
            "return exactly {n} results, in this order: return {names}"),
    Generic("not_an_array", "returned something that is not an array of numbers",
            "{output} must be an array of numbers (a NumPy array, or a list that np.asarray "
            "turns into one)"),
    Generic("swapped_outputs", "returned the results in the wrong order",
            "the result in position {position} is {other}, not {output}: return ({outputs}) in "
            "this order"),
    Generic("zeros", "returned all zeros",
            "{output} is all zeros: did you return an array before filling it (np.zeros_like) "
            "or fill a copy?"),
    Generic("sign", "wrong sign",
            "{output} has the wrong sign: every value is minus the expected one"),
    Generic("batch_factor", "off by a factor of the batch size", {
        "large": "{output} is off by a factor of the batch size: {batch} times too large (you "
                 "summed over the batch where the mean is needed, or forgot to divide by the "
                 "batch size)",
        "small": "{output} is off by a factor of the batch size: {batch} times too small (you "
                 "averaged over the batch where the sum is needed, or divided by the batch size "
                 "twice)"}),
    Generic("factor", "off by a constant factor",
            "{output} is off by a constant factor: {factor:.4g} times the expected values"),
    Generic("transposed", "returned the transpose", {
        "square": "{output} is transposed: you returned the transpose of the expected array",
        "shape": "{output} is transposed: expected shape {expected}, you returned its "
                 "transpose, shape {given}"}),
    Generic("extra_axis", "right values with an extra or missing axis of length 1",
            "{output} has the right values but shape {given} instead of {expected}: an axis of "
            "length 1 is extra or missing (a keepdims=True, a [:, None], or a reshape too many)"),
    Generic("reshaped", "right values in the wrong shape",
            "{output} has the right values but shape {given} instead of {expected}: the values "
            "are laid out in the wrong shape"),
)}

#: Mistakes recognised for every checker, whatever the function: key -> summary.
GENERIC_MISTAKES: dict[str, str] = {key: g.summary for key, g in GENERIC.items()}


def explain(key: str, variant: str | None = None, **fields) -> tuple[str, str]:
    """``(key, diagnosis)`` of the generic mistake ``key``, its template filled with ``fields``."""
    diagnosis = GENERIC[key].diagnosis
    template = diagnosis[variant] if isinstance(diagnosis, dict) else diagnosis
    return key, template.format(**fields)


# ================================================================================== documentation
#: Every checker's catalogue by checker name: ``{variant: Spec}``, the variant "" when there is
#: one spec (``activation`` has one per activation name). Filled by :func:`recognises`.
CATALOGUE: dict[str, dict[str, Spec]] = {}


def _mistake_lines(spec: Spec) -> list[str]:
    """One line ``- ``key`` (outputs): summary`` per key, the summaries of a repeated key joined.

    The outputs a mistake shows in are named for a checker of several results.
    """
    summaries: dict[str, list[str]] = {}
    outputs: dict[str, list[str]] = {}
    for entry in spec.catalogue():
        said = summaries.setdefault(entry.key, [])
        if entry.summary not in said:
            said.append(entry.summary)
        if isinstance(entry, Mistake) and spec.tuple_output:
            named = outputs.setdefault(entry.key, [])
            if entry.output not in named:
                named.append(entry.output)
    where = {key: f" ({', '.join(named)})" for key, named in outputs.items()}
    return [f"- ``{key}``{where.get(key, '')}: {'; '.join(said)}"
            for key, said in summaries.items()]


def mistakes_section(variants: dict[str, Spec], by: str = "") -> str:
    """The "Recognised mistakes" section of a checker's docstring, from its catalogue.

    ``variants`` maps the value of the checker's argument ``by`` to its spec (one entry, under
    "", when the checker has one spec).
    """
    lines = ["Recognised mistakes", "-------------------",
             "Each is named by its key in ``CheckFailed.mistakes``."]
    for variant, spec in variants.items():
        lines.append("")
        if variant:
            lines += [f"With ``{by}={variant!r}``:", ""]
        lines += _mistake_lines(spec)
    lines += ["", "And the mistakes any function can make: :data:`GENERIC_MISTAKES`."]
    return "\n".join(lines)


def generic_section() -> str:
    """The list of :data:`GENERIC_MISTAKES`, for the package's docstring."""
    lines = ["Mistakes any function can make (``GENERIC_MISTAKES``)",
             "-----------------------------------------------------", ""]
    lines += [f"- ``{key}``: {summary}" for key, summary in GENERIC_MISTAKES.items()]
    return "\n".join(lines)


def recognises(specs: Spec | dict[str, Spec], by: str = ""):
    """Decorator of a checker: its docstring gains the mistakes ``specs`` recognise.

    ``specs`` is the checker's :class:`Spec`, or a dict of them by the value of its argument
    ``by`` (``activation``'s ``name``). The checker is recorded in :data:`CATALOGUE` under its
    name.
    """
    variants = dict(specs) if isinstance(specs, dict) else {"": specs}

    def decorate(checker):
        CATALOGUE[checker.__name__] = variants
        if checker.__doc__ is not None:  # None under python -OO, which strips docstrings
            checker.__doc__ = (inspect.cleandoc(checker.__doc__) + "\n\n"
                               + mistakes_section(variants, by))
        return checker

    return decorate
