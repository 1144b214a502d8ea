"""Conv2D from scratch: equal to Keras in float64, naive == fast, gradients == finite differences.

Keras's side is ``keras.layers.Conv2D(..., dtype="float64")`` given the from-scratch layer's
weights with one ``set_weights`` call; the forward output, ``∂J/∂x``, ``∂J/∂kernel`` and
``∂J/∂bias`` of ``J = Σ y ⊙ g`` must agree to a relative error of at most ``RTOL`` (1e-7). The
naive loops and the fast im2col version must agree to 1e-12, each fast kernel (``im2col``,
``conv2d_transpose``) must equal the piece of the loops it replaces, the layer must compute what
the loops compute, and every backward pass must match centred finite differences to 1e-6
(``gradcheck``'s default). TensorFlow is reached only through the ``tf`` and ``keras`` fixtures.
"""

import numpy as np
import pytest
from tfcompare import assert_close, keras_forward_backward

from dlcourse.gradcheck import check_layer, numerical_gradient, rel_error
from dlcourse.scratch import activations, regularizers
from dlcourse.scratch.conv import (
    Conv2D,
    _sum_rows,
    conv2d,
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_naive,
    conv2d_transpose,
    conv_output_size,
    im2col,
    pad2d,
    padding_split,
)

#: naive and fast versions compute the same sums in another order: only rounding may differ.
SAME_ALGORITHM_RTOL = 1e-12


def twins(keras, x_shape, filters, kernel_size, seed=0, **kwargs):
    """A float64 from-scratch Conv2D and its Keras twin holding the same (random) weights."""
    rng = np.random.default_rng(seed)
    ours = Conv2D(filters, kernel_size, name="ours", seed=seed, **kwargs)
    ours.forward(np.zeros(x_shape))  # builds the float64 weights
    if ours.use_bias:  # Keras initialises the bias to zeros: a random one tests its gradient
        ours.set_weights([ours.params["kernel"], rng.normal(size=filters)])
    theirs = keras.layers.Conv2D(filters, kernel_size, dtype="float64", **kwargs)
    theirs.build(x_shape)
    assert [w.name for w in theirs.weights] == list(ours.params)
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in ours.get_weights()]
    theirs.set_weights(ours.get_weights())
    return ours, theirs


# (x shape, filters, kernel_size, keyword arguments); every activation appears at least once.
KERAS_CASES = {
    "batch of one": ((1, 5, 5, 1), 2, 3, dict(activation=None)),
    "stride 2, valid": ((2, 7, 7, 3), 4, 3, dict(strides=2, activation="relu")),
    "same": ((2, 6, 6, 2), 3, 3, dict(padding="same", activation="tanh")),
    "non-square kernel and image": ((2, 6, 9, 3), 2, (2, 3), dict(activation="sigmoid")),
    "even kernel, same, stride 2": ((2, 7, 8, 2), 3, 4, dict(strides=2, padding="same")),
    "(2, 3) kernel, strides (2, 1), same": (
        (3, 5, 8, 2), 4, (2, 3), dict(strides=(2, 1), padding="same", activation="relu")),
    "1x1 kernel": ((2, 4, 4, 3), 2, 1, dict(activation="tanh")),
    "kernel as large as the image": ((2, 3, 4, 2), 2, (3, 4), dict(activation="sigmoid")),
    "stride larger than kernel, same": ((2, 9, 9, 1), 2, 2, dict(strides=3, padding="same")),
    "no bias, stride 2, same": (
        (2, 6, 5, 3), 2, (3, 2), dict(strides=2, padding="same", use_bias=False)),
}


@pytest.mark.parametrize("case", KERAS_CASES)
def test_forward_and_gradients_equal_keras(case, keras):
    x_shape, filters, kernel_size, kwargs = KERAS_CASES[case]
    rng = np.random.default_rng(1)
    ours, theirs = twins(keras, x_shape, filters, kernel_size, **kwargs)
    x = rng.normal(size=x_shape)
    y = ours.forward(x)
    g = rng.normal(size=y.shape)
    grad_x = ours.backward(g)
    y_tf, grad_x_tf, grads_tf = keras_forward_backward(theirs, x, g)
    assert ours.compute_output_shape(x_shape) == tuple(theirs.compute_output_shape(x_shape))
    assert_close(y, y_tf, f"{case}: output")
    assert_close(grad_x, grad_x_tf, f"{case}: dJ/dx")
    assert set(grads_tf) == set(ours.grads)
    for name, grad in grads_tf.items():
        assert_close(ours.grads[name], grad, f"{case}: dJ/d{name}")


def test_weights_move_from_keras_in_one_line(keras):
    x = np.random.default_rng(2).normal(size=(2, 6, 6, 3))
    theirs = keras.layers.Conv2D(4, 3, padding="same", activation="relu", dtype="float64")
    y_tf = np.asarray(theirs(x))
    ours = Conv2D(4, 3, padding="same", activation="relu")
    ours.forward(x)
    ours.set_weights(theirs.get_weights())
    assert_close(ours.forward(x), y_tf, "output with Keras's initial weights")


def test_other_image_sizes_after_the_first_call_as_in_keras(keras):
    ours, theirs = twins(keras, (2, 6, 6, 2), 3, 3, padding="same", activation="tanh")
    x = np.random.default_rng(3).normal(size=(1, 9, 5, 2))
    assert_close(ours.forward(x), np.asarray(theirs(x)), "output on a 9x5 image")
    assert ours.compute_output_shape((None, None, None, 2)) == (None, None, None, 3)


# ----------------------------------------------------------------------------- naive == fast
NAIVE_CASES = [  # (x shape, kernel shape, strides, padding)
    ((2, 5, 5, 1), (3, 3, 1, 2), 1, "valid"),
    ((2, 7, 6, 3), (3, 2, 3, 4), 1, "valid"),
    ((2, 7, 6, 3), (2, 3, 3, 4), 2, "same"),
    ((1, 6, 6, 2), (4, 4, 2, 2), 2, "same"),
    ((3, 8, 9, 2), (3, 3, 2, 3), (2, 3), "valid"),
    ((2, 5, 7, 2), (1, 1, 2, 3), (2, 1), "same"),
]


@pytest.mark.parametrize(("x_shape", "kernel_shape", "strides", "padding"), NAIVE_CASES)
def test_naive_and_fast_agree(x_shape, kernel_shape, strides, padding):
    rng = np.random.default_rng(4)
    x = rng.normal(size=x_shape)
    kernel = rng.normal(size=kernel_shape)
    bias = rng.normal(size=kernel_shape[-1])
    y_naive = conv2d_naive(x, kernel, bias, strides, padding)
    y_fast = conv2d(x, kernel, bias, strides, padding)
    assert y_fast.shape == y_naive.shape
    assert rel_error(y_fast, y_naive) <= SAME_ALGORITHM_RTOL
    g = rng.normal(size=y_naive.shape)
    naive = conv2d_backward_naive(g, x, kernel, strides, padding)
    fast = conv2d_backward(g, x, kernel, strides, padding)
    for what, a, b in zip(("dJ/dx", "dJ/dkernel", "dJ/dbias"), fast, naive, strict=True):
        assert a.shape == b.shape, what
        assert rel_error(a, b) <= SAME_ALGORITHM_RTOL, what


@pytest.mark.parametrize(("x_shape", "kernel_shape", "strides", "padding"), NAIVE_CASES)
def test_im2col_rows_are_the_windows_of_the_naive_loops(x_shape, kernel_shape, strides, padding):
    x = np.random.default_rng(12).normal(size=x_shape)
    kh, kw = kernel_shape[:2]
    sh, sw = (strides, strides) if isinstance(strides, int) else strides
    windows = im2col(x, (kh, kw), strides, padding)
    batch, out_h, out_w, _ = conv2d_naive(x, np.zeros(kernel_shape), None, strides,
                                          padding).shape
    assert windows.shape == (batch * out_h * out_w, kh * kw * x_shape[3])
    xp, _ = pad2d(x, (kh, kw), strides, padding)
    row = 0
    for b in range(batch):                   # the loops of conv2d_naive, in the same order
        for r in range(out_h):
            for q in range(out_w):
                window = xp[b, r * sh:r * sh + kh, q * sw:q * sw + kw, :]
                np.testing.assert_array_equal(windows[row], window.ravel())
                row += 1


@pytest.mark.parametrize(("x_shape", "kernel_shape", "strides", "padding"), NAIVE_CASES)
def test_conv2d_transpose_is_the_input_gradient_of_the_naive_loops(x_shape, kernel_shape,
                                                                  strides, padding):
    rng = np.random.default_rng(13)
    x, kernel = rng.normal(size=x_shape), rng.normal(size=kernel_shape)
    g = rng.normal(size=conv2d_naive(x, kernel, None, strides, padding).shape)
    grad_x, _, _ = conv2d_backward_naive(g, x, kernel, strides, padding)
    transposed = conv2d_transpose(g, kernel, x_shape, strides, padding)
    assert transposed.shape == x_shape
    assert rel_error(transposed, grad_x) <= SAME_ALGORITHM_RTOL


@pytest.mark.parametrize(("x_shape", "kernel_shape", "strides", "padding"), NAIVE_CASES)
def test_conv2d_transpose_equals_tensorflows(x_shape, kernel_shape, strides, padding, tf):
    rng = np.random.default_rng(14)
    kernel = rng.normal(size=kernel_shape)
    g = rng.normal(size=conv2d(np.zeros(x_shape), kernel, None, strides, padding).shape)
    expected = tf.nn.conv2d_transpose(g, kernel, x_shape, strides, padding.upper()).numpy()
    assert_close(conv2d_transpose(g, kernel, x_shape, strides, padding), expected,
                 "conv2d_transpose vs tf.nn.conv2d_transpose")


def test_conv2d_transpose_refuses_a_gradient_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"conv2d_transpose\(\): for x of shape \(1, 5, 5, 2\) "
                                         r"and a kernel of shape \(3, 3, 2, 4\), expected "
                                         r"grad_output of shape \(1, 3, 3, 4\), got shape "
                                         r"\(1, 5, 5, 4\)"):
        conv2d_transpose(np.zeros((1, 5, 5, 4)), np.zeros((3, 3, 2, 4)), (1, 5, 5, 2))


def test_sum_rows_is_the_sum_over_rows():
    matrix = np.random.default_rng(15).normal(size=(37, 5))
    np.testing.assert_allclose(_sum_rows(matrix), matrix.sum(axis=0), rtol=1e-13)
    assert _sum_rows(matrix.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize(("x_shape", "kernel_shape", "strides", "padding"), NAIVE_CASES)
@pytest.mark.parametrize("activation", ["linear", "relu", "tanh"])
def test_layer_computes_what_the_naive_loops_compute(x_shape, kernel_shape, strides, padding,
                                                     activation):
    # The layer's call and call_backward are the fast lines; the loops are the definition.
    rng = np.random.default_rng(16)
    layer = Conv2D(kernel_shape[3], kernel_shape[:2], strides, padding, activation, seed=16)
    x = rng.normal(size=x_shape)
    layer.forward(x)
    layer.set_weights([layer.params["kernel"], rng.normal(size=kernel_shape[3])])
    kernel, bias = layer.get_weights()
    f = activations.get(activation)
    z = conv2d_naive(x, kernel, bias, strides, padding)
    a = layer.forward(x)
    assert rel_error(a, f.forward(z)) <= SAME_ALGORITHM_RTOL
    g = rng.normal(size=a.shape)
    grad_x, grad_kernel, grad_bias = conv2d_backward_naive(f.backward(z, f.forward(z), g), x,
                                                           kernel, strides, padding)
    assert rel_error(layer.backward(g), grad_x) <= SAME_ALGORITHM_RTOL
    assert rel_error(layer.grads["kernel"], grad_kernel) <= SAME_ALGORITHM_RTOL
    assert rel_error(layer.grads["bias"], grad_bias) <= SAME_ALGORITHM_RTOL


def test_naive_forward_is_the_formula_on_a_hand_example():
    # One 3x3 image, one 2x2 filter: y(r, q) = Σ_ij S(r+i, q+j) W(i, j), no flip of the kernel.
    image = np.arange(9.0).reshape(1, 3, 3, 1)
    kernel = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)
    expected = np.array([[0 + 2 + 9 + 16, 1 + 4 + 12 + 20],
                         [3 + 8 + 18 + 28, 4 + 10 + 21 + 32]], dtype=float)
    for conv in (conv2d_naive, conv2d):
        np.testing.assert_array_equal(conv(image, kernel)[0, :, :, 0], expected)
        np.testing.assert_array_equal(conv(image, kernel, np.array([0.5]))[0, :, :, 0],
                                      expected + 0.5)


@pytest.mark.parametrize("backward", [conv2d_backward_naive, conv2d_backward])
@pytest.mark.parametrize(("x_shape", "kernel_shape", "strides", "padding"), [
    ((2, 4, 5, 2), (2, 3, 2, 2), 1, "valid"),
    ((2, 5, 4, 1), (2, 2, 1, 2), 2, "same"),
])
def test_backward_functions_match_finite_differences(backward, x_shape, kernel_shape, strides,
                                                     padding):
    rng = np.random.default_rng(5)
    x = rng.normal(size=x_shape)
    kernel = rng.normal(size=kernel_shape)
    bias = rng.normal(size=kernel_shape[-1])
    g = rng.normal(size=conv2d(x, kernel, bias, strides, padding).shape)

    def objective(_=None):
        return np.sum(conv2d_naive(x, kernel, bias, strides, padding) * g)

    grad_x, grad_kernel, grad_bias = backward(g, x, kernel, strides, padding)
    assert rel_error(grad_x, numerical_gradient(objective, x)) <= 1e-6
    assert rel_error(grad_kernel, numerical_gradient(objective, kernel)) <= 1e-6
    assert rel_error(grad_bias, numerical_gradient(objective, bias)) <= 1e-6


@pytest.mark.parametrize(("x_shape", "filters", "kernel_size", "kwargs"), [
    ((2, 4, 5, 2), 2, (2, 3), dict(activation="tanh")),
    ((1, 5, 4, 2), 3, 2, dict(strides=2, padding="same", activation="sigmoid")),
    ((2, 4, 4, 1), 2, 3, dict(padding="same", use_bias=False)),
])
def test_layer_backward_matches_finite_differences(x_shape, filters, kernel_size, kwargs):
    layer = Conv2D(filters, kernel_size, seed=6, **kwargs)
    x = np.random.default_rng(6).normal(size=x_shape)
    errors = check_layer(layer, x)
    assert set(errors) == {"input", *layer.params}


@pytest.mark.parametrize("backward", [conv2d_backward_naive, conv2d_backward])
def test_input_grad_false_skips_only_the_input_gradient(backward):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 6, 5, 3))
    kernel = rng.normal(size=(3, 2, 3, 4))
    g = rng.normal(size=conv2d(x, kernel, strides=2, padding="same").shape)
    full = backward(g, x, kernel, 2, "same")
    grad_x, grad_kernel, grad_bias = backward(g, x, kernel, 2, "same", compute_input_grad=False)
    assert grad_x is None and full[0] is not None
    np.testing.assert_array_equal(grad_kernel, full[1])
    np.testing.assert_array_equal(grad_bias, full[2])


def test_layer_with_input_grad_false_returns_none_and_the_same_weight_gradients():
    layer = Conv2D(3, 3, activation="relu", seed=8)
    x = np.random.default_rng(8).normal(size=(2, 6, 6, 2))
    g = np.random.default_rng(9).normal(size=layer.forward(x).shape)
    assert layer.backward(g) is not None
    expected = {k: v.copy() for k, v in layer.grads.items()}
    layer.compute_input_grad = False
    layer.forward(x)
    assert layer.backward(g) is None
    for name, grad in expected.items():
        np.testing.assert_array_equal(layer.grads[name], grad)


# ----------------------------------------------------------------------------- sizes, padding
@pytest.mark.parametrize(("size", "kernel", "stride", "padding", "out", "split"), [
    (28, 3, 1, "valid", 26, (0, 0)),
    (7, 3, 2, "valid", 3, (0, 0)),
    (8, 3, 2, "valid", 3, (0, 0)),
    (3, 3, 1, "valid", 1, (0, 0)),
    (7, 3, 1, "same", 7, (1, 1)),
    (8, 4, 1, "same", 8, (1, 2)),  # even kernel: the extra row goes after
    (5, 2, 2, "same", 3, (0, 1)),
    (6, 4, 2, "same", 3, (1, 1)),
    (6, 3, 2, "same", 3, (0, 1)),
    (9, 2, 3, "same", 3, (0, 0)),  # stride > kernel: no padding needed
])
def test_output_size_and_tensorflow_padding_split(size, kernel, stride, padding, out, split):
    assert conv_output_size(size, kernel, stride, padding) == out
    assert padding_split(size, kernel, stride, padding) == split


def test_padding_split_matches_tensorflow_with_a_one_hot_kernel(tf):
    # A kernel with a single 1 at its top-left copies x_pad[r·s, q·s]: the first output row and
    # column show how many padded rows and columns TensorFlow put before the image.
    for size, kernel, stride in [(5, 2, 2), (6, 4, 2), (7, 3, 2), (8, 4, 1), (6, 3, 1)]:
        x = np.arange(1.0, size * size + 1).reshape(1, size, size, 1)
        one_hot = np.zeros((kernel, kernel, 1, 1))
        one_hot[0, 0] = 1.0
        expected = tf.nn.conv2d(x, one_hot, stride, "SAME").numpy()
        np.testing.assert_array_equal(conv2d(x, one_hot, strides=stride, padding="same"),
                                      expected)
        before, _ = padding_split(size, kernel, stride, "same")
        assert (expected[0, 0, 0, 0] == 0) == (before > 0)


def test_pad2d_pads_as_padding_split_and_returns_where_x_starts():
    x = np.ones((1, 5, 6, 2))
    xp, (top, left) = pad2d(x, (4, 3), 2, "same", value=-1.0)
    assert xp.shape == (1, 5 + 1 + 2, 6 + 0 + 1, 2) and (top, left) == (1, 0)
    np.testing.assert_array_equal(xp[:, top:top + 5, left:left + 6], x)
    assert (xp == -1.0).sum() == xp.size - x.size
    same, offsets = pad2d(x, 3, 1, "valid")
    assert same is x and offsets == (0, 0)


# ----------------------------------------------------------------------------- the layer
def test_layer_creates_keras_shaped_weights_from_its_initializers():
    layer = Conv2D(8, (3, 2), seed=10, kernel_regularizer="l2")
    y = layer.forward(np.zeros((4, 10, 9, 5), dtype=np.float32))
    assert y.shape == (4, 8, 8, 8) and y.dtype == np.float32
    assert list(layer.params) == ["kernel", "bias"]
    assert layer.params["kernel"].shape == (3, 2, 5, 8) and layer.params["bias"].shape == (8,)
    assert layer.params["kernel"].dtype == np.float32
    limit = np.sqrt(6.0 / (3 * 2 * 5 + 3 * 2 * 8))  # Glorot: fans (kh·kw·in, kh·kw·out)
    assert np.abs(layer.params["kernel"]).max() <= limit
    assert np.abs(layer.params["kernel"]).max() > 0.8 * limit
    np.testing.assert_array_equal(layer.params["bias"], 0.0)
    assert isinstance(layer.regularizers["kernel"], regularizers.L2)
    assert layer.kernel_regularizer is layer.regularizers["kernel"]
    assert Conv2D(1, 1).kernel_regularizer is None
    again = Conv2D(8, (3, 2), seed=10)
    again.forward(np.zeros((1, 10, 9, 5), dtype=np.float32))
    np.testing.assert_array_equal(again.params["kernel"], layer.params["kernel"])
    assert layer.count_params() == 3 * 2 * 5 * 8 + 8


def test_float32_layer_computes_in_float32_close_to_float64():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(2, 8, 8, 3))
    ours64 = Conv2D(4, 3, padding="same", activation="relu", seed=11)
    ours32 = Conv2D(4, 3, padding="same", activation="relu", seed=11)
    y64 = ours64.forward(x)
    y32 = ours32.forward(x.astype(np.float32))
    ours32.set_weights(ours64.get_weights())
    y32 = ours32.forward(x.astype(np.float32))
    g = rng.normal(size=y64.shape)
    gx64 = ours64.backward(g)
    gx32 = ours32.backward(g.astype(np.float32))
    assert y32.dtype == gx32.dtype == ours32.grads["kernel"].dtype == np.float32
    assert rel_error(y32, y64) < 1e-5 and rel_error(gx32, gx64) < 1e-5
    assert rel_error(ours32.grads["kernel"], ours64.grads["kernel"]) < 1e-5


# ----------------------------------------------------------------------------- clear errors
def built_layer(**kwargs):
    layer = Conv2D(4, 3, name="conv1", **kwargs)
    layer.forward(np.zeros((2, 5, 5, 3)))
    return layer


@pytest.mark.parametrize(("x", "error", "match"), [
    (np.zeros((28, 28)), ValueError,
     r"Conv2D 'conv1': expected input of rank 4 \(batch, height, width, channels\), "
     r"got shape \(28, 28\)"),
    (np.zeros((1, 28, 28, 1), dtype=np.int64), TypeError,
     r"Conv2D 'conv1': expected a floating-point input .*got dtype int64"),
    (np.array([[[[1.0]]], [[["a"]]]], dtype=object), TypeError,
     r"Conv2D 'conv1': expected a floating-point input .*got dtype object"),
    (np.full((1, 5, 5, 1), np.nan), ValueError,
     r"Conv2D 'conv1': the input contains NaN or infinite values \(25 of 25 entries\)"),
    (np.zeros((1, 2, 5, 1)), ValueError,
     r"Conv2D 'conv1': with padding 'valid' the image must be at least as large as the kernel "
     r"\(3, 3\), got input of shape \(1, 2, 5, 1\)"),
])
def test_bad_input_names_the_layer_what_was_expected_and_what_was_given(x, error, match):
    with pytest.raises(error, match=match):
        Conv2D(4, 3, name="conv1").forward(x)


def test_wrong_channel_count_on_a_second_call():
    layer = built_layer()
    with pytest.raises(ValueError, match=r"Conv2D 'conv1': expected input with 3 channels "
                                         r"\(last axis\) as on its first call, "
                                         r"got shape \(2, 5, 5, 4\)"):
        layer.forward(np.zeros((2, 5, 5, 4)))


def test_mismatched_set_weights():
    layer = built_layer()
    with pytest.raises(ValueError, match=r"Conv2D 'conv1': expected 2 weight arrays "
                                         r"\(kernel, bias\), got 1"):
        layer.set_weights([np.zeros((3, 3, 3, 4))])
    with pytest.raises(ValueError, match=r"Conv2D 'conv1': weight 'kernel' must have shape "
                                         r"\(3, 3, 3, 4\), got \(3, 3, 4, 3\)"):
        layer.set_weights([np.zeros((3, 3, 4, 3)), np.zeros(4)])
    with pytest.raises(ValueError, match=r"Conv2D 'conv1': weight 'bias' must have shape "
                                         r"\(4,\), got \(1, 4\)"):
        layer.set_weights([np.zeros((3, 3, 3, 4)), np.zeros((1, 4))])


def test_backward_before_forward_and_wrong_gradient_shape():
    with pytest.raises(ValueError, match=r"Conv2D 'conv1': backward\(\) called before "
                                         r"forward\(\)"):
        Conv2D(4, 3, name="conv1").backward(np.zeros((2, 3, 3, 4)))
    with pytest.raises(ValueError, match=r"Conv2D 'conv1': expected a gradient of the output's "
                                         r"shape \(2, 3, 3, 4\), got shape \(2, 3, 3, 3\)"):
        built_layer().backward(np.zeros((2, 3, 3, 3)))


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(filters=0), r"Conv2D 'conv1': filters must be an integer >= 1, got 0"),
    (dict(kernel_size=(3, 0)),
     r"Conv2D 'conv1': kernel_size must be a positive int or a pair of positive ints, "
     r"got \(3, 0\)"),
    (dict(kernel_size=(1, 2, 3)), r"Conv2D 'conv1': kernel_size must be .*got \(1, 2, 3\)"),
    (dict(kernel_size=True), r"Conv2D 'conv1': kernel_size must be .*got True"),
    (dict(strides=-1), r"Conv2D 'conv1': strides must be .*got -1"),
    (dict(padding="full"),
     r"Conv2D 'conv1': padding must be one of \['valid', 'same'\], got 'full'"),
    (dict(activation="relu6"), r"Conv2D 'conv1': unknown activation 'relu6'; expected one of"),
    (dict(kernel_initializer="glorot"), r"Conv2D 'conv1': unknown initializer 'glorot'"),
    (dict(kernel_regularizer="l3"), r"Conv2D 'conv1': unknown regularizer 'l3'"),
])
def test_bad_constructor_arguments(kwargs, match):
    arguments = dict(filters=4, kernel_size=3, name="conv1") | kwargs
    with pytest.raises(ValueError, match=match):
        Conv2D(**arguments)


def test_a_float_filter_count_is_a_type_error():
    with pytest.raises(TypeError, match=r"Conv2D 'conv1': filters must be an integer >= 1, "
                                        r"got 2.5 \(float\)"):
        Conv2D(2.5, 3, name="conv1")


def test_keras_style_padding_names_are_case_insensitive():
    assert Conv2D(1, 3, padding="SAME").padding == "same"


@pytest.mark.parametrize("fn", [conv2d, conv2d_naive])
def test_functions_name_themselves_in_errors(fn):
    name = fn.__name__
    x, kernel = np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 4))
    with pytest.raises(ValueError, match=rf"{name}\(\): expected x of rank 4 .*got shape \(5, 5\)"):
        fn(np.zeros((5, 5)), kernel)
    with pytest.raises(ValueError, match=rf"{name}\(\): expected a kernel of rank 4 "
                                         r"\(kh, kw, in_channels, filters\), got shape \(3, 3\)"):
        fn(x, np.zeros((3, 3)))
    with pytest.raises(ValueError, match=rf"{name}\(\): the kernel \(3, 3, 3, 4\) expects 3 "
                                         r"input channels, got x of shape \(1, 5, 5, 2\)"):
        fn(x, np.zeros((3, 3, 3, 4)))
    with pytest.raises(ValueError, match=rf"{name}\(\): expected a bias of shape \(4,\), "
                                         r"got shape \(3,\)"):
        fn(x, kernel, np.zeros(3))
    with pytest.raises(ValueError, match=rf"{name}\(\): padding must be one of "
                                         r"\['valid', 'same'\], got 'full'"):
        fn(x, kernel, padding="full")
    with pytest.raises(ValueError, match=rf"{name}\(\): strides must be .*got 0"):
        fn(x, kernel, strides=0)


@pytest.mark.parametrize("fn", [conv2d_backward, conv2d_backward_naive])
def test_backward_functions_check_the_gradient_shape(fn):
    match = (rf"{fn.__name__}\(\): expected grad_output of the output's shape \(1, 3, 3, 4\), "
             r"got shape \(1, 5, 5, 4\)")
    with pytest.raises(ValueError, match=match):
        fn(np.zeros((1, 5, 5, 4)), np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 4)))


def test_size_helpers_reject_bad_arguments():
    with pytest.raises(ValueError, match=r"conv_output_size\(\): with padding 'valid' the input "
                                         r"length must be at least the kernel length 5, got 3"):
        conv_output_size(3, 5, 1, "valid")
    with pytest.raises(ValueError, match=r"padding_split\(\): padding must be one of .*"
                                         r"got 'causal'"):
        padding_split(3, 2, 1, "causal")
