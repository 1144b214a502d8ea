"""dlcourse.autograd: every gradient equals TensorFlow's and centred finite differences.

Each expression is written once, against a namespace ``F`` of operations, and evaluated twice:
on :class:`~dlcourse.autograd.Tensor` (``ON_TENSORS``) and on TensorFlow tensors under
``tf.GradientTape`` (``on_tf``), in float64. Values and gradients must agree with TensorFlow's
to a relative error of ``TF_TOL`` (1e-10) and with centred finite differences to ``FD_TOL``
(1e-6). An MLP built from Tensors must give the gradients of the from-scratch layers'
hand-written backward and of Keras.
"""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from dlcourse.autograd import Tensor, graph, softmax_cross_entropy
from dlcourse.autograd import tensor as tensor_module
from dlcourse.gradcheck import numerical_gradient, rel_error

#: Agreement demanded with TensorFlow in float64 (values and gradients).
TF_TOL = 1e-10
#: Agreement demanded with centred finite differences (step 1e-6, float64).
FD_TOL = 1e-6


# ====================================================== one expression, two implementations
ON_TENSORS = SimpleNamespace(
    const=lambda array: array,  # arrays enter as they are: `array @ w` is Tensor.__rmatmul__
    exp=Tensor.exp, log=Tensor.log, tanh=Tensor.tanh, sigmoid=Tensor.sigmoid, relu=Tensor.relu,
    sum=lambda x, axis=None, keepdims=False: x.sum(axis, keepdims),
    mean=lambda x, axis=None, keepdims=False: x.mean(axis, keepdims),
    log_softmax=lambda x, axis=-1: x.log_softmax(axis),
    transpose=lambda x, axes=None: x.transpose(axes),
    reshape=lambda x, shape: x.reshape(shape),
    rows=lambda x, index: x[index],
    xent=softmax_cross_entropy,
)


def on_tf(tf):
    return SimpleNamespace(
        const=tf.constant,
        exp=tf.exp, log=tf.math.log, tanh=tf.tanh, sigmoid=tf.sigmoid, relu=tf.nn.relu,
        sum=lambda x, axis=None, keepdims=False: tf.reduce_sum(x, axis, keepdims),
        mean=lambda x, axis=None, keepdims=False: tf.reduce_mean(x, axis, keepdims),
        log_softmax=lambda x, axis=-1: tf.nn.log_softmax(x, axis),
        transpose=lambda x, axes=None: tf.transpose(x, axes),
        reshape=tf.reshape,
        rows=lambda x, index: tf.gather(x, index),
        xent=lambda logits, labels: tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(labels), logits)),
    )


def autograd_value_and_gradients(expression, arrays):
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = expression(ON_TENSORS, *tensors)
    assert out.shape == ()
    out.backward()
    return out.item(), [np.zeros_like(a) if t.grad is None else t.grad
                        for a, t in zip(arrays, tensors, strict=True)]


def tf_value_and_gradients(tf, expression, arrays):
    inputs = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        out = expression(on_tf(tf), *inputs)
    grads = tape.gradient(out, inputs)
    return float(out.numpy()), [np.zeros_like(a) if g is None else tf.convert_to_tensor(g).numpy()
                                for a, g in zip(arrays, grads, strict=True)]


def numerical_gradients(expression, arrays):
    arrays = [a.copy() for a in arrays]

    def f(_):
        return expression(ON_TENSORS, *(Tensor(a) for a in arrays)).item()
    return [numerical_gradient(f, a) for a in arrays]


def assert_all_close(ours, theirs, names, what, tol):
    for name, a, b in zip(names, ours, theirs, strict=True):
        assert a.shape == b.shape, f"{what}: d/d{name} has shape {a.shape}, not {b.shape}"
        err = rel_error(a, b)
        assert err <= tol, f"{what}: d/d{name} relative error {err:.2e} > {tol:g}"


def assert_matches_tf_and_finite_differences(tf, expression, arrays, names):
    value, grads = autograd_value_and_gradients(expression, arrays)
    tf_value, tf_grads = tf_value_and_gradients(tf, expression, arrays)
    assert rel_error(np.array(value), np.array(tf_value)) <= TF_TOL, (value, tf_value)
    assert_all_close(grads, tf_grads, names, "TensorFlow", TF_TOL)
    assert_all_close(grads, numerical_gradients(expression, arrays), names,
                     "finite differences", FD_TOL)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# ================================================ hand-written expressions over shapes
# x is a batch (b, n); p a parameter broadcast against it; w an (n, n) matrix.
SHAPES = {
    "batch of one, (n,) bias": dict(x=(1, 4), p=(4,)),
    "(n,) bias over (b, n)": dict(x=(5, 4), p=(4,)),
    "(1, n) over (b, n)": dict(x=(5, 4), p=(1, 4)),
    "(b, 1) over (b, n)": dict(x=(5, 4), p=(5, 1)),
    "scalar operand": dict(x=(5, 4), p=()),
    "same shapes": dict(x=(3, 4), p=(3, 4)),
}

EXPRESSIONS = {
    "affine tanh layer": lambda F, x, p, w: F.sum(F.tanh(x @ w + p)),
    "fan-out": lambda F, x, p, w: F.sum(x * x * p + x / (1 + p * p) - p * x + x),
    "scalars on both sides": lambda F, x, p, w: F.sum(
        2.0 * x - 3.0 / (2.0 + F.tanh(p)) + x**2 + 0.5 ** (x * p) - (1 - x) + p / 4 - (-x)),
    "power with a tensor exponent": lambda F, x, p, w: F.sum((1 + x * x) ** F.tanh(p)),
    "elementwise functions": lambda F, x, p, w: F.sum(
        F.log(1 + F.sigmoid(x + p)) * F.exp(-F.relu(x)) + F.relu(p - x) * F.tanh(x)),
    "matrix chain": lambda F, x, p, w: F.sum(
        F.tanh((x @ w) @ F.transpose(w) + p) @ w @ F.const(randn(4, 2, seed=7))),
    "constant matrix on the left": lambda F, x, p, w: F.sum(
        F.const(randn(2, x.shape[0], seed=8)) @ F.tanh(x @ w + p)),
    "reductions": lambda F, x, p, w: F.sum(
        F.mean(x * p, axis=0) * F.sum(x, axis=1, keepdims=True)
        + F.mean(F.tanh(x @ w), axis=-1, keepdims=True) * p) + F.mean(x * x) * F.sum(p),
    "log-softmax and reshape": lambda F, x, p, w: F.sum(
        F.log_softmax(F.reshape(x * p, (-1, 2)) * 3.0) * F.const(randn(2, seed=9)))
        + F.sum(F.log_softmax(x @ w + p, axis=0) * F.const(randn(4, seed=10))),
    "rows picked twice": lambda F, x, p, w: F.sum(
        F.rows(F.tanh(x + p), np.array([0, 0, x.shape[0] - 1])) * F.rows(x, np.array([0, 0, 0]))),
    "two transposes": lambda F, x, p, w: F.sum(
        F.transpose(F.transpose(w) @ F.transpose(x * p)) * x),
}


@pytest.mark.parametrize("shapes", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("expression", EXPRESSIONS.values(), ids=EXPRESSIONS.keys())
def test_expression_gradients_match_tf_and_finite_differences(tf, expression, shapes):
    arrays = [randn(*shapes["x"], seed=1), randn(*shapes["p"], seed=2), randn(4, 4, seed=3) / 2]
    assert_matches_tf_and_finite_differences(tf, expression, arrays, ["x", "p", "w"])


# ======================================================== randomly generated expressions
def _random_step(F, op, a, b, w, rows):
    """Apply step ``op`` to nodes ``a``, ``b`` (often the same node: fan-out) and the matrix."""
    shape, n = tuple(a.shape), w.shape[0]
    if op == "add":
        return a + b
    if op == "subtract":
        return a - b
    if op == "divide":
        return a / (1 + b * b)
    if op == "power":
        return (1 + a * a) ** 0.75
    if op == "scalars on the left":
        return 2.0 / (3.0 - F.tanh(a)) - 0.5**b
    if op == "tanh":
        return F.tanh(a) * b
    if op == "log sigmoid":
        return F.log(F.sigmoid(a))
    if op == "exp":
        return F.exp(F.tanh(a))
    if op == "relu":
        return F.relu(a) * b
    if op == "sum" and len(shape) == 2:
        return F.sum(a, axis=0, keepdims=True)
    if op == "mean" and len(shape) == 2:
        return F.mean(a, axis=-1, keepdims=True)
    if op == "log softmax" and len(shape) >= 1:
        return F.log_softmax(a)
    if op == "matmul" and len(shape) == 2 and shape[-1] == n:
        return a @ w
    if op == "matmul transposed" and len(shape) == 2 and shape[-1] == n:
        return F.transpose(w @ F.transpose(a))
    if op == "rows" and len(shape) == 2 and shape[0] == len(rows):
        return F.rows(a, rows)
    if op == "reshape" and len(shape) == 2:
        return F.reshape(F.reshape(a, (-1,)), shape)
    return a * b  # the step does not apply to this shape


RANDOM_OPS = ("add", "subtract", "divide", "power", "scalars on the left", "tanh", "log sigmoid",
              "exp", "relu", "sum", "mean", "log softmax", "matmul", "matmul transposed", "rows",
              "reshape")


def random_expression(seed, steps=14):
    """An expression of ``steps`` operations drawn at random from ``RANDOM_OPS``.

    Its inputs have shapes ``(b, n)``, ``(n,)``, ``(1, n)``, ``(b, 1)``, ``()`` (all of which
    broadcast together) and the matrix ``(n, n)``. Each step applies an operation to one or
    two nodes drawn from everything computed so far, so nodes are reused (fan-out); the result
    is a random combination of the sums of all steps. The draws depend on the seed only, so
    the same expression is built on Tensors and on TensorFlow tensors.
    """
    def expression(F, x, bias, row, column, scalar, w):
        rng = np.random.default_rng(seed)
        pool = [x, bias, row, column, scalar]
        rows = np.arange(x.shape[0])[::-1].copy()
        rows[-1] = rows[0]  # a row picked twice
        total = 0.0
        for _ in range(steps):
            a, b = (pool[i] for i in rng.integers(len(pool), size=2))
            node = _random_step(F, RANDOM_OPS[rng.integers(len(RANDOM_OPS))], a, b, w, rows)
            pool.append(node)
            total = total + rng.normal() * F.sum(node)
        return total
    return expression


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("seed", range(8))
def test_random_expression_gradients_match_tf_and_finite_differences(tf, seed, batch):
    n = 4
    shapes = [(batch, n), (n,), (1, n), (batch, 1), (), (n, n)]
    arrays = [randn(*shape, seed=10 * seed + i) for i, shape in enumerate(shapes)]
    assert_matches_tf_and_finite_differences(tf, random_expression(seed), arrays,
                                             ["x", "bias", "row", "column", "scalar", "w"])


# =================================================================== matmul of any rank
MATMUL_SHAPES = {
    "vector @ matrix": ((4,), (4, 3)),
    "matrix @ vector": ((2, 4), (4,)),
    "vector @ vector": ((4,), (4,)),
    "batch @ matrix": ((2, 3, 4), (4, 5)),
    "vector @ batch": ((4,), (2, 4, 5)),
    "broadcast batches": ((2, 1, 3, 4), (3, 4, 2)),
}


@pytest.mark.parametrize("shapes", MATMUL_SHAPES.values(), ids=MATMUL_SHAPES.keys())
def test_matmul_of_any_rank_matches_finite_differences(shapes):
    arrays = [randn(*shapes[0], seed=1), randn(*shapes[1], seed=2)]
    g = randn(*np.matmul(*arrays).shape, seed=3)

    def expression(F, a, b):
        return F.sum(F.tanh(a @ b) * F.const(g))
    _, grads = autograd_value_and_gradients(expression, arrays)
    assert_all_close(grads, numerical_gradients(expression, arrays), "ab", "finite differences",
                     FD_TOL)


def test_batched_matmul_matches_tf(tf):
    arrays = [randn(2, 1, 3, 4, seed=1), randn(3, 4, 2, seed=2)]
    assert_matches_tf_and_finite_differences(
        tf, lambda F, a, b: F.sum(F.tanh(a @ b)), arrays, ["a", "b"])


# ================================================================= softmax cross-entropy
XENT_CASES = {
    "batch of one": (1, 3, 1.0),
    "(8, 5)": (8, 5, 1.0),
    "large logits": (6, 4, 1000.0),  # exp(1000) overflows: needs the log-sum-exp shift
    "two classes": (7, 2, 3.0),
}


@pytest.mark.parametrize("case", XENT_CASES.values(), ids=XENT_CASES.keys())
def test_softmax_cross_entropy_matches_tf_and_finite_differences(tf, case):
    batch, classes, scale = case
    rng = np.random.default_rng(batch)
    labels = rng.integers(classes, size=batch)
    x, w = randn(batch, 3, seed=1), randn(3, classes, seed=2)
    arrays = [x, w * scale]

    def expression(F, x, w):
        return F.xent(F.tanh(x) @ w, labels)
    value, grads = autograd_value_and_gradients(expression, arrays)
    assert np.isfinite(value) and all(np.isfinite(g).all() for g in grads)
    tf_value, tf_grads = tf_value_and_gradients(tf, expression, arrays)
    assert rel_error(np.array(value), np.array(tf_value)) <= TF_TOL
    assert_all_close(grads, tf_grads, "xw", "TensorFlow", TF_TOL)
    if scale == 1.0:  # with logits of 1000, a step of 1e-6 is below the loss's resolution
        assert_all_close(grads, numerical_gradients(expression, arrays), "xw",
                         "finite differences", FD_TOL)


def test_softmax_cross_entropy_equals_its_composite_form():
    logits = randn(6, 4, seed=1)
    labels = np.array([0, 3, 3, 1, 2, 0])
    z1, z2 = Tensor(logits, requires_grad=True), Tensor(logits, requires_grad=True)
    fused = softmax_cross_entropy(z1, labels)
    composite = -z2.log_softmax()[np.arange(6), labels].mean()
    fused.backward()
    composite.backward()
    assert rel_error(fused.data, composite.data) <= 1e-14
    assert rel_error(z1.grad, z2.grad) <= 1e-14
    # The famous (p - onehot(y)) / N.
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(z1.grad, (p - np.eye(4)[labels]) / 6, rtol=1e-12)


def test_softmax_cross_entropy_of_an_array_is_a_constant():
    loss = softmax_cross_entropy(randn(3, 2), [0, 1, 1])
    assert not loss.requires_grad and loss.shape == ()


# ====================================================================== indexing
def test_indexing_rows_matches_tf_gather(tf):
    arrays = [randn(5, 3, seed=1)]
    index = np.array([4, 0, 4, 4, 1])
    assert_matches_tf_and_finite_differences(
        tf, lambda F, a: F.sum(F.tanh(F.rows(a, index)) * F.rows(a, index[::-1].copy())),
        arrays, ["a"])


# ===================================================== fan-out: gradients must accumulate
def test_a_plus_a_and_x_times_x_accumulate():
    a = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (a + a).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0, 2.0])  # assigning would give 1
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0, 6.0])  # assigning would give x
    y = Tensor(3.0, requires_grad=True)
    (y * y * y + y).backward()
    assert y.grad == 3 * 9.0 + 1


def test_an_engine_that_assigns_instead_of_adding_fails(monkeypatch):
    # The mutation a learner makes: `tensor.grad = grad` in place of `+=`.
    def assign(tensor, grad):
        if tensor.requires_grad:
            tensor.grad = graph.unbroadcast(grad, tensor.shape)
    monkeypatch.setattr(tensor_module, "accumulate", assign)
    with pytest.raises(AssertionError):
        test_a_plus_a_and_x_times_x_accumulate()


def test_an_engine_that_forgets_to_unbroadcast_fails(monkeypatch):
    monkeypatch.setattr(graph, "unbroadcast", lambda grad, shape: grad)
    x, b = Tensor(np.ones((3, 2))), Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError):  # a (3, 2) gradient cannot be added into a (2,) one
        (x + b).sum().backward()


def test_weight_shared_by_two_layers(tf):
    x, w, b1, b2 = randn(5, 4, seed=1), randn(4, 4, seed=2) / 2, randn(4, seed=3), randn(4, seed=4)
    labels = np.array([0, 1, 3, 3, 2])

    def shared(F, x, w, b1, b2):
        return F.xent(F.tanh(x @ w + b1) @ w + b2, labels)
    assert_matches_tf_and_finite_differences(tf, shared, [x, w, b1, b2], ["x", "w", "b1", "b2"])

    # Its gradient is the sum of the gradients of two separate copies.
    def separate(F, x, w1, w2, b1, b2):
        return F.xent(F.tanh(x @ w1 + b1) @ w2 + b2, labels)
    _, (_, dw, _, _) = autograd_value_and_gradients(shared, [x, w, b1, b2])
    _, (_, dw1, dw2, _, _) = autograd_value_and_gradients(separate, [x, w, w, b1, b2])
    assert rel_error(dw, dw1 + dw2) <= 1e-14
    assert rel_error(dw, dw1) > 1e-3  # a single use is not enough


# ========================================================= an MLP against scratch and Keras
def test_mlp_gradients_match_scratch_backward_and_keras(keras, tf):
    from dlcourse.scratch import Dense, SparseCategoricalCrossentropy

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(16, 784))  # pixel-like inputs, float64
    labels = rng.integers(10, size=16)
    hidden, output = Dense(32, activation="relu", seed=0), Dense(10, seed=1)
    output.forward(hidden.forward(x))
    # Non-zero biases, so that a bias gradient summed wrongly cannot hide behind zeros.
    hidden.set_weights([hidden.get_weights()[0], rng.normal(size=32) * 0.1])
    output.set_weights([output.get_weights()[0], rng.normal(size=10) * 0.1])
    weights = hidden.get_weights() + output.get_weights()

    # Autograd: the forward pass written out; backward is one call.
    w1, b1, w2, b2 = (Tensor(w, requires_grad=True) for w in weights)
    loss = softmax_cross_entropy((x @ w1 + b1).relu() @ w2 + b2, labels)
    loss.backward()
    ours = [w1.grad, b1.grad, w2.grad, b2.grad]

    # The from-scratch layers: the hand-written backward of each layer, in reverse order.
    loss_fn = SparseCategoricalCrossentropy(from_logits=True)
    logits = output.forward(hidden.forward(x))
    hidden.backward(output.backward(loss_fn.gradient(labels, logits)))
    scratch = [hidden.grads["kernel"], hidden.grads["bias"],
               output.grads["kernel"], output.grads["bias"]]
    assert rel_error(np.array(loss.item()), np.array(loss_fn(labels, logits))) <= TF_TOL
    assert_all_close(ours, scratch, ["w1", "b1", "w2", "b2"], "scratch backward", TF_TOL)

    # Keras: the same model and weights under tf.GradientTape.
    model = keras.Sequential([keras.Input((784,), dtype="float64"),
                              keras.layers.Dense(32, activation="relu", dtype="float64"),
                              keras.layers.Dense(10, dtype="float64")])
    model.set_weights(weights)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    with tf.GradientTape() as tape:
        value = keras_loss(tf.constant(labels), model(tf.constant(x)))
    keras_grads = [g.numpy() for g in tape.gradient(value, model.trainable_weights)]
    assert rel_error(np.array(loss.item()), value.numpy()) <= TF_TOL
    assert_all_close(ours, keras_grads, ["w1", "b1", "w2", "b2"], "Keras", TF_TOL)


def test_importing_autograd_does_not_import_tensorflow():
    code = "import dlcourse.autograd, sys; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
