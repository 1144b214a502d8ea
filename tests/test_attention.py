"""dlcourse.scratch.attention: scaled dot-product attention and MultiHeadAttention against Keras.

Every forward value, attention score and gradient (query, key, value, every weight) must agree
with TensorFlow's in float64 to ``tfcompare.RTOL`` (1e-7); the naive and fast functions with
each other to 1e-12; every backward pass with centred finite differences to 1e-6. The layer
scales its scores by Keras's float32-rounded 1/√d_k (``keras_scale``), so its agreement with Keras
is float64's (about 1e-15), far inside the 1e-7 demanded. Only the tests that take the ``tf`` or
``keras`` fixture import TensorFlow.
"""

import numpy as np
import pytest
from tfcompare import assert_close, exchange_weights

from dlcourse.gradcheck import numerical_gradient, rel_error
from dlcourse.scratch.attention import (
    MASK_VALUE,
    AttentionCache,
    MultiHeadAttention,
    attention_backward,
    attention_backward_naive,
    causal_mask,
    keras_scale,
    scaled_dot_product_attention,
    scaled_dot_product_attention_naive,
)


def randn(*shape, seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).normal(size=shape)


def padding_mask(batch, T, S, seed=3):
    """A random (batch, T, S) mask in which every query row keeps at least its first key."""
    mask = np.random.default_rng(seed).random((batch, T, S)) > 0.4
    mask[..., 0] = True
    return mask


# ------------------------------------------------------------------------------ the functions
def test_causal_mask_is_the_lower_triangle_from_the_first_position():
    np.testing.assert_array_equal(causal_mask(3), np.tril(np.ones((3, 3), bool)))
    np.testing.assert_array_equal(causal_mask(2, 4), [[1, 0, 0, 0], [1, 1, 0, 0]])
    with pytest.raises(ValueError, match=r"causal_mask\(\): query_length must be an integer"):
        causal_mask(0)


FUNCTION_CASES = {
    "one-head-no-mask": ((1, 1, 4, 3), (1, 1, 4, 3), (1, 1, 4, 2), None),
    "heads-cross-mask": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2), (2, 1, 4, 6)),
    "rank-2-fully-masked-row": ((3, 4), (5, 4), (5, 3), "row"),
    "broadcast-key-value": ((2, 2, 3, 4), (1, 1, 5, 4), (1, 1, 5, 3), (1, 1, 3, 5)),
}


def function_inputs(case):
    q_shape, k_shape, v_shape, mask = case
    q, k, v = randn(*q_shape, seed=1), randn(*k_shape, seed=2), randn(*v_shape, seed=3)
    if mask == "row":
        mask = np.ones((q_shape[-2], k_shape[-2]), bool)
        mask[1] = False
        mask[2, 1:] = False
    elif mask is not None:
        mask = np.random.default_rng(4).random(mask) > 0.4
    return q, k, v, mask


@pytest.mark.parametrize("case", FUNCTION_CASES.values(), ids=FUNCTION_CASES.keys())
def test_naive_and_fast_attention_agree_and_match_the_formula(case):
    q, k, v, mask = function_inputs(case)
    out_n, probs_n, cache_n = scaled_dot_product_attention_naive(q, k, v, mask)
    out_f, probs_f, cache_f = scaled_dot_product_attention(q, k, v, mask)
    assert rel_error(out_n, out_f) < 1e-12 and rel_error(probs_n, probs_f) < 1e-12
    assert isinstance(cache_f, AttentionCache)
    # The formula, written once more with a large negative addend (same result in float64).
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores + np.where(mask, 0.0, MASK_VALUE)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    if mask is not None:
        p = np.where(mask, p, 0.0)
        rows = np.broadcast_to(mask, p.shape).any(-1)
        np.testing.assert_allclose(probs_f.sum(-1), rows.astype(float), atol=1e-12)
    assert rel_error(probs_f, p) < 1e-12
    assert rel_error(out_f, p @ v) < 1e-12
    g = randn(*out_f.shape, seed=5)
    grads_n = attention_backward_naive(g, cache_n)
    grads_f = attention_backward(g, cache_f)
    for name, a, b, x in zip(grads_f._fields, grads_n, grads_f, (q, k, v), strict=True):
        assert a.shape == x.shape, name
        assert rel_error(a, b) < 1e-12, name
    # Finite differences of J = Σ O ⊙ g with respect to Q, K and V.
    inputs = {"grad_query": q, "grad_key": k, "grad_value": v}

    def objective(_=None):
        return float(np.sum(scaled_dot_product_attention(q, k, v, mask)[0] * g))

    for name, point in inputs.items():
        err = rel_error(getattr(grads_f, name), numerical_gradient(objective, point))
        assert err < 1e-6, f"{name}: {err:.2e}"


def test_attention_functions_name_their_mistakes():
    q, k, v = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 2)
    with pytest.raises(ValueError, match=r"key must have the query's depth d_k"):
        scaled_dot_product_attention(q, randn(2, 5, 3), v)
    with pytest.raises(TypeError, match=r"mask must be a boolean array \(True: attend\)"):
        scaled_dot_product_attention(q, k, v, np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"does not broadcast to the scores' shape \(2, 3, 5\)"):
        scaled_dot_product_attention_naive(q, k, v, np.ones((4, 5), bool))
    _, _, cache = scaled_dot_product_attention(q, k, v)
    with pytest.raises(ValueError, match=r"expected grad_output of the output's shape \(2, 3, 2\)"):
        attention_backward(randn(2, 3, 4), cache)
    with pytest.raises(TypeError, match="expected the AttentionCache"):
        attention_backward_naive(randn(2, 3, 2), (q, k, v))


# ------------------------------------------------------------------------------ the layer
def weight_key(variable):
    """``query/kernel`` from Keras's path ``multi_head_attention_3/query/kernel``."""
    return variable.path.split("/", 1)[1]


def built_pair(keras, query, value, key=None, seed=0, **kwargs):
    """The from-scratch layer and Keras's, built on these inputs, with the same random weights."""
    layer = MultiHeadAttention(seed=0, **kwargs)
    keras_layer = keras.layers.MultiHeadAttention(dtype="float64", **kwargs)
    layer.forward(query, value, key)
    keras_layer(query, value, key=key)
    assert [weight_key(v) for v in keras_layer.weights] == list(layer.params)
    assert list(layer.params) == [n for n in layer.weight_names if n in layer.params]
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in keras_layer.get_weights()]
    exchange_weights(layer, keras_layer, [randn(*w.shape, seed=seed + i, scale=0.5)
                                          for i, w in enumerate(layer.get_weights())])
    return layer, keras_layer


def keras_run(tf, keras_layer, query, value, key, grad, **call):
    """Keras's output, scores and gradients of ``J = Σ y ⊙ grad`` (query, value, key, weights)."""
    inputs = [tf.constant(query)]
    inputs.append(inputs[0] if value is query else tf.constant(value))  # self-attention: one x
    inputs.append(None if key is None else tf.constant(key))
    watched = [t for i, t in enumerate(inputs) if t is not None and (i != 1 or value is not query)]
    mask = call.pop("attention_mask", None)
    with tf.GradientTape() as tape:
        tape.watch(watched)
        out, scores = keras_layer(inputs[0], inputs[1], key=inputs[2], return_attention_scores=True,
                                  attention_mask=None if mask is None else tf.constant(mask),
                                  **call)
        objective = tf.reduce_sum(out * grad)
    weights = keras_layer.trainable_weights
    grads = tape.gradient(objective, [*watched, *weights])
    named = {weight_key(w): g.numpy() for w, g in zip(weights, grads[len(watched):], strict=True)}
    inputs_grads = [g.numpy() for g in grads[:len(watched)]]
    return out.numpy(), scores.numpy(), inputs_grads, named


MHA_CASES = {
    "self-one-head": dict(shapes=((2, 5, 4), None, None), num_heads=1, key_dim=3),
    "self-heads-causal-and-padding": dict(shapes=((3, 6, 4), None, None), num_heads=3,
                                          key_dim=2, causal=True, padding=True),
    "cross-value-dim-output-shape": dict(shapes=((2, 4, 6), (2, 7, 5), None), num_heads=2,
                                         key_dim=3, value_dim=4, output_shape=5),
    "cross-key-given-padding": dict(shapes=((2, 3, 4), (2, 5, 3), (2, 5, 6)), num_heads=2,
                                    key_dim=4, value_dim=2, padding=True),
    "batch-1-causal-cross-no-bias": dict(shapes=((1, 4, 3), (1, 6, 3), None), num_heads=2,
                                         key_dim=2, use_bias=False, causal=True),
    "output-shape-2d": dict(shapes=((2, 3, 4), (2, 3, 4), None), num_heads=2, key_dim=2,
                            output_shape=(2, 3)),
}


def case_inputs(case):
    q_shape, v_shape, k_shape = case["shapes"]
    query = randn(*q_shape, seed=11)
    value = query if v_shape is None else randn(*v_shape, seed=12)
    key = None if k_shape is None else randn(*k_shape, seed=13)
    kwargs = {k: v for k, v in case.items() if k not in ("shapes", "causal", "padding")}
    call = {"use_causal_mask": case.get("causal", False)}
    if case.get("padding"):
        call["attention_mask"] = padding_mask(q_shape[0], q_shape[1], value.shape[1])
    return query, value, key, kwargs, call


@pytest.mark.parametrize("case", MHA_CASES.values(), ids=MHA_CASES.keys())
def test_multi_head_attention_matches_keras(case, tf, keras):
    query, value, key, kwargs, call = case_inputs(case)
    layer, keras_layer = built_pair(keras, query, value, key, **kwargs)
    out_shape = layer.compute_output_shape(query.shape, value.shape)
    grad = randn(*out_shape, seed=21)
    out, scores = layer(query, value, key, return_attention_scores=True, **call)
    grads = layer.backward(grad)
    k_out, k_scores, k_grads, k_named = keras_run(tf, keras_layer, query, value, key, grad,
                                                  **call)
    assert_close(out, k_out, "output")
    assert_close(scores, k_scores, "attention scores")
    # Keras's default path (no scores asked for) gives the same output: no row is fully masked.
    assert_close(layer(query, value, key, **call), keras_layer(
        query, value, key=key, attention_mask=call.get("attention_mask"),
        use_causal_mask=call["use_causal_mask"]).numpy(), "output without scores")
    if value is query:  # self-attention: the caller adds the two paths, as TensorFlow does
        assert grads.grad_key is None
        assert_close(grads.grad_query + grads.grad_value, k_grads[0], "dJ/dx")
    else:
        assert_close(grads.grad_query, k_grads[0], "dJ/dquery")
        assert_close(grads.grad_value, k_grads[1], "dJ/dvalue")
        if key is None:
            assert grads.grad_key is None
        else:
            assert_close(grads.grad_key, k_grads[2], "dJ/dkey")
    assert sorted(k_named) == sorted(layer.grads)
    for name, g in k_named.items():
        if name == "key/bias":  # zero: it shifts a whole row of scores, which softmax ignores
            assert np.abs(layer.grads[name]).max() < 1e-12 and np.abs(g).max() < 1e-12
        else:
            assert_close(layer.grads[name], g, f"dJ/d{name}")


@pytest.mark.parametrize("case", MHA_CASES.values(), ids=MHA_CASES.keys())
def test_multi_head_attention_backward_matches_finite_differences(case):
    query, value, key, kwargs, call = case_inputs(case)
    if value is query:
        value = query.copy()  # perturbed separately; the self-attention sum is checked above
    layer = MultiHeadAttention(seed=1, **kwargs)
    layer(query, value, key, **call)
    layer.set_weights([randn(*w.shape, seed=30 + i, scale=0.5)
                       for i, w in enumerate(layer.get_weights())])
    grad = randn(*layer.compute_output_shape(query.shape), seed=22)
    layer(query, value, key, **call)
    grads = layer.backward(grad)
    analytic = {name: g.copy() for name, g in layer.grads.items()}

    def objective(_=None):
        return float(np.sum(layer(query, value, key, **call) * grad))

    points = {"query": (query, grads.grad_query), "value": (value, grads.grad_value),
              **{name: (layer.params[name], analytic[name]) for name in layer.params}}
    if key is not None:
        points["key"] = (key, grads.grad_key)
    for name, (point, g) in points.items():
        numeric = numerical_gradient(objective, point)
        if name == "key/bias":  # zero, up to the differences' rounding (see test above)
            assert np.abs(g).max() < 1e-12 and np.abs(numeric).max() < 1e-8
            continue
        err = rel_error(g, numeric)
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_a_fully_masked_row_attends_to_nothing_as_keras_with_scores(keras):
    query, value = randn(2, 3, 4, seed=1), randn(2, 4, 4, seed=2)
    mask = np.ones((2, 3, 4), bool)
    mask[0, 1] = False  # query 1 of example 0 may attend to no key
    layer, keras_layer = built_pair(keras, query, value, num_heads=2, key_dim=3)
    out, scores = layer(query, value, attention_mask=mask, return_attention_scores=True)
    k_out, k_scores = keras_layer(query, value, attention_mask=mask,
                                  return_attention_scores=True)
    assert_close(out, k_out.numpy(), "output")
    assert_close(scores, k_scores.numpy(), "scores")
    np.testing.assert_array_equal(scores[0, :, 1], 0.0)
    np.testing.assert_allclose(out[0, 1], layer.params["attention_output/bias"], atol=1e-12)


def test_set_weights_round_trips_and_checks_shapes():
    x = randn(2, 3, 4)
    layer = MultiHeadAttention(2, 3, seed=0, name="mha")
    layer(x, x)
    weights = [w + 1 for w in layer.get_weights()]
    layer.set_weights(weights)
    for a, b in zip(layer.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'mha': weight 'query/kernel' must "
                                         r"have shape \(4, 2, 3\), got \(4, 3, 2\)"):
        layer.set_weights([np.zeros((4, 3, 2)), *weights[1:]])
    with pytest.raises(ValueError, match=r"expected 8 weight arrays \(query/kernel, "):
        layer.set_weights(weights[:-1])
    assert layer.count_params() == sum(w.size for w in weights)


def test_multi_head_attention_names_its_mistakes():
    with pytest.raises(TypeError, match=r"MultiHeadAttention 'a': num_heads must be an integer "
                                        r">= 1, got 2.0"):
        MultiHeadAttention(2.0, 3, name="a")
    with pytest.raises(ValueError, match=r"key_dim must be an integer >= 1, got 0"):
        MultiHeadAttention(2, 0)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\)"):
        MultiHeadAttention(2, 3, dropout=1.0)
    with pytest.raises(ValueError, match=r"unknown initializer 'nope' for kernel_initializer"):
        MultiHeadAttention(2, 3, kernel_initializer="nope")
    layer = MultiHeadAttention(2, 3, name="m")
    x = randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'm': expected query of rank 3 "
                                         r"\(batch, time, features\)"):
        layer(randn(3, 4), x)
    with pytest.raises(ValueError, match=r"expected attention_mask of shape \(batch, T, S\) = "
                                         r"\(2, 3, 3\) \(True: attend\), got shape \(3, 4\)"):
        layer(x, x, attention_mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match=r"key and value of the same length"):
        layer(x, x, key=randn(2, 5, 4))
    assert not layer.built  # nothing was built by the calls that failed
    layer(x, x)
    with pytest.raises(ValueError, match=r"expected query, key and value with \(4, 4, 4\) "
                                         r"features as on the first call"):
        layer(randn(2, 3, 5), x)
    with pytest.raises(TypeError, match=r"takes \(query, value\), not one input"):
        layer.forward_unchecked(x)
    with pytest.raises(ValueError, match=r"expected a gradient of the output's shape"):
        layer.backward(randn(2, 3, 5))


def test_config_round_trips_with_keras_keys_and_values(keras):
    layer = MultiHeadAttention(2, 3, value_dim=4, output_shape=5, use_bias=False, seed=1,
                               dropout=0.25, name="mha", dtype="float64")
    config = layer.get_config()
    theirs = keras.layers.MultiHeadAttention(2, 3, value_dim=4, output_shape=5, use_bias=False,
                                             seed=1, dropout=0.25, name="mha",
                                             dtype="float64").get_config()
    for key, value in config.items():
        if key.endswith("_initializer"):  # Keras's have settings (a seed); ours take none
            assert value["class_name"] == theirs[key]["class_name"]
        else:
            assert value == theirs[key], key
    twin = MultiHeadAttention.from_config(config)
    assert twin.get_config() == config and not twin.built
    x = randn(2, 3, 4)
    layer(x, x)
    twin(x, x)
    for a, b in zip(layer.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the same seed, the same initial weights
    assert MultiHeadAttention(2, 3).get_config()["value_dim"] == 3  # Keras's too


def test_the_layer_scales_by_kerass_float32_scale_and_agrees_to_float64_precision(keras):
    # 1/√3 is not a float32: Keras multiplies by the nearest float32 even in float64.
    assert keras_scale(3) == float(np.float32(1 / np.sqrt(3))) != 1 / np.sqrt(3)
    assert keras_scale(4) == 0.5
    query, value = randn(2, 5, 6, seed=1), randn(2, 4, 6, seed=2)
    layer, keras_layer = built_pair(keras, query, value, num_heads=2, key_dim=3)
    mask = padding_mask(2, 5, 4)
    for call in ({}, {"attention_mask": mask}, {"use_causal_mask": True}):
        ours = layer(query, value, **call)
        fused = keras_layer(query, value, **call).numpy()  # Keras's default, fused path
        explicit, _ = keras_layer(query, value, return_attention_scores=True, **call)
        # The exact 1/√3 would leave a relative difference of about 1e-8 here.
        assert rel_error(ours, fused) < 1e-12 and rel_error(ours, explicit.numpy()) < 1e-12


# ------------------------------------------------------------------------------ dropout
def test_attention_functions_with_a_dropout_mask_naive_fast_and_finite_differences():
    q, k, v = randn(2, 3, 4, 5, seed=1), randn(2, 3, 6, 5, seed=2), randn(2, 3, 6, 2, seed=3)
    mask = np.random.default_rng(4).random((2, 1, 4, 6)) > 0.3
    drop = (np.random.default_rng(5).random((2, 3, 4, 6)) >= 0.5) * 2.0  # rate 0.5
    out_n, probs_n, cache_n = scaled_dot_product_attention_naive(q, k, v, mask,
                                                                 dropout_mask=drop)
    out_f, probs_f, cache_f = scaled_dot_product_attention(q, k, v, mask, dropout_mask=drop)
    plain, probs, _ = scaled_dot_product_attention(q, k, v, mask)
    assert rel_error(out_n, out_f) < 1e-12 and rel_error(probs_n, probs_f) < 1e-12
    np.testing.assert_array_equal(probs_f, probs)   # the weights returned are before dropout
    assert rel_error(out_f, (probs * drop) @ v) < 1e-12 and rel_error(out_f, plain) > 0.1
    g = randn(*out_f.shape, seed=6)
    grads_n, grads_f = attention_backward_naive(g, cache_n), attention_backward(g, cache_f)

    def objective(_=None):
        return float(np.sum(scaled_dot_product_attention(q, k, v, mask,
                                                         dropout_mask=drop)[0] * g))

    for name, point, a, b in zip(grads_f._fields, (q, k, v), grads_n, grads_f, strict=True):
        assert rel_error(a, b) < 1e-12, name
        err = rel_error(b, numerical_gradient(objective, point))
        assert err < 1e-6, f"{name}: {err:.2e}"


def test_dropout_changes_nothing_outside_training(keras):
    query, value = randn(2, 4, 6, seed=1), randn(2, 5, 6, seed=2)
    layer, keras_layer = built_pair(keras, query, value, num_heads=2, key_dim=3, dropout=0.5)
    plain, _ = built_pair(keras, query, value, num_heads=2, key_dim=3)
    for training in (False, None):
        out = layer(query, value, training=training)
        np.testing.assert_array_equal(out, plain(query, value))
        assert rel_error(out, keras_layer(query, value, training=training).numpy()) < 1e-12
    assert layer.cache["attention"].dropout_mask is None


def test_dropout_in_training_is_kerass_with_the_same_mask(tf, keras):
    """Keras's layer, given the mask the from-scratch layer drew, computes the same output and
    gradients: the mask multiplies the attention weights, after the softmax, before ``P V``."""
    query, value = randn(3, 4, 6, seed=1), randn(3, 5, 6, seed=2)
    layer, keras_layer = built_pair(keras, query, value, num_heads=2, key_dim=3, dropout=0.4)
    layer._rng = np.random.default_rng(7)
    grad = randn(3, 4, 6, seed=8)
    out, scores = layer(query, value, return_attention_scores=True, training=True)
    grads = layer.backward(grad)
    drop = layer.cache["attention"].dropout_mask
    assert drop.shape == (3, 2, 4, 5) and set(np.unique(drop)) == {0.0, 1 / 0.6}
    assert 0.2 < (drop == 0).mean() < 0.6
    keras_layer._dropout_layer = lambda x, training=None: x * drop  # Keras's, with our mask
    k_out, k_scores, k_grads, k_named = keras_run(tf, keras_layer, query, value, None, grad,
                                                  training=True)
    assert rel_error(out, k_out) < 1e-12 and rel_error(scores, k_scores) < 1e-12
    assert_close(grads.grad_query, k_grads[0], "dJ/dquery")
    assert_close(grads.grad_value, k_grads[1], "dJ/dvalue")
    for name, g in k_named.items():
        if name != "key/bias":
            assert_close(layer.grads[name], g, f"dJ/d{name}")


def test_dropout_backward_matches_finite_differences_with_a_fixed_mask():
    query, value = randn(2, 4, 5, seed=1), randn(2, 3, 5, seed=2)
    layer = MultiHeadAttention(2, 3, dropout=0.3, seed=0)
    call = {"use_causal_mask": True, "training": True}
    grad = randn(2, 4, 5, seed=3)

    def run():
        layer._rng = np.random.default_rng(11)  # the same mask at every call
        return layer(query, value, **call)

    first, second = run(), run()
    np.testing.assert_array_equal(first, second)
    grads = layer.backward(grad)
    assert (layer.cache["attention"].dropout_mask == 0).any()
    analytic = {name: g.copy() for name, g in layer.grads.items()}

    def objective(_=None):
        return float(np.sum(run() * grad))

    points = {"query": (query, grads.grad_query), "value": (value, grads.grad_value),
              **{name: (layer.params[name], analytic[name]) for name in layer.params
                 if name != "key/bias"}}
    for name, (point, g) in points.items():
        err = rel_error(g, numerical_gradient(objective, point))
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_a_seeded_layer_repeats_its_dropout_masks_and_masks_change_between_calls():
    x = randn(2, 4, 5)
    a, b = (MultiHeadAttention(2, 3, dropout=0.5, seed=3) for _ in range(2))
    outs_a = [a(x, x, training=True) for _ in range(2)]
    outs_b = [b(x, x, training=True) for _ in range(2)]
    np.testing.assert_array_equal(outs_a[0], outs_b[0])
    np.testing.assert_array_equal(outs_a[1], outs_b[1])
    assert not np.array_equal(outs_a[0], outs_a[1])
