"""The NumPy-only half of the tests runs without TensorFlow (every TensorFlow test is marked).

Runs ``pytest -m "not tensorflow"`` in a subprocess in which importing ``tensorflow`` or ``keras``
fails as it does where they are not installed. A test that reaches TensorFlow without asking for
the ``tf``/``keras``/``keras_ref`` fixture (or the ``tensorflow`` mark) fails there.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = textwrap.dedent("""
    import sys

    class NoTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoTensorFlow())
    import pytest
    sys.exit(pytest.main(sys.argv[1:]))
""")


def run_without_tensorflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER, "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=1800)


def test_the_blocker_blocks(tmp_path):
    # Without this, a broken blocker would let the real test pass with TensorFlow importable.
    probe = tmp_path / "test_probe.py"
    probe.write_text("import pytest\n\n"
                     "def test_tensorflow_cannot_be_imported():\n"
                     "    with pytest.raises(ModuleNotFoundError):\n"
                     "        import dlcourse.keras_ref  # noqa: F401\n")
    result = run_without_tensorflow("-q", "--rootdir", str(tmp_path), str(probe))
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-2000:]


@pytest.mark.slow
def test_numpy_only_tests_pass_without_tensorflow():
    result = run_without_tensorflow(
        "-q", "-m", "not tensorflow and not browser and not notebooks",
        "--deselect", "tests/test_without_tensorflow.py", "tests")
    tail = result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert " passed" in result.stdout and "error" not in result.stdout.splitlines()[-1], tail
