"""The appendix "How we know it is right" (chapters/proof.ipynb) covers every registered layer.

These checks read the notebook's code without executing it (the notebook runs in
``tests/notebooks/`` and in the book build): its table of cases must have a row for every layer
type of :func:`dlcourse.scratch.layer_types`, and its code must assert so itself, so that a
layer registered later breaks the build until the page shows it.
"""

import ast
import json
from pathlib import Path

import pytest

from dlcourse.scratch import layer_types

NOTEBOOK = Path(__file__).resolve().parents[1] / "chapters" / "proof.ipynb"


def code_cells(path=NOTEBOOK):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def literal_assignment(cells, name):
    """The value of the first top-level ``name = <literal>`` in the cells, by ``ast``."""
    for source in cells:
        for node in ast.parse(source).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name):
                return ast.literal_eval(node.value)
    raise LookupError(f"no cell of {NOTEBOOK.name} assigns a literal to {name}")


def calls_layer_types_in_assert(cells):
    """Whether some ``assert`` statement depends on ``layer_types()`` (directly or through a
    name assigned from an expression that calls it)."""
    tree = ast.parse("\n".join(cells))
    derived = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _calls_layer_types(node.value, derived):
            derived |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return any(isinstance(node, ast.Assert) and _calls_layer_types(node.test, derived)
               for node in ast.walk(tree))


def _calls_layer_types(node, derived):
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            if (isinstance(func, ast.Attribute) and func.attr == "layer_types") or (
                    isinstance(func, ast.Name) and func.id == "layer_types"):
                return True
        if isinstance(sub, ast.Name) and sub.id in derived:
            return True
    return False


def test_the_page_walks_the_registry_and_asserts_its_coverage():
    cells = code_cells()
    assert any("layer_types()" in source for source in cells)
    assert calls_layer_types_in_assert(cells), (
        f"{NOTEBOOK.name} must assert that every type of layer_types() has a row")


def test_every_registered_layer_type_has_a_case_on_the_page():
    cases = literal_assignment(code_cells(), "CASES")
    missing = sorted(set(layer_types()) - set(cases))
    assert not missing, (f"layer types registered without a row in {NOTEBOOK.name}'s CASES: "
                         f"{missing}")
    unknown = sorted(set(cases) - set(layer_types()))
    assert not unknown, f"CASES names layer types that are not registered: {unknown}"
    for name, configurations in cases.items():
        assert configurations, f"{name} has no configuration"
        for label, case in configurations.items():
            assert {"config", "input"} <= set(case), f"{name} ({label}): {sorted(case)}"


def test_the_checks_fail_on_a_page_without_a_row_or_without_the_assertion():
    cells = code_cells()
    cases = literal_assignment(cells, "CASES")
    dropped = next(iter(cases))
    without_row = [source.replace(f'"{dropped}": {{', f'"Not{dropped}": {{', 1)
                   for source in cells]
    assert dropped not in literal_assignment(without_row, "CASES")

    class DropAsserts(ast.NodeTransformer):
        def visit_Assert(self, node):
            return ast.Pass()

    without_asserts = [ast.unparse(DropAsserts().visit(ast.parse(s))) for s in cells]
    assert not calls_layer_types_in_assert(without_asserts)
    assert not calls_layer_types_in_assert(["n = len(layer_types())", "assert 1 == 1"])
    assert calls_layer_types_in_assert(["n = len(layer_types())", "assert n > 0"])
    with pytest.raises(LookupError):
        literal_assignment(["x = 1"], "CASES")
