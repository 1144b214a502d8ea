"""dlcourse.autograd.Value, the scalar engine of chapter 4, and draw_graph.

Every expression is written once against a namespace of operations and evaluated on Values, on
a scalar Tensor and under ``tf.GradientTape`` in float64: values and gradients must agree to
1e-12 relative error, and with centred finite differences to 1e-7.
"""

import math
import sys

import numpy as np
import pytest

from dlcourse.autograd import Tensor, Value, draw_graph
from dlcourse.autograd.drawing import MAX_NODES
from dlcourse.gradcheck import numerical_gradient, rel_error

TOL = 1e-12
FD_TOL = 1e-7

ON_VALUES = {"exp": Value.exp, "log": Value.log, "tanh": Value.tanh,
             "sigmoid": Value.sigmoid, "relu": Value.relu}
ON_TENSORS = {"exp": Tensor.exp, "log": Tensor.log, "tanh": Tensor.tanh,
              "sigmoid": Tensor.sigmoid, "relu": Tensor.relu}

EXPRESSIONS = {
    "tiny network": lambda F, a, b, c: (c * F["sigmoid"](a * 1.5 + b) + 0.1 - 0.5) ** 2,
    "fan-out": lambda F, a, b, c: a * a * b + a / (1 + b * b) - c * a + a + a,
    "numbers on both sides": lambda F, a, b, c: 2 - a + 3 / (2 + b * b) - (-c) * 4 + (a - 1) / 2,
    "functions": lambda F, a, b, c: F["log"](1 + F["exp"](a) * F["sigmoid"](b))
    * F["tanh"](c) + F["relu"](a - b) * F["relu"](c),
    "powers": lambda F, a, b, c: (a * a + 1) ** 1.5 + b**3 + (c * c + 0.5) ** -2,
}
POINTS = [(0.3, -0.7, 1.1), (-1.2, 0.4, 0.9), (2.0, 1.5, -0.3)]


def on_values(expression, point):
    leaves = [Value(v) for v in point]
    out = expression(ON_VALUES, *leaves)
    out.backward()
    return out.data, np.array([leaf.grad for leaf in leaves])


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("expression", EXPRESSIONS.values(), ids=EXPRESSIONS.keys())
def test_value_gradients_match_tf_tensor_and_finite_differences(tf, expression, point):
    value, grads = on_values(expression, point)

    variables = [tf.Variable(v, dtype=tf.float64) for v in point]
    on_tf = {"exp": tf.exp, "log": tf.math.log, "tanh": tf.tanh, "sigmoid": tf.sigmoid,
             "relu": tf.nn.relu}
    with tf.GradientTape() as tape:
        tf_out = expression(on_tf, *variables)
    tf_grads = np.array([0.0 if g is None else g.numpy()
                         for g in tape.gradient(tf_out, variables)])
    assert rel_error(np.array(value), tf_out.numpy()) <= TOL
    assert rel_error(grads, tf_grads) <= TOL, (grads, tf_grads)

    tensors = [Tensor(v, requires_grad=True) for v in point]
    out = expression(ON_TENSORS, *tensors)
    out.backward()
    assert rel_error(np.array(value), out.data) <= TOL
    assert rel_error(grads, np.array([t.grad for t in tensors])) <= TOL

    numeric = numerical_gradient(lambda p: expression(ON_VALUES, *map(Value, p)).data,
                                 np.array(point, dtype=float))
    assert rel_error(grads, numeric) <= FD_TOL


def test_gradients_accumulate_when_a_value_is_used_twice():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0  # assigning would give 1
    x = Value(3.0)
    (x * x * x + x).backward()
    assert x.grad == 3 * 9.0 + 1


class _Assigning(Value):
    """The learner's mutation: `=` in place of `+=` in the local backward of + and *."""

    def __add__(self, other):
        other = other if isinstance(other, Value) else _Assigning(other)
        out = _Assigning(self.data + other.data)
        out._parents = (self, other)

        def _backward():
            self.grad = out.grad
            other.grad = out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else _Assigning(other)
        out = _Assigning(self.data * other.data)
        out._parents = (self, other)

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        out._backward = _backward
        return out


def test_an_engine_that_assigns_instead_of_adding_fails_the_accumulation_test():
    a = _Assigning(3.0)
    (a + a).backward()
    assert a.grad == 1.0  # wrong: the first contribution was overwritten
    x = _Assigning(3.0)
    (x * x).backward()
    assert x.grad == 3.0  # wrong: 6 is right
    # Each value used once: the mutation gives the right gradient, so it hides.
    w, b = _Assigning(2.0), _Assigning(1.0)
    (w * 3.0 + b).backward()
    assert (w.grad, b.grad) == (3.0, 1.0)


def test_backward_twice_accumulates_into_leaves_until_zero_grad():
    x = Value(2.0)
    y = x * 3.0
    z = y * y
    z.backward()
    z.backward()
    assert x.grad == 2 * 36.0 and y.grad == 12.0  # leaves add up; results are reset
    x.zero_grad()
    z.backward()
    assert x.grad == 36.0


def test_a_chain_of_5000_operations_needs_no_recursion():
    assert sys.getrecursionlimit() < 5000 * 2
    x = Value(0.5)
    y = x
    for _ in range(2500):
        y = (y * 1.001).tanh()
    y.backward()
    value, slope = 0.5, 1.0
    for _ in range(2500):
        value = math.tanh(value * 1.001)
        slope *= 1.001 * (1 - value**2)
    assert y.data == pytest.approx(value, rel=1e-12)
    assert x.grad == pytest.approx(slope, rel=1e-9)


def test_sigmoid_does_not_overflow_and_relu_has_zero_slope_at_its_kink():
    for z in (-1000.0, 1000.0):
        s = Value(z).sigmoid()
        s.backward()
        assert s.data in (0.0, 1.0)
    r = Value(0.0)
    r.relu().backward()
    assert r.grad == 0.0


def test_repr_and_label():
    v = Value(0.5, label="w1")
    assert repr(v) == "Value(data=0.5, grad=0, label='w1')"
    assert repr(v * 2) == "Value(data=1, grad=0)"


@pytest.mark.parametrize("make, error, message", [
    (lambda: Value("a"), TypeError, r"Value\(\): data must be a finite number, got 'a'"),
    (lambda: Value(float("nan")), ValueError, r"data must be a finite number"),
    (lambda: Value(1.0) + "a", TypeError, r"Value \+: the other operand must be a Value or a "
                                          r"number, got str 'a'"),
    (lambda: Value(2.0) ** Value(2.0), TypeError, r"Value \*\*: the exponent must be"),
    (lambda: Value(-1.0).log(), ValueError, r"Value log: the argument must be > 0, got -1.0"),
])
def test_errors_name_the_operation_and_what_was_given(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_draw_graph_shows_every_node_with_its_value_and_gradient():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w, x, b = Value(0.8, "w"), Value(1.5, "x"), Value(-0.2, "b")
    z = w * x + b
    z.label = "z"
    J = z.sigmoid()
    J.backward()
    ax = draw_graph(J)
    texts = [t.get_text() for t in ax.texts]
    boxes = [t for t in ax.texts if t.get_bbox_patch() is not None]
    assert len(boxes) == 6  # w, x, b, *, +, sigmoid
    assert {"w", "x", "b", r"$\times$", "$+$", r"$\sigma$"} == {t.get_text() for t in boxes}
    assert "z = 1" in texts and f"{J.data:.4g}" in texts  # values, above the boxes
    assert f"{w.grad:.4g}" in texts and "1" in texts  # gradients; dJ/dJ = 1
    arrows = [c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)]
    assert len(arrows) == 5  # w, x -> *; *, b -> +; + -> sigmoid
    plt.close(ax.figure)

    _, given = plt.subplots()
    assert draw_graph(J, ax=given) is given  # draws where it is told
    plt.close(given.figure)


def test_draw_graph_refuses_what_it_cannot_draw():
    with pytest.raises(TypeError, match=r"draw_graph\(\): root must be a Value, got Tensor"):
        draw_graph(Tensor(1.0))
    big = Value(0.0)
    for _ in range(MAX_NODES):
        big = big + 1.0
    with pytest.raises(ValueError, match=r"the graph has \d+ nodes"):
        draw_graph(big)


def test_the_package_modules_stay_small():
    from pathlib import Path

    import dlcourse.autograd as package

    for path in Path(package.__file__).parent.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 510, path.name
