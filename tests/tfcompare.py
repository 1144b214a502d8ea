"""Shared helpers of the tests that compare dlcourse.scratch with TensorFlow (float64).

TensorFlow is imported inside the functions that need it, never at import time: a test module
can import these helpers and still run its NumPy-only tests without TensorFlow. A test calling
one of the Keras helpers takes the ``keras`` (or ``tf``) fixture, which marks it ``tensorflow``.

- ``keras_forward_backward``, ``assert_close``, ``RTOL``: one Keras layer under the tape, and
  the agreement demanded in float64;
- for the recurrent layers (SimpleRNN, LSTM, GRU), named by their type as a string:
  ``built_pair`` (a layer and its Keras twin with the same random weights), ``keras_run`` /
  ``scratch_run`` (outputs and every gradient, masks, initial and returned states included),
  ``assert_matches_keras``, ``assert_matches_finite_differences``;
- ``assert_config_is_keras``: a layer's config has Keras's keys and values, and round-trips;
- ``randn``, ``MASK``, ``random_weights``: the data they share.
"""

import numpy as np
import pytest

from dlcourse.gradcheck import numerical_gradient, rel_error

#: The agreement demanded of every forward value and gradient in float64.
RTOL = 1e-7

#: Padding at the end, in the middle, at the start, none; one row per example (batch 4, 6 steps).
MASK = np.array([[1, 1, 1, 1, 0, 0],
                 [1, 1, 0, 0, 1, 1],
                 [0, 1, 1, 1, 1, 0],
                 [1, 1, 1, 1, 1, 1]], dtype=bool)


def randn(*shape, seed=0, scale=1.0):
    """Standard normal numbers of ``shape`` times ``scale``, from ``seed``."""
    return scale * np.random.default_rng(seed).normal(size=shape)


def keras_forward_backward(layer, x, grad_output, training=False):
    """Run a built Keras layer on ``x`` under ``tf.GradientTape``, for ``J = Σ y ⊙ grad_output``.

    Returns ``(y, dJ/dx, {weight name: dJ/dw})``, all NumPy float64, the weights keyed by their
    Keras names (``kernel``, ``recurrent_kernel``, ``bias``, ...).
    """
    from dlcourse.keras_ref import tf

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=training)
        objective = tf.reduce_sum(y * tf.constant(grad_output, dtype=y.dtype))
    weights = layer.trainable_weights
    grads = tape.gradient(objective, [xt, *weights])
    return (y.numpy(), grads[0].numpy(),
            {w.name: g.numpy() for w, g in zip(weights, grads[1:], strict=True)})


def assert_close(actual, expected, what, rtol=RTOL):
    """Fail with the relative error and ``what`` unless ``rel_error(actual, expected) <= rtol``."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    err = rel_error(actual, expected)
    assert err <= rtol, f"{what}: relative error {err:.3e} > {rtol:g}"


# ------------------------------------------------------------------------------ recurrent layers
def random_weights(layer, seed=0):
    """Random weights of the layer's shapes, scaled so that the activations do not saturate."""
    scales = {"kernel": 0.5, "recurrent_kernel": 0.4, "bias": 0.3}
    return [randn(*layer.params[name].shape, seed=seed + k, scale=scales[name])
            for k, name in enumerate(layer.params)]


def built_pair(kind, x, units=4, **kwargs):
    """A from-scratch recurrent layer of type ``kind`` (``"LSTM"``, ...) and its Keras twin
    (float64) with the same random weights, moved across with ``set_weights`` each way."""
    from dlcourse.keras_ref import keras
    from dlcourse.scratch import layer_types

    layer = layer_types()[kind](units, seed=0, **kwargs)
    keras_layer = getattr(keras.layers, kind)(units, dtype="float64", **kwargs)
    layer.forward(x)
    keras_layer.build(x.shape)
    assert [v.name for v in keras_layer.weights] == list(layer.params)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in keras_layer.get_weights()]
    exchange_weights(layer, keras_layer, random_weights(layer))
    return layer, keras_layer


def exchange_weights(layer, keras_layer, weights):
    """Give both twins ``weights``, moved with ``set_weights`` each way; check they arrive."""
    keras_layer.set_weights(weights)
    layer.set_weights(keras_layer.get_weights())  # the one line, each way
    keras_layer.set_weights(layer.get_weights())
    for ours, theirs in zip(layer.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def output_grads(layer, x, seed=6):
    """Random ``dJ/d output`` for each output of the layer (and each returned state)."""
    shapes = layer.compute_output_shape(x.shape)
    shapes = list(shapes) if layer.return_state else [shapes]
    return [randn(*shape, seed=seed + k) for k, shape in enumerate(shapes)]


def keras_run(keras_layer, x, grads, mask=None, initial_state=None):
    """The Keras layer on ``x`` under ``tf.GradientTape`` for ``J = Σ_k Σ y_k ⊙ grads[k]``.

    Returns ``(outputs, dJ/dx, {weight name: dJ/dw}, [dJ/d initial state])`` as NumPy arrays.
    """
    from dlcourse.keras_ref import tf

    xt = tf.constant(x)
    states = None if initial_state is None else [tf.constant(s) for s in initial_state]
    kwargs = {} if mask is None else {"mask": tf.constant(mask)}
    if states is not None:
        kwargs["initial_state"] = states
    with tf.GradientTape() as tape:
        tape.watch(xt)
        if states is not None:
            tape.watch(states)
        out = keras_layer(xt, **kwargs)
        outputs = list(out) if isinstance(out, (list, tuple)) else [out]
        objective = sum(tf.reduce_sum(y * g) for y, g in zip(outputs, grads, strict=True))
    weights = keras_layer.trainable_weights
    result = tape.gradient(objective, [xt, *weights, *(states or [])])
    named = {w.name: g.numpy() for w, g in zip(weights, result[1:], strict=False)}
    return ([y.numpy() for y in outputs], result[0].numpy(), named,
            [g.numpy() for g in result[1 + len(weights):]])


def scratch_run(layer, x, grads, mask=None, initial_state=None):
    """The same as :func:`keras_run` with the from-scratch layer."""
    out = layer.forward(x, mask=mask, initial_state=initial_state)
    outputs = list(out) if layer.return_state else [out]
    outputs = [np.array(y) for y in outputs]  # copies: the next forward reuses nothing
    grad_states = grads[1:] if layer.return_state else None
    dx = layer.backward(grads[0], grad_states=grad_states)
    initial = layer.grad_initial_state if initial_state is not None else []
    return outputs, dx, dict(layer.grads), initial


def assert_matches_keras(layer, keras_layer, x, mask=None, initial_state=None, what="layer"):
    """Every output and every gradient (input, weights, initial states) equal to Keras's."""
    grads = output_grads(layer, x)
    ours = scratch_run(layer, x, grads, mask, initial_state)
    theirs = keras_run(keras_layer, x, grads, mask, initial_state)
    assert len(ours[0]) == len(theirs[0])
    for k, (a, b) in enumerate(zip(ours[0], theirs[0], strict=True)):
        assert_close(a, b, f"{what} output {k}")
    assert_close(ours[1], theirs[1], f"{what} dJ/dx")
    assert sorted(ours[2]) == sorted(theirs[2])
    for name, grad in theirs[2].items():
        assert_close(ours[2][name], grad, f"{what} dJ/d{name}")
    for k, (a, b) in enumerate(zip(ours[3], theirs[3], strict=True)):
        assert_close(a, b, f"{what} dJ/d initial_state[{k}]")


def assert_matches_finite_differences(layer, x, mask=None, initial_state=None, tol=1e-6):
    """Every gradient of ``backward`` against centred differences, for any layer options."""
    grads = output_grads(layer, x, seed=21)
    _, dx, analytic, grad_initial = scratch_run(layer, x, grads, mask, initial_state)
    analytic = {name: g.copy() for name, g in analytic.items()}

    def objective(_=None):
        out = layer.forward(x, mask=mask, initial_state=initial_state)
        outputs = out if layer.return_state else [out]
        return sum(np.sum(y * g) for y, g in zip(outputs, grads, strict=True))

    points = {"input": (x, dx), **{name: (layer.params[name], analytic[name])
                                   for name in layer.params}}
    for k, state in enumerate(initial_state or []):
        points[f"initial_state[{k}]"] = (state, grad_initial[k])
    for name, (point, grad) in points.items():
        err = rel_error(grad, numerical_gradient(objective, point))
        assert err < tol, f"{layer!r} {name}: relative error {err:.2e}"


# ------------------------------------------------------------------------------ configs
def assert_config_is_keras(layer, keras_layer, skip=()):
    """``get_config()`` has Keras's keys (plus ``seed``) and Keras's values, and round-trips.

    The same check as ``test_layer_config.test_configs_have_keras_keys_and_values``, for
    layer types not registered yet; ``skip`` names keys whose values are known to differ.
    """
    config, theirs = layer.get_config(), keras_layer.get_config()
    assert set(config) == set(layer.config_keys())
    assert set(config) - set(theirs) <= {"seed"}  # Keras keeps seeds inside the initializers
    for key in set(config) & set(theirs) - set(skip):
        ours, expected = config[key], theirs[key]
        if isinstance(ours, dict) and key != "dtype":  # initializers and regularizers
            # Initializers: {} or Keras's own settings ("uniform"); regularizers: Keras's
            # factors, which it keeps in float32.
            assert ours["config"] in ({}, expected["config"]) or ours["config"] == pytest.approx(
                expected["config"], rel=1e-7), key
            ours, expected = ({k: v for k, v in d.items() if k != "config"}
                              for d in (ours, expected))
        assert ours == expected and type(ours) is type(expected), key
    copy = type(layer).from_config(config)
    assert not copy.built and copy.get_config() == config
