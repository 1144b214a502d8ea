"""Argument checks written once: each kind of mistake has one function and one message.

Every public function and layer of :mod:`dlcourse` checks its arguments at the boundary, where
the mistake can still be named, through these helpers. Each returns the value in its canonical
form (``int``, ``float``, ``bool``) or raises a ``TypeError``/``ValueError`` whose message is
``"<owner>: <name> must be <what>, got <value>"``; ``owner`` is what the learner called, e.g.
``"Dense 'dense_1'"`` or ``"quantize()"``. NumPy only.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "check_array", "check_bool", "check_choice", "check_ids", "check_int", "check_list",
    "check_number", "check_seed",
]


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_bool(value, name: str, owner: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (NumPy's booleans included); else a TypeError."""
    if not _is_bool(value):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return bool(value)


def check_int(value, name: str, owner: str, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool, not a float) within the bounds.

    A float such as ``3.0`` is refused: it usually means a division where ``//`` was meant.
    """
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer{_bounds(minimum, maximum)}, "
                        f"got {value!r} ({type(value).__name__})")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{owner}: {name} must be an integer{_bounds(minimum, maximum)}, "
                         f"got {value!r}")
    return value


def _bounds(minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f" in [{minimum}, {maximum}]"
    if minimum == 1:
        return " >= 1"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def check_seed(value, owner: str, name: str = "seed") -> int | None:
    """``None`` or a non-negative integer, as NumPy's generators take (checked at construction)."""
    if value is None:
        return None
    return check_int(value, name, owner, minimum=0)


def check_number(value, name: str, owner: str, low: float = -math.inf, high: float = math.inf,
                 *, low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite ``float`` with ``low <(=) value <(=) high``.

    ``low_open``/``high_open`` exclude the bound itself. Booleans, strings, complex numbers and
    NaN are refused.
    """
    ok = (not _is_bool(value) and isinstance(value, numbers.Real)
          and math.isfinite(value)
          and (value > low if low_open else value >= low)
          and (value < high if high_open else value <= high))
    if ok:
        return float(value)
    if math.isfinite(low) and math.isfinite(high):
        expected = (f"a number in {'(' if low_open else '['}{low:g}, {high:g}"
                    f"{')' if high_open else ']'}")
    elif math.isfinite(low):
        expected = f"a number {'>' if low_open else '>='} {low:g}"
    elif math.isfinite(high):
        expected = f"a number {'<' if high_open else '<='} {high:g}"
    else:
        expected = "a finite number"
    error = ValueError if isinstance(value, numbers.Real) and not _is_bool(value) else TypeError
    raise error(f"{owner}: {name} must be {expected}, got {value!r}")


def check_choice(value, name: str, owner: str, choices: Iterable[str]) -> str:
    """``value`` if it is one of the strings ``choices``; the message lists them."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{owner}: {name} must be one of {listed}, got {value!r}")
    return value


def check_array(value, name: str, owner: str, *, kind: str = "real", ndim=None,
                allow_nonfinite: bool = False) -> np.ndarray:
    """``value`` as a NumPy array of numbers of the given kind, rank and finiteness.

    Parameters
    ----------
    kind : {"real", "float", "integer"}
        ``"real"`` accepts integers and floats (not booleans, complex numbers or objects);
        ``"float"`` only floating point; ``"integer"`` only integers.
    ndim : int or tuple of int, optional
        The accepted ranks.
    allow_nonfinite : bool
        Whether NaN and infinities are accepted (they are refused by default).
    """
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as err:  # ragged nested lists
        raise TypeError(f"{owner}: {name} must be an array of numbers, got "
                        f"{type(value).__name__} that NumPy cannot turn into one: {err}") from err
    dtype = array.dtype
    accepted = {
        "real": (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)),
        "float": np.issubdtype(dtype, np.floating),
        "integer": np.issubdtype(dtype, np.integer),
    }
    if kind not in accepted:
        raise ValueError(f"check_array(): kind must be 'real', 'float' or 'integer', got {kind!r}")
    if not accepted[kind] or dtype == np.bool_:
        what = {"real": "real numbers (integer or float)", "float": "floating-point numbers",
                "integer": "integers"}[kind]
        raise TypeError(f"{owner}: {name} must be an array of {what}, got dtype {dtype}")
    if ndim is not None:
        ranks = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in ranks:
            listed = " or ".join(str(r) for r in ranks)
            raise ValueError(f"{owner}: {name} must have rank {listed}, got shape {array.shape}")
    if not allow_nonfinite and kind != "integer" and array.size and not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ValueError(f"{owner}: {name} contains NaN or infinite values "
                         f"({bad} of {array.size} entries)")
    return array


def check_ids(ids, input_dim: int, owner: str) -> np.ndarray:
    """``ids`` as an integer array whose entries are in ``[0, input_dim)``, or a clear error.

    The error names the first bad id and its position, e.g. ``got id 12 at position (0, 3)``.
    """
    try:
        ids = np.asarray(ids)
    except (ValueError, TypeError) as err:  # ragged nested lists
        raise TypeError(f"{owner}: expected the input as an array of integer ids, got "
                        f"{type(ids).__name__} that NumPy cannot turn into one") from err
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"{owner}: expected integer ids (e.g. int32 or int64), got dtype "
                        f"{ids.dtype}; convert them first, e.g. x.astype('int64')")
    bad = (ids < 0) | (ids >= input_dim)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{owner}: expected ids in [0, {input_dim}) (input_dim={input_dim}), "
                         f"got id {int(ids[position])} at position {position} "
                         f"({int(bad.sum())} of {ids.size} ids out of range)")
    return ids


def check_list(values, name: str, owner: str, of: str = "values") -> list:
    """``values`` as a list: a non-empty list, tuple or 1-D array (not a string, which would be
    a list of letters); ``of`` names what it holds in the error, e.g. ``"numbers"``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)) \
            or np.ndim(values) != 1:
        raise TypeError(f"{owner}: {name} must be a list of {of}, got {values!r}")
    if len(values) == 0:
        raise ValueError(f"{owner}: {name} must hold at least one value, got none")
    return list(values)
