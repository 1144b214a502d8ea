"""Practice copies (tools/make_exercises.py, `make exercises`): no solution in them, stubs that
raise, and a copy that runs until the reader's first stub is called.

Checked on a small synthetic notebook, on the browser tests' showcase notebook, and on every
chapter notebook present.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import inspect
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
SHOWCASE = ROOT / "tests" / "browser" / "showcase" / "showcase.ipynb"


def _load_tool():
    spec = importlib.util.spec_from_file_location("make_exercises",
                                                  ROOT / "tools" / "make_exercises.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mx = _load_tool()

md = nbformat.v4.new_markdown_cell
code = nbformat.v4.new_code_cell

SECRETS = ("SECRET-EXPLANATION-7f3a", "secret_helper_91c", "0.5 * (1 + np.tanh", "assert 'win'")


STUB_CELL = textwrap.dedent('''
    THRESHOLD = 0.5


    @np.vectorize
    def sigmoid(z):
        """The logistic function.

        z: scalar.
        """
        return 1 / (1 + np.exp(-z))  # the definition


    def sigmoid_grad(z):
        s = sigmoid(z)
        return s * (1 - s)
        # σ' = σ(1 - σ)


    Z = np.linspace(-2, 2, 5)
''').strip()


def synthetic_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        md("# A chapter\n\nThe logistic function $\\sigma(z) = 1 / (1 + e^{-z})$."),
        code("import numpy as np\n\nrng = np.random.default_rng(0)",
             metadata={"tags": ["hide-input"]}),
        md("```{exercise} The logistic function\n:label: ex-sigmoid\n\n"
           "Write `sigmoid(z)` and `sigmoid_grad(z)`.\n```"),
        code(STUB_CELL, metadata={"tags": ["stub"]}),
        md("```{solution-start} ex-sigmoid\n:class: dropdown\n```"),
        md("SECRET-EXPLANATION-7f3a: the logistic function is a scaled tanh."),
        code("def secret_helper_91c(z):\n    return 0.5 * (1 + np.tanh(z / 2))\n\n\n"
             "np.testing.assert_allclose(secret_helper_91c(Z), 1 / (1 + np.exp(-Z)))"),
        md("```{solution-end}\n```"),
        md("Not a solution: an error shown on purpose."),
        code("raise ValueError('shown on purpose')", metadata={"tags": ["raises-exception"]}),
        code("print(THRESHOLD, Z.shape)"),
        code("np.testing.assert_allclose(sigmoid(0.0), 0.5)"),  # the reader's first stub call
        code("1 / 0  # never reached: execution stops at the stub above"),
        md("```{solution-start} ex-sigmoid\n:class: dropdown\n```"),
        code("assert 'win'"),
        md("```{solution-end}\n```"),
    ]
    return nb


def copy_text(nb: nbformat.NotebookNode) -> str:
    return "\n".join(cell.source for cell in nb.cells) + "\n" + str(nb.metadata)


def assert_no_solution(original: nbformat.NotebookNode, result) -> None:
    text = copy_text(result.notebook)
    for name, _ in (d for cell in result.notebook.cells for d in mx.directives(cell)):
        assert name not in ("solution", "solution-start", "solution-end")
    markers = {"solution-start", "solution-end"}
    for cell in result.removed:
        if {name for name, _ in mx.directives(cell)} & markers:
            continue  # the gate markers' text is generic
        assert cell.source.strip() not in text, f"solution text left in the copy:\n{cell.source}"
    removed_ids = {id(cell) for cell in result.removed}
    assert len(result.notebook.cells) + len(result.removed) == len(original.cells)
    assert removed_ids.isdisjoint({id(cell) for cell in result.notebook.cells})


def assert_stubbed(result) -> None:
    """Every top-level function of a `stub` cell is its docstring and a NotImplementedError."""
    for cell in result.notebook.cells:
        if cell.cell_type != "code" or mx.STUB_TAG not in cell.metadata.get("tags", []):
            continue
        tree = ast.parse(cell.source)
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        assert functions
        for function in functions:
            body = function.body[1:] if mx._is_docstring(function.body[0]) else function.body
            assert len(body) == 1 and isinstance(body[0], ast.Raise), ast.unparse(function)
            assert "NotImplementedError" in ast.unparse(body[0])
            assert f"Exercise: write {function.name} (see the text above)" in ast.unparse(body[0])


def run_until_first_stub(nb: nbformat.NotebookNode, workdir: Path) -> int | None:
    """Execute cell by cell; return the index of the cell whose stub raised (None if none did).

    Any other error fails. Cells tagged `raises-exception` may raise, as in the book.
    """
    client = NotebookClient(nb, kernel_name="python3", timeout=600, allow_errors=False,
                            resources={"metadata": {"path": str(workdir)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                if error.ename == "NotImplementedError" and "Exercise: write" in error.evalue:
                    return index
                raise
    return None


# --- the synthetic notebook ---------------------------------------------------------------------

@pytest.fixture
def synthetic():
    original = synthetic_notebook()
    return original, mx.practice_copy(original, name="synthetic")


def test_solutions_are_removed(synthetic):
    original, result = synthetic
    assert_no_solution(original, result)
    text = copy_text(result.notebook)
    for secret in SECRETS:
        assert secret not in text
    assert len(result.removed) == 7
    assert any("{exercise}" in cell.source for cell in result.notebook.cells), "exercise kept"


def test_the_original_is_not_changed():
    original = synthetic_notebook()
    before = copy.deepcopy(original)
    mx.practice_copy(original)
    assert original == before


def test_stub_cells_keep_signatures_docstrings_and_other_statements(synthetic):
    _, result = synthetic
    assert result.stubbed == ["sigmoid", "sigmoid_grad"]
    assert_stubbed(result)
    stub = next(c for c in result.notebook.cells if mx.STUB_TAG in c.metadata.get("tags", []))
    assert "THRESHOLD = 0.5" in stub.source and "Z = np.linspace(-2, 2, 5)" in stub.source
    assert "@np.vectorize\ndef sigmoid(z):" in stub.source
    assert '"""The logistic function.\n\n    z: scalar.\n    """' in stub.source
    for gone in ("1 / (1 + np.exp(-z))", "# the definition", "s * (1 - s)", "σ(1 - σ)"):
        assert gone not in stub.source


def test_stubs_raise_not_implemented(synthetic):
    _, result = synthetic
    stub = next(c for c in result.notebook.cells if mx.STUB_TAG in c.metadata.get("tags", []))
    import numpy as np

    namespace = {"np": np}
    exec(compile(stub.source, "<stub cell>", "exec"), namespace)
    for name in result.stubbed:
        function = namespace[name]
        arguments = [0.0] * len(inspect.signature(getattr(function, "pyfunc", function)).parameters)
        with pytest.raises(NotImplementedError, match=f"Exercise: write {name} "):
            function(*arguments)


def test_the_copy_runs_until_the_first_stub_is_called(synthetic, tmp_path):
    _, result = synthetic
    stopped = run_until_first_stub(result.notebook, tmp_path)
    cells = result.notebook.cells
    assert stopped is not None and "sigmoid(0.0)" in cells[stopped].source
    assert "0.5 (5,)" in "".join(o.get("text", "") for o in cells[stopped - 1].outputs)
    assert not cells[stopped + 1].outputs, "execution went past the stub"


def test_an_error_that_is_not_a_stub_fails(synthetic, tmp_path):
    _, result = synthetic
    result.notebook.cells.insert(2, code("undefined_name_in_the_copy"))
    with pytest.raises(CellExecutionError, match="NameError"):
        run_until_first_stub(result.notebook, tmp_path)


@pytest.mark.parametrize("cells, message", [
    ([md("```{solution-start} ex\n:class: dropdown\n```"), code("x = 1")], "never closed"),
    ([md("```{solution-end}\n```")], "without {solution-start}"),
    ([md("```{solution} ex\n:class: dropdown\n\nx\n```")], "gated form"),
    ([code("%timeit 1", metadata={"tags": ["stub"]})], "plain Python"),
    ([code("x = 1", metadata={"tags": ["stub"]})], "without a top-level function"),
    ([md("```{solution-start} a\n```"), md("```{solution-start} b\n```")], "inside the solution"),
])
def test_notebooks_that_break_the_conventions_are_refused(cells, message):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    with pytest.raises(mx.ConventionError, match=message):
        mx.practice_copy(nb, name="broken")


def test_colon_fences_are_recognised_too():
    nb = nbformat.v4.new_notebook()
    nb.cells = [md(":::{solution-start} ex\n:class: dropdown\n:::"), md("hidden-7b1"),
                md(":::{solution-end}\n:::"), md("kept")]
    result = mx.practice_copy(nb)
    assert [c.source for c in result.notebook.cells] == ["kept"]


def test_one_line_and_docstring_only_functions():
    source = 'def one(x): return x + 1\n\ndef doc_only():\n    """Only a docstring."""\n'
    new, names = mx.stub_source(source)
    assert names == ["one", "doc_only"] and "x + 1" not in new
    namespace = {}
    exec(new, namespace)
    for name in names:
        with pytest.raises(NotImplementedError):
            namespace[name](*([1] * (name == "one")))


def test_make_exercises_keeps_a_copy_the_learner_edited(tmp_path):
    chapters, exercises = tmp_path / "chapters", tmp_path / "exercises"
    chapters.mkdir()
    nbformat.write(synthetic_notebook(), chapters / "01_intro.ipynb")
    assert mx.main([str(chapters), str(exercises)]) == 0
    copy_path = exercises / "01_intro.ipynb"
    assert not mx.edited_by_learner(copy_path)
    assert mx.main([str(chapters), str(exercises)]) == 0  # an untouched copy is rewritten

    edited = nbformat.read(copy_path, as_version=4)
    edited.cells.append(code("my_own_work = 1"))
    nbformat.write(edited, copy_path)
    assert mx.main([str(chapters), str(exercises)]) == 0
    assert "my_own_work" in copy_path.read_text(), "an edited copy was overwritten"
    assert mx.main([str(chapters), str(exercises), "--force"]) == 0
    assert "my_own_work" not in copy_path.read_text()


def test_make_exercises_reports_a_broken_notebook(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [md("```{solution-start} ex\n```")]
    nbformat.write(nb, tmp_path / "broken.ipynb")
    assert mx.main([str(tmp_path / "broken.ipynb"), str(tmp_path / "out")]) == 1
    assert "never closed" in capsys.readouterr().err


# --- real notebooks -----------------------------------------------------------------------------

REAL = [SHOWCASE, *CHAPTERS]


def uses_tensorflow(path: Path) -> bool:
    """Whether a notebook imports TensorFlow (directly or through dlcourse.keras_ref)."""
    return any(word in path.read_text(encoding="utf-8") for word in ("keras_ref", "tensorflow"))


@pytest.mark.slow
@pytest.mark.parametrize("path", [
    pytest.param(p, id=p.name, marks=[pytest.mark.tensorflow] if uses_tensorflow(p) else [])
    for p in REAL])
def test_practice_copy_of_a_real_notebook(path, tmp_path):
    original = nbformat.read(path, as_version=4)
    result = mx.practice_copy(original, name=path.name)
    assert_no_solution(original, result)
    assert_stubbed(result)
    run_until_first_stub(result.notebook, tmp_path)  # any error but a stub's fails
