"""Data augmentation for digit images in NumPy: shifts, small rotations and noise, seeded.

A digit moved two pixels to the left, turned by ten degrees or sprinkled with noise is still the
same digit: training on such variants shows a model more of what the class looks like without
collecting a single new example. Each transformation comes twice:

- a deterministic one, :func:`shift` and :func:`rotate`, which applies given offsets or angles
  (one per image, or one for all);
- a random one, :func:`random_shift`, :func:`random_rotation`, :func:`add_noise`, and
  :func:`augment` which chains them, drawing its parameters from a seeded generator.

Images are ``(n, height, width)`` or ``(n, height, width, channels)`` (channels last, as Keras),
of any numeric dtype; every function returns a new array of the same shape and dtype (integer
images are rounded and clipped to their dtype's range), and never modifies its input. Pixels that
come from outside the image are the background value 0, as in MNIST.

Seeds: ``seed`` may be an int (the same result every time), a ``numpy.random.Generator`` (drawn
from, so successive calls differ yet repeat from run to run) or None (the generator of
:func:`dlcourse.scratch.set_random_seed`).
"""

from __future__ import annotations

import numbers

import numpy as np

from dlcourse.scratch.base import get_rng

__all__ = ["add_noise", "augment", "random_rotation", "random_shift", "rotate", "shift"]


# ------------------------------------------------------------------------------- helpers
def _check_images(images, func: str) -> np.ndarray:
    if isinstance(images, (list, tuple)):
        images = np.asarray(images)
    if not isinstance(images, np.ndarray):
        raise TypeError(f"{func}(): expected images as a NumPy array, got {type(images).__name__}")
    if images.dtype == object or not (np.issubdtype(images.dtype, np.number)
                                      and not np.issubdtype(images.dtype, np.complexfloating)):
        raise TypeError(f"{func}(): expected numeric images, got dtype {images.dtype}")
    if images.ndim not in (3, 4):
        raise ValueError(f"{func}(): expected images of shape (n, height, width) or "
                         f"(n, height, width, channels), got shape {images.shape}")
    if np.issubdtype(images.dtype, np.floating) and not np.isfinite(images).all():
        raise ValueError(f"{func}(): the images contain NaN or infinite values")
    return images


def _per_image(values, n: int, name: str, func: str) -> np.ndarray:
    """``values`` (a number or one per image) as a float array of shape ``(n,)``."""
    array = np.asarray(values, dtype=np.float64) if not isinstance(values, np.ndarray) \
        else values.astype(np.float64)
    if array.ndim == 0:
        array = np.full(n, float(array))
    if array.shape != (n,):
        raise ValueError(f"{func}(): {name} must be a number or one value per image, shape "
                         f"({n},), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{func}(): {name} contains NaN or infinite values")
    return array


def _check_amount(value, name: str, func: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not 0 <= value < np.inf:
        raise ValueError(f"{func}(): {name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _as_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float results back to the images' dtype: integers rounded and clipped to their range."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype, copy=False)


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return get_rng(None if seed is None else int(seed))
    raise TypeError(f"seed must be an int, a numpy.random.Generator or None, got {seed!r}")


# ------------------------------------------------------------------------------- shifts
def shift(images, dy, dx) -> np.ndarray:
    """Translate each image by whole pixels, filling the uncovered border with 0.

    Parameters
    ----------
    images : array of shape (n, height, width) or (n, height, width, channels)
    dy, dx : int or array of ints of shape (n,)
        Pixels down (``dy > 0``) and right (``dx > 0``); negative values move up and left.

    Returns
    -------
    ndarray, same shape and dtype as ``images``
        ``out[k, i, j] = images[k, i - dy[k], j - dx[k]]`` where that pixel exists, else 0.
    """
    images = _check_images(images, "shift")
    n, height, width = images.shape[:3]
    dy = _per_image(dy, n, "dy", "shift")
    dx = _per_image(dx, n, "dx", "shift")
    if not (np.all(dy == np.round(dy)) and np.all(dx == np.round(dx))):
        raise ValueError("shift(): dy and dx must be whole numbers of pixels "
                         "(use rotate() or your own interpolation for sub-pixel moves)")
    dy, dx = dy.astype(np.int64), dx.astype(np.int64)
    out = np.zeros_like(images)
    for k in range(n):  # a slice copy per image: cheaper than any fancy indexing
        sy, sx = int(dy[k]), int(dx[k])
        if abs(sy) >= height or abs(sx) >= width:
            continue  # moved entirely out of the frame
        out[k, max(sy, 0):height + min(sy, 0), max(sx, 0):width + min(sx, 0)] = \
            images[k, max(-sy, 0):height + min(-sy, 0), max(-sx, 0):width + min(-sx, 0)]
    return out


def random_shift(images, max_shift: int = 2, seed=None) -> np.ndarray:
    """Shift each image by a random whole number of pixels in ``[-max_shift, max_shift]``.

    The vertical and horizontal offsets are drawn independently and uniformly for each image.

    Parameters
    ----------
    images : array of shape (n, height, width) or (n, height, width, channels)
    max_shift : int >= 0
        The largest move, in pixels, along each axis.
    seed : int, numpy.random.Generator or None
        See the module's notes.

    Returns
    -------
    ndarray, same shape and dtype as ``images``
    """
    images = _check_images(images, "random_shift")
    if isinstance(max_shift, (bool, np.bool_)) or not isinstance(max_shift, numbers.Integral) \
            or max_shift < 0:
        raise ValueError(f"random_shift(): max_shift must be a whole number of pixels >= 0, "
                         f"got {max_shift!r}")
    rng = _rng(seed)
    offsets = rng.integers(-max_shift, max_shift, size=(2, len(images)), endpoint=True)
    return shift(images, offsets[0], offsets[1])


# ------------------------------------------------------------------------------- rotations
def rotate(images, degrees) -> np.ndarray:
    r"""Rotate each image about its centre by ``degrees``, counter-clockwise as displayed.

    Parameters
    ----------
    images : array of shape (n, height, width) or (n, height, width, channels)
    degrees : float or array of shape (n,)
        The angle of each image; positive turns counter-clockwise (as ``np.rot90`` and Keras's
        ``RandomRotation``).

    Returns
    -------
    ndarray, same shape and dtype as ``images``

    Notes
    -----
    Each output pixel looks up where it came from: for output row ``r`` and column ``c``, with
    the centre ``(r_0, c_0) = ((h - 1)/2, (w - 1)/2)`` and ``θ`` the angle,

    .. math::

        r_{\text{src}} = r_0 + (r - r_0)\cos\theta + (c - c_0)\sin\theta, \qquad
        c_{\text{src}} = c_0 - (r - r_0)\sin\theta + (c - c_0)\cos\theta,

    and takes the bilinear interpolation of the four pixels around
    ``(r_src, c_src)``, counting pixels outside the image as 0. Multiples of 90° are exact.
    """
    images = _check_images(images, "rotate")
    n, height, width = images.shape[:3]
    theta = np.deg2rad(_per_image(degrees, n, "degrees", "rotate"))[:, None, None]
    r0, c0 = (height - 1) / 2, (width - 1) / 2
    rows, cols = np.meshgrid(np.arange(height) - r0, np.arange(width) - c0, indexing="ij")
    cos, sin = np.cos(theta), np.sin(theta)
    # Round away the last bits of cos/sin, so that 90° lands exactly on pixel centres.
    src_r = np.round(r0 + rows * cos + cols * sin, 9)  # (n, height, width)
    src_c = np.round(c0 - rows * sin + cols * cos, 9)

    # Pixels outside the image are 0: pad a border of zeros and send every far-away source
    # point onto it, so that the four neighbours of any point can be read without a mask.
    src_r = np.clip(src_r, -1.0, height)
    src_c = np.clip(src_c, -1.0, width)
    r_floor, c_floor = np.floor(src_r), np.floor(src_c)
    fr, fc = src_r - r_floor, src_c - c_floor  # (n, height, width), in [0, 1)
    dtype = np.result_type(images.dtype, np.float32)  # float32 for float32 or uint8 images
    channels = images.shape[3:]  # () or (channels,)
    padded = np.pad(images.astype(dtype), [(0, 0), (1, 1), (1, 1)] + [(0, 0)] * len(channels))
    pixels = padded.reshape(n * (height + 2) * (width + 2), *channels)
    # Flat index of the top-left neighbour in the padded images (+1: the border).
    top_left = ((np.arange(n)[:, None, None] * (height + 2) + r_floor.astype(np.int64) + 1)
                * (width + 2) + c_floor.astype(np.int64) + 1)
    # A neighbour past the padded border has weight 0; clip its index to stay in the array.
    last = len(pixels) - 1
    fr, fc = fr.astype(dtype), fc.astype(dtype)
    if channels:
        fr, fc = fr[..., None], fc[..., None]
    out = np.zeros(images.shape, dtype=dtype)
    for offset, weight in ((0, (1 - fr) * (1 - fc)), (1, (1 - fr) * fc),
                           (width + 2, fr * (1 - fc)), (width + 3, fr * fc)):
        out += np.take(pixels, np.minimum(top_left + offset, last), axis=0) * weight
    return _as_dtype(out, images.dtype)


def random_rotation(images, max_degrees: float = 15.0, seed=None) -> np.ndarray:
    """Rotate each image by a random angle drawn uniformly from ``[-max_degrees, max_degrees]``.

    Parameters
    ----------
    images : array of shape (n, height, width) or (n, height, width, channels)
    max_degrees : float >= 0
        The largest angle; keep it small for digits (a 6 turned by 180° is a 9).
    seed : int, numpy.random.Generator or None
        See the module's notes.

    Returns
    -------
    ndarray, same shape and dtype as ``images``
    """
    images = _check_images(images, "random_rotation")
    max_degrees = _check_amount(max_degrees, "max_degrees", "random_rotation")
    rng = _rng(seed)
    return rotate(images, rng.uniform(-max_degrees, max_degrees, size=len(images)))


# ------------------------------------------------------------------------------- noise
def add_noise(images, stddev: float, seed=None, clip: tuple[float, float] | None = None):
    """Add independent Gaussian noise of standard deviation ``stddev`` to every pixel.

    Parameters
    ----------
    images : array of shape (n, height, width) or (n, height, width, channels)
    stddev : float >= 0
        In the images' own units: e.g. 0.1 for pixels in [0, 1], 25 for pixels in 0..255.
    seed : int, numpy.random.Generator or None
        See the module's notes.
    clip : (low, high), optional
        Clip the result to this range, e.g. ``(0, 1)``. Integer images are always clipped to
        their dtype's range (0..255 for uint8) and rounded.

    Returns
    -------
    ndarray, same shape and dtype as ``images``
    """
    images = _check_images(images, "add_noise")
    stddev = _check_amount(stddev, "stddev", "add_noise")
    rng = _rng(seed)
    noisy = images.astype(np.float64) + rng.normal(0.0, stddev, size=images.shape)
    if clip is not None:
        low, high = clip
        if not low < high:
            raise ValueError(f"add_noise(): clip must be (low, high) with low < high, "
                             f"got {clip!r}")
        noisy = np.clip(noisy, low, high)
    return _as_dtype(noisy, images.dtype)


# ------------------------------------------------------------------------------- all together
def augment(images, max_shift: int = 2, max_degrees: float = 10.0, noise_stddev: float = 0.0,
            seed=None, clip: tuple[float, float] | None = None) -> np.ndarray:
    """A random variant of each image: rotated, then shifted, then (optionally) noisy.

    Parameters
    ----------
    images : array of shape (n, height, width) or (n, height, width, channels)
    max_shift : int >= 0
        See :func:`random_shift`; 0 skips the shift.
    max_degrees : float >= 0
        See :func:`random_rotation`; 0 skips the rotation.
    noise_stddev : float >= 0
        See :func:`add_noise`; 0 adds no noise.
    seed : int, numpy.random.Generator or None
        One generator drives all three steps, so a seed fixes the whole result.
    clip : (low, high), optional
        Passed to :func:`add_noise`.

    Returns
    -------
    ndarray, same shape and dtype as ``images``

    Examples
    --------
    A fresh variant of the training set for every epoch, reproducible run to run::

        rng = np.random.default_rng(0)
        for epoch in range(epochs):
            x_epoch = augment(x_train, seed=rng)
            model.fit(x_epoch, y_train, epochs=1, verbose=0)
    """
    images = _check_images(images, "augment")
    rng = _rng(seed)
    out = images
    if _check_amount(max_degrees, "max_degrees", "augment") > 0:
        out = random_rotation(out, max_degrees, seed=rng)
    if max_shift != 0:
        out = random_shift(out, max_shift, seed=rng)
    if _check_amount(noise_stddev, "noise_stddev", "augment") > 0:
        out = add_noise(out, noise_stddev, seed=rng, clip=clip)
    return out.copy() if out is images else out
