"""Tests of dlcourse.check: right answers pass, and every diagnosed mistake is recognised.

The implementations below are written the way a learner would write them, independently of the
references inside ``dlcourse.check`` (loops where a learner would loop), so that a correct one
passing is evidence that the references are right, and each deliberately wrong one shows that
the checker names its mistake. (The references were also compared with TensorFlow in float64
when written: convolution with 'same'/'valid' and strides, max pooling, SimpleRNN, the
softmax-cross-entropy gradient.)
"""

import math
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import test_check_attention

from dlcourse import check
from dlcourse.check.catalogue import CATALOGUE


# ============================================================================ correct answers
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def relu(z):
    return np.maximum(z, 0)


def dense_forward(x, kernel, bias):
    return x @ kernel + bias


def dense_backward(x, kernel, bias, grad_output):
    return grad_output @ kernel.T, x.T @ grad_output, grad_output.sum(axis=0)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(probs, labels):
    return -np.mean(np.log(probs[np.arange(len(probs)), labels]))


def cross_entropy_one_hot(probs, labels):
    return -np.mean(np.sum(labels * np.log(probs), axis=1))


def softmax_cross_entropy_backward(logits, labels):
    grad = softmax(logits)
    grad[np.arange(len(logits)), labels] -= 1
    return grad / len(logits)


def gradient_descent_step(theta, grad, learning_rate):
    return theta - learning_rate * grad


def tf_same_padding(size, k, stride):
    """TensorFlow's documented rule: pad the total needed, the odd one after."""
    total = max((math.ceil(size / stride) - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def make_conv2d(*, flip=False, use_bias=True, stride=None, same_padding=tf_same_padding,
                padding_override=None, swap_hw=False, channels_first=False, rows_off=0):
    """A learner's loop convolution, with one of the usual mistakes switched on."""
    def conv2d(x, kernel, bias, strides, padding):
        sh, sw = (strides, strides) if isinstance(strides, int) else strides
        if stride is not None:
            sh, sw = stride(sh, sw)
        if flip:
            kernel = kernel[::-1, ::-1]
        if swap_hw:
            kernel = kernel.transpose(1, 0, 2, 3)
        padding = padding_override.get(padding, padding) if padding_override else padding
        kh, kw, _, filters = kernel.shape
        if padding == "same":
            top, bottom = same_padding(x.shape[1], kh, sh)
            left, right = same_padding(x.shape[2], kw, sw)
            x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        out_h = (x.shape[1] - kh) // sh + 1 + rows_off
        out_w = (x.shape[2] - kw) // sw + 1
        y = np.zeros((x.shape[0], out_h, out_w, filters))
        for i in range(out_h):
            for j in range(out_w):
                patch = x[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
                y[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
        if use_bias:
            y = y + bias
        return y.transpose(0, 3, 1, 2) if channels_first else y
    return conv2d


def make_maxpool2d(*, reduce=np.max, stride=None, first_only=False, over_channels=False,
                   keep_channel_axis=True, channels_first=False, rows_off=0):
    def maxpool2d(x, pool_size, strides):
        ph, pw = (pool_size, pool_size) if isinstance(pool_size, int) else pool_size
        sh, sw = (strides, strides) if isinstance(strides, int) else strides
        if first_only:
            pw, sw = ph, sh
        if stride is not None:
            sh, sw = stride(ph, pw, sh, sw)
        out_h = (x.shape[1] - ph) // sh + 1 + rows_off
        out_w = (x.shape[2] - pw) // sw + 1
        y = np.zeros((x.shape[0], out_h, out_w, x.shape[3]))
        for i in range(out_h):
            for j in range(out_w):
                window = x[:, i * sh:i * sh + ph, j * sw:j * sw + pw, :]
                if over_channels:
                    y[:, i, j, :] = reduce(window, axis=(1, 2, 3))[:, None]
                else:
                    y[:, i, j, :] = reduce(window, axis=(1, 2))
        if not keep_channel_axis:
            y = y[..., 0]
        return y.transpose(0, 3, 1, 2) if channels_first else y
    return maxpool2d


def rnn_step(x_t, h_prev, kernel, recurrent_kernel, bias):
    return np.tanh(x_t @ kernel + h_prev @ recurrent_kernel + bias)


def make_rnn_forward(*, step=rnn_step, carry=True, keep_h0=False, late=False, last_only=False,
                     time_major=False, over_batch=False, backwards=False):
    def rnn_forward(x, kernel, recurrent_kernel, bias):
        if over_batch:
            x = x.transpose(1, 0, 2)  # the learner loops over x[t] of a (batch, time, f) array
        h = np.zeros((x.shape[0], kernel.shape[1]))
        states = [h] if keep_h0 else []
        times = range(x.shape[1])
        for t in (reversed(times) if backwards else times):
            if late:
                states.append(h)
            h = step(x[:, t], h if carry else np.zeros_like(h), kernel, recurrent_kernel, bias)
            if not late:
                states.append(h)
        if backwards == "realigned":
            states = states[::-1]
        if last_only:
            return h
        if over_batch:
            return np.stack(states, axis=0)
        return np.stack(states, axis=0 if time_major else 1)
    return rnn_forward


def make_lstm_step(*, order="ifco", use_bias=True, forget_bias=None, cell=np.tanh,
                   candidate=np.tanh, gate=sigmoid, swap_weights=False, cell_from_h=False,
                   return_order="hc"):
    """A learner's LSTM step (Keras's i, f, c, o layout), with one of the usual mistakes."""
    def lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
        if swap_weights:
            kernel, recurrent_kernel = recurrent_kernel, kernel
        z = x_t @ kernel + h_prev @ recurrent_kernel
        if use_bias:
            z = z + bias
        units = h_prev.shape[1]
        blocks = dict(zip(order, np.split(z, 4, axis=1), strict=True))
        if forget_bias == "missing":
            blocks["f"] = blocks["f"] - bias[units:2 * units]
        elif forget_bias == "plus_one":
            blocks["f"] = blocks["f"] + 1
        i, f, o = gate(blocks["i"]), gate(blocks["f"]), gate(blocks["o"])
        g = candidate(blocks["c"])
        c = f * (h_prev if cell_from_h else c_prev) + i * g
        h = o * cell(c)
        return (h, c) if return_order == "hc" else (c, h)
    return lstm_step


def make_gru_step(*, order="zrh", z_swapped=False, reset_before=None, bias_rows="right",
                  swap_weights=False):
    """A learner's GRU step (Keras's reset_after=True, z, r, h layout), with one mistake."""
    def gru_step(x_t, h_prev, kernel, recurrent_kernel, bias):
        if swap_weights:
            kernel, recurrent_kernel = recurrent_kernel, kernel
        b_in, b_rec = {"right": (bias[0], bias[1]), "input": (bias[0] + bias[1], 0),
                       "swapped": (bias[1], bias[0]), "first": (bias[0], 0),
                       "none": (0, 0)}[bias_rows]
        units = h_prev.shape[1]
        x_parts = dict(zip(order, np.split(x_t @ kernel + b_in, 3, axis=1), strict=True))
        if reset_before:
            rk = dict(zip(order, np.split(recurrent_kernel, 3, axis=1), strict=True))
            extra = bias[1] if reset_before == "both" else 0
            b_z, b_r, b_h = np.split(np.zeros(3 * units) + extra, 3)
            z = sigmoid(x_parts["z"] + h_prev @ rk["z"] + b_z)
            r = sigmoid(x_parts["r"] + h_prev @ rk["r"] + b_r)
            candidate = np.tanh(x_parts["h"] + (r * h_prev) @ rk["h"] + b_h)
        else:
            h_parts = dict(zip(order, np.split(h_prev @ recurrent_kernel + b_rec, 3, axis=1),
                               strict=True))
            z = sigmoid(x_parts["z"] + h_parts["z"])
            r = sigmoid(x_parts["r"] + h_parts["r"])
            candidate = np.tanh(x_parts["h"] + r * h_parts["h"])
        if z_swapped:
            return (1 - z) * h_prev + z * candidate
        return z * h_prev + (1 - z) * candidate
    return gru_step


# ============================================================================ correct ones pass
CORRECT = [
    ("sigmoid", lambda: check.activation(sigmoid, "sigmoid")),
    ("tanh", lambda: check.activation(np.tanh, "tanh")),
    ("relu", lambda: check.activation(relu, "relu")),
    ("sigmoid_float32", lambda: check.activation(lambda z: sigmoid(z).astype(np.float32),
                                                 "sigmoid")),
    ("sigmoid_derivative", lambda: check.activation_derivative(
        lambda z: sigmoid(z) * (1 - sigmoid(z)), "sigmoid")),
    ("tanh_derivative", lambda: check.activation_derivative(lambda z: 1 / np.cosh(z) ** 2,
                                                            "tanh")),
    ("relu_derivative_bool", lambda: check.activation_derivative(lambda z: z > 0, "relu")),
    ("dense_forward", lambda: check.dense_forward(dense_forward)),
    ("dense_forward_lists", lambda: check.dense_forward(
        lambda x, k, b: [[sum(xi[i] * k[i, j] for i in range(len(xi))) + b[j]
                          for j in range(k.shape[1])] for xi in x])),
    ("dense_backward", lambda: check.dense_backward(dense_backward)),
    ("dense_backward_list_float32", lambda: check.dense_backward(
        lambda *a: [g.astype(np.float32) for g in dense_backward(*a)])),
    ("softmax", lambda: check.softmax(softmax)),
    ("cross_entropy", lambda: check.cross_entropy(cross_entropy)),
    ("cross_entropy_float", lambda: check.cross_entropy(lambda p, y: float(cross_entropy(p, y)))),
    ("cross_entropy_one_hot", lambda: check.cross_entropy(cross_entropy_one_hot, one_hot=True)),
    ("softmax_cross_entropy_backward",
     lambda: check.softmax_cross_entropy_backward(softmax_cross_entropy_backward)),
    ("softmax_cross_entropy_backward_one_hot", lambda: check.softmax_cross_entropy_backward(
        lambda z, y: (softmax(z) - y) / len(z), one_hot=True)),
    ("gradient_descent_step", lambda: check.gradient_descent_step(gradient_descent_step)),
    ("conv2d", lambda: check.conv2d(make_conv2d())),
    ("conv2d_as_int", lambda: check.conv2d(make_conv2d(), as_int=True)),
    ("maxpool2d", lambda: check.maxpool2d(make_maxpool2d())),
    ("maxpool2d_as_int", lambda: check.maxpool2d(make_maxpool2d(), as_int=True)),
    ("rnn_step", lambda: check.rnn_step(rnn_step)),
    ("rnn_forward", lambda: check.rnn_forward(make_rnn_forward())),
    ("lstm_step", lambda: check.lstm_step(make_lstm_step())),
    ("lstm_step_float32_list", lambda: check.lstm_step(
        lambda *a: [v.astype(np.float32) for v in make_lstm_step()(*a)])),
    ("gru_step", lambda: check.gru_step(make_gru_step())),
]


@pytest.mark.parametrize("run", [c[1] for c in CORRECT], ids=[c[0] for c in CORRECT])
def test_a_correct_implementation_passes(run):
    result = run()
    assert isinstance(result, check.CheckResult)
    assert result.cases >= 3
    assert repr(result) == f"✔ {result.name}: correct on {result.cases} test cases"


def test_the_result_displays_as_one_line_in_a_notebook():
    result = check.dense_backward(dense_backward)
    assert result.name == "dense_backward"
    assert result._repr_markdown_() == "✔ `dense_backward`: correct on 4 test cases"
    assert str(check.CheckResult("f", 1)) == "✔ f: correct on 1 test case"


def test_an_in_place_style_that_returns_its_result_is_accepted():
    def relu_in_place(z):
        z[z < 0] = 0
        return z

    def step_in_place(theta, grad, learning_rate):
        theta -= learning_rate * grad
        return theta

    assert check.activation(relu_in_place, "relu").cases == 4
    assert check.gradient_descent_step(step_in_place).cases == 4


def test_a_function_that_scribbles_on_its_inputs_does_not_spoil_later_cases():
    def scribbling_dense_backward(x, kernel, bias, grad_output):
        grads = (grad_output @ kernel.T, x.T @ grad_output, grad_output.sum(axis=0))
        for array in (x, kernel, bias, grad_output):
            array[...] = np.nan
        return grads

    assert check.dense_backward(scribbling_dense_backward).cases == 4
    assert check.dense_backward(dense_backward).cases == 4  # and the next check is unharmed


# ============================================================================ known mistakes
def backward_with(**wrong):
    """``dense_backward`` with some of its results replaced by a mistaken formula."""
    def fn(x, kernel, bias, g):
        grads = dict(zip(("grad_x", "grad_kernel", "grad_bias"),
                         dense_backward(x, kernel, bias, g), strict=True))
        grads.update({name: formula(x, kernel, bias, g) for name, formula in wrong.items()})
        return grads["grad_x"], grads["grad_kernel"], grads["grad_bias"]
    return fn


def sce_with(formula):
    def fn(logits, labels):
        one_hot = np.eye(logits.shape[1])[labels]
        return formula(softmax(logits), one_hot, logits, len(logits))
    return fn


def sigmoid_derivative_at_output(z):
    a = sigmoid(z)
    return sigmoid(a) * (1 - sigmoid(a))


def step_without_return(theta, grad, learning_rate):
    theta -= learning_rate * grad


def rnn_step_with(formula):
    return lambda x, h, k, rk, b: formula(x, h, k, rk, b)


def pool_strides(fn):
    return make_maxpool2d(stride=fn)


A, S, D = check.activation, check.activation_derivative, check.dense_backward

# (checker, wrong implementation, key of the mistake, a phrase of its diagnosis)
MISTAKES = [
    # activations
    (lambda f: A(f, "sigmoid"), lambda z: 1 / (1 + np.exp(z)), "sigmoid_exponent_sign",
     "sign in the exponent"),
    (lambda f: A(f, "sigmoid"), lambda z: sigmoid(z) * (1 - sigmoid(z)), "returned_derivative",
     "returned the derivative"),
    (lambda f: A(f, "sigmoid"), np.tanh, "wrong_activation", "you computed tanh, not sigmoid"),
    (lambda f: A(f, "tanh"), lambda z: 2 * sigmoid(z) - 1, "tanh_from_sigmoid", "tanh(z/2)"),
    (lambda f: A(f, "tanh"), lambda z: (np.exp(z) - np.exp(-z)) / 2, "tanh_missing_denominator",
     "sinh"),
    (lambda f: A(f, "tanh"), lambda z: 1 - np.tanh(z) ** 2, "returned_derivative",
     "instead of tanh(z)"),
    (lambda f: A(f, "relu"), lambda z: (z > 0) * 1.0, "returned_derivative", "0/1 mask"),
    (lambda f: A(f, "relu"), lambda z: np.minimum(z, 0), "relu_negative_part",
     "kept the negative part"),
    (lambda f: A(f, "relu"), np.abs, "relu_abs", "|z|"),
    (lambda f: A(f, "relu"), sigmoid, "wrong_activation", "you computed sigmoid, not relu"),
    (lambda f: S(f, "sigmoid"), lambda z: z * (1 - z), "derivative_formula_on_z",
     "needs the activation a = σ(z)"),
    (lambda f: S(f, "sigmoid"), sigmoid_derivative_at_output, "derivative_at_output",
     "at the output"),
    (lambda f: S(f, "sigmoid"), sigmoid, "returned_function", "not its derivative"),
    (lambda f: S(f, "sigmoid"), lambda z: -sigmoid(z) * (1 - sigmoid(z)), "sign", "wrong sign"),
    (lambda f: S(f, "tanh"), lambda z: 1 - z ** 2, "derivative_formula_on_z",
     "needs the activation a = tanh(z)"),
    (lambda f: S(f, "tanh"), lambda z: 1 - np.tanh(np.tanh(z)) ** 2, "derivative_at_output",
     "tanh applied twice"),
    (lambda f: S(f, "tanh"), lambda z: 1 - np.tanh(z), "tanh_derivative_no_square",
     "square is missing"),
    (lambda f: S(f, "tanh"), lambda z: np.tanh(z) ** 2, "tanh_derivative_no_one_minus",
     "you returned tanh(z)²"),
    (lambda f: S(f, "tanh"), np.tanh, "returned_function", "not its derivative"),
    (lambda f: S(f, "relu"), lambda z: (z >= 0) * 1.0, "relu_derivative_at_zero",
     "relu'(0) must be 0"),
    (lambda f: S(f, "relu"), relu, "returned_function", "not its derivative"),
    # dense
    (check.dense_forward, lambda x, k, b: x @ k, "forgot_bias", "you forgot the bias"),
    (check.dense_forward, lambda x, k, b: x @ k.T + b, "kernel_transposed",
     "kernel is used transposed"),
    (check.dense_forward, lambda x, k, b: (x @ k + b).T, "output_transposed",
     "output is transposed"),
    (check.dense_forward, lambda x, k, b: x @ k + b.reshape(-1, 1), "bias_wrong_axis",
     "along the batch axis"),
    (D, backward_with(grad_x=lambda x, k, b, g: g @ k), "grad_x_kernel_not_transposed",
     "grad_output @ kernel.T"),
    (D, backward_with(grad_kernel=lambda x, k, b, g: (x.T @ g).T), "grad_kernel_transposed",
     "grad_kernel is transposed"),
    (D, backward_with(grad_bias=lambda x, k, b, g: g), "grad_bias_not_summed",
     "the bias gradient is not summed over the batch"),
    (D, backward_with(grad_bias=lambda x, k, b, g: g.sum(axis=0, keepdims=True)),
     "grad_bias_keepdims", "without keepdims=True"),
    (D, backward_with(grad_bias=lambda x, k, b, g: g.sum(axis=1)), "grad_bias_wrong_axis",
     "over the units instead of over the batch"),
    (D, backward_with(grad_bias=lambda x, k, b, g: np.sum(g)), "grad_bias_total",
     "summed over everything"),
    (D, backward_with(grad_kernel=lambda x, k, b, g: x.T @ g / len(x)), "batch_factor",
     "off by a factor of the batch size: 4 times too small"),
    (D, backward_with(grad_x=lambda x, k, b, g: -(g @ k.T)), "sign", "wrong sign"),
    (D, backward_with(grad_x=lambda x, k, b, g: 2 * g @ k.T), "factor", "constant factor: 2"),
    (D, backward_with(grad_bias=lambda x, k, b, g: np.zeros_like(b)), "zeros", "all zeros"),
    (D, backward_with(grad_x=lambda x, k, b, g: k @ g.T), "transposed",
     "grad_x is transposed"),
    (D, backward_with(grad_x=lambda x, k, b, g: (g @ k.T)[:, :, None]), "extra_axis",
     "axis of length 1"),
    (D, backward_with(grad_kernel=lambda x, k, b, g: (x.T @ g).ravel()), "reshaped",
     "the right values but shape (9,)"),
    (D, backward_with(grad_bias=lambda x, k, b, g: "not yet"), "not_an_array",
     "must be an array of numbers"),
    (D, lambda x, k, b, g: dense_backward(x, k, b, g)[::-1], "swapped_outputs",
     "the result in position 1 is grad_bias, not grad_x"),
    (D, lambda x, k, b, g: g @ k.T, "not_a_tuple", "expected a tuple of 3 arrays"),
    (D, lambda x, k, b, g: dense_backward(x, k, b, g)[:2], "tuple_length",
     "got a tuple of 2 values"),
    # softmax and losses
    (check.softmax, lambda z: np.exp(z - z.max(axis=1, keepdims=True)),
     "softmax_not_normalised", "forgot to divide by the sum"),
    (check.softmax, lambda z: np.exp(z) / np.exp(z).sum(axis=0), "softmax_wrong_axis",
     "over the batch axis"),
    (check.softmax, lambda z: np.exp(z) / np.sum(np.exp(z)), "softmax_global_sum",
     "the sum over the whole batch"),
    (check.softmax, lambda z: np.exp(z) / np.exp(z).sum(axis=1), "softmax_no_keepdims",
     "the sum lost its axis"),
    (check.softmax, lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
     "softmax_overflow", "subtract each row's maximum"),
    (check.cross_entropy, lambda p, y: np.mean(np.log(p[np.arange(len(p)), y])),
     "ce_missing_minus", "the minus sign is missing"),
    (check.cross_entropy, lambda p, y: -np.sum(np.log(p[np.arange(len(p)), y])),
     "batch_factor", "5 times too large (you summed over the batch"),
    (check.cross_entropy, lambda p, y: -np.log(p[np.arange(len(p)), y]), "ce_per_sample",
     "one loss per sample"),
    (check.cross_entropy, lambda p, y: -np.mean(np.eye(p.shape[1])[y] * np.log(p)),
     "ce_mean_over_classes", "averaged over the classes too"),
    (check.cross_entropy, lambda p, y: -np.mean(np.log(p[y])), "ce_rows_indexed",
     "probs[labels] picks whole rows"),
    (check.cross_entropy, lambda p, y: -np.mean(np.log(p[:, y])), "ce_all_pairs",
     "probs[:, labels] picks every label's column"),
    (check.cross_entropy, lambda p, y: -np.mean(np.sum(np.log(p), axis=1)), "ce_all_classes",
     "log of every class's probability"),
    (check.cross_entropy, lambda p, y: -np.mean(np.log(np.max(p, axis=1))),
     "ce_max_probability", "largest probability"),
    (lambda f: check.cross_entropy(f, one_hot=True),
     lambda p, y: -np.mean(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1)),
     "ce_binary_formula", "binary cross-entropy"),
    (check.cross_entropy, lambda p, y: -np.mean(np.log10(p[np.arange(len(p)), y])),
     "ce_log_base", "you used log10"),
    (check.cross_entropy, lambda p, y: -np.mean(np.log2(p[np.arange(len(p)), y])),
     "ce_log_base", "you used log2"),
    (check.softmax_cross_entropy_backward, sce_with(lambda p, y, z, n: p - y),
     "sce_missing_batch_division", "division by the batch size is missing"),
    (check.softmax_cross_entropy_backward, sce_with(lambda p, y, z, n: (y - p) / n),
     "sce_wrong_sign", "wrong sign"),
    (check.softmax_cross_entropy_backward, sce_with(lambda p, y, z, n: p / n),
     "sce_no_onehot", "forgot to subtract the one-hot"),
    (check.softmax_cross_entropy_backward, sce_with(lambda p, y, z, n: (p - 1) / n),
     "sce_minus_one_everywhere", "subtracted 1 from every entry"),
    (check.softmax_cross_entropy_backward, sce_with(lambda p, y, z, n: (z - y) / n),
     "sce_logits_not_probs", "used the logits"),
    # gradient descent
    (check.gradient_descent_step, lambda t, g, lr: t + lr * g, "gd_wrong_sign",
     "moves against the gradient"),
    (check.gradient_descent_step, lambda t, g, lr: t - g, "gd_learning_rate_ignored",
     "learning rate is ignored"),
    (check.gradient_descent_step, lambda t, g, lr: t - lr * lr * g, "gd_learning_rate_squared",
     "applied twice"),
    (check.gradient_descent_step, lambda t, g, lr: t - g / lr, "gd_divided_by_learning_rate",
     "divided by the learning rate"),
    (check.gradient_descent_step, lambda t, g, lr: t, "gd_no_update", "theta unchanged"),
    (check.gradient_descent_step, lambda t, g, lr: -lr * g, "gd_returned_step",
     "not the updated parameters"),
    (check.gradient_descent_step, step_without_return, "in_place_none",
     "you updated theta in place and returned None: end with `return theta`"),
    (check.gradient_descent_step, lambda t, g, lr: None, "returned_none",
     "forget the return statement"),
    # convolution and pooling
    (check.conv2d, make_conv2d(flip=True), "conv_flipped_kernel",
     "you flipped the kernel (that is mathematical convolution"),
    (check.conv2d, make_conv2d(use_bias=False), "conv_forgot_bias", "you forgot the bias"),
    (check.conv2d, make_conv2d(stride=lambda sh, sw: (1, 1)), "conv_stride_ignored",
     "the stride was ignored"),
    (check.conv2d, make_conv2d(stride=lambda sh, sw: (sh, sh)), "conv_stride_first_only",
     "strides[0] in both directions"),
    (check.conv2d, make_conv2d(padding_override={"same": "valid"}), "conv_same_ignored",
     "padding='same' was ignored"),
    (check.conv2d, make_conv2d(padding_override={"valid": "same"}), "conv_padded_valid",
     "you padded although padding='valid'"),
    (check.conv2d, make_conv2d(same_padding=lambda n, k, s: tf_same_padding(n, k, s)[::-1]),
     "conv_same_split", "split the wrong way round"),
    (check.conv2d, make_conv2d(same_padding=lambda n, k, s: ((k - 1) // 2, k - 1 - (k - 1) // 2)),
     "conv_same_stride_one_padding", "padded as for stride 1"),
    (check.conv2d, make_conv2d(same_padding=lambda n, k, s: (k // 2, k // 2)),
     "conv_symmetric_padding", "k // 2 on both sides"),
    (check.conv2d, make_conv2d(same_padding=lambda n, k, s: ((k - 1) // 2, (k - 1) // 2)),
     "conv_symmetric_padding", "(k − 1) // 2 on both sides"),
    (check.conv2d, make_conv2d(swap_hw=True), "conv_kernel_height_width_swapped",
     "height and width are swapped"),
    (check.conv2d, make_conv2d(channels_first=True), "conv_channels_first", "channels-first"),
    (check.conv2d, make_conv2d(rows_off=-1), "conv_output_size", "wrong output size"),
    (check.maxpool2d, make_maxpool2d(reduce=np.mean), "pool_average", "average"),
    (check.maxpool2d, pool_strides(lambda ph, pw, sh, sw: (ph, pw)), "pool_stride_is_pool_size",
     "the stride was ignored: you moved the window by pool_size"),
    (check.maxpool2d, pool_strides(lambda ph, pw, sh, sw: (1, 1)), "pool_stride_one",
     "the stride was ignored: you moved the window by 1"),
    (check.maxpool2d, make_maxpool2d(first_only=True), "pool_first_size_only",
     "pool_size[0] and strides[0] in both directions"),
    (check.maxpool2d, make_maxpool2d(over_channels=True), "pool_over_channels",
     "over the channels too"),
    (check.maxpool2d, make_maxpool2d(over_channels=True, keep_channel_axis=False),
     "pool_over_channels", "lost the channel axis"),
    (check.maxpool2d, make_maxpool2d(channels_first=True), "pool_channels_first",
     "channels-first"),
    (check.maxpool2d, make_maxpool2d(rows_off=-1), "pool_output_size", "wrong output size"),
    # recurrent
    (check.rnn_step, rnn_step_with(lambda x, h, k, rk, b: np.tanh(x @ rk + h @ k + b)),
     "rnn_weights_swapped", "W_xh and W_hh are swapped"),
    # Written from the chapter's column form tanh(W_hh h + W_xh x + b) with W = the Keras weight.
    (check.rnn_step,
     rnn_step_with(lambda x, h, k, rk, b: np.tanh(rk @ h.T + k @ x.T + b[:, None]).T),
     "rnn_weights_transposed", "both weights are used transposed"),
    (check.rnn_step, rnn_step_with(lambda x, h, k, rk, b: np.tanh(x @ k + h @ rk.T + b)),
     "rnn_recurrent_kernel_transposed", "recurrent_kernel is used transposed"),
    (check.rnn_step, rnn_step_with(lambda x, h, k, rk, b: x @ k + h @ rk + b),
     "rnn_no_activation", "the activation is missing"),
    (check.rnn_step, rnn_step_with(lambda x, h, k, rk, b: np.tanh(x @ k + b)),
     "rnn_ignores_state", "the previous state is ignored"),
    (check.rnn_step, rnn_step_with(lambda x, h, k, rk, b: np.tanh(x @ k + h @ rk)),
     "rnn_forgot_bias", "you forgot the bias"),
    (check.rnn_step, rnn_step_with(lambda x, h, k, rk, b: sigmoid(x @ k + h @ rk + b)),
     "rnn_wrong_activation", "you used sigmoid"),
    (check.rnn_step, rnn_step_with(lambda x, h, k, rk, b: relu(x @ k + h @ rk + b)),
     "rnn_wrong_activation", "you used relu"),
    (check.rnn_forward, make_rnn_forward(last_only=True), "rnn_last_state_only",
     "only the last state"),
    (check.rnn_forward, make_rnn_forward(time_major=True), "rnn_time_major", "time-major"),
    (check.rnn_forward, make_rnn_forward(keep_h0=True), "rnn_includes_h0",
     "included the initial state"),
    (check.rnn_forward, make_rnn_forward(late=True), "rnn_states_one_step_late",
     "one step late"),
    (check.rnn_forward, make_rnn_forward(carry=False), "rnn_state_not_carried",
     "not carried from step to step"),
    (check.rnn_forward, make_rnn_forward(over_batch=True), "rnn_batch_as_time",
     "stepped over the batch axis"),
    (check.rnn_forward, make_rnn_forward(backwards=True), "rnn_reversed",
     "ran the sequence backwards"),
    (check.rnn_forward, make_rnn_forward(backwards="realigned"), "rnn_reversed",
     "ran the sequence backwards (from the last step to the first)"),
    (check.rnn_forward, make_rnn_forward(step=lambda x, h, k, rk, b: rnn_step(x, h, rk, k, b)),
     "rnn_weights_swapped", "W_xh and W_hh are swapped"),
    (check.rnn_forward,
     make_rnn_forward(step=lambda x, h, k, rk, b: x @ k + h @ rk + b),
     "rnn_no_activation", "the activation is missing"),
    # LSTM and GRU steps
    (check.lstm_step, make_lstm_step(order="ifoc"), "lstm_gate_order",
     "split the four gate blocks as i, f, o, c"),
    (check.lstm_step, make_lstm_step(order="icfo"), "lstm_gate_order", "LSTMBlockCell"),
    (check.lstm_step, make_lstm_step(order="fico"), "lstm_gate_order", "as f, i, c, o"),
    (check.lstm_step, make_lstm_step(order="oifc"), "lstm_gate_order", "as o, i, f, c"),
    (check.lstm_step, make_lstm_step(use_bias=False), "lstm_forgot_bias", "forgot the bias"),
    (check.lstm_step, make_lstm_step(forget_bias="missing"), "lstm_forget_gate_bias",
     "forget gate is computed without its bias"),
    (check.lstm_step, make_lstm_step(forget_bias="plus_one"), "lstm_forget_gate_bias",
     "unit_forget_bias=True only initialises"),
    (check.lstm_step, make_lstm_step(cell=lambda c: c), "lstm_no_cell_tanh",
     "h = o ⊙ tanh(c), not o ⊙ c"),
    (check.lstm_step, make_lstm_step(candidate=sigmoid), "lstm_candidate_activation",
     "the candidate c̃ goes through tanh, not sigmoid"),
    (check.lstm_step, make_lstm_step(candidate=sigmoid, gate=np.tanh, cell=sigmoid),
     "lstm_candidate_activation", "tanh and sigmoid are swapped"),
    (check.lstm_step, make_lstm_step(swap_weights=True), "lstm_weights_swapped",
     "kernel and recurrent_kernel are swapped"),
    (check.lstm_step, make_lstm_step(cell_from_h=True), "lstm_h_for_c",
     "the cell update uses h_prev"),
    (check.lstm_step, make_lstm_step(return_order="ch"), "swapped_outputs",
     "the result in position 1 is c, not h"),
    (check.gru_step, make_gru_step(z_swapped=True), "gru_update_gate_swapped",
     "z and 1 − z are swapped"),
    (check.gru_step, make_gru_step(reset_before="both", bias_rows="first"), "gru_reset_before",
     "before the recurrent product"),
    (check.gru_step, make_gru_step(reset_before="first", bias_rows="first"),
     "gru_reset_before", "used only bias[0]"),
    (check.gru_step, make_gru_step(bias_rows="input"), "gru_bias_rows",
     "both bias rows to the input part"),
    (check.gru_step, make_gru_step(bias_rows="swapped"), "gru_bias_rows",
     "the two bias rows are swapped"),
    (check.gru_step, make_gru_step(bias_rows="first"), "gru_bias_rows", "you forgot bias[1]"),
    (check.gru_step, make_gru_step(bias_rows="none"), "gru_forgot_bias", "forgot the bias"),
    (check.gru_step, make_gru_step(order="rzh"), "gru_gate_order", "PyTorch's order"),
    (check.gru_step, make_gru_step(order="hzr"), "gru_gate_order", "as h, z, r"),
    (check.gru_step, make_gru_step(swap_weights=True), "gru_weights_swapped",
     "kernel and recurrent_kernel are swapped"),
]


@pytest.mark.parametrize(("checker", "wrong", "key", "phrase"), MISTAKES,
                         ids=[f"{i}-{m[2]}" for i, m in enumerate(MISTAKES)])
def test_a_known_mistake_is_diagnosed(checker, wrong, key, phrase):
    with pytest.raises(check.CheckFailed) as info:
        checker(wrong)
    message = str(info.value)
    assert key in info.value.mistakes, message
    assert "diagnosis: " in message
    if phrase is not None:
        assert phrase in message, message


def test_every_diagnosis_the_module_claims_is_tested():
    claimed = {entry.key for variants in CATALOGUE.values() for spec in variants.values()
               for entry in spec.catalogue()}
    claimed |= set(check.GENERIC_MISTAKES)
    tested = {m[2] for m in MISTAKES} | {"raised", "int_pairs", "timeout"}  # tested below
    tested |= {key for _, key, _ in test_check_attention.MISTAKES}
    assert claimed - tested == set()


# ============================================================================ documentation
CHECKERS = [name for name in check.__all__ if name not in ("CheckFailed", "CheckResult")]


def documented_mistakes(doc: str) -> set[str]:
    """The keys a docstring lists under "Recognised mistakes" (lines ``- ``key``...``)."""
    assert "Recognised mistakes\n-------------------\n" in doc
    section = doc.split("Recognised mistakes\n-------------------\n", 1)[1]
    return set(re.findall(r"^- ``(\w+)``", section, re.MULTILINE))


def catalogued_mistakes(name: str) -> set[str]:
    return {entry.key for spec in CATALOGUE[name].values() for entry in spec.catalogue()}


@pytest.mark.parametrize("name", CHECKERS)
def test_a_checker_documents_exactly_the_mistakes_of_its_catalogue(name):
    documented = documented_mistakes(getattr(check, name).__doc__)
    catalogued = catalogued_mistakes(name)
    assert catalogued, name
    assert catalogued - documented == set(), "catalogued but not in the docstring"
    assert documented - catalogued == set(), "in the docstring but not catalogued"
    assert ":data:`GENERIC_MISTAKES`" in getattr(check, name).__doc__


def test_the_package_documents_every_generic_mistake():
    section = check.__doc__.split("(``GENERIC_MISTAKES``)", 1)[1]
    listed = dict(re.findall(r"^- ``(\w+)``: (.+)$", section, re.MULTILINE))
    assert listed == check.GENERIC_MISTAKES


def test_every_diagnosis_given_is_documented_for_its_checker():
    # The reverse of the two tests above: what a checker says at run time is in its docstring.
    documented = {spec.name: catalogued_mistakes(name) for name in CHECKERS
                  for spec in CATALOGUE[name].values()}
    for checker, wrong, key, _ in MISTAKES:
        with pytest.raises(check.CheckFailed) as info:
            checker(wrong)
        allowed = documented[info.value.function] | set(check.GENERIC_MISTAKES)
        assert set(info.value.mistakes) <= allowed, (key, info.value.function)


def test_importing_check_imports_neither_tensorflow_nor_matplotlib():
    code = ("import sys, dlcourse.check; heavy = {'tensorflow', 'matplotlib', 'keras'}"
            " & set(sys.modules);"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


# ============================================================================ failures reported
def test_an_exception_is_reported_with_the_case_and_the_line():
    def dense_forward_todo(x, kernel, bias):
        raise NotImplementedError("write me")

    with pytest.raises(check.CheckFailed) as info:
        check.dense_forward(dense_forward_todo)
    message = str(info.value)
    assert "dense_forward: test case 1 of 4 raised an exception" in message
    assert "inputs: x (3, 3), kernel (3, 3), bias (3,)" in message
    assert "NotImplementedError: write me" in message
    assert 'line' in message and 'raise NotImplementedError("write me")' in message
    assert "expected: dense_forward(x, kernel, bias) -> y" in message
    assert info.value.mistakes == ("raised",) and info.value.case == 1
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_shape_error_names_the_case_and_shows_the_expected_layouts():
    with pytest.raises(check.CheckFailed) as info:
        check.dense_backward(lambda x, k, b, g: (g @ k, x.T @ g, g.sum(axis=0)))
    message = str(info.value)
    # The square first case runs and is diagnosed; a non-square one would raise in the matmul.
    assert "grad_output @ kernel.T" in message
    with pytest.raises(check.CheckFailed) as info:
        check.dense_backward(lambda x, k, b, g: (g @ k.T[:2], x.T @ g, g.sum(axis=0)))
    message = str(info.value)
    assert "ValueError: matmul" in message
    assert "with x (batch, in_features), kernel (in_features, units)" in message


def test_strides_given_as_pairs_to_an_integer_function_get_a_hint():
    def conv2d_int(x, kernel, bias, strides, padding):
        return list(range(0, x.shape[1], strides))

    with pytest.raises(check.CheckFailed) as info:
        check.conv2d(conv2d_int)
    assert "int_pairs" in info.value.mistakes
    assert "check.conv2d(fn, as_int=True)" in str(info.value)
    with pytest.raises(check.CheckFailed) as info:
        check.maxpool2d(lambda x, p, s: x[:, ::s])
    assert "check.maxpool2d(fn, as_int=True)" in str(info.value)


def test_one_hot_labels_given_to_a_sparse_check_get_a_hint():
    with pytest.raises(check.CheckFailed) as info:
        check.cross_entropy(cross_entropy_one_hot)
    assert "check.cross_entropy(fn, one_hot=True)" in str(info.value)


def test_a_wrong_shape_without_a_known_cause_says_expected_and_given():
    with pytest.raises(check.CheckFailed) as info:
        check.dense_forward(lambda x, k, b: np.vstack([x @ k + b, x[:1] @ k]))
    message = str(info.value)
    assert "y: expected shape (3, 3), got shape (4, 3)" in message
    assert "expected: dense_forward(x, kernel, bias) -> y, with x (batch, in_features)" in message
    assert info.value.mistakes == ()


def test_wrong_values_without_a_known_cause_give_the_error_and_the_worst_entry():
    def off_at_one_entry(x, kernel, bias):
        y = x @ kernel + bias
        y[1, 2] += 1.0
        return y

    with pytest.raises(check.CheckFailed) as info:
        check.dense_forward(off_at_one_entry)
    message = str(info.value)
    assert "y: wrong values (relative error" in message
    assert "largest difference at index (1, 2)" in message
    assert "diagnosis" not in message


def test_every_wrong_result_of_a_tuple_is_reported():
    with pytest.raises(check.CheckFailed) as info:
        check.dense_backward(backward_with(grad_kernel=lambda x, k, b, g: g.T @ x,
                                           grad_bias=lambda x, k, b, g: g))
    assert info.value.mistakes == ("grad_kernel_transposed", "grad_bias_not_summed")


def test_nan_in_the_output_is_reported():
    with pytest.raises(check.CheckFailed, match=r"contains NaN or infinite values \(1 of 9"):
        check.dense_forward(lambda x, k, b: np.where(np.arange(9).reshape(3, 3) == 4, np.nan,
                                                     x @ k + b))


def test_modifying_an_input_is_noted_on_failure():
    def relu_in_place_wrong(z):
        z[z < 0] = 0
        return -z

    with pytest.raises(check.CheckFailed, match="modified z in place"):
        check.activation(relu_in_place_wrong, "relu")


def test_a_returned_tuple_where_one_array_is_expected_is_not_an_array():
    with pytest.raises(check.CheckFailed) as info:
        check.dense_forward(lambda x, k, b: (x @ k + b, np.zeros(2)))
    assert info.value.mistakes == ("not_an_array",)
    assert "got a tuple of 2 values" in str(info.value)


def test_a_one_element_array_is_accepted_for_a_scalar():
    assert check.cross_entropy(lambda p, y: np.array([cross_entropy(p, y)])).cases == 4


def test_passing_the_result_instead_of_the_function_is_a_type_error():
    with pytest.raises(TypeError, match="pass the function itself"):
        check.dense_forward(np.zeros(3))


def test_an_unknown_activation_is_a_value_error():
    with pytest.raises(ValueError, match="unknown activation 'softplus'"):
        check.activation(np.tanh, "softplus")


def test_ipython_shows_the_message_without_a_traceback():
    with pytest.raises(check.CheckFailed) as info:
        check.dense_forward(lambda x, k, b: x @ k)
    lines = info.value._render_traceback_()
    assert lines[0].startswith("CheckFailed: dense_forward: test case 1 of 4 failed")
    assert isinstance(info.value, AssertionError)


def test_a_wrong_scalar_is_not_called_a_constant_factor():
    # Every wrong number is a multiple of the right one; only sign and batch size are telling.
    with pytest.raises(check.CheckFailed) as info:
        check.cross_entropy(lambda p, y: 3.0)
    assert "loss: wrong value: expected 0.801263, got 3" in str(info.value)
    assert info.value.mistakes == ()


# ============================================================================ endless loops
def spins_forever(x, kernel, bias):
    while True:
        pass


def swallows_every_exception(x, kernel, bias):
    while True:
        try:
            time.sleep(0.01)
        except Exception:  # a learner's catch-all cannot swallow the time limit
            pass


def loop_in_a_bare_except(x, kernel, bias):
    try:
        while True:
            pass
    except BaseException:  # catches the time limit too: the check still reports it
        return x @ kernel + bias


def counter_never_incremented(x, kernel, bias):
    y = np.zeros((x.shape[0], kernel.shape[1]))
    i = 0
    while i < x.shape[0]:
        y[i] = x[i] @ kernel + bias
    return y


def hangs_on_a_batch_of_one(x, kernel, bias):
    while len(x) == 1:
        pass
    return x @ kernel + bias


SHORT = 0.2  # seconds: each hanging test below finishes in well under a second


@pytest.mark.parametrize("fn", [spins_forever, swallows_every_exception,
                                counter_never_incremented, loop_in_a_bare_except])
@pytest.mark.parametrize("how", ["keyword", "module constant"])
def test_a_function_that_never_returns_is_stopped_with_a_clear_message(fn, how, monkeypatch):
    handler = signal.getsignal(signal.SIGALRM)
    start = time.monotonic()
    with pytest.raises(check.CheckFailed) as info:
        if how == "keyword":
            check.dense_forward(fn, timeout=SHORT)
        else:
            monkeypatch.setattr(check, "TIMEOUT", SHORT)
            check.dense_forward(fn)
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert message.startswith("dense_forward: test case 1 of 4 did not finish")
    assert "inputs: x (3, 3), kernel (3, 3), bias (3,)" in message
    assert f"your function did not return within {SHORT:g} s: look for a loop that never ends" \
        in message
    assert "expected: dense_forward(x, kernel, bias) -> y" in message
    assert "still running" not in message  # on the main thread it was really stopped
    assert info.value.mistakes == ("timeout",) and info.value.case == 1
    assert info.value.__cause__ is None and info.value.__suppress_context__
    # The alarm is disarmed and the previous handler back.
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is handler


def test_the_time_limit_applies_to_each_test_case():
    with pytest.raises(check.CheckFailed) as info:
        check.dense_forward(hangs_on_a_batch_of_one, timeout=SHORT)
    assert info.value.case == 3 and info.value.mistakes == ("timeout",)  # (3, 4, 1, 5) batches
    assert "test case 3 of 4 did not finish" in str(info.value)


@pytest.mark.parametrize("checker, fn", [
    (lambda f, t: check.activation(f, "relu", timeout=t), lambda z: spins_forever(z, 0, 0)),
    (lambda f, t: check.conv2d(f, as_int=True, timeout=t), lambda *a: spins_forever(*a[:3])),
    (lambda f, t: check.rnn_forward(f, timeout=t), lambda *a: spins_forever(*a[:3])),
], ids=["activation", "conv2d", "rnn_forward"])
def test_every_checker_takes_a_time_limit(checker, fn):
    with pytest.raises(check.CheckFailed) as info:
        checker(fn, SHORT)
    assert info.value.mistakes == ("timeout",)


def test_a_slow_but_finishing_function_passes():
    def slow_dense_forward(x, kernel, bias):
        time.sleep(0.02)
        return x @ kernel + bias

    assert check.dense_forward(slow_dense_forward, timeout=2).cases == 4


def run_in_a_thread(call):
    """``call()`` in another thread (as a GUI or a notebook extension might): its outcome."""
    outcome = {}

    def target():
        try:
            outcome["result"] = call()
        except BaseException as err:
            outcome["error"] = err

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return outcome


def test_off_the_main_thread_a_hanging_function_is_given_up_on():
    stop = threading.Event()

    def spins_until_told(x, kernel, bias):
        while not stop.is_set():
            pass

    try:
        outcome = run_in_a_thread(lambda: check.dense_forward(spins_until_told, timeout=SHORT))
    finally:
        stop.set()  # end the spinning thread, which the check could not stop
    err = outcome["error"]
    assert isinstance(err, check.CheckFailed) and err.mistakes == ("timeout",)
    assert f"did not return within {SHORT:g} s" in str(err)
    assert "still running in the background; restart the kernel" in str(err)


def test_off_the_main_thread_results_and_exceptions_are_checked_as_usual():
    assert run_in_a_thread(lambda: check.dense_forward(dense_forward))["result"].cases == 4
    err = run_in_a_thread(lambda: check.dense_forward(lambda x, k, b: x @ k.T[:2]))["error"]
    assert isinstance(err, check.CheckFailed) and err.mistakes == ("raised",)
    assert "ValueError: matmul" in str(err) and "x @ k.T[:2]" in str(err)
    err = run_in_a_thread(lambda: check.dense_forward(lambda x, k, b: x @ k))["error"]
    assert err.mistakes == ("forgot_bias",)


def test_a_timer_someone_else_set_is_left_alone():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 60)
        assert check.dense_forward(dense_forward, timeout=5).cases == 4
        with pytest.raises(check.CheckFailed, match="raised an exception"):
            check.dense_forward(lambda x, k, b: 1 / 0, timeout=5)
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 50 < remaining <= 60
        assert signal.getsignal(signal.SIGALRM).__name__ == "<lambda>"
        assert fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("timeout, error, given", [
    (0, ValueError, "0"), (-1.0, ValueError, "-1.0"), (math.nan, ValueError, "nan"),
    (math.inf, ValueError, "inf"), ("10", TypeError, "'10'"), (True, TypeError, "True"),
])
def test_a_bad_time_limit_is_refused(timeout, error, given):
    with pytest.raises(error, match=rf"check.dense_forward\(\): timeout must be a number > 0, "
                                    rf"got {given}"):
        check.dense_forward(dense_forward, timeout=timeout)


# ============================================================================ other bad input
@pytest.mark.parametrize("fn, phrase", [
    (lambda x, k, b: (x @ k + b).astype(complex), "got an array of shape (3, 3) of dtype "
                                                  "complex128"),
    (lambda x, k, b: np.array([None, None, None]), "got an array of shape (3,) of dtype object"),
    (lambda x, k, b: {"y": x @ k + b}, "got a dict with keys 'y'"),
    (lambda x, k, b: (row for row in x @ k + b), "got a generator"),
    (lambda x, k, b: "y", "got a str ('y')"),
], ids=["complex", "object", "dict", "generator", "str"])
def test_a_result_that_is_not_real_numbers_says_what_it_was(fn, phrase):
    with pytest.raises(check.CheckFailed) as info:
        check.dense_forward(fn)
    message = str(info.value)
    assert f"y: expected an array of shape (3, 3), {phrase}" in message
    assert "\n" not in message.split("y: expected", 1)[1].split("diagnosis")[0].strip()
    assert info.value.mistakes == ("not_an_array",)


@pytest.mark.parametrize("exit_call", [lambda: sys.exit("done"), lambda: exit()],
                         ids=["sys.exit", "exit"])
def test_a_function_that_exits_is_reported_not_obeyed(exit_call):
    def dense_forward_that_exits(x, kernel, bias):
        exit_call()

    with pytest.raises(check.CheckFailed) as info:
        check.dense_forward(dense_forward_that_exits)
    assert "raised an exception" in str(info.value) and "SystemExit" in str(info.value)
    assert "called exit() or sys.exit(); return the result instead" in str(info.value)
    assert info.value.mistakes == ("raised",)


@pytest.mark.parametrize("checker, flag", [
    (check.cross_entropy, "one_hot"), (check.softmax_cross_entropy_backward, "one_hot"),
    (check.conv2d, "as_int"), (check.maxpool2d, "as_int"),
])
@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_flag_that_is_not_a_boolean_is_refused(checker, flag, value):
    with pytest.raises(TypeError, match=rf"check.{checker.__name__}\(\): {flag} must be True or "
                                        rf"False, got {value!r}"):
        checker(dense_forward, **{flag: value})


@pytest.mark.parametrize("name", [["tanh"], None, 1])
def test_an_activation_name_that_is_not_a_string_is_a_value_error(name):
    with pytest.raises(ValueError, match=r"unknown activation .*; expected one of \['relu', "
                                         r"'sigmoid', 'tanh'\]"):
        check.activation(np.tanh, name)
