"""dlcourse.data: offline MNIST with Keras's layout, and the generated datasets."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from dlcourse import data
from dlcourse.data import load_mnist


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_mnist_has_keras_layout(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert y_train.shape == (4000,) and y_test.shape == (1000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    assert x_train.min() == 0 and x_train.max() == 255
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))


def test_mnist_images_are_digits_not_noise(mnist):
    (x_train, _), _ = mnist
    # MNIST digits are centred on a black background: the border is almost always 0 and the
    # centre carries the ink. Random or transposed data would fail this.
    border = np.concatenate([x_train[:, :2].ravel(), x_train[:, -2:].ravel()])
    assert (border == 0).mean() > 0.99
    assert x_train[:, 10:18, 10:18].mean() > 5 * x_train.mean(axis=0)[:4, :].mean() + 10


def test_mnist_split_is_stratified_and_disjoint(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), np.full(10, 400))
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), np.full(10, 100))
    train_rows = {row.tobytes() for row in x_train.reshape(4000, -1)}
    test_rows = {row.tobytes() for row in x_test.reshape(1000, -1)}
    # The bundled file has a few byte-identical digits; the split must not put the *same
    # sample* on both sides, so the union must still cover almost all 5,000 distinct images.
    assert len(train_rows & test_rows) <= 5
    assert len(train_rows | test_rows) >= 4990


def test_mnist_classes_are_interleaved(mnist):
    (_, y_train), _ = mnist
    assert len(set(y_train[:50].tolist())) == 10


def test_mnist_same_split_every_call_and_fresh_copies(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    (x_train2, y_train2), (x_test2, y_test2) = load_mnist()
    np.testing.assert_array_equal(x_train, x_train2)
    np.testing.assert_array_equal(y_train, y_train2)
    np.testing.assert_array_equal(x_test, x_test2)
    np.testing.assert_array_equal(y_test, y_test2)
    x_train2[:] = 0  # a learner's in-place normalisation must not corrupt the next load
    (x_train3, _), _ = load_mnist()
    np.testing.assert_array_equal(x_train, x_train3)


def test_mnist_split_is_the_same_in_a_fresh_process(mnist):
    (_, y_train), (_, y_test) = mnist
    code = "from dlcourse.data import load_mnist; (a, b), (c, d) = load_mnist(); " \
           "print(b[:40].tolist(), d[:40].tolist())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"{y_train[:40].tolist()} {y_test[:40].tolist()}"


def test_mnist_unknown_source_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'bundled'.*'keras'.*got 'mnist'"):
        load_mnist("mnist")


def test_mnist_keras_source_offline_raises_and_points_to_default(tmp_path):
    # Simulate a machine without network: every socket connection fails, and KERAS_HOME is an
    # empty folder so Keras has no cached copy to fall back on.
    code = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise OSError(101, "Network is unreachable (simulated)")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from dlcourse.data import load_mnist
        try:
            load_mnist(source="keras")
        except ConnectionError as err:
            print("ConnectionError:", err)
        """
    )
    env = dict(os.environ, KERAS_HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "\nConnectionError:" in "\n" + out.stdout, out.stdout + out.stderr
    assert "source='bundled'" in out.stdout and "load_mnist()" in out.stdout
    assert not list(tmp_path.rglob("mnist.npz")), "no partial download may be left behind"


def test_importing_data_does_not_import_tensorflow():
    code = "import sys, dlcourse.data; dlcourse.data.load_mnist(); " \
           "assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "make, kwargs, n",
    [
        (data.make_spirals, dict(n_per_class=50, n_classes=3), 150),
        (data.make_moons, dict(n_samples=101), 101),
        (data.make_regression_1d, dict(n_samples=64), 64),
        (data.make_sine_sequences, dict(n_samples=32, length=12), 32),
        (data.make_remember_first, dict(n_samples=48, length=9, n_symbols=3), 48),
    ],
)
def test_generators_are_seeded_and_shaped(make, kwargs, n):
    x1, y1 = make(**kwargs, seed=1)
    x2, y2 = make(**kwargs, seed=1)
    x3, _ = make(**kwargs, seed=2)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert x1.shape[0] == y1.shape[0] == n
    assert x1.dtype == np.float32
    assert np.isfinite(x1).all()


def test_spirals_balanced_and_not_linearly_separable():
    x, y = data.make_spirals(n_per_class=200, n_classes=2, noise=0.1, seed=0)
    assert x.shape == (400, 2)
    np.testing.assert_array_equal(np.bincount(y), [200, 200])
    # The best least-squares linear classifier stays far from perfect on spirals.
    features = np.hstack([x, np.ones((len(x), 1))])
    w, *_ = np.linalg.lstsq(features, 2.0 * y - 1.0, rcond=None)
    assert ((features @ w > 0) == y).mean() < 0.8


def test_moons_balanced():
    x, y = data.make_moons(n_samples=200, noise=0.0, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [100, 100])
    # Without noise, class 0 lies on the unit upper half circle.
    np.testing.assert_allclose(np.linalg.norm(x[y == 0], axis=1), 1.0, rtol=1e-6)


def test_regression_1d_follows_its_formula():
    x, y = data.make_regression_1d(n_samples=50, noise=0.0, seed=0)
    assert x.shape == y.shape == (50, 1)
    assert np.all(np.diff(x[:, 0]) >= 0)
    np.testing.assert_allclose(y, np.sin(2 * x) + 0.3 * x, rtol=1e-5, atol=1e-6)


def test_sine_sequences_target_continues_the_signal():
    x, y = data.make_sine_sequences(n_samples=20, length=30, noise=0.0, seed=3)
    assert x.shape == (20, 30, 1) and y.shape == (20, 1)
    # The signal has period 20: the value after the window equals the value 20 steps earlier.
    np.testing.assert_allclose(y[:, 0], x[:, 30 - 20, 0], atol=1e-5)


def test_remember_first_label_is_first_symbol():
    x, y = data.make_remember_first(n_samples=100, length=10, n_symbols=5, seed=0)
    assert x.shape == (100, 10, 5)
    np.testing.assert_array_equal(x.sum(axis=2), 1.0)
    np.testing.assert_array_equal(x[:, 0].argmax(axis=1), y)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: data.make_spirals(n_per_class=0), ValueError,
         "n_per_class must be an integer >= 1, got 0"),
        (lambda: data.make_spirals(n_classes=1), ValueError,
         "n_classes must be an integer >= 2, got 1"),
        (lambda: data.make_moons(noise=-1.0), ValueError, "noise must be a number >= 0, got -1.0"),
        (lambda: data.make_regression_1d(n_samples=2.5), TypeError,
         "n_samples must be an integer >= 1, got 2.5 (float)"),
        (lambda: data.make_sine_sequences(period=0), ValueError,
         "period must be a number > 0, got 0"),
        (lambda: data.make_remember_first(n_symbols=1), ValueError,
         "n_symbols must be an integer >= 2"),
    ],
)
def test_generators_reject_bad_arguments(call, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


GENERATORS = ("make_spirals", "make_moons", "make_regression_1d", "make_sine_sequences",
              "make_remember_first")
SIZES = {"make_spirals": ("n_per_class",), "make_moons": ("n_samples",),
         "make_regression_1d": ("n_samples",), "make_sine_sequences": ("n_samples", "length"),
         "make_remember_first": ("n_samples", "length")}
GOOD = {  # valid arguments of every public function; each row of BAD changes one of them
    "load_mnist": {"source": "bundled"},
    "make_spirals": {"n_per_class": 5, "n_classes": 3, "noise": 0.1, "seed": 0},
    "make_moons": {"n_samples": 7, "noise": 0.1, "seed": 0},
    "make_regression_1d": {"n_samples": 7, "noise": 0.1, "seed": 0},
    "make_sine_sequences": {"n_samples": 3, "length": 5, "noise": 0.1, "period": 4.0, "seed": 0},
    "make_remember_first": {"n_samples": 3, "length": 5, "n_symbols": 3, "seed": 0},
}
BAD = [  # function, argument, bad value, expected error, what the message names
    *[("load_mnist", "source", v, ValueError, "source") for v in ("mnist", "Bundled", None, 5)],
    # sizes: a positive int (a float such as 10.0 is a division where // was meant)
    *[(f, arg, v, e, arg) for f in GENERATORS for arg in SIZES[f]
      for v, e in [(0, ValueError), (-5, ValueError), (2.5, TypeError), (10.0, TypeError),
                   (True, TypeError), ("3", TypeError), (None, TypeError)]],
    *[(f, arg, v, e, arg) for f, arg in (("make_spirals", "n_classes"),
                                         ("make_remember_first", "n_symbols"))
      for v, e in [(1, ValueError), (0, ValueError), (3.0, TypeError), (False, TypeError)]],
    # amounts: finite, non-negative (positive for the period)
    *[(f, "noise", v, e, "noise") for f in GENERATORS if "noise" in GOOD[f]
      for v, e in [(-1.0, ValueError), (np.nan, ValueError), (np.inf, ValueError),
                   ("0.1", TypeError), (0.1j, TypeError), (None, TypeError)]],
    *[("make_sine_sequences", "period", v, e, "period")
      for v, e in [(0, ValueError), (-20.0, ValueError), (np.nan, ValueError),
                   (np.inf, ValueError), ("20", TypeError)]],
    # seeds: an int >= 0 (or None)
    *[(f, "seed", v, e, "seed") for f in GENERATORS
      for v, e in [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError),
                   ([1, 2], TypeError)]],
]


@pytest.mark.parametrize(("func", "arg", "value", "error", "named"), BAD,
                         ids=[f"{f}-{a}-{i}" for i, (f, a, *_) in enumerate(BAD)])
def test_bad_arguments_are_refused_by_name(func, arg, value, error, named):
    with pytest.raises(error) as err:
        getattr(data, func)(**{**GOOD[func], arg: value})
    message = str(err.value)
    assert message.startswith(f"{func}(): "), message
    assert named in message, message


def test_every_public_function_has_bad_arguments_tried():
    functions = {name for name in data.__all__ if callable(getattr(data, name))}
    assert functions == set(GOOD) == {func for func, *_ in BAD}
    for func, kwargs in GOOD.items():   # and the valid arguments of the table are valid
        getattr(data, func)(**kwargs)


@pytest.mark.parametrize("func", GENERATORS)
def test_numpy_integers_are_sizes_and_seeds_too(func):
    # np.int64 values (e.g. from np.arange or len of an array) are the same as Python ints.
    as_numpy = {k: np.int64(v) if type(v) is int else v for k, v in GOOD[func].items()}
    for a, b in zip(getattr(data, func)(**as_numpy), getattr(data, func)(**GOOD[func]),
                    strict=True):
        np.testing.assert_array_equal(a, b)
