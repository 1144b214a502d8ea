"""dlcourse.notebook.expect_error: shows a demonstrated error, asserts it, lets the run go on."""

from __future__ import annotations

import io

import pytest

from dlcourse.notebook import expect_error, format_error


def run_in_cell(source: str, namespace: dict):
    """Execute ``source`` as a notebook cell does: compiled under a cell-like file name."""
    import linecache

    filename = "/tmp/ipykernel_1234/567890.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)


def divide(a, b):
    return a / b


def test_expected_error_is_shown_and_kept():
    out = io.StringIO()
    namespace = {"expect_error": expect_error, "divide": divide, "out": out}
    run_in_cell("with expect_error(ZeroDivisionError, 'division by zero', file=out) as caught:\n"
                "    divide(1, 0)\n", namespace)
    caught = namespace["caught"]
    assert isinstance(caught.value, ZeroDivisionError) and caught.type is ZeroDivisionError
    text = out.getvalue()
    assert text.startswith("ZeroDivisionError: division by zero\n")
    assert "raised in tests/test_notebook.py, line" in text and "in divide" in text
    assert "from this cell, line 2: divide(1, 0)" in text


def test_a_subclass_counts_and_a_tuple_of_types_is_accepted():
    with expect_error((KeyError, ValueError), "bad", file=io.StringIO()) as caught:
        raise UnicodeError("bad text")  # a ValueError
    assert isinstance(caught.value, UnicodeError)


def test_no_error_fails():
    with pytest.raises(AssertionError, match="should raise ValueError .*ran without error"):
        with expect_error(ValueError, "anything", file=io.StringIO()):
            pass


def test_another_message_fails():
    with pytest.raises(AssertionError, match="does not contain 'rank'; it says: shape mismatch"):
        with expect_error(ValueError, "rank", file=io.StringIO()):
            raise ValueError("shape mismatch")


def test_another_type_propagates_unchanged():
    with pytest.raises(KeyError, match="other"):
        with expect_error(ValueError, "rank", file=io.StringIO()):
            raise KeyError("other")


def test_printed_to_stdout_by_default(capsys):
    with expect_error(ValueError, "bad"):
        raise ValueError("bad value")
    captured = capsys.readouterr()
    assert captured.out.startswith("ValueError: bad value") and captured.err == ""


@pytest.mark.parametrize("error_type, match", [
    ("ValueError", "x"), (ValueError(), "x"), ((), "x"), ((ValueError, int), "x"),
    (ValueError, ""), (ValueError, None),
])
def test_bad_arguments_are_named(error_type, match):
    with pytest.raises(TypeError, match="error_type|match"):
        with expect_error(error_type, match):
            raise ValueError("x")


def test_format_error_of_an_error_raised_in_the_cell_itself():
    namespace = {}
    try:
        run_in_cell("x = 1\nraise RuntimeError('here')\n", namespace)
    except RuntimeError as error:
        text = format_error(error)
    assert text == "RuntimeError: here\n  from this cell, line 2: raise RuntimeError('here')"
