"""No log line reaches a reader: importing dlcourse.keras_ref and running TensorFlow writes nothing
to stderr, with oneDNN on or off (TF_ENABLE_ONEDNN_OPTS), on any CPU.

On CPUs with AVX512_VNNI/BF16 TensorFlow turns oneDNN on by default and announces it through
absl logging, which ignores TF_CPP_MIN_LOG_LEVEL; ``TF_ENABLE_ONEDNN_OPTS=1`` makes any x86 CPU
do the same, so these tests see the message on every machine.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dlcourse.native_log import quiet_native_log

FIRST_OPS = """
import numpy as np
import dlcourse.keras_ref as k
x = k.tf.constant([[1.0, 2.0]])
model = k.keras.Sequential([k.keras.Input((2,)), k.keras.layers.Dense(3), k.keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=1, verbose=0)
print(float(model.predict(x, verbose=0)[0, 0]) == float(model(x)[0, 0]))
"""


@pytest.mark.tensorflow
@pytest.mark.parametrize("onednn", ["0", "1", None])
def test_keras_ref_writes_nothing_to_stderr(onednn):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}  # as in JupyterLab
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    result = subprocess.run([sys.executable, "-c", FIRST_OPS], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    assert result.stderr == "", f"written to stderr:\n{result.stderr}"


@pytest.mark.tensorflow
def test_onednn_message_is_really_written_without_the_filter():
    # The test above could pass because TensorFlow stopped logging: prove the noise is there.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(TF_ENABLE_ONEDNN_OPTS="1", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", "import tensorflow"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert "oneDNN custom operations are on" in result.stderr


BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
INFO = "I0000 00:00:1796452178.608361    2841 port.cc:153] oneDNN custom operations are on.\n"
CONTINUED = ("I0000 00:00:1.5    7 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\n"
             "To enable the following instructions: AVX2, rebuild TensorFlow.\n")
WARNING = "W0000 00:00:1796452186.019835    2862 port.cc:148] TF_ENABLE_ONEDNN_OPTS is not set\n"
ERROR = "E0000 00:00:12.5    2862 cuda_dnn.cc:8] Unable to register cuDNN factory\n"
FATAL = "F0000 00:00:12.5    2862 op.cc:1] Check failed: x\n"
OTHER = "Traceback (most recent call last): something real\n"


@pytest.mark.parametrize("level, kept", [
    (0, BANNER + INFO + CONTINUED + WARNING + ERROR + FATAL + OTHER),
    (1, WARNING + ERROR + FATAL + OTHER),
    (2, ERROR + FATAL + OTHER),
    (3, FATAL + OTHER),
])
def test_log_lines_below_the_level_are_dropped_and_nothing_else(level, kept):
    text = BANNER + INFO + CONTINUED + WARNING + ERROR + FATAL + OTHER
    assert quiet_native_log(text, level) == kept
