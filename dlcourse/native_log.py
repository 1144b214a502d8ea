"""TensorFlow's C++ log lines kept off a learner's screen, by the level they ask for.

absl (TensorFlow's C++ logging) writes some lines straight to file descriptor 2 at import,
ignoring ``TF_CPP_MIN_LOG_LEVEL``: on CPUs with AVX512_VNNI or AVX512_BF16 the "oneDNN custom
operations are on" notice, and the "before absl::InitializeLog()" banner.
:func:`native_stderr_filtered` captures descriptor 2 around a block (the TensorFlow import in
:mod:`dlcourse.keras_ref`) and passes on what :func:`quiet_native_log` keeps. Imports no
TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

__all__ = ["native_stderr_filtered", "quiet_native_log"]

# A line of TensorFlow's/absl's C++ log: severity letter (Info, Warning, Error, Fatal), date, time,
# thread, source file, e.g. "I0000 00:00:1796452178.608361    2841 port.cc:153] oneDNN custom ...".
_NATIVE_LOG_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:[\d.]+\s+\d+ \S+:\d+\] ")
# What absl prints once, before the first line it logs without having been initialised.
_ABSL_BANNER = ("WARNING: All log messages before absl::InitializeLog() is called are written "
                "to STDERR")


def quiet_native_log(text: str, min_level: int) -> str:
    """``text`` without the log lines below ``min_level`` (0 info, 1 warning, 2 error, 3 fatal).

    Mirrors ``TF_CPP_MIN_LOG_LEVEL``: 3 drops info, warning and error lines (never a fatal one),
    0 drops nothing. A record may span lines (cpu_feature_guard's does): the lines after a
    dropped log line go with it, up to the next log line. Other lines are kept.
    """
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        match = _NATIVE_LOG_LINE.match(line)
        if match:
            dropping = "IWEF".index(match.group(1)) < min(min_level, 3)
        elif line.rstrip("\n") == _ABSL_BANNER:
            dropping = min_level > 0
        if not dropping:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def native_stderr_filtered():
    """Capture file descriptor 2 (C/C++ writes) for the block; pass on what the level allows.

    Python's ``sys.stderr`` is left alone: a Python warning raised in the block still shows
    where it always would. In Jupyter, descriptor 2 is the pipe the kernel forwards to the
    notebook, so restoring it restores the forwarding.
    """
    try:
        min_level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        min_level = 0
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (a detached process): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            rest = quiet_native_log(captured.read().decode("utf-8", "replace"), min_level)
            if rest:
                os.write(2, rest.encode("utf-8"))
