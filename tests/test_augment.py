"""dlcourse.augment: shifts, rotations and noise for digit images, checked against NumPy.

Shifts must equal zero-filled slicing, rotations by multiples of 90° must equal ``np.rot90``
exactly, rotations must preserve a centred symmetric pattern's mass, noise must have the asked
standard deviation, and every random function must repeat exactly for the same seed.
"""

import warnings

import numpy as np
import pytest

from dlcourse import augment
from dlcourse.data import load_mnist
from dlcourse.scratch import set_random_seed
from dlcourse.scratch.base import get_rng


def images(n=3, h=6, w=5, channels=None, dtype=np.float64, seed=0):
    shape = (n, h, w) if channels is None else (n, h, w, channels)
    values = np.random.default_rng(seed).uniform(0, 255, size=shape)
    return values.astype(dtype) if np.issubdtype(dtype, np.floating) else np.rint(values).astype(
        dtype)


def shift_reference(img, dy, dx):
    """One image shifted with np.roll, then the wrapped-around rows/columns zeroed."""
    out = np.roll(img, (dy, dx), axis=(0, 1))
    if dy > 0:
        out[:dy] = 0
    elif dy < 0:
        out[dy:] = 0
    if dx > 0:
        out[:, :dx] = 0
    elif dx < 0:
        out[:, dx:] = 0
    return out


# ------------------------------------------------------------------------------- shift
@pytest.mark.parametrize("channels", [None, 2])
@pytest.mark.parametrize("dy, dx", [(0, 0), (1, 0), (0, -2), (-3, 2), (2, 4), (6, 0), (0, -9)])
def test_shift_equals_zero_filled_roll(dy, dx, channels):
    x = images(channels=channels)
    out = augment.shift(x, dy, dx)
    assert out.shape == x.shape and out.dtype == x.dtype
    for k in range(len(x)):
        np.testing.assert_array_equal(out[k], shift_reference(x[k], dy, dx))


def test_shift_takes_one_offset_per_image_and_keeps_uint8():
    x = images(dtype=np.uint8)
    dy, dx = np.array([1, 0, -1]), np.array([0, 2, -2])
    out = augment.shift(x, dy, dx)
    assert out.dtype == np.uint8
    for k in range(3):
        np.testing.assert_array_equal(out[k], shift_reference(x[k], dy[k], dx[k]))


def test_shift_does_not_modify_its_input():
    x = images()
    before = x.copy()
    augment.shift(x, 1, 1)
    augment.rotate(x, 30)
    augment.add_noise(x, 1.0, seed=0)
    augment.augment(x, noise_stddev=1.0, seed=0)
    np.testing.assert_array_equal(x, before)


def test_random_shift_stays_within_max_shift_and_uses_every_offset():
    x = np.zeros((400, 9, 9))
    x[:, 4, 4] = 1.0  # one lit pixel: where it lands is the offset
    out = augment.random_shift(x, max_shift=2, seed=0)
    lit = np.argwhere(out)
    np.testing.assert_array_equal(lit[:, 0], np.arange(400))  # one lit pixel per image, kept
    offsets = lit[:, 1:] - 4
    assert set(map(tuple, offsets)) == {(i, j) for i in range(-2, 3) for j in range(-2, 3)}


# ------------------------------------------------------------------------------- rotate
@pytest.mark.parametrize("h, w", [(5, 5), (6, 6), (28, 28)])
@pytest.mark.parametrize("quarter_turns", [1, 2, 3, 4, -1])
def test_rotation_by_multiples_of_90_degrees_equals_rot90(h, w, quarter_turns):
    x = images(h=h, w=w)
    out = augment.rotate(x, 90 * quarter_turns)
    expected = np.rot90(x, quarter_turns, axes=(1, 2))  # counter-clockwise, as displayed
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-9)


def test_rotation_by_zero_is_the_identity_for_channels_too():
    x = images(channels=3)
    np.testing.assert_allclose(augment.rotate(x, 0.0), x, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(augment.rotate(x.astype(np.uint8), 0.0), x.astype(np.uint8))


def test_rotation_turns_counter_clockwise():
    x = np.zeros((1, 9, 9))
    x[0, 4, 8] = 1.0  # a pixel right of the centre
    out = augment.rotate(x, 90)
    assert out[0, 0, 4] == 1.0  # ends up above the centre
    assert out.sum() == 1.0


def test_small_rotation_keeps_a_centred_disc_and_its_mass():
    yy, xx = np.mgrid[:28, :28] - 13.5
    disc = (np.hypot(yy, xx) < 8).astype(np.float64)[None]
    out = augment.rotate(disc, 17.0)
    assert abs(out.sum() - disc.sum()) < 0.01 * disc.sum()  # bilinear interpolation keeps mass
    assert np.abs(out - disc).max() < 0.6  # only the rim's pixels blur


def test_rotation_of_an_mnist_digit_is_not_a_shift():
    (x_train, _), _ = load_mnist()
    digit = x_train[:1]
    rotated = augment.rotate(digit, 20.0)
    assert rotated.dtype == np.uint8 and rotated.shape == digit.shape
    assert not np.array_equal(rotated, digit)
    # Centre of mass stays close (digits are roughly centred), ink is roughly preserved.
    assert abs(int(rotated.sum()) - int(digit.sum())) < 0.05 * int(digit.sum())


def test_random_rotation_draws_angles_within_the_range():
    x = np.zeros((200, 9, 9))
    x[:, 4, 8] = 1.0  # on the right of the centre; after rotation by θ: angle θ from the centre
    out = augment.random_rotation(x, max_degrees=30, seed=1)
    rows, cols = np.mgrid[:9, :9]
    mass = out.sum(axis=(1, 2))
    cy = (out * rows).sum(axis=(1, 2)) / mass
    cx = (out * cols).sum(axis=(1, 2)) / mass
    angles = np.degrees(np.arctan2(4 - cy, cx - 4))
    assert angles.min() >= -31 and angles.max() <= 31
    assert angles.min() < -20 and angles.max() > 20  # the whole range is used


# ------------------------------------------------------------------------------- noise
def test_noise_has_the_asked_standard_deviation_and_repeats_with_the_seed():
    x = np.full((50, 28, 28), 0.5)
    out = augment.add_noise(x, 0.1, seed=3)
    assert abs((out - x).std() - 0.1) < 0.002
    assert abs((out - x).mean()) < 0.002
    np.testing.assert_array_equal(out, augment.add_noise(x, 0.1, seed=3))
    assert not np.array_equal(out, augment.add_noise(x, 0.1, seed=4))


def test_noise_is_clipped_to_the_range_and_uint8_stays_uint8():
    x = np.zeros((4, 8, 8))
    out = augment.add_noise(x, 0.5, seed=0, clip=(0.0, 1.0))
    assert out.min() == 0.0 and out.max() <= 1.0
    u = np.full((4, 8, 8), 250, dtype=np.uint8)
    noisy = augment.add_noise(u, 20.0, seed=0)
    assert noisy.dtype == np.uint8 and noisy.max() == 255 and noisy.min() < 250


# ------------------------------------------------------------------------------- augment
def test_augment_is_reproducible_and_a_generator_gives_new_variants_each_call():
    (x_train, _), _ = load_mnist()
    x = x_train[:20].astype("float32") / 255
    a = augment.augment(x, noise_stddev=0.05, clip=(0, 1), seed=0)
    b = augment.augment(x, noise_stddev=0.05, clip=(0, 1), seed=0)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1
    rng = np.random.default_rng(0)
    first, second = augment.augment(x, seed=rng), augment.augment(x, seed=rng)
    assert not np.array_equal(first, second)


def test_augment_without_seed_follows_set_random_seed():
    x = images()
    results = []
    for _ in range(2):
        set_random_seed(5)
        results.append(augment.augment(x))
    np.testing.assert_array_equal(*results)


def test_augment_with_nothing_to_do_returns_a_copy():
    x = images()
    out = augment.augment(x, max_shift=0, max_degrees=0, noise_stddev=0, seed=0)
    np.testing.assert_array_equal(out, x)
    assert out is not x


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, error, message", [
    (lambda: augment.shift(np.ones((4, 4)), 1, 1), ValueError,
     r"shift\(\): images must have shape \(n, height, width\) or \(n, height, width, "
     r"channels\), got shape \(4, 4\)"),
    (lambda: augment.shift(np.ones((2, 4, 4)), [1, 2, 3], 0), ValueError,
     r"dy must be a number or one value per image, shape \(2,\), got shape \(3,\)"),
    (lambda: augment.shift(np.ones((2, 4, 4)), 0.5, 0), ValueError, r"whole numbers of pixels"),
    (lambda: augment.rotate(np.array([["a"]]), 10), TypeError,
     r"rotate\(\): images must be an array of real numbers"),
    (lambda: augment.rotate(np.full((1, 3, 3), np.nan), 10), ValueError, r"NaN"),
    (lambda: augment.random_shift(np.ones((1, 3, 3)), max_shift=1.5), TypeError,
     r"max_shift must be an integer in \[0, 1000000\], got 1.5"),
    (lambda: augment.random_rotation(np.ones((1, 3, 3)), max_degrees=-1), ValueError,
     r"max_degrees must be a number in \[0, 360\], got -1"),
    (lambda: augment.add_noise(np.ones((1, 3, 3)), 0.1, clip=(1, 0)), ValueError,
     r"clip must be \(low, high\) with low < high"),
    (lambda: augment.add_noise(np.ones((1, 3, 3)), 0.1, seed="zero"), TypeError,
     r"seed must be an integer >= 0, a numpy.random.Generator or None"),
])
def test_errors_say_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()


X = images(n=2, h=5, w=4)
GOOD = {  # valid arguments of every public function; each row of BAD changes one of them
    "shift": lambda: {"images": X.copy(), "dy": 1, "dx": -1},
    "random_shift": lambda: {"images": X.copy(), "max_shift": 1, "seed": 0},
    "rotate": lambda: {"images": X.copy(), "degrees": 10.0},
    "random_rotation": lambda: {"images": X.copy(), "max_degrees": 10.0, "seed": 0},
    "add_noise": lambda: {"images": X.copy(), "stddev": 0.1, "seed": 0, "clip": (0, 255)},
    "augment": lambda: {"images": X.copy(), "noise_stddev": 0.1, "seed": 0, "clip": (0, 255)},
}
SEEDED = ("random_shift", "random_rotation", "add_noise", "augment")

BAD = [  # function, argument, bad value, expected error, what the message names
    # images: not real numbers, not finite, not a batch of images
    *[(f, "images", v, e, "images") for f in GOOD
      for v, e in [(X * 1j, TypeError), (X > 0, TypeError), (np.array([[["a"]]]), TypeError),
                   ([[[1.0]], [[1.0, 2.0]]], TypeError), (None, TypeError),
                   (np.where(X > 100, np.nan, X), ValueError),
                   (np.full_like(X, np.inf), ValueError),
                   (X[0], ValueError), (X[None, ..., None], ValueError),
                   (np.ones((2, 0, 4)), ValueError), (np.ones((2, 3, 4, 0)), ValueError)]],
    # offsets and angles: whole pixels, one per image, real and finite
    *[("shift", arg, v, e, arg) for arg in ("dy", "dx")
      for v, e in [(0.5, ValueError), ([1, 2, 3], ValueError), (np.ones((2, 1)), ValueError),
                   (1j, TypeError), ("1", TypeError), (True, TypeError), (np.nan, ValueError),
                   (None, TypeError)]],
    *[("rotate", "degrees", v, e, "degrees")
      for v, e in [(1j, TypeError), ("10", TypeError), (np.inf, ValueError),
                   ([1.0, 2.0, 3.0], ValueError), (None, TypeError), (False, TypeError)]],
    # the amounts of the random transformations
    *[(f, "max_shift", v, e, "max_shift") for f in ("random_shift", "augment")
      for v, e in [(-1, ValueError), (1.5, TypeError), (2.0, TypeError), (True, TypeError),
                   ("2", TypeError), (10**7, ValueError), (None, TypeError)]],
    *[(f, "max_degrees", v, e, "max_degrees") for f in ("random_rotation", "augment")
      for v, e in [(-1, ValueError), (np.nan, ValueError), (400, ValueError), ("10", TypeError),
                   (True, TypeError), (None, TypeError)]],
    *[(f, arg, v, e, arg) for f, arg in (("add_noise", "stddev"), ("augment", "noise_stddev"))
      for v, e in [(-0.1, ValueError), (np.inf, ValueError), (np.nan, ValueError),
                   ("0.1", TypeError), (1j, TypeError), (None, TypeError)]],
    # the clipping range
    *[(f, "clip", v, e, n) for f in ("add_noise", "augment")
      for v, e, n in [((1, 0), ValueError, "clip"), ((0, 0), ValueError, "clip"),
                      ((0, np.nan), ValueError, "clip[1]"), (("0", 1), TypeError, "clip[0]"),
                      ("ab", TypeError, "clip"), (5, TypeError, "clip"),
                      ((0, 1, 2), TypeError, "clip"), ({0: 1}, TypeError, "clip")]],
    # seeds: an int >= 0, a Generator or None
    *[(f, "seed", v, e, "seed") for f in SEEDED
      for v, e in [(-1, ValueError), (1.5, TypeError), ("zero", TypeError), (True, TypeError),
                   (np.random.RandomState(0), TypeError)]],
]


@pytest.mark.parametrize(("func", "arg", "value", "error", "named"), BAD,
                         ids=[f"{f}-{a}-{i}" for i, (f, a, *_) in enumerate(BAD)])
def test_bad_arguments_are_refused_by_name(func, arg, value, error, named):
    kwargs = {**GOOD[func](), arg: value}
    before = kwargs.get("images")
    before = before.copy() if isinstance(before, np.ndarray) else None
    with pytest.raises(error) as err:
        getattr(augment, func)(**kwargs)
    message = str(err.value)
    assert message.startswith(f"{func}(): "), message
    assert named in message, message
    if before is not None:                 # the images are never changed, even by a failure
        np.testing.assert_array_equal(kwargs["images"], before)


def test_every_public_function_has_bad_arguments_tried():
    assert set(augment.__all__) == set(GOOD) == {func for func, *_ in BAD}
    for func in GOOD:        # and the valid arguments of the table are valid
        getattr(augment, func)(**GOOD[func]())


REFUSED_AFTER_DRAWS = [  # a bad argument of a random function, and the others all valid
    *[(f, "images", np.full((2, 3, 3), np.nan)) for f in SEEDED],
    ("random_shift", "max_shift", 1.5), ("random_rotation", "max_degrees", -1.0),
    ("add_noise", "stddev", -1.0), ("add_noise", "clip", (1, 0)),
    *[("augment", arg, value) for arg, value in [("max_shift", 1.5), ("max_degrees", -1.0),
                                                  ("noise_stddev", -1.0), ("clip", (1, 0))]],
]


@pytest.mark.parametrize(("func", "arg", "value"), REFUSED_AFTER_DRAWS)
def test_a_refused_call_draws_nothing_from_the_generator(func, arg, value):
    # augment() used to draw the rotation angles and only then refuse max_shift, and
    # add_noise() to draw the noise before refusing clip: the learner's generator (or the
    # shared one) had moved on.
    kwargs = GOOD[func]()
    if func == "augment":  # every step on, so that every one of them would draw
        kwargs.update(max_degrees=10.0, max_shift=1, noise_stddev=1.0)
    kwargs[arg] = value
    for seed in (np.random.default_rng(3), None):
        set_random_seed(7)
        rng = seed if seed is not None else get_rng()
        state = rng.bit_generator.state
        with pytest.raises((ValueError, TypeError)):
            getattr(augment, func)(**{**kwargs, "seed": seed})
        assert rng.bit_generator.state == state, f"{func} drew from the generator, then failed"


def test_a_refused_seed_names_the_function_not_the_generator():
    with pytest.raises(ValueError, match=r"^augment\(\): seed must be an integer >= 0, got -1"):
        augment.augment(X, seed=-1)


def test_a_huge_shift_empties_the_images_without_overflow_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # an overflow of the cast to int64 would warn
        out = augment.shift(X, 1e30, np.array([0.0, -1e300]))
    np.testing.assert_array_equal(out, 0.0)


def test_integer_images_are_accepted_and_booleans_are_refused():
    u = images(dtype=np.uint8)
    assert augment.augment(u, seed=0).dtype == np.uint8
    with pytest.raises(TypeError, match=r"images must be an array of real numbers .*bool"):
        augment.augment(u > 100, seed=0)
