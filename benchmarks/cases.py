"""What ``make bench`` measures: each case times the from-scratch code and its TensorFlow twin.

Every case returns :class:`Row` objects. Times come from :func:`dlcourse.timing.compare_times`
(one process, warm-up, the two sides alternated, the median of the repeats). Before timing, each
case checks once that the two sides compute the same numbers, so that the comparison is between
equal work.

Import this module only after :func:`benchmarks.threads.pin`: it imports NumPy.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from benchmarks import threads
from dlcourse.timing import Timing, compare_times

ROOT = Path(__file__).resolve().parent.parent

# The course's targets: from-scratch time / TensorFlow time, or an absolute time.
TARGET_CONV = 2.0
TARGET_MLP = 1.0
TARGET_CNN = 2.0
TARGET_RNN = 1.5
TARGET_GATED = 1.0      # LSTM and GRU forward + backward
TARGET_CHAR_LSTM = 1.5  # one epoch of the character-level LSTM
TARGET_ATTENTION = 1.5  # MultiHeadAttention forward + backward
TARGET_IMPORT_S = 0.3
TARGET_NOTEBOOK_S = 90.0
TARGET_PART_S = 180.0   # each part of the book (_toc.yml) executes in under 3 minutes
TARGET_COURSE_S = 360.0


@dataclass
class Row:
    """One line of the table.

    ``scratch`` and ``tf`` are seconds (or megabytes when ``unit == "MB"``); ``target`` is a
    bound on ``ratio`` when ``target_kind == "ratio"`` and on ``scratch`` when it is ``"max"``.
    """

    section: str
    name: str
    shapes: str
    scratch: float | None
    tf: float | None = None
    unit: str = "s"
    target: float | None = None
    target_kind: str | None = None  # "ratio", "max" or None (for information)
    includes: str = ""
    ok: bool = True  # False when the case itself failed (a notebook that errors, TF imported)
    cpu: float | None = None  # CPU seconds of the from-scratch side, where measured
    scratch_times: list[float] = field(default_factory=list)
    tf_times: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.scratch is None or not self.tf:
            return None
        return self.scratch / self.tf

    @property
    def met(self) -> bool | None:
        if self.target_kind is None:
            return None if self.ok else False
        value = self.ratio if self.target_kind == "ratio" else self.scratch
        return self.ok and value is not None and value <= self.target

    def to_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


@dataclass
class Settings:
    """How much to measure: the full run of ``make bench`` or the quick one of ``bench-quick``."""

    quick: bool
    threads: int
    repeat_fast: int  # operations of a few milliseconds
    repeat_slow: int  # training epochs of the MLP
    repeat_cnn: int  # training epochs of the CNN (several seconds each)
    repeat_naive: int
    warmup: int
    train_examples: int  # how many of the 4,000 training digits an epoch uses
    naive_batches: tuple[int, ...]
    repeat_import: int  # fresh interpreters importing dlcourse.scratch
    repeat_import_tf: int  # ... importing TensorFlow (tens of seconds under load; 0: skipped)


def settings(quick: bool, threads_: int) -> Settings:
    if quick:
        return Settings(quick=True, threads=threads_, repeat_fast=2, repeat_slow=1, repeat_cnn=1,
                        repeat_naive=1, warmup=1, train_examples=256, naive_batches=(1,),
                        repeat_import=1, repeat_import_tf=0)
    return Settings(quick=False, threads=threads_, repeat_fast=15, repeat_slow=5, repeat_cnn=3,
                    repeat_naive=3, warmup=2, train_examples=4000, naive_batches=(1, 2, 4),
                    repeat_import=7, repeat_import_tf=3)


def _row(section, name, shapes, timings: dict[str, Timing], **kwargs) -> Row:
    return Row(section, name, shapes, timings["scratch"].median, timings["tf"].median,
               scratch_times=list(timings["scratch"].times), tf_times=list(timings["tf"].times),
               **kwargs)


def _assert_close(actual, expected, what: str, rtol: float = 2e-4) -> None:
    """float32 agreement between the two sides, relative to the largest value."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"benchmark {what}: the two sides disagree on the shape, "
                             f"{actual.shape} and {expected.shape}")
    scale = max(float(np.abs(expected).max()), 1e-30)
    err = float(np.abs(actual - expected).max()) / scale
    if err > rtol:
        raise AssertionError(f"benchmark {what}: the two sides disagree, max error {err:.2e} of "
                             f"the largest value > {rtol:g}")


# ------------------------------------------------------------------------------ Conv2D
def _tf_conv_step(tf, kernel, bias, compute_input_grad: bool):
    """``tf.nn.conv2d`` forward and backward in a ``tf.function``, given ``dJ/dy``."""
    kernel_var, bias_var = tf.Variable(kernel), tf.Variable(bias)

    @tf.function
    def step(x, grad_y):
        with tf.GradientTape() as tape:
            if compute_input_grad:
                tape.watch(x)
            y = tf.nn.conv2d(x, kernel_var, strides=1, padding="VALID") + bias_var
        sources = [x, kernel_var, bias_var] if compute_input_grad else [kernel_var, bias_var]
        return y, tape.gradient(y, sources, output_gradients=grad_y)

    return step


def _conv_inputs(batch, height, width, channels, filters, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, height, width, channels), dtype=np.float32)
    kernel = rng.standard_normal((3, 3, channels, filters), dtype=np.float32) / 3.0
    bias = rng.standard_normal(filters, dtype=np.float32)
    grad_y = rng.standard_normal((batch, height - 2, width - 2, filters), dtype=np.float32)
    return x, kernel, bias, grad_y


def _check_conv(scratch_out, tf_out, compute_input_grad, what):
    y, (grad_x, grad_kernel, grad_bias) = scratch_out
    y_tf, grads_tf = tf_out
    _assert_close(y, y_tf.numpy(), f"{what}: output")
    if compute_input_grad:
        _assert_close(grad_x, grads_tf[0].numpy(), f"{what}: dJ/dx")
    else:
        assert grad_x is None, f"benchmark {what}: compute_input_grad=False still returned dJ/dx"
    _assert_close(grad_kernel, grads_tf[-2].numpy(), f"{what}: dJ/dkernel")
    _assert_close(grad_bias, grads_tf[-1].numpy(), f"{what}: dJ/dbias")


def conv_rows(cfg: Settings) -> list[Row]:
    """Conv2D forward + backward at the course's two shapes: conv2d/conv2d_backward vs TF."""
    from dlcourse.keras_ref import tf
    from dlcourse.scratch.conv import conv2d, conv2d_backward

    rows = []
    cases = [("first layer", (64, 28, 28, 1, 32), False),
             ("second layer", (64, 13, 13, 32, 64), True)]
    for label, (b, h, w, c, f), compute_input_grad in cases:
        x, kernel, bias, grad_y = _conv_inputs(b, h, w, c, f)
        tf_step = _tf_conv_step(tf, kernel, bias, compute_input_grad)
        x_tf, grad_y_tf = tf.constant(x), tf.constant(grad_y)

        def scratch(x=x, kernel=kernel, bias=bias, grad_y=grad_y,
                    compute_input_grad=compute_input_grad):
            y = conv2d(x, kernel, bias)
            return y, conv2d_backward(grad_y, x, kernel, compute_input_grad=compute_input_grad)

        def tensorflow(step=tf_step, x_tf=x_tf, grad_y_tf=grad_y_tf):
            return step(x_tf, grad_y_tf)

        _check_conv(scratch(), tensorflow(), compute_input_grad, f"Conv2D {label}")
        timings = compare_times({"scratch": scratch, "tf": tensorflow},
                                repeat=cfg.repeat_fast, warmup=cfg.warmup)
        grads = "dJ/dW, dJ/db" + (", dJ/dx" if compute_input_grad else " (no dJ/dx)")
        rows.append(_row(
            "conv", f"Conv2D fwd+bwd, {label}",
            f"{b}×{h}×{w}×{c} → {f} filters 3×3", timings, target=TARGET_CONV,
            target_kind="ratio",
            includes=f"conv2d + conv2d_backward (im2col) vs tf.nn.conv2d under GradientTape in "
                     f"a tf.function; float32; {grads}; the upstream gradient is given"))
    return rows


def naive_conv_rows(cfg: Settings) -> list[Row]:
    """The loop version on small batches, against TensorFlow: how the loops scale."""
    from dlcourse.keras_ref import tf
    from dlcourse.scratch.conv import conv2d_backward_naive, conv2d_naive

    rows = []
    for b in cfg.naive_batches:
        x, kernel, bias, grad_y = _conv_inputs(b, 28, 28, 1, 32)
        tf_step = _tf_conv_step(tf, kernel, bias, compute_input_grad=False)
        x_tf, grad_y_tf = tf.constant(x), tf.constant(grad_y)

        def scratch(x=x, kernel=kernel, bias=bias, grad_y=grad_y):
            y = conv2d_naive(x, kernel, bias)
            return y, conv2d_backward_naive(grad_y, x, kernel, compute_input_grad=False)

        def tensorflow(step=tf_step, x_tf=x_tf, grad_y_tf=grad_y_tf):
            return step(x_tf, grad_y_tf)

        if b == cfg.naive_batches[0]:
            _check_conv(scratch(), tensorflow(), False, "Conv2D naive")
        # TensorFlow takes milliseconds here: 10 calls per measurement, against one of the loops.
        timings = compare_times({"scratch": scratch, "tf": tensorflow},
                                repeat=cfg.repeat_naive, warmup=min(cfg.warmup, 1),
                                number={"scratch": 1, "tf": 10})
        rows.append(_row(
            "conv-naive", f"Conv2D fwd+bwd, loops (batch {b})", f"{b}×28×28×1 → 32 filters 3×3",
            timings,
            includes="conv2d_naive + conv2d_backward_naive (four nested Python loops) vs "
                     "tf.nn.conv2d; no dJ/dx; for information: the time grows with the batch"))
    return rows


# ------------------------------------------------------------------------------ training
def _mnist(n: int, flat: bool):
    from dlcourse.data import load_mnist

    (x_train, y_train), _ = load_mnist()
    x = x_train[:n].astype("float32") / 255.0
    x = x.reshape(n, 784) if flat else x.reshape(n, 28, 28, 1)
    return x, y_train[:n].astype("int64")


def _compiled_twins(twins):
    from dlcourse.keras_ref import keras_loss, keras_optimizer
    from dlcourse.scratch import Adam, SparseCategoricalCrossentropy

    optimizer = Adam(learning_rate=1e-3)
    loss = SparseCategoricalCrossentropy(from_logits=True)
    twins.scratch.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    twins.keras.compile(optimizer=keras_optimizer(optimizer), loss=keras_loss(loss),
                        metrics=["accuracy"])
    return twins


def _epoch_row(cfg: Settings, name: str, twins, x, y, target: float, shapes: str,
               repeat: int, examples: str = "digits") -> Row:
    """One epoch of ``Sequential.fit`` against Keras's ``fit``, from the same weights;
    ``examples`` says what the ``len(x)`` examples are."""
    from dlcourse.scratch import set_random_seed

    _compiled_twins(twins)
    scratch_model, keras_model = twins
    for a, b in zip(scratch_model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # twins: the same starting point
    set_random_seed(0)
    # The warm-up: one short fit on each side, so that Keras traces its train step here.
    warm = slice(0, 64)
    scratch_model.fit(x[warm], y[warm], epochs=1, batch_size=32, verbose=0)
    keras_model.fit(x[warm], y[warm], epochs=1, batch_size=32, verbose=0)

    def scratch():
        return scratch_model.fit(x, y, epochs=1, batch_size=32, verbose=0)

    def keras():
        return keras_model.fit(x, y, epochs=1, batch_size=32, verbose=0)

    timings = compare_times({"scratch": scratch, "tf": keras}, repeat=repeat,
                            warmup=0 if cfg.quick else 1)
    steps = -(-len(x) // 32)
    return _row("train", name, shapes, timings, target=target, target_kind="ratio",
                includes=f"one epoch, {len(x)} {examples}, batch 32 ({steps} steps), Adam, "
                         "SparseCategoricalCrossentropy(from_logits=True), accuracy metric, "
                         "shuffled; Sequential.fit vs keras fit(verbose=0), tracing excluded "
                         "(warm-up fits first), Keras's per-fit data pipeline included")


def mlp_rows(cfg: Settings) -> list[Row]:
    from dlcourse.keras_ref import mlp_twins

    x, y = _mnist(cfg.train_examples, flat=True)
    return [_epoch_row(cfg, "MLP training epoch", mlp_twins(seed=0), x, y, TARGET_MLP,
                       "784-128-10 (ReLU), batch 32", cfg.repeat_slow)]


def cnn_rows(cfg: Settings) -> list[Row]:
    from dlcourse.keras_ref import mnist_cnn_twins

    x, y = _mnist(cfg.train_examples, flat=False)
    return [_epoch_row(cfg, "CNN training epoch", mnist_cnn_twins(seed=0), x, y, TARGET_CNN,
                       "Conv32-Pool-Dense128-10, batch 32", cfg.repeat_cnn)]


# ------------------------------------------------------------------------------ recurrent layers
RNN_BATCH, RNN_STEPS, RNN_FEATURES, RNN_UNITS = 32, 50, 8, 64
GATED_FEATURES = 16  # LSTM and GRU: batch 32, 50 steps, 16 features → 64 units


def _recurrent_layer_row(cfg: Settings, section: str, name: str, layer, twin, features: int,
                         target: float, includes: str) -> Row:
    """A recurrent layer's forward + backward through time, last state out, against its Keras
    twin (same weights) under ``tf.GradientTape`` in a ``tf.function``."""
    from dlcourse.keras_ref import tf

    rng = np.random.default_rng(0)
    x = rng.standard_normal((RNN_BATCH, RNN_STEPS, features), dtype=np.float32)
    grad_y = rng.standard_normal((RNN_BATCH, RNN_UNITS), dtype=np.float32)
    layer.forward(x)
    twin.build((None, RNN_STEPS, features))
    twin.set_weights(layer.get_weights())
    x_tf, grad_y_tf = tf.constant(x), tf.constant(grad_y)

    @tf.function
    def tf_step(x, grad_y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = twin(x, training=True)
        return y, tape.gradient(y, [x, *twin.trainable_weights], output_gradients=grad_y)

    def scratch():
        y = layer.forward(x, training=True)
        return y, layer.backward(grad_y)

    def tensorflow():
        return tf_step(x_tf, grad_y_tf)

    kind = type(layer).__name__
    y, grad_x = scratch()
    y_tf, grads_tf = tensorflow()
    _assert_close(y, y_tf.numpy(), f"{kind}: output")
    _assert_close(grad_x, grads_tf[0].numpy(), f"{kind}: dJ/dx")
    for weight, g in zip(layer.weight_names, grads_tf[1:], strict=True):
        _assert_close(layer.grads[weight], g.numpy(), f"{kind}: dJ/d{weight}")
    timings = compare_times({"scratch": scratch, "tf": tensorflow}, repeat=cfg.repeat_fast,
                            warmup=cfg.warmup)
    return _row(section, name,
                f"batch {RNN_BATCH}, {RNN_STEPS} steps, {features} → {RNN_UNITS} units",
                timings, target=target, target_kind="ratio",
                includes=f"{kind} layer forward(training=True) + backward vs keras {kind} under "
                         f"GradientTape in a tf.function; {includes}, last state out, float32; "
                         "dJ/dx and every weight's gradient")


def rnn_rows(cfg: Settings) -> list[Row]:
    """SimpleRNN forward + backward through time, last state out, against Keras's SimpleRNN."""
    from dlcourse.keras_ref import keras
    from dlcourse.scratch import SimpleRNN

    return [_recurrent_layer_row(cfg, "rnn", "SimpleRNN fwd+bwd (BPTT)",
                                 SimpleRNN(RNN_UNITS, seed=0, name="rnn"),
                                 keras.layers.SimpleRNN(RNN_UNITS, name="rnn"), RNN_FEATURES,
                                 TARGET_RNN, "tanh")]


def gated_rows(cfg: Settings) -> list[Row]:
    """LSTM and GRU forward + backward through time against Keras's layers, same weights."""
    from dlcourse.keras_ref import keras
    from dlcourse.scratch.gru import GRU
    from dlcourse.scratch.lstm import LSTM

    return [
        _recurrent_layer_row(cfg, "gated", "LSTM forward+backward",
                             LSTM(RNN_UNITS, seed=0, name="lstm"),
                             keras.layers.LSTM(RNN_UNITS, name="lstm"), GATED_FEATURES,
                             TARGET_GATED, "gates i, f, c, o (σ) and tanh"),
        _recurrent_layer_row(cfg, "gated", "GRU forward+backward",
                             GRU(RNN_UNITS, seed=0, name="gru"),
                             keras.layers.GRU(RNN_UNITS, name="gru"), GATED_FEATURES,
                             TARGET_GATED, "reset_after=True, gates z, r (σ) and tanh"),
    ]


# ------------------------------------------------------------------------------ attention
ATTENTION_BATCH, ATTENTION_STEPS, ATTENTION_WIDTH, ATTENTION_HEADS = 32, 64, 64, 4


def attention_rows(cfg: Settings) -> list[Row]:
    """MultiHeadAttention as self-attention, forward + backward, against Keras's layer (same
    weights) under ``tf.GradientTape`` in a ``tf.function``."""
    from dlcourse.keras_ref import keras, tf
    from dlcourse.scratch.attention import MultiHeadAttention

    key_dim = ATTENTION_WIDTH // ATTENTION_HEADS
    layer = MultiHeadAttention(ATTENTION_HEADS, key_dim, seed=0, name="attention")
    twin = keras.layers.MultiHeadAttention(ATTENTION_HEADS, key_dim, name="attention")
    rng = np.random.default_rng(0)
    shape = (ATTENTION_BATCH, ATTENTION_STEPS, ATTENTION_WIDTH)
    x = rng.standard_normal(shape, dtype=np.float32)
    grad_y = rng.standard_normal(shape, dtype=np.float32)
    layer(x, x)
    twin.build(shape, shape)
    twin.set_weights(layer.get_weights())
    x_tf, grad_y_tf = tf.constant(x), tf.constant(grad_y)

    @tf.function
    def tf_step(x, grad_y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = twin(x, x, training=True)
        return y, tape.gradient(y, [x, *twin.trainable_weights], output_gradients=grad_y)

    def scratch():
        y = layer(x, x, training=True)
        grads = layer.backward(grad_y)
        return y, grads.grad_query + grads.grad_value  # x is the query and the value

    def tensorflow():
        return tf_step(x_tf, grad_y_tf)

    y, grad_x = scratch()
    y_tf, grads_tf = tensorflow()
    _assert_close(y, y_tf.numpy(), "MultiHeadAttention: output")
    _assert_close(grad_x, grads_tf[0].numpy(), "MultiHeadAttention: dJ/dx")
    for weight, g in zip(layer.weight_names, grads_tf[1:], strict=True):
        if weight != "key/bias":  # zero in exact arithmetic: compared are two roundings of 0
            _assert_close(layer.grads[weight], g.numpy(), f"MultiHeadAttention: dJ/d{weight}")
    timings = compare_times({"scratch": scratch, "tf": tensorflow}, repeat=cfg.repeat_fast,
                            warmup=cfg.warmup)
    return [_row("attention", "MultiHeadAttention fwd+bwd",
                 f"batch {ATTENTION_BATCH}, {ATTENTION_STEPS} positions, width "
                 f"{ATTENTION_WIDTH}, {ATTENTION_HEADS} heads", timings,
                 target=TARGET_ATTENTION, target_kind="ratio",
                 includes="self-attention layer(x, x, training=True) + backward vs keras "
                          "MultiHeadAttention under GradientTape in a tf.function; float32; "
                          "dJ/dx and every weight's gradient")]


# ------------------------------------------------------------------------------ char-level LSTM
CHAR_TEXT_CHARS, CHAR_WINDOW, CHAR_STEP = 20_000, 40, 3
CHAR_EMBEDDING, CHAR_UNITS = 16, 64
#: Standard-library modules whose docstrings make the text (prose, offline, in every Python).
CHAR_SOURCES = ("argparse", "textwrap", "functools", "collections", "inspect", "pathlib",
                "json", "logging", "random", "statistics")


def char_text(n_chars: int = CHAR_TEXT_CHARS) -> str:
    """About ``n_chars`` characters of English prose: the standard library's docstrings.

    The docstrings of :data:`CHAR_SOURCES`, read from their source with :mod:`ast` (nothing is
    executed), lowercased, whitespace collapsed to single spaces, and every character outside
    ``a-z``, digits and common punctuation replaced by a space: a vocabulary of about 60
    characters.
    """
    import ast
    import importlib.util
    import re
    import string

    keep = set(string.ascii_lowercase + string.digits + " .,;:!?'\"()[]{}<>-_=+*/%#&")
    pieces, total = [], 0
    for module in CHAR_SOURCES:
        origin = importlib.util.find_spec(module).origin
        if origin.endswith("__init__.py") or not origin.endswith(".py"):
            continue
        tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                 ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    text = " ".join(doc.lower().split())
                    text = "".join(ch if ch in keep else " " for ch in text)
                    pieces.append(re.sub(" +", " ", text))
                    total += len(pieces[-1]) + 1
            if total >= n_chars:
                return " ".join(pieces)[:n_chars]
    return " ".join(pieces)[:n_chars]


def char_lm_rows(cfg: Settings) -> list[Row]:
    """One epoch of Embedding → LSTM → Dense on next-character windows: fit against fit."""
    from dlcourse.keras_ref import Twins, to_keras
    from dlcourse.scratch import Dense, Sequential
    from dlcourse.scratch.embedding import Embedding
    from dlcourse.scratch.lstm import LSTM
    from dlcourse.text import Vocabulary, next_token_windows

    text = char_text(2_000 if cfg.quick else CHAR_TEXT_CHARS)
    vocab = Vocabulary.characters(text)
    x, y = next_token_windows(vocab.encode(text), CHAR_WINDOW, step=CHAR_STEP)
    model = Sequential([Embedding(len(vocab), CHAR_EMBEDDING, seed=0, name="embedding"),
                        LSTM(CHAR_UNITS, seed=1, name="lstm"),
                        Dense(len(vocab), seed=2, name="logits")], name="char_lstm")
    model.predict(x[:2])  # built by a first call: its Keras twin takes the same weights
    twins = Twins(model, to_keras(model))
    np.testing.assert_allclose(twins.scratch.predict(x[:64]),
                               twins.keras.predict(x[:64], verbose=0), rtol=1e-4, atol=1e-5)
    examples = (f"windows of {CHAR_WINDOW} characters (one every {CHAR_STEP}) from "
                f"{len(text):,} characters of standard-library docstrings, the next character "
                "as the label")
    return [_epoch_row(cfg, "char-level LSTM epoch", twins, x, y, TARGET_CHAR_LSTM,
                       f"Embedding({len(vocab)}, {CHAR_EMBEDDING})-LSTM{CHAR_UNITS}-"
                       f"Dense{len(vocab)}, {CHAR_WINDOW} chars, batch 32", cfg.repeat_cnn,
                       examples)]


# ------------------------------------------------------------------------------ import time
_IMPORT_CHILD = """
import json, sys, time
start, cpu_start = time.perf_counter(), time.process_time()
{statement}
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
print(json.dumps({{"seconds": seconds, "cpu": cpu, "tensorflow": "tensorflow" in sys.modules}}))
"""

IMPORTS = {
    "scratch": "import dlcourse.scratch",
    "tf": "import tensorflow as tf\nfrom tensorflow import keras\nkeras.layers.Dense",
}


def _child_import(statement: str, n_threads: int) -> dict:
    env = threads.environment(n_threads)
    # As on a learner's machine, compiled bytecode is cached (in __pycache__, ignored by git)
    # after the first import, even where PYTHONDONTWRITEBYTECODE is set.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run([sys.executable, "-c", _IMPORT_CHILD.format(statement=statement)],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_rows(cfg: Settings) -> list[Row]:
    """``import dlcourse.scratch`` in fresh interpreters, against ``import tensorflow``.

    The TensorFlow side gets fewer repeats (none in the quick mode): it takes seconds each.
    """
    times: dict[str, list[float]] = {"scratch": [], "tf": []}
    cpu: list[float] = []
    tf_seen = False
    for r in range(cfg.repeat_import + 1):  # round 0 warms the caches (files, bytecode)
        # TensorFlow's import takes seconds: fewer rounds of it, still alternated.
        with_tf = cfg.repeat_import_tf > 0 and r <= cfg.repeat_import_tf
        sides = ("scratch", "tf") if with_tf else ("scratch",)
        for side in (sides if r % 2 == 0 else sides[::-1]):
            result = _child_import(IMPORTS[side], cfg.threads)
            if side == "scratch":
                tf_seen |= result["tensorflow"]
            if r > 0:
                times[side].append(result["seconds"])
                if side == "scratch":
                    cpu.append(result["cpu"])
    scratch = times["scratch"]
    tf_times = times.get("tf", [])
    return [Row("import", "import dlcourse.scratch", "fresh interpreter",
                statistics.median(scratch), statistics.median(tf_times) if tf_times else None,
                target=TARGET_IMPORT_S, target_kind="max", ok=not tf_seen,
                scratch_times=scratch, tf_times=tf_times, cpu=statistics.median(cpu),
                includes="wall time of the import statement alone (NumPy's import included, "
                         "the interpreter's start-up not), median of fresh subprocesses with "
                         "bytecode cached after the first; best "
                         f"{min(scratch):.3f} s, CPU time {statistics.median(cpu):.3f} s; "
                         + ("TF column: import tensorflow + keras; " if tf_times else "")
                         + ("TENSORFLOW WAS IMPORTED" if tf_seen else "no TensorFlow import"))]


# ------------------------------------------------------------------------------ memory
_MEMORY_CHILD = ROOT / "benchmarks" / "memory_child.py"


def _child_memory(side: str, n: int, n_threads: int) -> float:
    out = subprocess.run([sys.executable, str(_MEMORY_CHILD), side, str(n)],
                         capture_output=True, text=True, check=True, cwd=ROOT,
                         env=threads.environment(n_threads))
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def memory_rows(cfg: Settings) -> list[Row]:
    """Peak memory of one CNN epoch: NumPy allocations (tracemalloc), and each side's RSS."""
    from dlcourse.scratch import Adam, SparseCategoricalCrossentropy, models

    x, y = _mnist(cfg.train_examples, flat=False)
    model = models.mnist_cnn(seed=0)
    model.compile(optimizer=Adam(), loss=SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rows = [Row("memory", "CNN epoch, peak NumPy memory", f"{len(x)} digits, batch 32",
                (peak - before) / 2**20, unit="MB",
                includes="tracemalloc peak of the allocations made during one from-scratch "
                         "epoch (weights, Adam state, activations, im2col matrices; the data "
                         "set excluded); no TF counterpart (its allocator is not traced)")]
    if not cfg.quick:
        rss = {side: _child_memory(side, cfg.train_examples, cfg.threads)
               for side in ("scratch", "tf")}
        rows.append(Row("memory", "CNN epoch, peak process memory", f"{len(x)} digits, batch 32",
                        rss["scratch"], rss["tf"], unit="MB",
                        includes="peak resident set size (VmHWM) of a fresh process that "
                                 "imports, loads the digits, builds the model and trains one "
                                 "epoch (Python, NumPy and, on the TF side, TensorFlow "
                                 "included)"))
    return rows


# ------------------------------------------------------------------------------ notebooks
def toc_parts(toc: Path) -> list[tuple[str, list[str]]]:
    """The parts of the book's table of contents: (caption, notebook file names), in order."""
    import yaml

    config = yaml.safe_load(toc.read_text(encoding="utf-8")) or {}
    parts = []
    for part in config.get("parts", []):
        names = [Path(entry["file"]).name + ".ipynb" for entry in part.get("chapters", [])
                 if "file" in entry]
        parts.append((part.get("caption", "(untitled part)"), names))
    return parts


def notebook_rows(cfg: Settings, chapters_dir: Path | None = None,
                  toc: Path | None = None) -> list[Row]:
    """Every chapter notebook executed by nbval, as ``make test-notebooks`` does, timed.

    One pytest process runs them all (nbval starts a fresh kernel for each notebook); each
    notebook's time is the sum of its cells' times in pytest's JUnit report (its kernel's start
    included), the course's time is the whole process's wall-clock time. Each part of the book
    (``toc``, default _toc.yml) that has notebooks gets a row too: the sum of its notebooks.
    """
    chapters_dir = chapters_dir or ROOT / "chapters"
    toc = toc or ROOT / "_toc.yml"
    notebooks = sorted(chapters_dir.glob("*.ipynb"))
    if not notebooks:
        return []
    print(f"bench: notebooks: {len(notebooks)} in one nbval run (as make test-notebooks)...",
          file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-nbval-") as tmp:
        junit = Path(tmp) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
                   "-p", "no:randomly", "-p", "no:cacheprovider", "-q", f"--junitxml={junit}",
                   *map(str, notebooks)]
        cpu_start, start = _children_cpu(), time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                                env=threads.environment(cfg.threads), timeout=3600)
        total = time.perf_counter() - start
        total_cpu = _children_cpu() - cpu_start
        cells = ElementTree.parse(junit).getroot().iter("testcase") if junit.is_file() else []
        per_notebook = {nb.name: [0.0, 0, True] for nb in notebooks}  # seconds, cells, passed
        for cell in cells:
            name = next((n for n in per_notebook if cell.get("classname", "").endswith(n)), None)
            if name is None:
                continue
            entry = per_notebook[name]
            entry[0] += float(cell.get("time", 0.0))
            entry[1] += 1
            entry[2] &= cell.find("failure") is None and cell.find("error") is None
    if result.returncode != 0:
        tail = "\n".join(result.stdout.strip().splitlines()[-8:])
        print(f"bench: nbval failed:\n{tail}", file=sys.stderr)
    rows = []
    for nb in notebooks:
        seconds, n_cells, passed = per_notebook[nb.name]
        ok = passed and (n_cells > 0 or result.returncode == 0)  # 0 cells: did it even load?
        print(f"bench: {nb.name}: {seconds:.1f} s{'' if ok else ' FAILED'}", file=sys.stderr)
        cells_text = f"{n_cells} cell{'s' * (n_cells != 1)}"
        rows.append(Row("notebooks", nb.stem, f"nbval, {cells_text}", seconds,
                        target=TARGET_NOTEBOOK_S, target_kind="max", ok=ok,
                        scratch_times=[seconds],
                        includes="its cells' times under pytest --nbval-lax --nbval-current-env, "
                                 "its fresh kernel's start-up included"
                                 + ("" if ok else "; FAILED")))
    by_name = {f"{row.name}.ipynb": row for row in rows}
    for caption, names in toc_parts(toc) if toc.is_file() else []:
        timed = [by_name[name] for name in names if name in by_name]
        if not timed:
            continue
        rows.append(Row("notebooks", caption, " + ".join(row.name for row in timed),
                        sum(row.scratch for row in timed), target=TARGET_PART_S,
                        target_kind="max", ok=all(row.ok for row in timed),
                        scratch_times=[sum(row.scratch for row in timed)],
                        includes="the sum of its notebooks' times"))
    all_ok = result.returncode == 0 and all(row.ok for row in rows)
    rows.append(Row("notebooks", "whole course", f"{len(notebooks)} notebooks", total,
                    target=TARGET_COURSE_S, target_kind="max", ok=all_ok,
                    scratch_times=[total], cpu=total_cpu,
                    includes="wall-clock time of the one nbval run of every notebook (pytest's "
                             f"start-up included); CPU time {total_cpu:.1f} s"
                             + ("" if all_ok else "; FAILED")))
    return rows


def _children_cpu() -> float:
    """User + system CPU seconds of every finished child process (and theirs, e.g. kernels)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


SECTIONS = {
    "conv": conv_rows,
    "naive": naive_conv_rows,
    "mlp": mlp_rows,
    "cnn": cnn_rows,
    "rnn": rnn_rows,
    "gated": gated_rows,
    "attention": attention_rows,
    "charlm": char_lm_rows,
    "import": import_rows,
    "memory": memory_rows,
    "notebooks": notebook_rows,
}
