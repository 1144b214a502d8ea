"""Weight initialisers with Keras's formulas and defaults.

Keras's defaults: ``glorot_uniform`` kernels, ``orthogonal`` recurrent kernels, ``zeros`` biases.
The random streams differ from Keras's (NumPy's generator, not TensorFlow's), the distributions
are the same; to compare with Keras, copy the weights across with ``set_weights``.
"""

from __future__ import annotations

import numbers

import numpy as np

from dlcourse.validation import check_number

__all__ = ["compute_fans", "get", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
           "names", "ones", "orthogonal", "uniform", "zeros"]


def _check_args(fname: str, shape, rng, needs_rng: bool = True) -> tuple[int, ...]:
    """``shape`` as a tuple of ints >= 1; ``rng`` must be a NumPy Generator if it is drawn from."""
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        dims = None
    if dims is None or any(isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral)
                           or d < 1 for d in dims):
        raise ValueError(f"{fname}: shape must be a tuple of integers >= 1, got {shape!r}")
    if needs_rng and not isinstance(rng, np.random.Generator):
        raise TypeError(f"{fname}: rng must be a numpy.random.Generator, e.g. "
                        f"np.random.default_rng(0), got {type(rng).__name__}")
    return tuple(int(d) for d in dims)


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape, as Keras computes them.

    A Dense kernel ``(in, units)`` has fans ``(in, units)``; a convolution kernel
    ``(kh, kw, in, out)`` has ``(kh*kw*in, kh*kw*out)``; a vector ``(n,)`` has ``(n, n)``.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def glorot_uniform(shape, rng: np.random.Generator, dtype="float32") -> np.ndarray:
    """Uniform on ``[-L, L]`` with ``L = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio, 2010)."""
    shape = _check_args("glorot_uniform()", shape, rng)
    fan_in, fan_out = compute_fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape, rng: np.random.Generator, dtype="float32") -> np.ndarray:
    """Truncated normal (at 2 std) with ``std = sqrt(2 / (fan_in + fan_out))``, as Keras."""
    shape = _check_args("glorot_normal()", shape, rng)
    fan_in, fan_out = compute_fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / (fan_in + fan_out)), rng).astype(dtype)


def he_uniform(shape, rng: np.random.Generator, dtype="float32") -> np.ndarray:
    """Uniform on ``[-L, L]`` with ``L = sqrt(6 / fan_in)`` (He et al., 2015), for ReLU layers."""
    shape = _check_args("he_uniform()", shape, rng)
    fan_in, _ = compute_fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, rng: np.random.Generator, dtype="float32") -> np.ndarray:
    """Truncated normal (at 2 std) with ``std = sqrt(2 / fan_in)``, as Keras's ``he_normal``."""
    shape = _check_args("he_normal()", shape, rng)
    fan_in, _ = compute_fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / fan_in), rng).astype(dtype)


def _truncated_normal(shape, std, rng):
    # Keras divides by .87962566103423978, the std of a unit normal truncated at +-2.
    std = std / 0.87962566103423978
    values = rng.normal(0.0, std, size=shape)
    outside = np.abs(values) > 2 * std
    while outside.any():
        values[outside] = rng.normal(0.0, std, size=int(outside.sum()))
        outside = np.abs(values) > 2 * std
    return values


def orthogonal(shape, rng: np.random.Generator, dtype="float32", gain: float = 1.0) -> np.ndarray:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix, as Keras.

    Keras's default for ``recurrent_kernel``: an orthogonal ``W_hh`` has every singular value 1,
    so repeated multiplication neither shrinks nor grows the hidden state at initialisation.
    """
    shape = _check_args("orthogonal()", shape, rng)
    gain = check_number(gain, "gain", "orthogonal()")
    if len(shape) < 2:
        raise ValueError(f"orthogonal(): needs a shape of rank 2 or more, got {tuple(shape)}")
    rows = int(np.prod(shape[:-1]))
    cols = int(shape[-1])
    a = rng.normal(0.0, 1.0, size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # makes the distribution uniform over orthogonal matrices
    if rows < cols:
        q = q.T
    return (gain * q.reshape(shape)).astype(dtype)


def uniform(shape, rng: np.random.Generator, dtype="float32") -> np.ndarray:
    """Uniform on ``[-0.05, 0.05]``: Keras's ``"uniform"`` (``RandomUniform()``), the default of
    ``Embedding``. Its range does not depend on the shape, unlike Glorot's."""
    shape = _check_args("uniform()", shape, rng)
    return rng.uniform(UNIFORM_RANGE[0], UNIFORM_RANGE[1], size=shape).astype(dtype)


#: ``(minval, maxval)`` of :func:`uniform`, Keras's ``RandomUniform`` defaults.
UNIFORM_RANGE = (-0.05, 0.05)


def zeros(shape, rng: np.random.Generator | None = None, dtype="float32") -> np.ndarray:
    """All zeros: Keras's default for biases."""
    shape = _check_args("zeros()", shape, rng, needs_rng=False)
    return np.zeros(shape, dtype=dtype)


def ones(shape, rng: np.random.Generator | None = None, dtype="float32") -> np.ndarray:
    """All ones (e.g. the scale ``gamma`` of batch normalisation)."""
    shape = _check_args("ones()", shape, rng, needs_rng=False)
    return np.ones(shape, dtype=dtype)


_INITIALIZERS = {f.__name__: f for f in (glorot_uniform, glorot_normal, he_uniform, he_normal,
                                         orthogonal, uniform, zeros, ones)}


def names() -> list[str]:
    """The Keras names accepted by :func:`get`."""
    return sorted(_INITIALIZERS)


def get(identifier, owner: str = "initializer", argument: str | None = None):
    """Look up an initialiser by Keras name (``"glorot_uniform"``, ...) or pass a callable through.

    ``owner`` prefixes the error, e.g. ``"Dense 'dense_1'"``; ``argument`` is the argument that
    received ``identifier`` (e.g. ``"kernel_initializer"``), named in the error too.
    """
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _INITIALIZERS:
        return _INITIALIZERS[identifier]
    where = f" for {argument}" if argument else ""
    raise ValueError(f"{owner}: unknown initializer {identifier!r}{where}; expected one of "
                     f"{names()} or a callable(shape, rng, dtype)")
