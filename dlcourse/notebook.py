"""Helpers for the chapter notebooks: showing an error on purpose without stopping Run All.

A chapter that demonstrates a mistake (integer labels for a one-hot loss, a learning rate that
diverges) wants the reader to see the error as Python reports it, and then to go on. A cell that
simply raises stops "Run All" in JupyterLab at that point. :func:`expect_error` runs the
demonstration, prints the error as a learner would read it (its type, its message, where it was
raised and which line of the cell led there) and checks that it happened: if the code stops
failing, or fails with another error or another message, the cell fails, so the book's tests
notice that the demonstration no longer demonstrates anything::

    with expect_error(ValueError, "must have the same rank"):
        model.fit(x_train, y_train)
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CaughtError", "expect_error", "format_error"]


@dataclass
class CaughtError:
    """What :func:`expect_error` caught: filled in when the ``with`` block has raised.

    Attributes
    ----------
    value : BaseException or None
        The exception itself (``None`` until the block has raised it).
    """

    value: BaseException | None = None

    @property
    def type(self) -> type | None:
        """The exception's class."""
        return None if self.value is None else type(self.value)


def _short_path(filename: str) -> str:
    """A library file relative to its site-packages or to the dlcourse package's parent."""
    path = Path(filename)
    parts = path.parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            return "/".join(parts[parts.index(marker) + 1:])
    here = Path(__file__).resolve().parent  # dlcourse/
    try:
        return str(path.resolve().relative_to(here.parent))
    except ValueError:
        return path.name


def _is_cell(filename: str) -> bool:
    """Whether a frame comes from code typed into a notebook cell (or an interactive prompt)."""
    return filename.startswith("<") or "ipykernel_" in filename


def format_error(error: BaseException) -> str:
    """The error as a learner reads it: type, message, where it was raised, and from which line.

    Example::

        ValueError: Dense 'dense': expected input of rank 2 or more, got shape (3,)
          raised in dlcourse/scratch/core.py, line 28, in _check_input
          from this cell, line 1: model.predict(x)
    """
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve() != Path(__file__).resolve()]
    lines = traceback.format_exception_only(type(error), error)
    text = "".join(lines).rstrip("\n")
    if frames:
        innermost = frames[-1]
        if not _is_cell(innermost.filename):
            text += (f"\n  raised in {_short_path(innermost.filename)}, line {innermost.lineno}, "
                     f"in {innermost.name}")
        cell = next((f for f in reversed(frames) if _is_cell(f.filename)), None)
        if cell is not None:
            source = (cell.line or "").strip()
            text += f"\n  from this cell, line {cell.lineno}" + (f": {source}" if source else "")
    return text


@contextlib.contextmanager
def expect_error(error_type: type[BaseException] | tuple[type[BaseException], ...],
                 match: str, *, file=None):
    """Run the ``with`` block, which must raise ``error_type`` with ``match`` in its message.

    The error is printed (see :func:`format_error`) to ``file`` (standard output by default: in
    a notebook it is an ordinary output, not a warning) and execution goes on after the block.

    Parameters
    ----------
    error_type : exception class or tuple of them
        The error the demonstration must raise (a subclass counts, as with ``except``).
    match : str
        A key phrase of the message, matched as a substring (case-sensitive), so that the cell
        checks that it is *this* error and not another one of the same type.
    file : file-like, optional
        Where to print; ``sys.stdout`` by default.

    Yields
    ------
    CaughtError
        Filled with the exception once the block has raised it, for further checks
        (``caught.value.epoch`` and the like).

    Raises
    ------
    AssertionError
        If the block ran without error, or its error's message lacks ``match``. An error of
        another type is not caught: it propagates unchanged, with its own traceback.
    """
    if not (isinstance(error_type, type) and issubclass(error_type, BaseException)) and not (
            isinstance(error_type, tuple) and error_type
            and all(isinstance(t, type) and issubclass(t, BaseException) for t in error_type)):
        raise TypeError(f"expect_error(): error_type must be an exception class or a tuple of "
                        f"them, got {error_type!r}")
    if not isinstance(match, str) or not match:
        raise TypeError(f"expect_error(): match must be a non-empty string (a key phrase of the "
                        f"message), got {match!r}")
    names = (error_type.__name__ if isinstance(error_type, type)
             else " or ".join(t.__name__ for t in error_type))
    caught = CaughtError()
    try:
        yield caught
    except error_type as error:
        message = str(error)
        if match not in message:
            raise AssertionError(
                f"expect_error(): the demonstration raised {type(error).__name__} as expected, "
                f"but its message does not contain {match!r}; it says: {message}") from error
        caught.value = error
        print(format_error(error), file=file if file is not None else sys.stdout)
    else:
        raise AssertionError(
            f"expect_error(): the demonstration should raise {names} ({match!r}), "
            "but it ran without error")
