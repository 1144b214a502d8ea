"""Every chapter runs as a learner runs it: Run All, and Run All again in the same kernel.

nbval (``make test-notebooks``) executes each cell once and lets a cell tagged ``raises-exception``
fail; JupyterLab's "Run All" stops at the first cell that raises, whatever its tags. So here no
cell may raise: a chapter that demonstrates an error does it with
:func:`dlcourse.notebook.expect_error`, which shows the error and asserts it. Each chapter is then
executed a second time in the same kernel, as a learner who presses Run All twice does: cells
that set global state (logical devices, seeds, determinism) must be safe to run again.

No cell of either run may write to stderr or show an error: TensorFlow's, absl's and oneDNN's
log lines, Matplotlib's font-cache notice and the like must not reach a reader (README.md,
"Working on the course"). These tests are marked ``notebooks`` and run by
``make test-notebooks``, not with the unit tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
TIMEOUT = 600  # seconds per cell, as in _config.yml


def unwanted_outputs(cell) -> list[str]:
    """The outputs of a code cell that a reader must never see: stderr, errors."""
    found = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            found.append("stderr: " + "".join(output.get("text", "")).strip()[:500])
        elif output.get("output_type") == "error":
            found.append(f"error: {output.get('ename')}: {output.get('evalue', '')[:300]}")
    return found


def test_no_chapter_cell_is_allowed_to_fail():
    # `raises-exception` would let nbval and the book pass a cell that stops Run All.
    tagged = [f"{path.name} cell {i}" for path in CHAPTERS
              for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"])
              if "raises-exception" in cell.get("metadata", {}).get("tags", [])]
    assert not tagged, ("use dlcourse.notebook.expect_error to show an error instead of the "
                        f"raises-exception tag: {tagged}")


def test_unwanted_outputs_are_found():
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="fine\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="I0000 port.cc:153]\n"),
                    nbformat.v4.new_output("error", ename="ValueError", evalue="bad",
                                           traceback=[])]
    assert unwanted_outputs(cell) == ["stderr: I0000 port.cc:153]", "error: ValueError: bad"]


@pytest.mark.notebooks
@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_all_twice_in_one_kernel(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=TIMEOUT, allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for run in ("first", "second"):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                client.execute_cell(cell, index)  # raises CellExecutionError on any error
                unwanted = unwanted_outputs(cell)
                assert not unwanted, (f"{path.name}, {run} Run All, cell {index}:\n"
                                      + "\n".join(unwanted))
