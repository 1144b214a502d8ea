"""Text corpora that ship with Python itself: nothing is downloaded, nothing is bundled.

- ``"zen"``: *The Zen of Python* (PEP 20) by Tim Peters, about 850 characters, stored
  ROT13-encoded in the standard library's ``this`` module (:func:`zen_of_python`).
- ``"python-docs"``: the prose of the Python Language Reference and Library Reference topics
  that ``help()`` shows, about 465,000 characters, from the standard library's
  ``pydoc_data.topics`` (:func:`python_docs`). Far too large for a small model to memorise.

Both are part of CPython and distributed under the Python Software Foundation License.
"""

from __future__ import annotations

import ast
import codecs
import importlib
import importlib.util
from pathlib import Path

__all__ = ["CORPORA", "load_text", "python_docs", "zen_of_python"]

#: The corpora :func:`load_text` knows, with where each comes from.
CORPORA = {
    "zen": "The Zen of Python by Tim Peters (PEP 20), from CPython's `this` module (PSF License)",
    "python-docs": "The help() topics of the Python Language and Library Reference, from CPython's "
                   "`pydoc_data.topics` module (PSF License)",
}


def zen_of_python() -> str:
    """*The Zen of Python* (PEP 20) as plain text, decoded from the standard library.

    CPython keeps the poem ROT13-encoded in the string ``s`` of the module ``this``, which prints
    it when imported. This reads ``s`` from the module's source without importing it (so nothing
    is printed) and decodes it.

    Returns
    -------
    str
        The title line, a blank line, then the 19 aphorisms, one per line (about 850 characters,
        no trailing newline).
    """
    spec = importlib.util.find_spec("this")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("zen_of_python(): this Python has no 'this' module")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "s"
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return codecs.decode(node.value.value, "rot13")
    raise ValueError(f"zen_of_python(): no string 's' found in {spec.origin}")



def python_docs() -> str:
    """The Python reference's prose that ``help()`` shows, as one text (about 465,000 characters).

    CPython ships the documentation's topics ("assert", "if", "lambda", "string methods", ...)
    as plain text in the dictionary ``pydoc_data.topics.topics``, so that ``help("if")`` works
    offline. This joins them in alphabetical order of their keys, separated by blank lines.
    The exact text (and length) depends on the Python version; it is English prose with code
    examples and grammar rules, a little over 100 distinct characters.

    Returns
    -------
    str
    """
    try:
        topics = importlib.import_module("pydoc_data.topics").topics
    except ImportError as err:  # some Linux distributions package it separately
        raise FileNotFoundError("python_docs(): this Python has no 'pydoc_data.topics' module "
                                "(on Debian and Ubuntu it comes with python3-doc)") from err
    return "\n\n".join(topics[key].strip("\n") for key in sorted(topics))


def load_text(name: str = "zen") -> str:
    """A text corpus by name, offline.

    Parameters
    ----------
    name : {"zen", "python-docs"}
        ``"zen"``: *The Zen of Python* (see :func:`zen_of_python`), about 850 characters;
        ``"python-docs"``: the Python reference's help topics (see :func:`python_docs`), about
        465,000 characters. :data:`CORPORA` lists the names with their sources and licences.

    Returns
    -------
    str
    """
    if not isinstance(name, str) or name not in CORPORA:
        raise ValueError(f"load_text(): unknown corpus {name!r}; choose one of {sorted(CORPORA)}")
    return {"zen": zen_of_python, "python-docs": python_docs}[name]()
