"""Shared helpers of the tests that compare dlcourse.scratch with TensorFlow (float64)."""

import numpy as np

from dlcourse.gradcheck import rel_error

#: The agreement demanded of every forward value and gradient in float64.
RTOL = 1e-7


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
