"""Write practice copies of the chapter notebooks: solutions out, the code to write stubbed.

    python tools/make_exercises.py chapters exercises      (what `make exercises` runs)

For each chapters/<name>.ipynb this writes exercises/<name>.ipynb, in which

- every gated solution is removed: the markdown cell that opens it (a MyST
  ``{solution-start} <label>`` directive), every cell up to the markdown cell that closes it
  (``{solution-end}``), and both of those cells;
- every code cell tagged ``stub`` keeps its other statements, while each of its top-level
  functions keeps its decorators, signature and docstring and gets the body
  ``raise NotImplementedError("Exercise: write <name> (see the text above)")``;
- outputs and execution counts are cleared.

The conventions are in README.md ("Working on the course"). A notebook that breaks them (a
solution that is never closed, a non-gated ``{solution}`` directive, a ``stub`` cell that is not
plain Python or has no function) stops the script with an error that names the notebook and cell.

A practice copy that a learner has edited is kept, not overwritten (``--force`` overwrites it):
each copy records the hash of what was written, in its metadata.
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

STUB_TAG = "stub"
STUB_MESSAGE = "Exercise: write {name} (see the text above)"
METADATA_KEY = "dlcourse"

# The opening line of a MyST directive, in a backtick or colon fence: ```{name} arguments
_DIRECTIVE = re.compile(r"^[ \t]*(?:`{3,}|:{3,})\{(?P<name>[a-z-]+)\}(?P<args>.*)$", re.M)


class ConventionError(ValueError):
    """A notebook does not follow the conventions that practice copies rely on."""


@dataclass
class PracticeCopy:
    notebook: nbformat.NotebookNode
    removed: list[nbformat.NotebookNode]  # the cells left out (the solutions)
    stubbed: list[str]  # the names of the functions reduced to stubs


def directives(cell) -> list[tuple[str, str]]:
    if cell.cell_type != "markdown":
        return []
    return [(m["name"], m["args"].strip()) for m in _DIRECTIVE.finditer(cell.source)]


def _char_col(line: str, byte_col: int) -> int:
    """ast gives column offsets in UTF-8 bytes; turn one into a character index of `line`."""
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def _offset(lines: list[str], lineno: int, byte_col: int) -> int:
    """Character offset in the joined source of (1-based line, byte column)."""
    return sum(len(line) for line in lines[: lineno - 1]) + _char_col(lines[lineno - 1], byte_col)


def _is_docstring(statement: ast.stmt) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str))


def _trailing_comment_end(lines: list[str], after_line: int, def_col: int) -> int | None:
    """Last line (1-based) of comment lines, indented deeper than the def, right after a body.

    Comments at the end of a function body belong to it (they may hint at the solution).
    """
    last = None
    for index in range(after_line, len(lines)):
        text = lines[index]
        stripped = text.strip()
        if not stripped:
            continue
        indent = len(text) - len(text.lstrip())
        if stripped.startswith("#") and indent > def_col:
            last = index + 1
            continue
        break
    return last


def _is_code_free(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def stub_source(source: str) -> tuple[str, list[str]]:
    """Replace the body of every top-level function of `source` by a NotImplementedError.

    Decorators, signatures, docstrings and all other statements are kept as written; the comments
    inside a body go with it (they may give the answer away). Returns the new source and the names
    of the functions stubbed.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    names = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        names.append(node.name)
        raise_stmt = f'raise NotImplementedError("{STUB_MESSAGE.format(name=node.name)}")'
        def_indent = _char_col(lines[node.lineno - 1], node.col_offset)
        body = node.body
        doc = body[0] if _is_docstring(body[0]) else None
        rest = body[1:] if doc else body
        # where the body (after the docstring) ends: its last statement, or trailing comments
        # (to the end of its line, so that a comment there goes too)
        last_line = _trailing_comment_end(lines, node.end_lineno, node.col_offset)
        last_line = last_line or node.end_lineno
        end = _offset(lines, last_line, len(lines[last_line - 1].rstrip("\r\n").encode()))
        if not rest:  # only a docstring: add the raise after it
            indent = (_char_col(lines[doc.lineno - 1], doc.col_offset)
                      if doc.lineno != node.lineno else def_indent + 4)
            start = _offset(lines, doc.end_lineno, doc.end_col_offset)
            edits.append((start, end, f"\n{' ' * indent}{raise_stmt}"))
            continue
        first = rest[0]
        # the last line before the body: the docstring's, or the signature's last line (the
        # nearest line above the first statement that is neither blank nor only a comment)
        if doc:
            before = doc.end_lineno
        else:
            before = first.lineno - 1
            while before > node.lineno and _is_code_free(lines[before - 1]):
                before -= 1
        if first.lineno == before or first.lineno == node.lineno:
            # the body starts on that same line (`def f(x): return x`): give the raise a line
            start = _offset(lines, first.lineno, first.col_offset)
            edits.append((start, end, f"\n{' ' * (def_indent + 4)}{raise_stmt}"))
        else:
            indent = _char_col(lines[first.lineno - 1], first.col_offset)
            start = _offset(lines, before + 1, 0)
            edits.append((start, end, f"{' ' * indent}{raise_stmt}"))
    new = source
    for start, end, text in sorted(edits, reverse=True):
        new = new[:start] + text + new[end:]
    ast.parse(new)  # still Python
    return new, names


def practice_copy(notebook: nbformat.NotebookNode, name: str = "notebook") -> PracticeCopy:
    """The practice copy of a notebook (the notebook given is not changed)."""
    nb = copy.deepcopy(notebook)
    kept, removed, stubbed = [], [], []
    open_label = None
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        found = directives(cell)
        names = [directive for directive, _ in found]
        if "solution" in names:
            raise ConventionError(f"{where}: a {{solution}} directive; use the gated form "
                                  "{solution-start} <label> ... {solution-end} (see README.md)")
        if open_label is None:
            if "solution-end" in names:
                raise ConventionError(f"{where}: {{solution-end}} without {{solution-start}}")
            if "solution-start" in names:
                open_label = dict(found)["solution-start"] or "?"
                if names != ["solution-start"]:
                    raise ConventionError(f"{where}: {{solution-start}} must be alone in its cell")
                removed.append(cell)
                continue
        else:
            removed.append(cell)
            if "solution-start" in names:
                raise ConventionError(f"{where}: {{solution-start}} inside the solution to "
                                      f"{open_label!r}")
            if "solution-end" in names:
                if names != ["solution-end"]:
                    raise ConventionError(f"{where}: {{solution-end}} must be alone in its cell")
                open_label = None
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if STUB_TAG in cell.get("metadata", {}).get("tags", []):
                try:
                    cell.source, functions = stub_source(cell.source)
                except SyntaxError as error:
                    raise ConventionError(f"{where}: a `stub` cell must be plain Python "
                                          f"(no magics): {error}") from error
                if not functions:
                    raise ConventionError(f"{where}: a `stub` cell without a top-level function")
                stubbed += functions
        kept.append(cell)
    if open_label is not None:
        raise ConventionError(f"{name}: the solution to {open_label!r} is never closed "
                              "with {solution-end}")
    nb.cells = kept
    return PracticeCopy(nb, removed, stubbed)


def _content_hash(nb: nbformat.NotebookNode) -> str:
    bare = copy.deepcopy(nb)
    bare.metadata.pop(METADATA_KEY, None)
    return hashlib.sha256(json.dumps(bare, sort_keys=True).encode("utf-8")).hexdigest()


def edited_by_learner(path: Path) -> bool:
    """Whether a practice copy on disk differs from what this script wrote there."""
    nb = nbformat.read(path, as_version=4)
    recorded = nb.metadata.get(METADATA_KEY, {}).get("practice_copy_sha256")
    return recorded != _content_hash(nb)


def write_copy(source: Path, target: Path, force: bool = False) -> str:
    """Write the practice copy of `source` to `target`; return what was done, for the log."""
    nb = nbformat.read(source, as_version=4)
    result = practice_copy(nb, name=str(source))
    out = result.notebook
    if target.exists() and not force and edited_by_learner(target):
        return f"kept {target} (you have edited it; FORCE=1 overwrites it)"
    out.metadata[METADATA_KEY] = {"practice_copy_of": source.name}
    out.metadata[METADATA_KEY]["practice_copy_sha256"] = _content_hash(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(out, target)
    return (f"wrote {target}: {len(result.removed)} solution cell(s) removed, "
            f"{len(result.stubbed)} function(s) to write ({', '.join(result.stubbed) or '-'})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="a folder of notebooks, or one notebook")
    parser.add_argument("output", type=Path, help="the folder of the practice copies")
    parser.add_argument("--force", action="store_true", help="overwrite edited copies")
    args = parser.parse_args(argv)
    sources = sorted(args.source.glob("*.ipynb")) if args.source.is_dir() else [args.source]
    if not sources:
        print(f"make_exercises: no notebook in {args.source}")
        return 0
    try:
        for source in sources:
            print(write_copy(source, args.output / source.name, force=args.force))
    except ConventionError as error:
        print(f"make_exercises: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
