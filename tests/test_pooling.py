"""MaxPooling2D from scratch: equal to Keras in float64, naive == fast, ties as TensorFlow.

Keras's side is ``keras.layers.MaxPooling2D(..., dtype="float64")`` under ``tf.GradientTape``;
the output and ``∂J/∂x`` of ``J = Σ y ⊙ g`` must agree to a relative error of at most ``RTOL``
(1e-7). Max pooling only selects values, so naive and fast versions must agree exactly, and so
must each fast kernel (``pool_windows``, ``window_max``, ``first_max_mask``,
``add_to_first_maxima``) and the piece of the loops it replaces, and the layer and the loops.
Inputs drawn from {0, 1, 2} make ties frequent: TensorFlow gives a window's gradient to its first
maximum in row-major order, and so must we. TensorFlow is reached only through the ``tf`` and
``keras`` fixtures.
"""

import numpy as np
import pytest
from tfcompare import assert_close, keras_forward_backward

from dlcourse.gradcheck import check_layer, numerical_gradient, rel_error
from dlcourse.scratch.pooling import (
    MaxPooling2D,
    add_to_first_maxima,
    first_max_mask,
    maxpool2d,
    maxpool2d_backward,
    maxpool2d_backward_naive,
    maxpool2d_naive,
    pool_windows,
    window_max,
)
from dlcourse.scratch.windows import as_pair, pad2d

# (x shape, keyword arguments)
KERAS_CASES = {
    "pool 2, default strides": ((2, 6, 8, 3), dict(pool_size=2)),
    "batch of one, odd image, valid drops the edge": ((1, 7, 5, 2), dict(pool_size=2)),
    "pool 3, stride 1 (overlapping windows)": ((2, 6, 7, 2), dict(pool_size=3, strides=1)),
    "pool 3, stride 2, same": ((2, 7, 8, 2), dict(pool_size=3, strides=2, padding="same")),
    "pool 2, same, odd image": ((2, 5, 7, 1), dict(pool_size=2, padding="same")),
    "pool (2, 3), strides (1, 2), same": (
        (2, 5, 8, 3), dict(pool_size=(2, 3), strides=(1, 2), padding="same")),
    "pool 3, stride 3, same": ((1, 8, 7, 2), dict(pool_size=3, padding="same")),
}


def random_input(kind, shape, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "ties":
        return rng.integers(0, 3, size=shape).astype(np.float64)
    if kind == "negative":  # a zero padding would win every border window: −∞ must be used
        return -rng.uniform(1.0, 2.0, size=shape)
    return rng.normal(size=shape)


@pytest.mark.parametrize("kind", ["normal", "ties", "negative"])
@pytest.mark.parametrize("case", KERAS_CASES)
def test_forward_and_gradient_equal_keras(case, kind, keras):
    x_shape, kwargs = KERAS_CASES[case]
    x = random_input(kind, x_shape)
    ours = MaxPooling2D(**kwargs)
    theirs = keras.layers.MaxPooling2D(**kwargs, dtype="float64")
    y = ours.forward(x)
    g = np.random.default_rng(1).normal(size=y.shape)
    grad_x = ours.backward(g)
    y_tf, grad_x_tf, grads_tf = keras_forward_backward(theirs, x, g)
    assert grads_tf == {} and ours.get_weights() == [] and theirs.get_weights() == []
    assert ours.compute_output_shape(x_shape) == tuple(theirs.compute_output_shape(x_shape))
    assert_close(y, y_tf, f"{case} ({kind}): output")
    assert_close(grad_x, grad_x_tf, f"{case} ({kind}): dJ/dx")


#: Every 2x2 window has tied maxima; each window's gradient goes to the first in row-major order.
TIES = np.array([[1, 1, 0, 2],
                 [1, 1, 2, 2],
                 [0, 3, 5, 4],
                 [3, 3, 5, 5]], dtype=float).reshape(1, 4, 4, 1)
TIES_GRADIENT = np.array([[1, 0, 0, 1],
                          [0, 0, 0, 0],
                          [0, 1, 1, 0],
                          [0, 0, 0, 0]], dtype=float)


def test_tensorflow_sends_a_tie_to_the_first_maximum_in_row_major_order(tf):
    xt = tf.constant(TIES)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.nn.max_pool2d(xt, 2, 2, "VALID")
    np.testing.assert_array_equal(tape.gradient(y, xt).numpy()[0, :, :, 0], TIES_GRADIENT)


def test_ties_send_the_gradient_to_the_first_maximum_in_row_major_order():
    g = np.ones((1, 2, 2, 1))
    for backward in (maxpool2d_backward_naive, maxpool2d_backward):
        np.testing.assert_array_equal(backward(g, TIES)[0, :, :, 0], TIES_GRADIENT)
    layer = MaxPooling2D()
    layer.forward(TIES)
    np.testing.assert_array_equal(layer.backward(g)[0, :, :, 0], TIES_GRADIENT)


def test_overlapping_windows_add_their_gradients():
    # All equal: each 3x3 window of a 4x4 image (stride 1) picks its top-left pixel.
    x = np.ones((1, 4, 4, 1))
    g = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1)
    expected = np.zeros((4, 4))
    expected[:2, :2] = [[1, 2], [3, 4]]
    for backward in (maxpool2d_backward_naive, maxpool2d_backward):
        np.testing.assert_array_equal(backward(g, x, 3, 1)[0, :, :, 0], expected)
    # Pixel (1, 1) is the maximum of all four windows: it collects all four gradients.
    x = np.zeros((1, 4, 4, 1))
    x[0, 1, 1, 0] = 1.0
    x[0, 2, 2, 0] = 0.5
    grad = maxpool2d_backward(g, x, 3, 1)[0, :, :, 0]
    assert grad[1, 1] == 10.0 and grad.sum() == 10.0


NAIVE_CASES = [  # (x shape, pool_size, strides, padding)
    ((2, 6, 7, 3), 2, None, "valid"),
    ((2, 7, 7, 2), 3, 2, "same"),
    ((1, 5, 6, 2), (2, 3), 1, "same"),
    ((2, 6, 6, 1), 3, (1, 2), "valid"),
    ((2, 4, 4, 2), 1, None, "valid"),
]


@pytest.mark.parametrize("kind", ["normal", "ties"])
@pytest.mark.parametrize(("x_shape", "pool_size", "strides", "padding"), NAIVE_CASES)
def test_naive_and_fast_agree(x_shape, pool_size, strides, padding, kind):
    x = random_input(kind, x_shape, seed=2)
    y = maxpool2d_naive(x, pool_size, strides, padding)
    np.testing.assert_array_equal(maxpool2d(x, pool_size, strides, padding), y)
    g = np.random.default_rng(3).normal(size=y.shape)
    naive = maxpool2d_backward_naive(g, x, pool_size, strides, padding)
    fast = maxpool2d_backward(g, x, pool_size, strides, padding)
    assert naive.shape == fast.shape == x.shape
    assert rel_error(fast, naive) <= 1e-15  # the same additions, maybe in another order


@pytest.mark.parametrize("kind", ["normal", "ties", "negative"])
@pytest.mark.parametrize(("x_shape", "pool_size", "strides", "padding"), NAIVE_CASES)
def test_each_kernel_equals_its_piece_of_the_naive_loops(x_shape, pool_size, strides, padding,
                                                         kind):
    x = random_input(kind, x_shape, seed=8)
    pool = as_pair(pool_size, "pool_size", "test")
    strides = pool if strides is None else as_pair(strides, "strides", "test")
    (ph, pw), (sh, sw) = pool, strides
    windows = pool_windows(x, pool, strides, padding)
    y = window_max(windows)
    np.testing.assert_array_equal(y, maxpool2d_naive(x, pool_size, strides, padding))
    is_first_max = first_max_mask(windows, y)
    xp, _ = pad2d(x, pool, strides, padding, value=-np.inf)
    batch, out_h, out_w, channels = y.shape
    assert windows.shape == (batch, out_h, out_w, ph, pw, channels)
    assert is_first_max.shape == (ph * pw, *y.shape)
    for b in range(batch):                   # the loops of maxpool2d_backward_naive
        for r in range(out_h):
            for q in range(out_w):
                for c in range(channels):
                    window = xp[b, r * sh:r * sh + ph, q * sw:q * sw + pw, c]
                    np.testing.assert_array_equal(windows[b, r, q, :, :, c], window)
                    first = np.zeros(ph * pw, dtype=bool)
                    first[np.argmax(window)] = True
                    np.testing.assert_array_equal(is_first_max[:, b, r, q, c], first)
    g = np.random.default_rng(9).normal(size=y.shape)
    grad_x = add_to_first_maxima(g, is_first_max, x.shape, pool, strides, padding)
    naive = maxpool2d_backward_naive(g, x, pool_size, strides, padding)
    assert grad_x.shape == naive.shape == x.shape
    assert rel_error(grad_x, naive) <= 1e-15  # the same additions, maybe in another order


@pytest.mark.parametrize("kind", ["normal", "ties"])
@pytest.mark.parametrize(("x_shape", "pool_size", "strides", "padding"), NAIVE_CASES)
def test_layer_computes_what_the_naive_loops_compute(x_shape, pool_size, strides, padding, kind):
    x = random_input(kind, x_shape, seed=10)
    layer = MaxPooling2D(pool_size, strides, padding)
    y = layer.forward(x)
    np.testing.assert_array_equal(y, maxpool2d_naive(x, pool_size, strides, padding))
    g = np.random.default_rng(11).normal(size=y.shape)
    naive = maxpool2d_backward_naive(g, x, pool_size, strides, padding)
    assert rel_error(layer.backward(g), naive) <= 1e-15  # overlapping windows: another order


@pytest.mark.parametrize("backward", [maxpool2d_backward_naive, maxpool2d_backward])
@pytest.mark.parametrize(("pool_size", "strides", "padding"), [
    (2, None, "valid"), (3, 2, "same"), ((2, 3), 1, "valid"),
])
def test_backward_functions_match_finite_differences(backward, pool_size, strides, padding):
    # Distinct values (no ties), far apart compared with the step h: the max is differentiable.
    x = np.random.default_rng(4).permutation(60).reshape(1, 5, 6, 2) / 10.0
    g = np.random.default_rng(5).normal(size=maxpool2d(x, pool_size, strides, padding).shape)

    def objective(_=None):
        return np.sum(maxpool2d_naive(x, pool_size, strides, padding) * g)

    numeric = numerical_gradient(objective, x)
    assert rel_error(backward(g, x, pool_size, strides, padding), numeric) <= 1e-6


@pytest.mark.parametrize("kwargs", [dict(), dict(pool_size=3, strides=1, padding="same")])
def test_layer_backward_matches_finite_differences(kwargs):
    x = np.random.default_rng(6).permutation(48).reshape(2, 4, 6, 1) / 10.0
    assert set(check_layer(MaxPooling2D(**kwargs), x)) == {"input"}


def test_layer_keeps_the_dtype_and_accepts_other_sizes_and_channels():
    layer = MaxPooling2D(2, padding="same")
    x = np.random.default_rng(7).normal(size=(2, 6, 6, 3)).astype(np.float32)
    assert layer.forward(x).dtype == np.float32
    y = layer.forward(np.ones((1, 5, 3, 4), dtype=np.float32))
    assert y.shape == (1, 3, 2, 4) and y.dtype == np.float32
    assert layer.backward(np.ones(y.shape)).dtype == np.float32
    assert layer.compute_output_shape((None, None, 8, 2)) == (None, None, 4, 2)
    assert layer.strides == layer.pool_size == (2, 2)
    assert MaxPooling2D(3, strides=(1, 2)).strides == (1, 2)


# ----------------------------------------------------------------------------- clear errors
@pytest.mark.parametrize(("x", "error", "match"), [
    (np.zeros((28, 28)), ValueError,
     r"MaxPooling2D 'pool1': expected input of rank 4 \(batch, height, width, channels\), "
     r"got shape \(28, 28\)"),
    (np.zeros((1, 4, 4, 1), dtype=np.int32), TypeError,
     r"MaxPooling2D 'pool1': expected a floating-point input .*got dtype int32"),
    (np.array([[[[1.0]]], [[["a"]]]], dtype=object), TypeError,
     r"MaxPooling2D 'pool1': expected a floating-point input .*got dtype object"),
    (np.array([1.0, np.nan, 2.0, 3.0]).reshape(1, 2, 2, 1), ValueError,
     r"MaxPooling2D 'pool1': the input contains NaN or infinite values \(1 of 4 entries\)"),
    (np.zeros((1, 1, 4, 1)), ValueError,
     r"MaxPooling2D 'pool1': with padding 'valid' the image must be at least as large as the "
     r"pool \(2, 2\), got input of shape \(1, 1, 4, 1\)"),
])
def test_bad_input_names_the_layer_what_was_expected_and_what_was_given(x, error, match):
    with pytest.raises(error, match=match):
        MaxPooling2D(name="pool1").forward(x)


def test_backward_errors_and_set_weights_on_a_layer_without_weights():
    layer = MaxPooling2D(name="pool1")
    with pytest.raises(ValueError, match=r"MaxPooling2D 'pool1': backward\(\) called before "
                                         r"forward\(\)"):
        layer.backward(np.zeros((1, 2, 2, 1)))
    layer.forward(np.zeros((1, 4, 4, 1)))
    match = (r"MaxPooling2D 'pool1': expected a gradient of the output's shape \(1, 2, 2, 1\), "
             r"got shape \(1, 4, 4, 1\)")
    with pytest.raises(ValueError, match=match):
        layer.backward(np.zeros((1, 4, 4, 1)))
    layer.set_weights([])
    with pytest.raises(ValueError, match=r"MaxPooling2D 'pool1': expected 0 weight arrays "
                                         r"\(\), got 1"):
        layer.set_weights([np.zeros(1)])


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(pool_size=0), r"MaxPooling2D 'pool1': pool_size must be a positive int or a pair "
                        r"of positive ints, got 0"),
    (dict(pool_size=(2, 2, 2)), r"MaxPooling2D 'pool1': pool_size must be .*got \(2, 2, 2\)"),
    (dict(strides=(1, 0)), r"MaxPooling2D 'pool1': strides must be .*got \(1, 0\)"),
    (dict(padding="full"),
     r"MaxPooling2D 'pool1': padding must be one of \['valid', 'same'\], got 'full'"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MaxPooling2D(name="pool1", **kwargs)


@pytest.mark.parametrize("fn", [maxpool2d, maxpool2d_naive])
def test_functions_name_themselves_in_errors(fn):
    name = fn.__name__
    with pytest.raises(ValueError, match=rf"{name}\(\): expected x of rank 4 .*got shape \(4, 4\)"):
        fn(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=rf"{name}\(\): padding must be one of "
                                         r"\['valid', 'same'\], got 'full'"):
        fn(np.zeros((1, 4, 4, 1)), padding="full")
    with pytest.raises(ValueError, match=rf"{name}\(\): with padding 'valid' the image must be "
                                         r"at least as large as the pool \(3, 3\), "
                                         r"got x of shape \(1, 2, 4, 1\)"):
        fn(np.zeros((1, 2, 4, 1)), 3)


@pytest.mark.parametrize("fn", [maxpool2d_backward, maxpool2d_backward_naive])
def test_backward_functions_check_the_gradient_shape(fn):
    match = (rf"{fn.__name__}\(\): expected grad_output of the output's shape \(1, 2, 2, 1\), "
             r"got shape \(1, 4, 4, 1\)")
    with pytest.raises(ValueError, match=match):
        fn(np.zeros((1, 4, 4, 1)), np.zeros((1, 4, 4, 1)))
