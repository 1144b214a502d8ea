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
from queue import Empty
from time import monotonic

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
TIMEOUT = 600  # seconds per cell, as in _config.yml


def test_no_chapter_cell_is_allowed_to_fail():
    # `raises-exception` would let nbval and the book pass a cell that stops Run All.
    tagged = [f"{path.name} cell {i}" for path in CHAPTERS
              for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"])
              if "raises-exception" in cell.get("metadata", {}).get("tags", [])]
    assert not tagged, ("use dlcourse.notebook.expect_error to show an error instead of the "
                        f"raises-exception tag: {tagged}")


def run_cell(kernel, source: str, timeout: float) -> tuple[dict, list[str]]:
    """Execute ``source`` in the kernel; return its reply's content and its unwanted outputs.

    Written on jupyter_client's blocking channels, polled every second, instead of nbclient:
    nbclient's asyncio reply wait now and then misses the reply to a cell that opens widgets
    (an ``interact``) and waits out its whole timeout while the kernel sits idle (seen here,
    and reported against nbclient and nbconvert). A plain poll of the socket does not miss it.
    """
    msg_id = kernel.execute(source, allow_stdin=False, stop_on_error=True)
    deadline = monotonic() + timeout
    unwanted = []
    while True:  # the outputs, until the kernel says it is idle again
        if monotonic() > deadline:
            raise TimeoutError(f"no reply within {timeout} s")
        try:
            msg = kernel.get_iopub_msg(timeout=1)
        except Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content.get("name") == "stderr":
            unwanted.append("stderr: " + content.get("text", "").strip()[:500])
        elif kind == "error":
            unwanted.append(f"error: {content.get('ename')}: {content.get('evalue', '')[:300]}")
        elif kind == "status" and content.get("execution_state") == "idle":
            break
    while True:
        reply = kernel.get_shell_msg(timeout=max(1.0, deadline - monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"], unwanted


@pytest.mark.notebooks
@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_all_twice_in_one_kernel(path):
    nb = nbformat.read(path, as_version=4)
    manager, kernel = start_new_kernel(kernel_name="python3", cwd=str(path.parent))
    try:
        for run in ("first", "second"):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                reply, unwanted = run_cell(kernel, cell.source, TIMEOUT)
                where = f"{path.name}, {run} Run All, cell {index}"
                assert reply["status"] == "ok", (
                    f"{where} raised {reply.get('ename')}: {reply.get('evalue')}\n"
                    + "\n".join(reply.get("traceback", [])))
                assert not unwanted, f"{where}:\n" + "\n".join(unwanted)
    finally:
        kernel.stop_channels()
        manager.shutdown_kernel(now=True)


def test_run_cell_reports_what_a_reader_must_not_see():
    # The helper above must be able to fail: stderr, an error, and a widget cell that completes.
    manager, kernel = start_new_kernel(kernel_name="python3")
    try:
        reply, unwanted = run_cell(kernel, "print('fine')", 60)
        assert reply["status"] == "ok" and unwanted == []
        noise = "import sys; print('I0000 port.cc]', file=sys.stderr)"
        reply, unwanted = run_cell(kernel, noise, 60)
        assert reply["status"] == "ok" and unwanted == ["stderr: I0000 port.cc]"]
        reply, unwanted = run_cell(kernel, "raise ValueError('bad')", 60)
        assert reply["status"] == "error" and reply["ename"] == "ValueError"
        assert unwanted == ["error: ValueError: bad"]
        reply, unwanted = run_cell(
            kernel, "import ipywidgets as w\n@w.interact(n=(1, 5))\ndef f(n=2):\n    print(n)", 60)
        assert reply["status"] == "ok" and unwanted == []
    finally:
        kernel.stop_channels()
        manager.shutdown_kernel(now=True)
