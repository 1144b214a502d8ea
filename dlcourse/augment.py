"""Data augmentation for digit images in NumPy: shifts, small rotations and noise, seeded.

A digit moved two pixels to the left, turned by ten degrees or sprinkled with noise is still the
same digit: training on such variants shows a model more of what the class looks like without
collecting a single new example. Each transformation comes twice:

- a deterministic one, :func:`shift` and :func:`rotate`, which applies given offsets or angles
  (one per image, or one for all);
- a random one, :func:`random_shift`, :func:`random_rotation`, :func:`add_noise`, and
  :func:`augment` which chains them, drawing its parameters from a seeded generator.

Images are ``(n, height, width)`` or ``(n, height, width, channels)`` (channels last, as Keras),
of any integer or floating-point dtype (not boolean or complex), finite; every function returns
a new array of the same shape and dtype (integer images are rounded and clipped to their dtype's
range), and never modifies its input. Pixels that come from outside the image are the
background value 0, as in MNIST.

Seeds: ``seed`` may be an int (the same result every time), a ``numpy.random.Generator`` (drawn
from, so successive calls differ yet repeat from run to run) or None (the generator of
:func:`dlcourse.scratch.set_random_seed`). Every argument is checked before the first draw, so
a call that is refused leaves the generator as it was.
"""

from __future__ import annotations

import numbers

import numpy as np

from dlcourse.scratch.base import get_rng
from dlcourse.validation import check_array, check_int, check_number, check_seed

__all__ = ["add_noise", "augment", "random_rotation", "random_shift", "rotate", "shift"]

# The largest max_shift: a million pixels (a move of a whole image or more empties it anyway).
_MAX_SHIFT = 1_000_000


# ------------------------------------------------------------------------------- helpers
def _check_images(images, owner: str) -> np.ndarray:
    """A batch of images: real numbers, finite, ``(n, height, width[, channels])``."""
    images = check_array(images, "images", owner)
    if images.ndim not in (3, 4):
        raise ValueError(f"{owner}: images must have shape (n, height, width) or "
                         f"(n, height, width, channels), got shape {images.shape}")
    if 0 in images.shape[1:]:
        raise ValueError(f"{owner}: images must be at least 1 pixel high and wide (and have a "
                         f"channel), got shape {images.shape}")
    return images


def _per_image(values, n: int, name: str, owner: str) -> np.ndarray:
    """``values`` (a number or one per image) as a float array of shape ``(n,)``."""
    array = check_array(values, name, owner).astype(np.float64)
    if array.ndim == 0:
        array = np.full(n, float(array))
    if array.shape != (n,):
        raise ValueError(f"{owner}: {name} must be a number or one value per image, shape "
                         f"({n},), got shape {array.shape}")
    return array


def _check_clip(clip, owner: str) -> tuple[float, float] | None:
    """None, or ``(low, high)``: two finite numbers with ``low < high``."""
    if clip is None:
        return None
    if isinstance(clip, (str, bytes)) or not isinstance(clip, (tuple, list)) or len(clip) != 2:
        raise TypeError(f"{owner}: clip must be None or a pair (low, high), got {clip!r}")
    low = check_number(clip[0], "clip[0] (low)", owner)
    high = check_number(clip[1], "clip[1] (high)", owner)
    if not low < high:
        raise ValueError(f"{owner}: clip must be (low, high) with low < high, got {clip!r}")
    return low, high


def _as_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float results back to the images' dtype: integers rounded and clipped to their range."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype, copy=False)


def _rng(seed, owner: str) -> np.random.Generator:
    """The generator ``seed`` stands for (see the module's notes); checked, nothing drawn."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, (bool, np.bool_))
                             or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"{owner}: seed must be an integer >= 0, a numpy.random.Generator or "
                        f"None, got {seed!r} ({type(seed).__name__})")
    return get_rng(check_seed(seed, owner))


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
    owner = "shift()"
    images = _check_images(images, owner)
    n, height, width = images.shape[:3]
    dy = _per_image(dy, n, "dy", owner)
    dx = _per_image(dx, n, "dx", owner)
    for name, values in (("dy", dy), ("dx", dx)):
        if not np.all(values == np.round(values)):
            raise ValueError(f"{owner}: {name} must be whole numbers of pixels (use rotate() or "
                             f"your own interpolation for sub-pixel moves), got {values}")
    # A move of a whole image or more empties it: clipped there, any size fits in an int64.
    dy = np.clip(dy, -height, height).astype(np.int64)
    dx = np.clip(dx, -width, width).astype(np.int64)
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
    max_shift : int in [0, 1000000]
        The largest move, in pixels, along each axis.
    seed : int, numpy.random.Generator or None
        See the module's notes.

    Returns
    -------
    ndarray, same shape and dtype as ``images``
    """
    owner = "random_shift()"
    images = _check_images(images, owner)
    max_shift = check_int(max_shift, "max_shift", owner, minimum=0, maximum=_MAX_SHIFT)
    rng = _rng(seed, owner)
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
    owner = "rotate()"
    images = _check_images(images, owner)
    n, height, width = images.shape[:3]
    theta = np.deg2rad(_per_image(degrees, n, "degrees", owner))[:, None, None]
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
    max_degrees : float in [0, 360]
        The largest angle; keep it small for digits (a 6 turned by 180° is a 9).
    seed : int, numpy.random.Generator or None
        See the module's notes.

    Returns
    -------
    ndarray, same shape and dtype as ``images``
    """
    owner = "random_rotation()"
    images = _check_images(images, owner)
    max_degrees = check_number(max_degrees, "max_degrees", owner, 0, 360)
    rng = _rng(seed, owner)
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
    owner = "add_noise()"
    images = _check_images(images, owner)
    stddev = check_number(stddev, "stddev", owner, low=0)
    clip = _check_clip(clip, owner)
    rng = _rng(seed, owner)  # drawn from only once everything is checked
    noisy = images.astype(np.float64) + rng.normal(0.0, stddev, size=images.shape)
    if clip is not None:
        noisy = np.clip(noisy, *clip)
    return _as_dtype(noisy, images.dtype)


# ------------------------------------------------------------------------------- all together
def augment(images, max_shift: int = 2, max_degrees: float = 10.0, noise_stddev: float = 0.0,
            seed=None, clip: tuple[float, float] | None = None) -> np.ndarray:
    """A random variant of each image: rotated, then shifted, then (optionally) noisy.

    Parameters
    ----------
    images : array of shape (n, height, width) or (n, height, width, channels)
    max_shift : int in [0, 1000000]
        See :func:`random_shift`; 0 skips the shift.
    max_degrees : float in [0, 360]
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
    owner = "augment()"
    images = _check_images(images, owner)
    max_shift = check_int(max_shift, "max_shift", owner, minimum=0, maximum=_MAX_SHIFT)
    max_degrees = check_number(max_degrees, "max_degrees", owner, 0, 360)
    noise_stddev = check_number(noise_stddev, "noise_stddev", owner, low=0)
    clip = _check_clip(clip, owner)
    # Everything is checked before the first draw: a refused call leaves a generator as it was.
    rng = _rng(seed, owner)
    out = images
    if max_degrees > 0:
        out = random_rotation(out, max_degrees, seed=rng)
    if max_shift != 0:
        out = random_shift(out, max_shift, seed=rng)
    if noise_stddev > 0:
        out = add_noise(out, noise_stddev, seed=rng, clip=clip)
    return out.copy() if out is images else out
