"""gradcheck, activations and initializers: the tools every other proof rests on."""

import numpy as np
import pytest

from dlcourse import gradcheck
from dlcourse.gradcheck import GradientCheckError, check_layer, numerical_gradient, rel_error
from dlcourse.scratch import Dense, activations, initializers


# ----------------------------------------------------------------------------- gradcheck
def test_rel_error_is_relative_and_symmetric():
    a = np.array([1.0, 2.0, 4.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(a, a * (1 + 1e-9)) == pytest.approx(1e-9, rel=1e-3)
    assert rel_error(a * 1e6, a * 1e6 * (1 + 1e-9)) == pytest.approx(1e-9, rel=1e-3)
    assert rel_error(a, 2 * a) == rel_error(2 * a, a) == pytest.approx(0.5)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match=r"shapes differ, \(3,\) and \(2,\)"):
        rel_error(a, a[:2])


def test_numerical_gradient_of_known_functions():
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v**3), x), 3 * x**2,
                               rtol=1e-8)
    w = np.array([1.0, -2.0, 0.5])
    v = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(numerical_gradient(lambda u: np.sin(u) @ w, v), np.cos(v) * w,
                               rtol=1e-8)


def test_numerical_gradient_restores_its_input():
    x = np.arange(6.0).reshape(2, 3)
    before = x.copy()
    numerical_gradient(lambda v: float(np.sum(v * v)), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_needs_float64():
    with pytest.raises(TypeError, match="must be a float64 ndarray, got float32"):
        numerical_gradient(np.sum, np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="got list"):
        numerical_gradient(np.sum, [1.0, 2.0])


def test_check_layer_passes_a_correct_layer_and_reports_every_gradient():
    x = np.random.default_rng(0).normal(size=(3, 4))
    errors = check_layer(Dense(5, activation="tanh", seed=0), x)
    assert set(errors) == {"input", "kernel", "bias"}
    assert max(errors.values()) < 1e-7


class ForgetsTheBatchSum(Dense):
    """A Dense layer with the classic bug: its bias gradient takes only the first example."""

    def _backward(self, grad_output):
        dx = super()._backward(grad_output)
        self.grads["bias"][...] = grad_output[0]
        return dx


def test_check_layer_catches_a_wrong_gradient_and_names_it():
    x = np.random.default_rng(1).normal(size=(4, 3))
    message = r"ForgetsTheBatchSum 'buggy'.*bias: \d\.\d+e[+-]\d+"
    with pytest.raises(GradientCheckError, match=message) as err:
        check_layer(ForgetsTheBatchSum(2, name="buggy", seed=0), x)
    assert "kernel" not in str(err.value) and "input" not in str(err.value)


def test_check_layer_needs_float64():
    with pytest.raises(TypeError, match="x must be float64"):
        check_layer(Dense(2), np.ones((2, 3), dtype=np.float32))


def test_gradcheck_exports():
    assert set(gradcheck.__all__) == {"GradientCheckError", "check_layer", "numerical_gradient",
                                      "rel_error"}


# ----------------------------------------------------------------------------- activations
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "linear"])
def test_activation_derivatives_equal_finite_differences(name):
    act = activations.get(name)
    z = np.array([-30.0, -2.0, -0.3, 0.4, 1.5, 30.0])
    numeric = numerical_gradient(lambda v: float(np.sum(act.forward(v))), z.copy())
    np.testing.assert_allclose(act.derivative(z), numeric, rtol=1e-6, atol=1e-9)


def test_softmax_backward_equals_finite_differences():
    z = np.random.default_rng(2).normal(size=(3, 4))
    g = np.random.default_rng(3).normal(size=(3, 4))
    act = activations.get("softmax")
    a = act.forward(z)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    numeric = numerical_gradient(lambda v: float(np.sum(activations.softmax(v) * g)), z.copy())
    assert rel_error(act.backward(z, a, g), numeric) < 1e-7


def test_activations_are_stable_for_large_inputs():
    z = np.array([-1000.0, 0.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(activations.sigmoid(z), [0.0, 0.5, 1.0])
        np.testing.assert_allclose(activations.softmax(z), [0.0, 0.0, 1.0])


def test_relu_derivative_at_zero_is_zero_as_in_tensorflow():
    assert activations.relu_derivative(np.array([0.0]))[0] == 0.0


def test_activation_get_rejects_unknown_names():
    assert activations.get(None).name == "linear"
    with pytest.raises(ValueError, match=r"Dense 'd': unknown activation 'gelu'; expected one of"):
        activations.get("gelu", owner="Dense 'd'")


# ----------------------------------------------------------------------------- initializers
def test_compute_fans_matches_keras():
    from keras.src.initializers.random_initializers import compute_fans

    from dlcourse.keras_ref import keras  # noqa: F401  (Keras's own fan computation below)

    for shape in [(5,), (784, 128), (3, 3, 1, 32), (2, 5, 7, 3)]:
        assert initializers.compute_fans(shape) == compute_fans(shape)


@pytest.mark.parametrize(
    "name, std",
    [
        ("glorot_uniform", np.sqrt(2.0 / (300 + 200))),
        ("glorot_normal", np.sqrt(2.0 / (300 + 200))),
        ("he_uniform", np.sqrt(2.0 / 300)),
        ("he_normal", np.sqrt(2.0 / 300)),
    ],
)
def test_initializers_have_their_formula_std(name, std):
    w = initializers.get(name)((300, 200), np.random.default_rng(0), "float64")
    assert w.shape == (300, 200) and w.dtype == np.float64
    assert w.std() == pytest.approx(std, rel=0.03)
    assert abs(w.mean()) < 0.01 * std * 10


def test_uniform_initializers_stay_within_their_limit():
    w = initializers.glorot_uniform((30, 20), np.random.default_rng(0))
    assert np.abs(w).max() <= np.sqrt(6 / 50)
    assert w.dtype == np.float32


def test_truncated_normals_are_truncated_at_two_std():
    w = initializers.he_normal((200, 100), np.random.default_rng(0), "float64")
    assert np.abs(w).max() <= 2 * np.sqrt(2 / 200) / 0.87962566103423978


@pytest.mark.parametrize("shape", [(6, 6), (10, 4), (4, 10), (3, 3, 2, 8)])
def test_orthogonal_is_orthogonal(shape):
    q = initializers.orthogonal(shape, np.random.default_rng(0), "float64")
    flat = q.reshape(-1, shape[-1])
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-12)


def test_zeros_ones_and_errors():
    np.testing.assert_array_equal(initializers.zeros((2, 3)), 0.0)
    np.testing.assert_array_equal(initializers.ones((2,)), 1.0)
    with pytest.raises(ValueError, match=r"needs a shape of rank 2 or more, got \(5,\)"):
        initializers.orthogonal((5,), np.random.default_rng(0))
    with pytest.raises(ValueError, match="Conv2D 'c': unknown initializer 'xavier'"):
        initializers.get("xavier", owner="Conv2D 'c'")
    assert initializers.get(initializers.zeros) is initializers.zeros
