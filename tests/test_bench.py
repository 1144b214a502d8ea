"""The benchmark (benchmarks/bench.py) works: its quick mode runs and reports every row.

These tests check the code path and the report, never the timings: CI machines are shared and
their speed says nothing about the code.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ sits beside the package, not inside it
    sys.path.insert(0, str(ROOT))

from benchmarks import cases  # noqa: E402
from benchmarks.bench import table  # noqa: E402

#: The rows the quick mode must report, by section: (count, whether it has a TF/Keras side).
EXPECTED = {
    "conv": (2, True),        # Conv2D forward + backward at the course's two shapes
    "conv-naive": (1, True),  # the loop version on a small batch
    "train": (3, True),       # one epoch of the MLP, the CNN and the character-level LSTM,
                              # Sequential.fit vs Keras fit
    "rnn": (1, True),         # SimpleRNN forward + backward through time
    "gated": (2, True),       # LSTM and GRU forward + backward through time
    "attention": (1, True),   # MultiHeadAttention forward + backward
    "import": (1, False),     # import dlcourse.scratch (the TF import is skipped when quick)
    "memory": (1, False),     # tracemalloc peak of a CNN epoch
}


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    output = tmp_path_factory.mktemp("bench") / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--quick", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"bench --quick failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(output.read_text()), result.stdout


@pytest.mark.slow
def test_quick_mode_reports_every_row_with_positive_times(quick_report):
    report, _ = quick_report
    assert report["mode"] == "quick"
    rows = report["rows"]
    by_section = {}
    for row in rows:
        by_section.setdefault(row["section"], []).append(row)
    assert set(by_section) == set(EXPECTED), f"sections: {sorted(by_section)}"
    for section, (count, has_tf) in EXPECTED.items():
        assert len(by_section[section]) == count, f"{section}: {by_section[section]}"
        for row in by_section[section]:
            assert row["scratch"] > 0, row
            if has_tf:
                assert row["tf"] > 0 and row["ratio"] > 0, row
                assert len(row["scratch_times"]) >= 1 and all(t > 0 for t in row["tf_times"])
            if row["target_kind"] is not None:
                assert row["met"] in (True, False), row
    names = [row["name"] for row in rows]
    assert any("MLP" in n for n in names) and any("CNN" in n for n in names)
    assert {"LSTM forward+backward", "GRU forward+backward", "char-level LSTM epoch"} <= set(names)
    # The from-scratch import must not pull in TensorFlow, whatever the time.
    (import_row,) = by_section["import"]
    assert import_row["ok"], import_row["includes"]


@pytest.mark.slow
def test_quick_mode_pins_and_reports_the_threads(quick_report):
    report, stdout = quick_report
    assert report["threads"] == 1
    assert report["blas"].endswith("1 thread")
    assert report["tensorflow_threads"].endswith("intra-op 1, inter-op 1")
    assert "threads: NumPy BLAS" in stdout and "intra-op 1, inter-op 1" in stdout
    assert "met?" in stdout and "ratio" in stdout


def _row(**kwargs):
    defaults = {"section": "conv", "name": "op", "shapes": "1×1", "scratch": 2.0, "tf": 1.0}
    return cases.Row(**{**defaults, **kwargs})


def test_ratio_targets_are_judged_on_scratch_over_tf():
    assert _row(target=2.0, target_kind="ratio").met is True  # ratio 2.0 ≤ 2.0
    assert _row(scratch=2.1, target=2.0, target_kind="ratio").met is False
    assert _row(scratch=0.5, target=1.0, target_kind="ratio").ratio == 0.5


def test_absolute_targets_and_failures():
    assert _row(scratch=0.2, tf=None, target=0.3, target_kind="max").met is True
    assert _row(scratch=0.4, tf=None, target=0.3, target_kind="max").met is False
    # A fast import that pulled in TensorFlow still misses its target.
    assert _row(scratch=0.1, tf=None, target=0.3, target_kind="max", ok=False).met is False
    assert _row(tf=None, target_kind=None).met is None
    assert _row(tf=None).ratio is None


def test_table_marks_met_and_missed_targets():
    rows = [_row(name="fast enough", scratch=1.0, target=2.0, target_kind="ratio"),
            _row(name="too slow", scratch=3.0, target=2.0, target_kind="ratio"),
            _row(name="memory", scratch=12.5, tf=None, unit="MB")]
    text = table(rows, ["header line"])
    lines = text.splitlines()
    assert lines[0] == "header line"
    fast = next(line for line in lines if "fast enough" in line)
    slow = next(line for line in lines if line.startswith("2. too slow"))
    assert fast.rstrip().endswith("✔") and slow.rstrip().endswith("✘")
    assert "12.5 MB" in text
    assert "1 met, 1 missed: too slow" in text


def test_thread_environment_sets_every_variable():
    from benchmarks import threads

    env = threads.environment(3, base={"PATH": "/bin"})
    for name in (*threads.BLAS_VARIABLES, *threads.TF_VARIABLES):
        assert env[name] == "3"
    assert env["PATH"] == "/bin"


@pytest.mark.slow
def test_notebook_rows_time_each_notebook_and_report_failures(tmp_path):
    import nbformat

    for name, source in (("a_good", "x = 1 + 1\nassert x == 2"),
                         ("b_bad", "assert 1 + 1 == 3, 'arithmetic'")):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: intro\nparts:\n"
                   "  - caption: Part A\n    chapters:\n      - file: chapters/a_good\n"
                   "  - caption: Part B\n    chapters:\n      - file: chapters/a_good\n"
                   "      - file: chapters/b_bad\n"
                   "  - caption: Appendix\n    chapters:\n      - file: chapters/glossary\n")
    rows = cases.notebook_rows(cases.settings(quick=True, threads_=1), chapters_dir=tmp_path,
                               toc=toc)
    assert [row.name for row in rows] == ["a_good", "b_bad", "Part A", "Part B", "whole course"]
    good, bad, part_a, part_b, course = rows
    # a part is the sum of its notebooks, under its own target; a failing notebook fails it
    assert part_a.scratch == good.scratch and part_a.met is True
    assert part_a.target == cases.TARGET_PART_S
    assert part_b.scratch == pytest.approx(good.scratch + bad.scratch) and part_b.met is False
    assert part_b.shapes == "a_good + b_bad"
    assert good.ok and good.met is True and good.scratch > 0 and good.shapes == "nbval, 1 cell"
    assert not bad.ok and bad.met is False and "FAILED" in bad.includes
    assert course.scratch >= good.scratch + bad.scratch and course.cpu > 0
    assert course.met is False  # a failing notebook fails the course, however fast


def test_toc_parts_reads_the_books_parts():
    parts = dict(cases.toc_parts(cases.ROOT / "_toc.yml"))
    assert parts["Part II: Architectures"] == ["05_convolution.ipynb", "06_recurrence.ipynb",
                                               "07_attention.ipynb"]
    assert all(names for names in parts.values())
