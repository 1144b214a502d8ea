"""Pin the threads of NumPy's BLAS and of TensorFlow to the same count, before either starts.

Why: OpenBLAS busy-waits for its worker threads, so on a machine whose cores are shared with
other programs its default (one thread per core) can make a matrix product 10–50× slower than a
single thread. TensorFlow's thread pools suffer less, and an unpinned comparison would measure
the machine's load rather than the code. Both sides therefore get the same ``n`` threads.

Use :func:`environment` for a child process and :func:`pin` in this one, before NumPy or
TensorFlow is imported.
"""

from __future__ import annotations

import os
import sys

#: BLAS and OpenMP variables, read once when NumPy's BLAS library loads.
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: TensorFlow reads these when it creates its thread pools (the same as set_*_parallelism_threads).
TF_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def environment(n: int, base=None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) with every thread variable set to ``n``."""
    env = dict(os.environ if base is None else base)
    for name in (*BLAS_VARIABLES, *TF_VARIABLES):
        env[name] = str(n)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def pin(n: int) -> None:
    """Set the thread variables of this process; refuse if NumPy is already imported."""
    if "numpy" in sys.modules:
        raise RuntimeError("benchmarks.threads.pin(): NumPy is already imported, so its BLAS has "
                           "already chosen its thread count; call pin() first")
    os.environ.update(environment(n, base={}))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def blas_report(n: int):
    """Limit BLAS to ``n`` threads with threadpoolctl too, and describe what it found.

    Returns
    -------
    limiter : threadpoolctl.threadpool_limits
        Keep it alive for as long as the limit must hold.
    description : str
        E.g. ``"openblas 0.3.31 (pthreads): 1 thread"``.
    """
    import threadpoolctl  # a dependency of scikit-learn, which mlxtend needs

    limiter = threadpoolctl.threadpool_limits(limits=n)
    pools = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    if not pools:
        raise RuntimeError("benchmarks: threadpoolctl found no BLAS library behind NumPy")
    found = {p["num_threads"] for p in pools}
    if found != {n}:
        raise RuntimeError(f"benchmarks: asked for {n} BLAS threads, threadpoolctl reports {found}")
    description = ", ".join(
        f"{p['internal_api']} {p.get('version') or ''} ({p.get('threading_layer', '?')}): "
        f"{p['num_threads']} thread{'s' if p['num_threads'] != 1 else ''}" for p in pools)
    return limiter, description


def pin_tensorflow(n: int) -> str:
    """Give TensorFlow ``n`` intra-op and ``n`` inter-op threads (before any TF operation runs).

    TensorFlow is imported through :mod:`dlcourse.keras_ref`, whose import keeps absl's log lines
    (the oneDNN notice) off the console, as in the chapters.
    """
    from dlcourse.keras_ref import tf

    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(n)
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    if (intra, inter) != (n, n):
        raise RuntimeError(f"benchmarks: asked TensorFlow for {n} threads, it has intra-op "
                           f"{intra}, inter-op {inter}")
    return f"TensorFlow {tf.__version__}: intra-op {intra}, inter-op {inter}"
