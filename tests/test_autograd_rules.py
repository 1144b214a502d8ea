"""dlcourse.autograd.Tensor: the graph walk, shapes, dtypes and error messages.

The NumPy-only half of the engine's tests; the comparisons with TensorFlow and finite
differences are in ``test_autograd.py``.
"""

import sys

import numpy as np
import pytest

from dlcourse.autograd import Tensor, graph, softmax_cross_entropy


def randn(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# ========================================================================= the graph walk
def test_a_chain_of_5000_operations_needs_no_recursion():
    assert sys.getrecursionlimit() < 5000 * 2  # a recursive walk would fail here
    x = Tensor(0.5, requires_grad=True)
    y = x
    for _ in range(2500):
        y = (y * 1.001).tanh()  # 5,000 operations in a chain
    y.backward()
    # Forward mode by hand: dy_k/dx = dy_{k-1}/dx * 1.001 * (1 - y_k^2).
    value, slope = 0.5, 1.0
    for _ in range(2500):
        value = np.tanh(value * 1.001)
        slope *= 1.001 * (1 - value**2)
    assert y.item() == pytest.approx(value, rel=1e-12)
    assert x.grad.item() == pytest.approx(slope, rel=1e-9)


def test_topological_order_puts_every_input_before_its_results():
    a, b = Tensor(1.0, requires_grad=True), Tensor(2.0, requires_grad=True)
    c = a * b
    d = c + a
    e = d * c + b
    order = graph.topological_order(e)
    assert order[-1] is e and len(order) == len({id(t) for t in order})
    position = {id(t): i for i, t in enumerate(order)}
    for node in order:
        for parent in node._parents:
            assert position[id(parent)] < position[id(node)]
    e.backward()
    # e = (ab + a) ab + b = a²b² + a²b + b: de/da = 2ab² + 2ab, de/db = 2a²b + a² + 1.
    assert a.grad == 2 * 1 * 2**2 + 2 * 2
    assert b.grad == 2 * 1**2 * 2 + 1**2 + 1


def test_backward_twice_accumulates_until_zero_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0  # an intermediate result
    z = y.sum()
    z.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    z.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])  # leaves add up: 3 + 3, not 3 + 6
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])  # a result holds the last call's only
    x.zero_grad()
    assert x.grad is None
    z.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_backward_with_a_seed_gradient():
    x = Tensor(randn(3, 2), requires_grad=True)
    g = randn(3, 2, seed=1)
    x.tanh().backward(g)
    np.testing.assert_allclose(x.grad, g * (1 - np.tanh(x.data) ** 2), rtol=1e-14)


def test_constants_get_no_gradient():
    w = Tensor(randn(2, 2), requires_grad=True)
    c = Tensor(randn(2, 2))
    assert not (c * 2).requires_grad and (c * w).requires_grad
    out = (c @ w).sum()
    out.backward()
    assert c.grad is None and w.grad.shape == (2, 2)


# ================================================================ indexing and shapes
def test_indexing_by_integer_arrays_and_slices():
    a = Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    (a[np.array([0, 2, 0])].sum() + a[1:3, ::2].sum() * 10 + a[3, 1] * 100).backward()
    expected = np.zeros((4, 3))
    expected[0] += 2  # row 0 picked twice
    expected[2] += 1
    expected[1:3, ::2] += 10
    expected[3, 1] += 100
    np.testing.assert_array_equal(a.grad, expected)


def test_transpose_property_sum_axes_and_attributes():
    x = Tensor(randn(2, 3, 4), requires_grad=True)
    assert x.T.shape == (4, 3, 2) and x.transpose((1, -1, 0)).shape == (3, 4, 2)
    assert x.sum(axis=(0, 2)).shape == (3,) and x.mean(axis=-1, keepdims=True).shape == (2, 3, 1)
    assert x.ndim == 3 and x.dtype == np.float64 and x.reshape(4, 6).shape == (4, 6)
    g = randn(3, 4, 2, seed=1)
    x.transpose((1, 2, 0)).backward(g)
    np.testing.assert_array_equal(x.grad, g.transpose(2, 0, 1))


def test_repr_and_item():
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(Tensor([1.0], requires_grad=True)) == "Tensor([1.], requires_grad=True)"
    assert repr(Tensor(np.float32([0.5]))) == "Tensor([0.5], dtype=float32)"
    assert Tensor([[2.5]]).item() == 2.5


# ====================================================================== dtypes and data
def test_float32_is_kept_and_integers_become_float64():
    x = Tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    y = (2 * x + 1.5) / 3 - x**2
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    assert Tensor([1, 2]).dtype == np.float64
    data = np.ones(2)
    t = Tensor(data)
    data[0] = 5.0
    assert t.data[0] == 1.0  # the array was copied


def test_numpy_functions_do_not_bypass_the_graph():
    x = Tensor([1.0])
    with pytest.raises(TypeError):
        np.exp(x)


@pytest.mark.parametrize("data, given", [("hello", "str 'hello'"), (None, "NoneType None"),
                                         ([True, False], "list [True, False]"),
                                         ([1 + 2j], "list [(1+2j)]")])
def test_non_numeric_data_is_a_type_error_naming_it(data, given):
    with pytest.raises(TypeError) as info:
        Tensor(data)
    assert str(info.value).startswith("Tensor(): data must be an array of real numbers")
    assert str(info.value).endswith(f"(given: {given})")


def test_tensor_arguments_are_checked():
    with pytest.raises(TypeError, match=r"data is already a Tensor"):
        Tensor(Tensor([1.0]))
    with pytest.raises(TypeError, match=r"requires_grad must be True or False, got 1"):
        Tensor([1.0], requires_grad=1)
    with pytest.raises(TypeError, match=r"multiply: the other operand must be an array of real "
                                        r"numbers.*given: str 'a'"):
        Tensor([1.0]) * "a"


def test_log_follows_numpy_semantics():
    x = Tensor([0.0, -1.0, np.e], requires_grad=True)
    with pytest.warns(RuntimeWarning):
        y = x.log()
    assert y.data[0] == -np.inf and np.isnan(y.data[1]) and y.data[2] == pytest.approx(1.0)
    with pytest.warns(RuntimeWarning):
        y.backward(np.ones(3))
    assert x.grad[0] == np.inf and x.grad[1] == -1.0


def test_sigmoid_does_not_overflow():
    x = Tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    y = x.sigmoid()
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    y.backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, [0.0, 0.25, 0.0])


# ============================================================================== errors
def test_backward_on_a_non_scalar_needs_a_seed():
    y = Tensor(np.ones((3, 2)), requires_grad=True) * 2
    with pytest.raises(ValueError) as info:
        y.backward()
    assert str(info.value) == ("backward() on a tensor of shape (3, 2) needs grad= of that "
                               "shape; only a scalar's gradient defaults to 1")
    with pytest.raises(ValueError, match=r"backward\(\): grad has shape \(2,\), expected the "
                                         r"tensor's shape \(3, 2\)"):
        y.backward(np.ones(2))
    with pytest.raises(ValueError, match=r"backward\(\): this tensor does not require grad"):
        Tensor(1.0).backward()


@pytest.mark.parametrize("op, name", [(lambda a, b: a + b, "add"),
                                      (lambda a, b: a - b, "subtract"),
                                      (lambda a, b: a * b, "multiply"),
                                      (lambda a, b: a / b, "divide"),
                                      (lambda a, b: a**b, "power")])
def test_shapes_that_do_not_broadcast_name_the_operation(op, name):
    with pytest.raises(ValueError) as info:
        op(Tensor(np.ones((3, 4))), np.ones(5))
    assert str(info.value) == f"{name}: shapes (3, 4) and (5,) do not broadcast"


def test_shape_errors_name_both_shapes():
    with pytest.raises(ValueError) as info:
        Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 2)))
    assert str(info.value) == "matmul: shapes (3, 4) and (5, 2) do not align"
    with pytest.raises(ValueError, match=r"reshape: cannot reshape shape \(3, 4\) into \(5,\)"):
        Tensor(np.ones((3, 4))).reshape(5)
    with pytest.raises(ValueError, match=r"transpose: axes must be a permutation of \(0, 1\)"):
        Tensor(np.ones((3, 4))).transpose((0, 0))
    with pytest.raises(ValueError, match=r"sum: axis must be an integer in \[-2, 1\], got 2"):
        Tensor(np.ones((3, 4))).sum(axis=2)
    with pytest.raises(ValueError, match=r"sum: axis must not repeat an axis"):
        Tensor(np.ones((3, 4))).sum(axis=(1, -1))
    with pytest.raises(TypeError, match=r"getitem: index with integers, slices or integer arr"):
        Tensor(np.ones(3))[Tensor([0.0])]


def test_cross_entropy_errors():
    logits = Tensor(np.zeros((3, 4)), requires_grad=True)
    with pytest.raises(ValueError) as info:
        softmax_cross_entropy(logits, [0, 4, 1])
    assert str(info.value) == ("softmax_cross_entropy(): labels must be class indices in "
                               "[0, 4) for logits of shape (3, 4), got 4 at index 1")
    with pytest.raises(ValueError, match=r"got -1 at index 2"):
        softmax_cross_entropy(logits, [0, 1, -1])
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\).*got shape \(3, 1\)"):
        softmax_cross_entropy(logits, [[0], [1], [2]])
    with pytest.raises(TypeError, match=r"labels must be an array of integers, got dtype float"):
        softmax_cross_entropy(logits, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"logits must have shape \(batch, classes\)"):
        softmax_cross_entropy(Tensor(np.zeros(4)), [0])
