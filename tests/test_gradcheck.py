"""gradcheck, activations and initializers: the tools every other proof rests on."""

import random

import numpy as np
import pytest

from dlcourse import gradcheck
from dlcourse.gradcheck import GradientCheckError, check_layer, numerical_gradient, rel_error
from dlcourse.scratch import Dense, Dropout, Layer, activations, initializers


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

    def call_backward(self, grad_output):
        dx = super().call_backward(grad_output)
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


# ----------------------------------------------------------------------------- NaN and inf
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["a", "b", "both"])
@pytest.mark.parametrize("index", [0, 2])
def test_rel_error_is_infinite_when_either_array_is_not_finite(bad, where, index):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])
    if where in ("a", "both"):
        a[index] = bad
    if where in ("b", "both"):
        b[index] = bad
    err = rel_error(a, b)
    assert err == np.inf
    assert err > 1e-6  # so a tolerance test fails, where nan > 1e-6 would be False


def test_rel_error_of_the_probe_that_found_the_bug():
    assert rel_error([np.nan, 1.0], [1.0, 1.0]) == np.inf


@pytest.mark.parametrize("value, given", [(None, "dtype object"), ("abc", "dtype <U3"),
                                          (np.array([1j]), "dtype complex128")])
def test_rel_error_refuses_what_is_not_numbers(value, given):
    with pytest.raises(TypeError, match=rf"rel_error\(\): a must be an array of real numbers.*"
                                        rf"got {given}"):
        rel_error(value, np.ones(1))


def test_rel_error_accepts_booleans_as_zeros_and_ones():
    assert rel_error(np.array([True, False]), np.array([1.0, 0.0])) == 0.0


class PoisonedGradient(Dense):
    """A Dense layer whose backward puts ``value`` at ``index`` of one gradient."""

    def __init__(self, units, target, index, value, **kwargs):
        super().__init__(units, **kwargs)
        self.target, self.index, self.value = target, index, value

    def call_backward(self, grad_output):
        dx = super().call_backward(grad_output)
        array = dx if self.target == "input" else self.grads[self.target]
        array[self.index] = self.value
        return dx


@pytest.mark.parametrize(("target", "index"), [("input", (0, 0)), ("input", (3, 2)),
                                               ("kernel", (1, 0)), ("bias", (1,))])
@pytest.mark.parametrize(("value", "kind"), [(np.nan, "NaN"), (np.inf, "an infinity"),
                                             (-np.inf, "an infinity")])
def test_check_layer_fails_a_nan_gradient_and_says_where(target, index, value, kind):
    x = np.random.default_rng(1).normal(size=(4, 3))
    layer = PoisonedGradient(2, target, index, value, name="poisoned", seed=0)
    with pytest.raises(GradientCheckError) as err:
        check_layer(layer, x)
    message = str(err.value)
    size = {"input": 12, "kernel": 6, "bias": 2}[target]
    assert message.startswith("PoisonedGradient 'poisoned': NaN or infinite gradients: ")
    assert (f"the {target} gradient from backward contains {kind} at index {index} "
            f"(1 of {size} entries are NaN or infinite)") in message
    assert "finite differences" not in message  # the numerical gradients are all fine
    others = {"input", "kernel", "bias"} - {target}
    assert not any(f"the {name} gradient" in message for name in others)


def test_check_layer_counts_every_nan_and_reports_the_first():
    class AllNaN(Dense):
        def call_backward(self, grad_output):
            super().call_backward(grad_output)
            self.grads["kernel"][:, 1:] = np.nan
            return np.full(self.cache["x"].shape, np.nan) if "x" in self.cache else None

    x = np.random.default_rng(1).normal(size=(2, 3))
    with pytest.raises(GradientCheckError, match=r"the kernel gradient from backward contains "
                                                 r"NaN at index \(0, 1\) \(6 of 9 entries"):
        check_layer(AllNaN(3, seed=0), x)


class Sqrt(Layer):
    """``y = sqrt(x)``: finite at 0, NaN just below it, so finite differences see the NaN."""

    def call(self, x, training):
        self.cache = {"y": np.sqrt(x)}
        return self.cache["y"]

    def call_backward(self, grad_output):
        with np.errstate(divide="ignore"):
            return grad_output / (2 * self.cache["y"])


def test_check_layer_reports_a_nan_from_finite_differences():
    x = np.array([[4.0, 0.0, 1.0]])
    with np.errstate(invalid="ignore"), pytest.raises(GradientCheckError) as err:
        check_layer(Sqrt(name="sqrt"), x)
    message = str(err.value)
    assert ("the input gradient from finite differences contains NaN at index (0, 1) "
            "(1 of 3 entries") in message
    assert "the input gradient from backward contains an infinity at index (0, 1)" in message


def test_check_layer_fails_a_nan_in_the_forward_output():
    class Log(Layer):
        def call(self, x, training):
            self.cache = {"x": x}
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.log(x)

        def call_backward(self, grad_output):
            return grad_output / self.cache["x"]

    x = np.array([[1.0, 2.0], [-1.0, 3.0]])
    with pytest.raises(GradientCheckError, match=r"Log 'log_layer': the forward output contains "
                                                 r"NaN at index \(1, 0\) \(1 of 4 entries"):
        check_layer(Log(name="log_layer"), x)


class ForgetsToReturn(Dense):
    def call_backward(self, grad_output):
        super().call_backward(grad_output)


class TransposedKernelGradient(Dense):
    def call_backward(self, grad_output):
        dx = super().call_backward(grad_output)
        self.grads["kernel"] = self.grads["kernel"].T.copy()
        return dx


@pytest.mark.parametrize(("layer", "message"), [
    (ForgetsToReturn(2, name="f", seed=0),
     r"expected the gradient with respect to the input, an array of shape \(4, 3\), but "
     r"backward\(\) returned None"),
    (TransposedKernelGradient(2, name="t", seed=0),
     r"expected the gradient with respect to the kernel, an array of shape \(3, 2\), but "
     r"layer.grads\['kernel'\] is an array of shape \(2, 3\)"),
])
def test_check_layer_names_a_missing_or_misshapen_gradient(layer, message):
    with pytest.raises(GradientCheckError, match=message):
        check_layer(layer, np.random.default_rng(1).normal(size=(4, 3)))


def test_check_layer_says_when_input_grad_is_switched_off():
    layer = Dense(2, seed=0)
    layer.compute_input_grad = False
    with pytest.raises(GradientCheckError, match="set it to True to check the input gradient"):
        check_layer(layer, np.ones((2, 3)))


# ----------------------------------------------------------------------------- random layers
class NoisyScale(Layer):
    """A learner's stochastic layer: ``y = x ⊙ (1 + noise)``, noise drawn from its own generator."""

    def __init__(self, source="generator", **kwargs):
        super().__init__(**kwargs)
        self.source = source
        self.rng = (np.random.default_rng(3) if source == "generator"
                    else np.random.RandomState(3) if source == "RandomState" else None)

    def call(self, x, training):
        if self.source == "legacy global":
            noise = np.random.rand(*x.shape)  # noqa: NPY002 (what a learner may write)
        elif self.source == "python":
            noise = np.array([random.random() for _ in range(x.size)]).reshape(x.shape)
        elif self.source == "fresh":
            noise = np.random.default_rng().random(x.shape)  # a new generator at every call
        else:
            noise = self.rng.random(x.shape)
        self.cache = {"scale": 1.0 + noise}
        return x * self.cache["scale"]

    def call_backward(self, grad_output):
        return grad_output * self.cache["scale"]


class Stack(Layer):
    """A layer that holds a stochastic layer in a list, as a model holds its layers."""

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = [inner]

    def call(self, x, training):
        self.cache = {}
        return self.inner[0].forward(x, training=training)

    def call_backward(self, grad_output):
        return self.inner[0].backward(grad_output)


STOCHASTIC = {
    "Dropout seeded": lambda: Dropout(0.5, seed=1),
    "Dropout shared generator": lambda: Dropout(0.3),
    "Dropout high rate": lambda: Dropout(0.8, seed=2),
    "own Generator": lambda: NoisyScale("generator"),
    "own RandomState": lambda: NoisyScale("RandomState"),
    "np.random.rand": lambda: NoisyScale("legacy global"),
    "random.random": lambda: NoisyScale("python"),
    "sublayer in a list": lambda: Stack(Dropout(0.5, seed=4)),
}


@pytest.mark.parametrize("make", STOCHASTIC.values(), ids=STOCHASTIC.keys())
def test_check_layer_passes_a_correct_stochastic_layer_in_training(make):
    x = np.random.default_rng(0).normal(size=(4, 6))
    errors = check_layer(make(), x, training=True)
    assert errors["input"] < 1e-7


class UnscaledDropout(Dropout):
    """Backward forgets the 1 / (1 − rate) scaling of the kept units."""

    def call_backward(self, grad_output):
        return grad_output * (self.cache["mask"] != 0)


class UnmaskedDropout(Dropout):
    """Backward passes the gradient of the dropped units too."""

    def call_backward(self, grad_output):
        return grad_output / (1 - self.rate)


@pytest.mark.parametrize("layer", [UnscaledDropout(0.5, seed=1), UnmaskedDropout(0.5, seed=1),
                                   UnmaskedDropout(0.5), Stack(UnmaskedDropout(0.5, seed=1))],
                         ids=["unscaled", "unmasked", "unmasked shared generator",
                              "unmasked sublayer"])
def test_check_layer_still_fails_a_wrong_dropout_backward(layer):
    x = np.random.default_rng(0).normal(size=(4, 6))
    with pytest.raises(GradientCheckError, match=r"input: \d\.\d+e[+-]\d+"):
        check_layer(layer, x, training=True)


def test_check_layer_leaves_the_generator_as_after_one_forward_pass():
    x = np.random.default_rng(0).normal(size=(4, 6))
    checked, twin = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    check_layer(checked, x, training=True)
    twin.forward(x, training=True)  # the one forward pass the check amounts to
    np.testing.assert_array_equal(checked.forward(x, training=True),
                                  twin.forward(x, training=True))
    np.testing.assert_array_equal(checked.forward(x, training=True),
                                  twin.forward(x, training=True))


def test_check_layer_reports_a_layer_that_is_random_in_spite_of_the_replay():
    x = np.random.default_rng(0).normal(size=(3, 4))
    with pytest.raises(GradientCheckError, match="forward\\(\\) gave different outputs for the "
                                                 "same input.*created once in __init__"):
        check_layer(NoisyScale("fresh", name="fresh"), x, training=True)


# ----------------------------------------------------------------------------- arguments
@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"h": 0}, ValueError, "h must be a number > 0, got 0"),
    ({"h": -1e-6}, ValueError, "h must be a number > 0, got -1e-06"),
    ({"h": float("nan")}, ValueError, "h must be a number > 0, got nan"),
    ({"h": "1e-6"}, TypeError, "h must be a number > 0, got '1e-6'"),
    ({"tol": 0.0}, ValueError, "tol must be a number > 0, got 0.0"),
    ({"tol": float("inf")}, ValueError, "tol must be a number > 0, got inf"),
    ({"seed": -1}, ValueError, "seed must be an integer >= 0, got -1"),
    ({"seed": 1.5}, TypeError, "seed must be an integer >= 0, got 1.5"),
    ({"training": "yes"}, TypeError, "training must be True or False, got 'yes'"),
    ({"training": 1}, TypeError, "training must be True or False, got 1"),
])
def test_check_layer_validates_its_arguments(kwargs, error, message):
    with pytest.raises(error) as err:
        check_layer(Dense(2, name="d"), np.ones((2, 3)), **kwargs)
    assert str(err.value).startswith("check_layer(Dense 'd'): ")
    assert message in str(err.value)


@pytest.mark.parametrize(("x", "error", "message"), [
    (np.array([[1.0, np.nan]]), ValueError, r"x contains NaN or infinite values \(1 of 2"),
    ([[1.0], [2.0, 3.0]], TypeError, "x must be an array of numbers"),
    (np.array([["a"]]), TypeError, "x must be an array of real numbers"),
])
def test_check_layer_validates_its_input(x, error, message):
    with pytest.raises(error, match=message):
        check_layer(Dense(2), x)


def test_check_layer_accepts_a_list_of_numbers():
    assert set(check_layer(Dense(2, seed=0), [[1, 2], [3, 4]])) == {"input", "kernel", "bias"}


def test_check_layer_needs_a_layer():
    with pytest.raises(TypeError, match=r"expected a layer with forward\(\) and backward\(\).*"
                                        "got ndarray"):
        check_layer(np.ones(3), np.ones((2, 3)))


@pytest.mark.parametrize(("h", "error"), [(0.0, ValueError), (-1.0, ValueError),
                                          (np.inf, ValueError), (None, TypeError)])
def test_numerical_gradient_validates_its_step(h, error):
    with pytest.raises(error, match=r"numerical_gradient\(\): h must be a number > 0"):
        numerical_gradient(np.sum, np.ones(3), h)


@pytest.mark.parametrize(("f", "given"), [(lambda v: v * 2, r"an array of shape \(3,\)"),
                                         (lambda v: None, "NoneType"),
                                         (lambda v: "loss", "str")])
def test_numerical_gradient_needs_a_scalar_function_and_restores_x_anyway(f, given):
    x = np.arange(3.0)
    with pytest.raises(TypeError, match=r"numerical_gradient\(\): expected f to return a "
                                        rf"scalar, got {given}"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [0.0, 1.0, 2.0])


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
@pytest.mark.parametrize(("shape", "fans"), [
    ((5,), (5, 5)),                  # a bias-like vector: Keras uses its length both ways
    ((784, 128), (784, 128)),        # Dense: (inputs, units)
    ((3, 3, 1, 32), (9, 288)),       # Conv2D: receptive field 3·3 times in / out channels
    ((2, 5, 7, 3), (70, 30)),
])
def test_compute_fans_follows_keras_rule(shape, fans):
    assert initializers.compute_fans(shape) == fans


@pytest.mark.parametrize("shape", [(784, 128), (3, 3, 64, 32)])
def test_compute_fans_give_keras_glorot_uniform_limit(keras, shape):
    # Keras's public initializer draws from U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)):
    # with this many draws the largest |w| is within 1 % of the limit only if the fans agree.
    fan_in, fan_out = initializers.compute_fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    largest = np.abs(keras.initializers.GlorotUniform(seed=0)(shape).numpy()).max()
    assert 0.99 * limit < largest <= limit


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
