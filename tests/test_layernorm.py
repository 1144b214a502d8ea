"""dlcourse.scratch.normalization.LayerNormalization against Keras's, in float64.

Forward output, dJ/dx, dJ/dgamma and dJ/dbeta must agree with TensorFlow to ``tfcompare.RTOL``
(1e-7), and every gradient with centred finite differences (``check_layer``) to 1e-6.
"""

import numpy as np
import pytest
from tfcompare import assert_close, keras_forward_backward

from dlcourse.gradcheck import check_layer
from dlcourse.scratch.normalization import LayerNormalization


def randn(*shape, seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).normal(size=shape)


CASES = {
    "last-axis": dict(shape=(4, 6)),
    "sequence-last-axis": dict(shape=(2, 5, 3)),
    "batch-1-no-center": dict(shape=(1, 3, 4), center=False),
    "no-scale": dict(shape=(3, 4, 5), scale=False),
    "neither-epsilon": dict(shape=(2, 3, 4), center=False, scale=False, epsilon=0.1),
    "two-axes": dict(shape=(2, 3, 4, 2), axis=[-2, -1]),
    "middle-axis": dict(shape=(2, 3, 4), axis=1),
}


def _kwargs(case):
    return {k: v for k, v in case.items() if k != "shape"}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_layer_normalization_matches_keras(case, keras):
    x = randn(*case["shape"], seed=1, scale=2.0) + 0.5
    layer = LayerNormalization(**_kwargs(case))
    kwargs = _kwargs(case)
    keras_layer = keras.layers.LayerNormalization(dtype="float64", **kwargs)
    layer.forward(x)
    keras_layer.build(x.shape)
    assert [v.name for v in keras_layer.weights] == list(layer.params)
    weights = [randn(*w.shape, seed=2 + i) for i, w in enumerate(layer.get_weights())]
    keras_layer.set_weights(weights)
    layer.set_weights(keras_layer.get_weights())
    grad = randn(*x.shape, seed=3)
    y, dx, named = keras_forward_backward(keras_layer, x, grad)
    assert_close(layer.forward(x), y, "output")
    assert_close(layer.backward(grad), dx, "dJ/dx")
    assert sorted(named) == sorted(layer.grads)
    for name, g in named.items():
        assert_close(layer.grads[name], g, f"dJ/d{name}")
    errors = check_layer(layer, x)
    assert set(errors) == {"input", *layer.params}


def test_each_example_is_normalised_on_its_own():
    x = randn(3, 4, 8, seed=4) * np.arange(1, 4)[:, None, None]
    y = LayerNormalization(epsilon=1e-12)(x)
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1.0, atol=1e-9)
    np.testing.assert_allclose(LayerNormalization()(x[:1]), LayerNormalization()(x)[:1])


def test_other_axes_may_change_size_but_not_the_normalised_ones():
    layer = LayerNormalization(name="ln")
    layer(randn(2, 5, 4))
    assert layer(randn(3, 7, 4)).shape == (3, 7, 4)
    with pytest.raises(ValueError, match=r"LayerNormalization 'ln': expected input of shape "
                                         r"\(batch, \?, 4\) as on its first call"):
        layer(randn(2, 5, 3))


def test_layer_normalization_names_its_mistakes():
    with pytest.raises(ValueError, match=r"LayerNormalization 'a': axis=0 is not a feature axis"):
        LayerNormalization(axis=0, name="a")
    with pytest.raises(TypeError, match=r"axis must be an integer, got 1.0"):
        LayerNormalization(axis=1.0)
    with pytest.raises(ValueError, match=r"epsilon must be a number > 0, got 0"):
        LayerNormalization(epsilon=0)
    with pytest.raises(TypeError, match=r"center must be True or False, got 1"):
        LayerNormalization(center=1)
    with pytest.raises(ValueError, match=r"axis=3 is not a set of distinct feature axes of an "
                                         r"input of rank 3"):
        LayerNormalization(axis=3)(randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"expected input of rank 2 or more"):
        LayerNormalization()(randn(4))
    assert LayerNormalization(axis=(1, 2)).get_config()["axis"] == [1, 2]  # Keras's format


def test_layer_normalization_config_round_trips_with_keras_keys(keras):

    layer = LayerNormalization(axis=[1, 2], epsilon=0.01, center=False, name="ln", dtype="float64")
    config = layer.get_config()
    theirs = keras.layers.LayerNormalization(axis=[1, 2], epsilon=0.01, center=False,
                                             name="ln", dtype="float64").get_config()
    assert {k: theirs[k] for k in config} == config
    assert LayerNormalization.from_config(config).get_config() == config
