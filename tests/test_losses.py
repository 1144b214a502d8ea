"""Losses and regularizers: values and gradients equal Keras's (float64, relative error <= 1e-7).

Keras's side is ``keras.losses.X(dtype="float64")`` called on ``tf.constant`` inputs under
``tf.GradientTape``; the from-scratch gradients are also checked against centred finite
differences, away from the kinks of the probability clip (finite differences straddling a kink
measure neither side).
"""

import numpy as np
import pytest
from tfcompare import RTOL, assert_close

from dlcourse.gradcheck import numerical_gradient
from dlcourse.scratch import activations, losses, regularizers

EPS = losses.EPSILON


def keras_value_and_gradient(keras_loss, y_true, y_pred):
    """Keras's loss and its gradient with respect to ``y_pred``, as NumPy float64."""
    from dlcourse.keras_ref import tf

    y_pred_t = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(y_pred_t)
        value = keras_loss(tf.constant(y_true), y_pred_t)
    return value.numpy(), tape.gradient(value, y_pred_t).numpy()


def probabilities(rng, shape, low=0.05, high=0.95):
    return rng.uniform(low, high, size=shape)


def softmax_rows(rng, batch, classes, scale=1.0):
    return activations.softmax(scale * rng.normal(size=(batch, classes)))


def one_hot(labels, classes):
    return np.eye(classes)[labels]


# Each case: (scratch loss, matching Keras constructor kwargs, y_true, y_pred). Probabilities
# exactly 0 and 1, within ε of them, and exactly on the clip boundaries exercise the clipping.
def _cases():
    rng = np.random.default_rng(0)
    cases = {}

    # ---- mean squared error
    mse = losses.MeanSquaredError
    cases["mse batch of one"] = (mse(), rng.normal(size=(1, 1)), rng.normal(size=(1, 1)))
    cases["mse (5, 3)"] = (mse(), rng.normal(size=(5, 3)), rng.normal(size=(5, 3)))
    cases["mse rank 1"] = (mse(), rng.normal(size=6), rng.normal(size=6))
    cases["mse y_true (4,) y_pred (4, 1)"] = (mse(), rng.normal(size=4), rng.normal(size=(4, 1)))
    cases["mse y_true (4, 1) y_pred (4,)"] = (mse(), rng.normal(size=(4, 1)), rng.normal(size=4))
    cases["mse rank 3"] = (mse(), rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4)))

    # ---- binary cross-entropy
    bce = losses.BinaryCrossentropy
    extremes = np.array([[0.0], [1.0], [1e-9], [1 - 1e-9], [EPS], [1 - EPS], [3e-7], [0.5]])
    extremes_true = np.array([[1.0], [0.0], [1.0], [0.0], [1.0], [1.0], [0.0], [1.0]])
    cases["bce batch of one"] = (bce(), np.array([[1.0]]), np.array([[0.3]]))
    cases["bce (8, 1)"] = (bce(), rng.integers(0, 2, (8, 1)).astype(float),
                           probabilities(rng, (8, 1)))
    cases["bce (5, 3) soft labels"] = (bce(), rng.uniform(size=(5, 3)), probabilities(rng, (5, 3)))
    cases["bce rank 1"] = (bce(), rng.integers(0, 2, 6).astype(float), probabilities(rng, 6))
    cases["bce y_true (4,) y_pred (4, 1)"] = (bce(), np.array([0.0, 1, 1, 0]),
                                              probabilities(rng, (4, 1)))
    cases["bce near 0 and 1"] = (bce(), extremes_true, extremes)
    cases["bce near 0 and 1, wrong side"] = (bce(), 1 - extremes_true, extremes)
    cases["bce label smoothing"] = (bce(label_smoothing=0.2), extremes_true, extremes)
    logits = np.array([[-40.0], [-5.0], [-1e-3], [0.0], [1e-3], [2.0], [30.0], [40.0]])
    cases["bce logits"] = (bce(from_logits=True), extremes_true, logits)
    cases["bce logits, wrong side"] = (bce(from_logits=True), 1 - extremes_true, logits)
    # All gradients tiny (~1e-13): σ(z) − 1 computed naively would lose every digit.
    cases["bce logits, confident and right"] = (bce(from_logits=True), np.array([[1.0], [1], [0]]),
                                                np.array([[30.0], [25.0], [-28.0]]))
    cases["bce logits (5, 3) soft"] = (bce(from_logits=True, label_smoothing=0.1),
                                       rng.uniform(size=(5, 3)), 3 * rng.normal(size=(5, 3)))

    # ---- categorical cross-entropy
    cce = losses.CategoricalCrossentropy
    saturated = np.array([[1.0, 0.0, 0.0], [1e-9, 1 - 1e-9, 0.0], [EPS, 0.5, 0.5 - EPS],
                          [0.2, 0.3, 0.5]])
    saturated_true = one_hot([1, 0, 0, 2], 3)
    cases["cce batch of one"] = (cce(), one_hot([2], 4), softmax_rows(rng, 1, 4))
    cases["cce (6, 5)"] = (cce(), one_hot(rng.integers(0, 5, 6), 5), softmax_rows(rng, 6, 5))
    cases["cce two classes"] = (cce(), one_hot([0, 1, 1], 2), softmax_rows(rng, 3, 2))
    cases["cce rows not summing to 1"] = (cce(), one_hot([0, 3, 1], 4), probabilities(rng, (3, 4)))
    # Keras normalises, then clips: 1e-9 / 0.7 is clipped up to ε, and 0.4 / 0.4 down to 1 − ε.
    unnormalised = np.array([[1e-9, 0.3, 0.4], [0.0, 0.0, 0.4], [5e-8, 0.1, 0.1]])
    cases["cce rows not summing to 1, clipped"] = (cce(), one_hot([0, 2, 0], 3), unnormalised)
    cases["cce near 0 and 1"] = (cce(), saturated_true, saturated)
    cases["cce near 0 and 1, wrong class"] = (cce(), one_hot([0, 2, 1, 0], 3), saturated)
    cases["cce soft labels"] = (cce(), softmax_rows(rng, 4, 3), saturated)
    cases["cce label smoothing"] = (cce(label_smoothing=0.1), saturated_true, saturated)
    cases["cce logits"] = (cce(from_logits=True), one_hot([1, 0, 3, 2, 2], 4),
                           3 * rng.normal(size=(5, 4)))
    cases["cce logits batch of one, extreme"] = (cce(from_logits=True), one_hot([0], 3),
                                                 np.array([[-50.0, 0.0, 60.0]]))
    cases["cce logits soft labels"] = (cce(from_logits=True, label_smoothing=0.2),
                                       softmax_rows(rng, 4, 3), 3 * rng.normal(size=(4, 3)))

    # ---- sparse categorical cross-entropy
    scce = losses.SparseCategoricalCrossentropy
    labels = rng.integers(0, 5, 6)
    cases["scce batch of one"] = (scce(), np.array([3]), softmax_rows(rng, 1, 4))
    cases["scce labels (batch,)"] = (scce(), labels, softmax_rows(rng, 6, 5))
    cases["scce labels (batch, 1)"] = (scce(), labels[:, None], softmax_rows(rng, 6, 5))
    cases["scce float labels"] = (scce(), labels.astype(float), softmax_rows(rng, 6, 5))
    cases["scce two classes"] = (scce(), np.array([1, 0, 1]), softmax_rows(rng, 3, 2))
    cases["scce rows not summing to 1"] = (scce(), np.array([0, 3, 1]),
                                           probabilities(rng, (3, 4)))
    # Keras clips, then normalises (the softmax of log c).
    cases["scce rows not summing to 1, clipped"] = (scce(), np.array([0, 2, 0]), unnormalised)
    cases["scce near 0 and 1"] = (scce(), np.array([1, 0, 0, 2]), saturated)
    cases["scce near 0 and 1, wrong class"] = (scce(), np.array([[0], [2], [1], [0]]), saturated)
    cases["scce logits"] = (scce(from_logits=True), labels, 3 * rng.normal(size=(6, 5)))
    cases["scce logits (batch, 1)"] = (scce(from_logits=True), labels[:, None],
                                       3 * rng.normal(size=(6, 5)))
    cases["scce logits batch of one, extreme"] = (scce(from_logits=True), np.array([0]),
                                                  np.array([[-50.0, 0.0, 60.0]]))
    return cases


CASES = _cases()


@pytest.mark.parametrize("case", list(CASES))
def test_loss_value_and_gradient_equal_keras(keras, case):
    loss, y_true, y_pred = CASES[case]
    keras_loss = getattr(keras.losses, type(loss).__name__)(**loss.get_config(), dtype="float64")
    expected_value, expected_grad = keras_value_and_gradient(keras_loss, y_true, y_pred)
    assert_close(loss(y_true, y_pred), expected_value, f"{case}: loss value")
    grad = loss.gradient(y_true, y_pred)
    assert grad.shape == y_pred.shape and grad.dtype == np.float64
    assert_close(grad, expected_grad, f"{case}: gradient")


SMOOTH_CASES = {
    # Probabilities in [0.05, 0.95]: no clip kink within the finite-difference step.
    "mse": (losses.MeanSquaredError(), np.arange(6.0).reshape(3, 2), np.ones((3, 2))),
    "bce": (losses.BinaryCrossentropy(label_smoothing=0.1), np.array([[1.0, 0], [0.3, 1]]),
            np.array([[0.2, 0.7], [0.9, 0.05]])),
    "bce logits": (losses.BinaryCrossentropy(from_logits=True), np.array([[1.0], [0], [0.4]]),
                   np.array([[-2.0], [3.0], [0.0]])),
    "cce unnormalised": (losses.CategoricalCrossentropy(), one_hot([2, 0], 3),
                         np.array([[0.2, 0.3, 0.4], [0.6, 0.1, 0.8]])),
    "cce logits soft": (losses.CategoricalCrossentropy(from_logits=True),
                        np.array([[0.1, 0.9, 0.0], [0.5, 0.25, 0.25]]),
                        np.array([[1.0, -2.0, 0.5], [0.0, 4.0, -1.0]])),
    "scce unnormalised": (losses.SparseCategoricalCrossentropy(), np.array([1, 2]),
                          np.array([[0.2, 0.3, 0.4], [0.6, 0.1, 0.8]])),
    "scce logits": (losses.SparseCategoricalCrossentropy(from_logits=True), np.array([[1], [0]]),
                    np.array([[1.0, -2.0, 0.5], [0.0, 4.0, -1.0]])),
}


@pytest.mark.parametrize("case", list(SMOOTH_CASES))
def test_loss_gradient_equals_finite_differences(case):
    loss, y_true, y_pred = SMOOTH_CASES[case]
    y_pred = y_pred.copy()
    numeric = numerical_gradient(lambda p: loss(y_true, p), y_pred)
    assert_close(loss.gradient(y_true, y_pred), numeric, f"{case}: gradient vs finite differences",
                 rtol=1e-7)


def test_clipped_probabilities_get_zero_gradient_and_bounded_loss():
    p = np.array([[0.0], [1e-9], [1 - 1e-9], [1.0]])
    y = np.array([[1.0], [1.0], [0.0], [0.0]])
    bce = losses.BinaryCrossentropy()
    # A confident wrong answer costs -log(ε) per sample at most, not infinity.
    assert bce(y, p) == pytest.approx(-np.log(EPS), rel=1e-9)
    np.testing.assert_array_equal(bce.gradient(y, p), np.zeros_like(p))
    p_cat = np.array([[0.0, 1.0], [1e-9, 1 - 1e-9]])
    scce = losses.SparseCategoricalCrossentropy()
    assert scce(np.array([0, 0]), p_cat) == pytest.approx(-np.log(EPS), rel=1e-6)
    np.testing.assert_array_equal(scce.gradient(np.array([0, 0]), p_cat)[:, 0], 0.0)


def test_softmax_then_crossentropy_gives_p_minus_y_over_batch():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    p = activations.softmax(z)
    expected = (p - one_hot(labels, 4)) / 5
    from_logits = losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(from_logits.gradient(labels, z), expected, rtol=1e-12, atol=1e-15)
    cce_logits = losses.CategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(cce_logits.gradient(one_hot(labels, 4), z), expected, rtol=1e-12,
                               atol=1e-15)
    # The two-step chain (loss gradient in p, then softmax's backward) gives the same result.
    for loss, y in ((losses.CategoricalCrossentropy(), one_hot(labels, 4)),
                    (losses.SparseCategoricalCrossentropy(), labels)):
        chained = activations.softmax_backward(p, loss.gradient(y, p))
        np.testing.assert_allclose(chained, expected, rtol=1e-9, atol=1e-15)
        assert loss(y, p) == pytest.approx(from_logits(labels, z), rel=1e-12)


def test_keras_uses_the_cached_logits_of_its_own_softmax(keras, tf):
    # The claim of the module docstring: a tensor produced by Keras's softmax carries its logits,
    # and Keras's cross-entropy uses them, ignoring from_logits=False (no clipping).
    z = np.array([[40.0, 0.0, -40.0]])
    label = np.array([2])
    keras_loss = keras.losses.SparseCategoricalCrossentropy(dtype="float64")
    via_keras_softmax = float(keras_loss(label, keras.activations.softmax(tf.constant(z))))
    assert via_keras_softmax == pytest.approx(
        losses.SparseCategoricalCrossentropy(from_logits=True)(label, z), rel=1e-12)
    assert losses.SparseCategoricalCrossentropy()(label, activations.softmax(z)) == \
        pytest.approx(float(keras_loss(label, tf.constant(activations.softmax(z)))), rel=1e-12)
    assert via_keras_softmax == pytest.approx(80.0)


@pytest.mark.parametrize("loss, y_true, y_pred", [
    (losses.MeanSquaredError(), np.ones((4, 2)), np.full((4, 2), 0.5)),
    (losses.BinaryCrossentropy(), np.array([[1.0], [0.0]]), np.array([[0.9], [1e-9]])),
    (losses.CategoricalCrossentropy(from_logits=True), one_hot([0, 1], 2), np.ones((2, 2))),
    (losses.SparseCategoricalCrossentropy(), np.array([1, 0]), np.array([[0.3, 0.7], [0, 1.0]])),
])
def test_float32_predictions_give_float32_gradients(loss, y_true, y_pred):
    grad32 = loss.gradient(y_true, y_pred.astype(np.float32))
    assert grad32.dtype == np.float32
    np.testing.assert_allclose(grad32, loss.gradient(y_true, y_pred), rtol=1e-5, atol=1e-7)
    assert loss(y_true, y_pred.astype(np.float32)) == pytest.approx(loss(y_true, y_pred), rel=1e-5)


# ----------------------------------------------------------------------------- names and get()
@pytest.mark.parametrize("identifier, cls", [
    ("mse", losses.MeanSquaredError),
    ("mean_squared_error", losses.MeanSquaredError),
    ("binary_crossentropy", losses.BinaryCrossentropy),
    ("categorical_crossentropy", losses.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
])
def test_get_by_keras_name(keras, identifier, cls):
    loss = losses.get(identifier)
    assert type(loss) is cls
    keras_twin = getattr(keras.losses, cls.__name__)()
    assert loss.name == keras_twin.name
    for key, value in loss.get_config().items():
        assert keras_twin.get_config()[key] == value, key


def test_get_returns_instances_as_they_are_and_rejects_unknown_names():
    loss = losses.BinaryCrossentropy(from_logits=True)
    assert losses.get(loss) is loss
    assert repr(loss) == "BinaryCrossentropy(from_logits=True, label_smoothing=0.0)"
    for bad in ("cross_entropy", "MSE ", None, 3):
        with pytest.raises(ValueError, match=r"losses.get\(\): unknown loss .*expected one of"):
            losses.get(bad)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("loss, y_true, y_pred, error, message", [
    (losses.MeanSquaredError(), np.ones(3), np.array([1.0, np.nan, 0]), ValueError,
     r"MeanSquaredError: y_pred contains NaN or infinite values \(1 of 3 entries\)"),
    (losses.BinaryCrossentropy(), np.array([np.nan, 1]), np.array([0.5, 0.5]), ValueError,
     r"BinaryCrossentropy: y_true contains NaN"),
    (losses.SparseCategoricalCrossentropy(from_logits=True), np.array([0, 1]),
     np.array([[0.0, np.inf], [1, 2]]), ValueError, r"y_pred contains NaN or infinite"),
    (losses.MeanSquaredError(), np.ones(4), np.ones((4, 3)), ValueError,
     r"MeanSquaredError: expected y_true of the shape of y_pred, \(4, 3\), got shape \(4,\)"),
    (losses.MeanSquaredError(), np.ones((4, 1)), np.ones((1, 4)), ValueError,
     r"expected y_true of the shape of y_pred, \(1, 4\), got shape \(4, 1\)"),
    (losses.MeanSquaredError(), np.ones(4), np.ones(4, dtype=int), TypeError,
     r"MeanSquaredError: expected y_pred as a floating-point array .* got dtype int"),
    (losses.MeanSquaredError(), np.ones((0, 2)), np.ones((0, 2)), ValueError,
     r"expected a non-empty y_pred"),
    (losses.BinaryCrossentropy(), np.ones((2, 1)), np.array([[2.5], [-1.0]]), ValueError,
     r"BinaryCrossentropy: expected y_pred in \[0, 1\], got values in \[-1, 2.5\] "
     r"\(these look like logits: pass from_logits=True\)"),
    (losses.BinaryCrossentropy(from_logits=True), np.array([-1.0, 1]), np.zeros(2), ValueError,
     r"expected y_true in \[0, 1\]"),
    (losses.CategoricalCrossentropy(), np.array([0, 2]), np.full((2, 3), 1 / 3), ValueError,
     r"CategoricalCrossentropy: expected one-hot y_true of shape \(2, 3\), got shape \(2,\); "
     r"for integer class labels use SparseCategoricalCrossentropy"),
    (losses.CategoricalCrossentropy(), one_hot([0, 1], 2), np.array([[0.0, 0], [1, 0]]),
     ValueError, r"y_pred has 1 rows of zeros"),
    (losses.SparseCategoricalCrossentropy(), np.array([0, 5, 1, 7]), np.full((4, 5), 0.2),
     ValueError, r"SparseCategoricalCrossentropy: label 5 at index \(1,\) is out of range "
                 r"\[0, 5\) for y_pred with 5 classes \(2 labels out of range in all\)"),
    (losses.SparseCategoricalCrossentropy(from_logits=True), np.array([[-1], [0]]),
     np.zeros((2, 3)), ValueError, r"label -1 at index \(0,\) is out of range \[0, 3\)"),
    (losses.SparseCategoricalCrossentropy(), np.array([0.0, 1.5]), np.full((2, 2), 0.5),
     ValueError, r"expected integer class labels, got 1.5 at index \(1,\)"),
    (losses.SparseCategoricalCrossentropy(), np.array([0.0, np.nan]), np.full((2, 2), 0.5),
     ValueError, r"y_true contains NaN or infinite labels"),
    (losses.SparseCategoricalCrossentropy(), np.array([True, False]), np.full((2, 2), 0.5),
     TypeError, r"expected integer class labels, got dtype bool"),
    (losses.SparseCategoricalCrossentropy(), np.array(["a", "b"]), np.full((2, 2), 0.5),
     TypeError, r"expected integer class labels, got dtype <U1"),
    (losses.SparseCategoricalCrossentropy(), np.array([0, 1, 1]), np.full((4, 2), 0.5),
     ValueError, r"expected integer labels of shape \(4,\) or \(4, 1\) for y_pred of shape "
                 r"\(4, 2\), got shape \(3,\)$"),
    (losses.SparseCategoricalCrossentropy(), one_hot([0, 1], 2), np.full((2, 2), 0.5),
     ValueError, r"got shape \(2, 2\) \(one-hot targets\? use CategoricalCrossentropy\)"),
])
def test_bad_inputs_raise_clear_errors(loss, y_true, y_pred, error, message):
    with pytest.raises(error, match=message):
        loss(y_true, y_pred)
    with pytest.raises(error, match=message):
        loss.gradient(y_true, y_pred)


@pytest.mark.parametrize("make, error, message", [
    (lambda: losses.BinaryCrossentropy(from_logits="yes"), TypeError,
     r"BinaryCrossentropy: from_logits must be True or False, got 'yes'"),
    (lambda: losses.SparseCategoricalCrossentropy(from_logits=1), TypeError,
     r"SparseCategoricalCrossentropy: from_logits must be True or False"),
    (lambda: losses.CategoricalCrossentropy(label_smoothing=1.5), ValueError,
     r"CategoricalCrossentropy: label_smoothing must be a number in \[0, 1\], got 1.5"),
    (lambda: losses.BinaryCrossentropy(label_smoothing=-0.1), ValueError,
     r"label_smoothing must be a number in \[0, 1\]"),
])
def test_bad_constructor_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ----------------------------------------------------------------------------- regularizers
REGULARIZERS = {
    "L1": (regularizers.L1(0.01), lambda keras: keras.regularizers.L1(0.01)),
    "L2": (regularizers.L2(0.02), lambda keras: keras.regularizers.L2(0.02)),
    "L1L2": (regularizers.L1L2(l1=0.003, l2=0.05),
             lambda keras: keras.regularizers.L1L2(0.003, 0.05)),
    "L1 default": (regularizers.L1(), lambda keras: keras.regularizers.L1()),
    "L2 default": (regularizers.L2(), lambda keras: keras.regularizers.L2()),
    "l1 by name": (regularizers.get("l1"), lambda keras: keras.regularizers.get("l1")),
    "l2 by name": (regularizers.get("l2"), lambda keras: keras.regularizers.get("l2")),
}


@pytest.mark.parametrize("name", list(REGULARIZERS))
@pytest.mark.parametrize("shape", [(4, 3), (7,), (3, 3, 2, 4)])
def test_regularizer_penalty_and_gradient_equal_keras(tf, keras, name, shape):
    ours, make_keras = REGULARIZERS[name]
    w = np.random.default_rng(len(shape)).normal(size=shape)
    w.flat[::5] = 0.0  # |w| has a kink at 0, where TensorFlow's gradient is sign(0) = 0
    w_t = tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch(w_t)
        penalty = make_keras(keras)(w_t)
    assert_close(ours(w), penalty.numpy(), f"{name}: penalty")
    assert_close(ours.gradient(w), tape.gradient(penalty, w_t).numpy(), f"{name}: gradient")


def test_regularizer_gradient_equals_finite_differences():
    w = np.random.default_rng(3).normal(size=(3, 4)) + 0.5  # away from L1's kink at 0
    w[np.abs(w) < 1e-3] = 0.1
    reg = regularizers.L1L2(l1=0.01, l2=0.03)
    numeric = numerical_gradient(lambda v: reg(v), w)
    assert_close(reg.gradient(w), numeric, "L1L2 gradient vs finite differences", rtol=RTOL)


def test_regularizer_names_follow_keras_3():
    assert regularizers.get(None) is None
    with pytest.raises(ValueError, match=r"unknown regularizer 'l1_l2'.*L1L2\(l1=0.01, l2=0.01\)"):
        regularizers.get("l1_l2")
    with pytest.raises(ValueError, match="L1: l1 must be a number >= 0, got -1"):
        regularizers.L1(-1)
