"""The course's benchmark: the from-scratch code measured against TensorFlow, side by side.

Run it with ``make bench`` (everything, notebooks included: a few minutes) or
``make bench-quick`` (tiny repeats, a small subset, no notebooks: checks that it works), or::

    python -m benchmarks.bench [--quick] [--threads N] [--notebooks | --no-notebooks]
                               [--only conv,rnn,...] [--output _build/bench.json]

It prints a table (operation or model, shapes, from-scratch time, TensorFlow/Keras time, ratio,
target, met?) and writes the same rows, with every repeat's time, to ``_build/bench.json``.

How it measures (see :mod:`dlcourse.timing`): one process; each case checks first that both
sides compute the same numbers; then a warm-up, and repeats that alternate the two sides
(A B, B A, ...); the median is reported. NumPy's BLAS and TensorFlow get the same number of
threads (``--threads``, 1 by default), set before either library starts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: python benchmarks/bench.py
    sys.path.insert(0, str(ROOT))

from benchmarks import threads  # noqa: E402  (stdlib only: safe before the thread pinning)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench",
        description="Time the from-scratch code against TensorFlow/Keras, side by side.")
    parser.add_argument("--quick", action="store_true",
                        help="tiny repeats, 256 digits, no notebooks: checks the code path "
                             "(the timings mean little)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="threads for NumPy's BLAS and for TensorFlow (intra- and inter-op) "
                             "alike (default: 1)")
    parser.add_argument("--notebooks", action=argparse.BooleanOptionalAction, default=None,
                        help="execute every chapter notebook with nbval and time it (default: "
                             "on, off with --quick)")
    parser.add_argument("--only", default=None, metavar="SECTIONS",
                        help="comma-separated sections to run: conv, naive, mlp, cnn, rnn, "
                             "gated (LSTM, GRU), attention (MultiHeadAttention), charlm "
                             "(character-level LSTM epoch), import, memory, notebooks")
    parser.add_argument("--output", type=Path, default=ROOT / "_build" / "bench.json",
                        help="where to write the JSON (default: _build/bench.json)")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    return args


def _format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "MB":
        return f"{value:,.1f} MB"
    if value >= 1.0:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def _format_target(row) -> str:
    if row.target_kind == "ratio":
        return f"≤ {row.target:g}"
    if row.target_kind == "max":
        return f"≤ {_format_value(row.target, row.unit)}"
    return "—"


def _format_met(row) -> str:
    met = row.met
    if met is None:
        return ""
    return "✔" if met else "✘"


def table(rows, header: list[str]) -> str:
    columns = ["operation or model", "shapes", "from scratch", "TF / Keras", "ratio", "target",
               "met?"]
    lines = [[f"{i + 1}. {row.name}", row.shapes, _format_value(row.scratch, row.unit),
              _format_value(row.tf, row.unit),
              "—" if row.ratio is None else f"{row.ratio:.2f}", _format_target(row),
              _format_met(row)] for i, row in enumerate(rows)]
    widths = [max(len(c), *(len(line[k]) for line in lines)) if lines else len(c)
              for k, c in enumerate(columns)]
    right = {2, 3, 4}

    def fmt(cells):
        return "  ".join(cell.rjust(w) if k in right else cell.ljust(w)
                         for k, (cell, w) in enumerate(zip(cells, widths, strict=True)))

    rule = "─" * len(fmt(columns))
    out = [*header, rule, fmt(columns), rule, *(fmt(line) for line in lines), rule]
    out.append("ratio = from-scratch time / TensorFlow time, medians of runs that alternate the "
               "two sides. What each line includes:")
    out += [f"  {i + 1}. {row.includes}" for i, row in enumerate(rows)]
    missed = [row for row in rows if row.met is False]
    out.append(f"Targets: {sum(row.met is True for row in rows)} met, {len(missed)} missed"
               + (": " + "; ".join(row.name for row in missed) if missed else "."))
    return "\n".join(out)


def main(argv=None) -> int:
    args = parse_args(argv)
    threads.pin(args.threads)  # before NumPy: its BLAS reads the variables when it loads
    load_start = os.getloadavg()
    started = time.time()

    import numpy as np

    from benchmarks import cases

    limiter, blas = threads.blas_report(args.threads)
    tf_threads = threads.pin_tensorflow(args.threads)  # before any TensorFlow operation
    from dlcourse.keras_ref import keras, tf

    cfg = cases.settings(args.quick, args.threads)
    notebooks = (not args.quick) if args.notebooks is None else args.notebooks
    sections = list(cases.SECTIONS) if args.only is None else args.only.split(",")
    unknown = set(sections) - set(cases.SECTIONS)
    if unknown:
        raise SystemExit(f"bench: unknown section(s) {sorted(unknown)}; "
                         f"choose from {', '.join(cases.SECTIONS)}")
    if not notebooks and "notebooks" in sections:
        sections.remove("notebooks")

    rows = []
    for section in sections:
        t0 = time.perf_counter()
        new = cases.SECTIONS[section](cfg)
        rows += new
        print(f"bench: {section}: {len(new)} row(s) in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr, flush=True)
    load_end = os.getloadavg()

    mode = "quick (tiny repeats, small subset: timings not meaningful)" if args.quick else "full"
    header = [
        f"dlcourse benchmark, {mode}: {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{time.time() - started:.0f} s",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs; load average "
        f"{load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end",
        f"threads: NumPy BLAS {blas}; {tf_threads}; also in child processes "
        f"({', '.join(threads.BLAS_VARIABLES + threads.TF_VARIABLES)} = {args.threads})",
        f"Python {platform.python_version()}, NumPy {np.__version__}, Keras {keras.__version__}, "
        f"TensorFlow {tf.__version__}; repeats: {cfg.repeat_fast} (operations), "
        f"{cfg.repeat_naive} (loops), {cfg.repeat_slow} (MLP epochs), {cfg.repeat_cnn} "
        f"(CNN epochs), {cfg.repeat_import} (imports); warm-up {cfg.warmup}",
    ]
    print(table(rows, header))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "mode": "quick" if args.quick else "full",
        "threads": args.threads,
        "blas": blas,
        "tensorflow_threads": tf_threads,
        "load_average": {"start": load_start, "end": load_end},
        "cpu_count": os.cpu_count(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "tensorflow": tf.__version__, "keras": keras.__version__},
        "settings": vars(cfg),
        "header": header,
        "rows": [row.to_dict() for row in rows],
    }
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"bench: wrote {args.output}", file=sys.stderr)
    del limiter
    return 0


if __name__ == "__main__":
    sys.exit(main())
