"""Train the course CNN for one epoch in this fresh process and print its peak RSS as JSON.

Run by ``benchmarks/cases.py`` (``memory_rows``), once per side::

    python benchmarks/memory_child.py scratch 4000
    python benchmarks/memory_child.py tf 4000

The peak resident set size covers everything the process ever held: the interpreter, NumPy, on
the TF side TensorFlow itself, the digits, the model. It is read from ``VmHWM`` in
``/proc/self/status`` (Linux), not from ``resource.getrusage(...).ru_maxrss``: Linux carries
``ru_maxrss`` over ``execve``, so a child started by a large parent (the benchmark, with
TensorFlow loaded) would report the parent's peak.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

STATUS = Path("/proc/self/status")


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (``VmHWM``, Linux only)."""
    if not STATUS.is_file():
        raise SystemExit("memory_child.py: needs Linux's /proc/self/status (VmHWM) to read the "
                         "peak memory of this process alone")
    for line in STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # the line reads "VmHWM:   123456 kB"
    raise SystemExit(f"memory_child.py: no VmHWM line in {STATUS}")


def main(side: str, n: int) -> None:
    import numpy as np

    from dlcourse.data import load_mnist
    from dlcourse.scratch import Adam, SparseCategoricalCrossentropy

    (x, y), _ = load_mnist()
    x = (x[:n].astype("float32") / 255.0).reshape(n, 28, 28, 1)
    y = y[:n].astype(np.int64)
    optimizer, loss = Adam(), SparseCategoricalCrossentropy(from_logits=True)
    if side == "scratch":
        from dlcourse.scratch import models

        model = models.mnist_cnn(seed=0)
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    elif side == "tf":
        from dlcourse.keras_ref import keras_loss, keras_optimizer, mnist_cnn_twins

        model = mnist_cnn_twins(seed=0).keras
        model.compile(optimizer=keras_optimizer(optimizer), loss=keras_loss(loss),
                      metrics=["accuracy"])
    else:
        raise SystemExit(f"memory_child.py: side must be 'scratch' or 'tf', got {side!r}")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    print(json.dumps({"side": side, "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
