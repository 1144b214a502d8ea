"""Sequential: passes, training and evaluation equal Keras's, and its guards and errors."""

import numpy as np
import pytest
from tfcompare import assert_close

from dlcourse import scratch
from dlcourse.scratch import Dense, Dropout, Input, Sequential
from dlcourse.scratch.losses import MeanSquaredError, SparseCategoricalCrossentropy
from dlcourse.scratch.optimizers import SGD, Adam
from dlcourse.scratch.regularizers import L2


@pytest.fixture
def keras_float64(keras_ref):
    # Keras keeps an optimizer's learning rate in its default float type; float64 comparisons
    # of whole training runs need it in float64 too.
    keras_ref.keras.backend.set_floatx("float64")
    yield keras_ref
    keras_ref.keras.backend.set_floatx("float32")


def small_classifier(dtype="float64", reg=None, seed=0):
    return Sequential([
        Input((6,), dtype=dtype),
        Dense(8, activation="tanh", kernel_regularizer=reg, seed=seed, name="hidden"),
        Dense(3, seed=seed + 1, name="logits"),
    ], name="small")


def classification_data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return x, y


def test_forward_is_the_composition_of_the_layers():
    model = small_classifier()
    x, _ = classification_data(5)
    manual = x
    for layer in model.layers:
        manual = layer.forward(manual)
    np.testing.assert_array_equal(model.forward(x), manual)
    np.testing.assert_allclose(model.predict(x, batch_size=2), manual, rtol=1e-12)  # BLAS rounding


def test_backward_through_the_model_equals_gradient_tape(keras_ref):
    tf = keras_ref.tf
    model = small_classifier(reg=None)
    twin = keras_ref.to_keras(model)
    x, y = classification_data(7)
    loss = SparseCategoricalCrossentropy(from_logits=True)
    y_pred = model.forward(x, training=True)
    grad_x = model.backward(loss.gradient(y, y_pred))

    xt = tf.constant(x)
    keras_loss = keras_ref.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        value = keras_loss(y, twin(xt))
    grads = tape.gradient(value, [xt, *twin.trainable_weights])
    assert_close(loss(y, y_pred), value.numpy(), "loss")
    assert_close(grad_x, grads[0].numpy(), "dJ/dx")
    ours = [g for g, _ in model.grads_and_vars()]
    for mine, theirs, var in zip(ours, grads[1:], twin.trainable_weights, strict=True):
        assert_close(mine, theirs.numpy(), var.path)


@pytest.mark.parametrize(
    "make_optimizer, reg, validation",
    [
        (lambda: SGD(learning_rate=0.1), None, False),
        (lambda: SGD(learning_rate=0.05, momentum=0.9, nesterov=True), L2(0.01), True),
        (lambda: Adam(learning_rate=0.01), None, True),
        (lambda: Adam(learning_rate=0.01, clipnorm=0.5), L2(0.001), False),
    ],
    ids=["sgd", "sgd-nesterov-l2-val", "adam-val", "adam-clipnorm-l2"],
)
def test_fit_follows_keras_fit(keras_float64, make_optimizer, reg, validation):
    # Same weights, same data order (shuffle=False), same optimizer, float64 on both sides:
    # the loss curve, the accuracy and the final weights must be the same to rounding error.
    keras_ref = keras_float64
    keras = keras_ref.keras
    model = small_classifier(reg=reg)
    twin = keras_ref.to_keras(model)
    x, y = classification_data(50)
    xv, yv = classification_data(20, seed=1)
    optimizer = make_optimizer()
    loss = SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    twin.compile(optimizer=keras_ref.keras_optimizer(make_optimizer()),
                 loss=keras_ref.keras_loss(loss), metrics=["accuracy"])
    kwargs = dict(epochs=4, batch_size=16, shuffle=False, verbose=0,
                  validation_data=(xv, yv) if validation else None)
    ours = model.fit(x, y, **kwargs).history
    keras.utils.set_random_seed(0)
    theirs = twin.fit(x, y, **kwargs).history
    assert set(ours) == set(theirs)
    for key in ours:
        # Keras accumulates its epoch means in float32 metrics: agree to ~1e-6.
        assert_close(ours[key], theirs[key], key, rtol=2e-6)
    for mine, their in zip(model.get_weights(), twin.get_weights(), strict=True):
        assert_close(mine, their, "weights after fit", rtol=1e-7)


def test_evaluate_and_predict_equal_keras(keras_float64):
    keras_ref = keras_float64
    model = small_classifier(reg=L2(0.01))
    twin = keras_ref.to_keras(model)
    x, y = classification_data(37)
    loss = SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    twin.compile(optimizer="adam", loss=keras_ref.keras_loss(loss), metrics=["accuracy"])
    ours = model.evaluate(x, y, batch_size=10)
    theirs = twin.evaluate(x, y, batch_size=10, verbose=0)
    assert_close(ours, theirs, "evaluate [loss, accuracy]", rtol=2e-6)
    assert_close(model.predict(x), twin.predict(x, verbose=0), "predict")


def test_evaluate_without_metrics_returns_the_loss_alone():
    model = small_classifier()
    x, y = classification_data(10)
    model.compile(optimizer="sgd", loss=SparseCategoricalCrossentropy(from_logits=True))
    result = model.evaluate(x, y)
    assert isinstance(result, float)
    assert result == pytest.approx(SparseCategoricalCrossentropy(from_logits=True)(
        y, model.predict(x)))


def test_fit_learns_a_separable_problem():
    scratch.set_random_seed(0)
    x, y = classification_data(200)
    model = small_classifier(dtype="float32")
    model.compile(optimizer=Adam(0.05), loss=SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x.astype("float32"), y, epochs=30, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9


def test_shuffle_is_seeded():
    x, y = classification_data(64)
    results = []
    for _ in range(2):
        scratch.set_random_seed(3)
        model = small_classifier(seed=0)
        model.compile(optimizer=SGD(0.1), loss=SparseCategoricalCrossentropy(from_logits=True))
        results.append(model.fit(x, y, epochs=2, batch_size=8, verbose=0).history["loss"])
    assert results[0] == results[1]


def test_divergence_guard_names_epoch_and_step_and_keeps_finite_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)) * 10
    y = x @ np.array([[1.0], [-2.0], [3.0]])
    model = Sequential([Input((3,), dtype="float64"), Dense(16, activation="relu", seed=0),
                        Dense(1, seed=1)])
    model.compile(optimizer=SGD(learning_rate=1.0), loss=MeanSquaredError())
    with pytest.raises(scratch.TrainingDivergedError,
                       match=r"epoch \d+, step \d+ of 4.*smaller learning rate.*clipnorm") as err:
        model.fit(x, y, epochs=50, batch_size=16, shuffle=False, verbose=0)
    assert err.value.epoch >= 1 and 1 <= err.value.step <= 4
    assert not np.isfinite(err.value.loss)
    assert len(err.value.history.epoch) == err.value.epoch - 1


def test_divergence_guard_is_quiet_and_does_not_fire_on_a_sane_run(recwarn):
    x, y = classification_data(32)
    model = small_classifier()
    model.compile(optimizer=SGD(0.01), loss=SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=2, verbose=0)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_dropout_is_active_in_fit_and_not_in_predict():
    x, _ = classification_data(16)
    model = Sequential([Input((6,), dtype="float64"), Dropout(0.5, seed=0)])
    np.testing.assert_array_equal(model.predict(x), x)
    trained = model.forward(x, training=True)
    assert np.mean(trained == 0) > 0.3


def test_summary_lists_layers_shapes_and_counts(keras_ref):
    lines = []
    model = small_classifier()
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "small"' in text
    assert "hidden (Dense)" in text and "(None, 8)" in text and "(None, 3)" in text
    assert "56" in text and "27" in text
    twin = keras_ref.to_keras(model)
    assert f"Total params: {twin.count_params():,}" in text
    assert model.count_params() == twin.count_params() == 83


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, y = classification_data(20)
    model = small_classifier()
    model.compile(optimizer="sgd", loss=SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=3, verbose=2)
    out = capsys.readouterr()
    assert [line.split(" - ")[0] for line in out.out.strip().splitlines()] == \
        ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert out.err == ""


def test_verbose_1_shows_a_progress_bar_on_stdout(capsys):
    x, y = classification_data(20)
    model = small_classifier()
    model.compile(optimizer="sgd", loss=SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, batch_size=5, verbose=1)
    out = capsys.readouterr()
    assert "Epoch 1/1" in out.out and "4/4" in out.out and out.err == ""


def test_backward_can_skip_the_input_gradient():
    model = small_classifier()
    x, y = classification_data(4)
    loss = SparseCategoricalCrossentropy(from_logits=True)
    y_pred = model.forward(x, training=True)
    full = model.backward(loss.gradient(y, y_pred))
    grads = [g.copy() for g, _ in model.grads_and_vars()]
    assert model.backward(loss.gradient(y, y_pred), compute_input_grad=False) is None
    for before, (after, _) in zip(grads, model.grads_and_vars(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert model.layers[0].compute_input_grad is True and full.shape == x.shape


def test_a_wrong_input_shape_inside_a_model_names_the_layer():
    model = Sequential([Dense(4, name="first"), Dense(2, name="second")])
    model.predict(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"Dense 'first': expected input of shape \(batch, "):
        model.predict(np.zeros((3, 6)))


def test_get_and_set_weights_round_trip():
    a, b = small_classifier(seed=0), small_classifier(seed=5)
    assert not np.allclose(a.get_weights()[0], b.get_weights()[0])
    b.set_weights(a.get_weights())
    x, _ = classification_data(4)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m, x, y: m.fit(x, y), ValueError, r"call compile\(optimizer, loss\) before fit"),
        (lambda m, x, y: m.compile(optimizer="sgd"), ValueError, "compile\\(\\) needs a loss"),
        (lambda m, x, y: m.compile(optimizer="sgd", loss="mse", metrics=["f1"]), ValueError,
         "unknown metric 'f1'"),
        (lambda m, x, y: m.set_weights(m.get_weights()[:-1]), ValueError,
         r"expected 4 weight arrays \(per layer: \[2, 2\]\), got 3"),
        (lambda m, x, y: m.predict(x[:, :5]), ValueError,
         r"expected input of shape \(batch, 6\), got \(10, 5\)"),
        (lambda m, x, y: m.predict(x.astype(int)), TypeError, "floating-point"),
        (lambda m, x, y: m.add("dense"), TypeError, "expected a dlcourse.scratch layer, got str"),
        (lambda m, x, y: m.add(Dense(2, name="hidden")), ValueError, "two layers are named"),
    ],
)
def test_model_errors_are_clear(call, error, message):
    model = small_classifier()
    x, y = classification_data(10)
    with pytest.raises(error, match=message):
        call(model, x, y)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(epochs=0), ValueError, "epochs must be an integer >= 1, got 0"),
        (dict(batch_size=2.5), TypeError, r"batch_size must be an integer >= 1, got 2.5 \(float\)"),
        (dict(validation_data=[1, 2, 3]), ValueError,
         r"validation_data must be a tuple \(x_val, y_val\)"),
        (dict(verbose=3), ValueError, "verbose must be 'auto', 0, 1 or 2, got 3"),
    ],
)
def test_fit_argument_errors(kwargs, error, message):
    model = small_classifier()
    x, y = classification_data(10)
    model.compile(optimizer="sgd", loss=SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(error, match=message):
        model.fit(x, y, **kwargs)


def test_fit_rejects_mismatched_lengths():
    model = small_classifier()
    x, y = classification_data(10)
    model.compile(optimizer="sgd", loss=SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="got 10 inputs but 9 targets"):
        model.fit(x, y[:9])


def test_summary_before_build_is_a_clear_error():
    model = Sequential([Dense(3)])
    with pytest.raises(ValueError, match=r"summary\(\) needs the weights"):
        model.summary()
