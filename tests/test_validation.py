"""dlcourse.validation: every helper returns the canonical value or names owner, argument, value.

Each rejected kind of value is checked for its exception type and for a message of the form
``"<owner>: <name> must be <what>, got <value>"``, so that a helper that lets a value through, or
words its message differently from the others, fails here.
"""

import math
import re

import numpy as np
import pytest

from dlcourse import validation
from dlcourse.validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_seed,
)

OWNER = "Dense 'dense_7'"


def assert_names(err: pytest.ExceptionInfo, name: str, given: str) -> None:
    """The message starts with the owner and names the argument and the value given."""
    message = str(err.value)
    assert message.startswith(f"{OWNER}: "), message
    assert name in message, message
    assert f"got {given}" in message, message


def test_exports():
    assert set(validation.__all__) == {"check_array", "check_bool", "check_choice", "check_ids",
                                       "check_int", "check_list", "check_number", "check_seed"}


# ----------------------------------------------------------------------------- check_bool
@pytest.mark.parametrize("value", [True, False, np.True_, np.False_])
def test_check_bool_accepts_booleans_as_bool(value):
    result = check_bool(value, "use_bias", OWNER)
    assert result is bool(value)
    assert type(result) is bool


@pytest.mark.parametrize("value, given", [(1, "1"), (0, "0"), ("True", "'True'"),
                                          (None, "None"), (1.0, "1.0")])
def test_check_bool_refuses_everything_else(value, given):
    with pytest.raises(TypeError, match="use_bias must be True or False") as err:
        check_bool(value, "use_bias", OWNER)
    assert_names(err, "use_bias", given)


# ----------------------------------------------------------------------------- check_int
@pytest.mark.parametrize("value", [0, 7, -3, np.int64(7), np.int8(7), np.uint16(7)])
def test_check_int_accepts_integers_as_int(value):
    result = check_int(value, "units", OWNER)
    assert result == int(value) and type(result) is int


@pytest.mark.parametrize("value, given", [
    (3.0, "3.0 (float)"), (np.float64(3.0), "np.float64(3.0) (float64)"),
    (True, "True (bool)"), (np.True_, "np.True_ (bool)"), ("3", "'3' (str)"),
    (None, "None (NoneType)"), ([3], "[3] (list)"),
])
def test_check_int_refuses_non_integers_with_a_type_error(value, given):
    with pytest.raises(TypeError, match="units must be an integer") as err:
        check_int(value, "units", OWNER, minimum=1)
    assert_names(err, "units", given)


@pytest.mark.parametrize("value, minimum, maximum, expected", [
    (0, 1, None, "an integer >= 1, got 0"),
    (-1, 0, None, "an integer >= 0, got -1"),
    (6, None, 5, "an integer <= 5, got 6"),
    (9, 2, 8, "an integer in [2, 8], got 9"),
    (1, 2, 8, "an integer in [2, 8], got 1"),
])
def test_check_int_refuses_out_of_bounds_with_a_value_error(value, minimum, maximum, expected):
    with pytest.raises(ValueError) as err:
        check_int(value, "units", OWNER, minimum=minimum, maximum=maximum)
    assert str(err.value) == f"{OWNER}: units must be {expected}"


@pytest.mark.parametrize("value, minimum, maximum", [(1, 1, None), (5, None, 5), (2, 2, 8),
                                                     (8, 2, 8)])
def test_check_int_bounds_are_inclusive(value, minimum, maximum):
    assert check_int(value, "units", OWNER, minimum=minimum, maximum=maximum) == value


# ----------------------------------------------------------------------------- check_seed
@pytest.mark.parametrize("value, expected", [(None, None), (0, 0), (42, 42),
                                             (np.int32(5), 5)])
def test_check_seed_accepts_none_and_non_negative_integers(value, expected):
    result = check_seed(value, OWNER)
    assert result == expected and (expected is None or type(result) is int)


@pytest.mark.parametrize("value, error, given", [
    (-1, ValueError, "-1"), (1.5, TypeError, "1.5"), ("0", TypeError, "'0'"),
    (True, TypeError, "True"),
])
def test_check_seed_refuses_other_values(value, error, given):
    with pytest.raises(error, match="seed must be an integer >= 0") as err:
        check_seed(value, OWNER)
    assert_names(err, "seed", given)


def test_check_seed_names_its_argument():
    with pytest.raises(ValueError, match="shuffle_seed must be an integer >= 0, got -2"):
        check_seed(-2, OWNER, name="shuffle_seed")


# ----------------------------------------------------------------------------- check_number
@pytest.mark.parametrize("value, kwargs", [
    (0.5, {}), (3, {}), (np.float32(0.25), {}), (np.int64(2), {}), (-1e300, {}),
    (0.0, {"low": 0.0}), (1.0, {"high": 1.0}), (0.5, {"low": 0, "high": 1, "low_open": True,
                                                      "high_open": True}),
])
def test_check_number_accepts_finite_reals_within_bounds_as_float(value, kwargs):
    result = check_number(value, "rate", OWNER, **kwargs)
    assert result == float(value) and type(result) is float


@pytest.mark.parametrize("value, given", [
    (math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"),
    (np.float64("nan"), "np.float64(nan)"),
])
def test_check_number_refuses_nan_and_infinities_with_a_value_error(value, given):
    with pytest.raises(ValueError, match="rate must be a finite number") as err:
        check_number(value, "rate", OWNER)
    assert_names(err, "rate", given)


@pytest.mark.parametrize("value, given", [
    (True, "True"), ("0.5", "'0.5'"), (None, "None"), (1j, "1j"), ([0.5], r"[0.5]"),
])
def test_check_number_refuses_non_numbers_with_a_type_error(value, given):
    with pytest.raises(TypeError) as err:
        check_number(value, "rate", OWNER, 0, 1)
    assert "rate must be a number in [0, 1]" in str(err.value)
    assert_names(err, "rate", given)


@pytest.mark.parametrize("value, kwargs, expected", [
    (0.0, {"low": 0, "low_open": True}, "a number > 0"),
    (-0.1, {"low": 0}, "a number >= 0"),
    (5.5, {"high": 5}, "a number <= 5"),
    (5.0, {"high": 5, "high_open": True}, "a number < 5"),
    (1.0, {"low": 0, "high": 1, "high_open": True}, "a number in [0, 1)"),
    (0.0, {"low": 0, "high": 1, "low_open": True}, "a number in (0, 1]"),
    (2.0, {"low": 0, "high": 1}, "a number in [0, 1]"),
])
def test_check_number_refuses_out_of_bounds_and_states_the_bounds(value, kwargs, expected):
    with pytest.raises(ValueError) as err:
        check_number(value, "rate", OWNER, **kwargs)
    assert str(err.value) == f"{OWNER}: rate must be {expected}, got {value!r}"


# ----------------------------------------------------------------------------- check_choice
CHOICES = ("valid", "same")


@pytest.mark.parametrize("value", CHOICES)
def test_check_choice_accepts_a_listed_string(value):
    assert check_choice(value, "padding", OWNER, CHOICES) == value


@pytest.mark.parametrize("value, given", [("SAME", "'SAME'"), ("full", "'full'"), (None, "None"),
                                          (1, "1"), (["same"], "['same']")])
def test_check_choice_refuses_others_and_lists_the_choices(value, given):
    with pytest.raises(ValueError, match="padding must be one of 'valid', 'same'") as err:
        check_choice(value, "padding", OWNER, iter(CHOICES))  # any iterable of choices
    assert_names(err, "padding", given)


# ----------------------------------------------------------------------------- check_array
@pytest.mark.parametrize("value, kind, dtype", [
    ([[1.0, 2.0]], "real", np.float64), ([1, 2], "real", np.int64),
    (np.ones(3, np.float32), "float", np.float32), (np.arange(3), "integer", np.int64),
    (np.array(2.5), "real", np.float64),
])
def test_check_array_returns_an_ndarray(value, kind, dtype):
    result = check_array(value, "x", OWNER, kind=kind)
    assert isinstance(result, np.ndarray) and result.dtype == dtype
    np.testing.assert_array_equal(result, np.asarray(value))


def test_check_array_returns_the_same_array_without_copying():
    x = np.ones((2, 3))
    assert check_array(x, "x", OWNER) is x


@pytest.mark.parametrize("value, kind, given", [
    (np.array([True, False]), "real", "got dtype bool"),
    (np.array([1 + 2j]), "real", "got dtype complex128"),
    (np.array(["a"]), "real", "got dtype <U1"),
    (None, "real", "got dtype object"),
    (np.arange(3), "float", "got dtype int64"),
    (np.ones(3), "integer", "got dtype float64"),
])
def test_check_array_refuses_the_wrong_kind_with_a_type_error(value, kind, given):
    with pytest.raises(TypeError, match="x must be an array of") as err:
        check_array(value, "x", OWNER, kind=kind)
    assert_names(err, "x", given.removeprefix("got "))


def test_check_array_refuses_ragged_lists_with_a_type_error():
    with pytest.raises(TypeError, match="x must be an array of numbers, got list that NumPy "
                                        "cannot turn into one") as err:
        check_array([[1.0, 2.0], [3.0]], "x", OWNER)
    assert str(err.value).startswith(f"{OWNER}: ")


@pytest.mark.parametrize("ndim, shape, expected", [
    (2, (3,), "rank 2, got shape (3,)"),
    ((2, 4), (1, 2, 3), "rank 2 or 4, got shape (1, 2, 3)"),
])
def test_check_array_refuses_the_wrong_rank(ndim, shape, expected):
    with pytest.raises(ValueError) as err:
        check_array(np.zeros(shape), "x", OWNER, ndim=ndim)
    assert str(err.value) == f"{OWNER}: x must have {expected}"
    assert check_array(np.zeros((2, 2)), "x", OWNER, ndim=ndim).shape == (2, 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("position", [0, 4])
def test_check_array_refuses_non_finite_values_unless_allowed(bad, position):
    x = np.arange(5.0)
    x[position] = bad
    with pytest.raises(ValueError, match=r"x contains NaN or infinite values \(1 of 5 entries\)"):
        check_array(x, "x", OWNER)
    assert check_array(x, "x", OWNER, allow_nonfinite=True) is x


def test_check_array_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match=r"check_array\(\): kind must be 'real', 'float' or "
                                         r"'integer', got 'complex'"):
        check_array(np.ones(2), "x", OWNER, kind="complex")


# ----------------------------------------------------------------------------- check_list
@pytest.mark.parametrize("values", [[1, 2], (1,), np.array([0.5, 2.0]), ["relu", "tanh"]])
def test_check_list_accepts_a_non_empty_list(values):
    assert validation.check_list(values, "widths", OWNER) == list(values)


@pytest.mark.parametrize(("values", "error", "message"), [
    ("relu", TypeError, "widths must be a list of numbers, got 'relu'"),  # not a list of letters
    (3, TypeError, "widths must be a list of numbers, got 3"),
    (np.zeros((2, 2)), TypeError, "widths must be a list of numbers"),
    ([], ValueError, "widths must hold at least one value, got none"),
])
def test_check_list_refuses_what_is_not_a_non_empty_list(values, error, message):
    with pytest.raises(error, match=re.escape(f"{OWNER}: {message}")):
        validation.check_list(values, "widths", OWNER, of="numbers")
