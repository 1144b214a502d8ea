"""Optimizers: the weights after 1 and 10 steps equal Keras's (float64, relative error <= 1e-7).

Both sides start from the same values (NumPy arrays here, ``keras.Variable(dtype="float64")``
there) and receive the same gradients: a fixed sequence of random ones, or the gradient of a
quadratic loss (plus an L2 penalty) computed on each side from its own current weights. The
weights and their displacement from the start are compared, so that a small error in a small
step is not hidden by the size of the weights.
"""

import numpy as np
import pytest
from tfcompare import assert_close

from dlcourse.scratch import optimizers, regularizers


@pytest.fixture(autouse=True)
def keras_float64(keras):
    # Keras stores the learning rate in a variable of dtype floatx (float32 by default) even for
    # float64 weights: lr=0.01 becomes 0.009999999776. float64 makes the comparison exact.
    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx(previous)


SHAPES = [(3, 4), (4,)]
# The second array's gradients are 10x smaller, so clipnorm=1 clips the first array only, and
# global_clipnorm clips both by the same factor: the two rules give different results.
GRAD_SCALES = [1.0, 0.1]

CONFIGS = {
    "SGD defaults": ("SGD", {}),
    "SGD momentum": ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    "SGD nesterov": ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    "SGD clipnorm": ("SGD", {"learning_rate": 0.1, "clipnorm": 1.0}),
    "SGD clipvalue": ("SGD", {"learning_rate": 0.1, "clipvalue": 0.3}),
    "SGD global_clipnorm": ("SGD", {"learning_rate": 0.1, "global_clipnorm": 1.0}),
    "SGD nesterov global_clipnorm": ("SGD", {"learning_rate": 0.05, "momentum": 0.5,
                                             "nesterov": True, "global_clipnorm": 2.0}),
    "RMSprop defaults": ("RMSprop", {}),
    "RMSprop momentum": ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.9}),
    "RMSprop centered": ("RMSprop", {"learning_rate": 0.01, "centered": True, "epsilon": 1e-4}),
    "RMSprop centered momentum clipnorm": ("RMSprop", {"centered": True, "momentum": 0.5,
                                                       "clipnorm": 1.0}),
    "Adam defaults": ("Adam", {}),
    "Adam betas": ("Adam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99,
                            "epsilon": 1e-3}),
    "Adam amsgrad": ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    "Adam clipvalue": ("Adam", {"clipvalue": 0.5}),
    "Adam global_clipnorm": ("Adam", {"learning_rate": 0.01, "global_clipnorm": 1.0}),
}


def make_pair(config):
    from dlcourse.keras_ref import keras

    cls, kwargs = CONFIGS[config]
    return getattr(optimizers, cls)(**kwargs), getattr(keras.optimizers, cls)(**kwargs)


def initial_weights(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for shape in SHAPES]


def random_gradients(steps, seed=1):
    rng = np.random.default_rng(seed)
    # Changing signs and sizes from step to step, so momentum and the moving averages matter.
    return [[scale * rng.normal(size=shape) * rng.uniform(0.2, 3.0)
             for shape, scale in zip(SHAPES, GRAD_SCALES, strict=True)] for _ in range(steps)]


def check_trajectories(ours, theirs, start, label):
    for step, (w, k) in enumerate(zip(ours, theirs, strict=True), start=1):
        for i in range(len(SHAPES)):
            assert_close(w[i], k[i], f"{label}, step {step}, weight {i}")
            assert_close(w[i] - start[i], k[i] - start[i],
                         f"{label}, step {step}, weight {i} displacement")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_random_gradients_give_keras_weights(keras, tf, config):
    ours, theirs = make_pair(config)
    start = initial_weights()
    weights = [w.copy() for w in start]
    variables = [keras.Variable(w, dtype="float64") for w in start]
    seen_ours, seen_keras = [], []
    for step, grads in enumerate(random_gradients(10), start=1):
        assert ours.apply_gradients(zip(grads, weights, strict=True)) == step
        theirs.apply_gradients(zip([tf.constant(g) for g in grads], variables, strict=True))
        if step in (1, 10):
            seen_ours.append([w.copy() for w in weights])
            seen_keras.append([v.numpy() for v in variables])
    check_trajectories(seen_ours, seen_keras, start, config)
    assert ours.iterations == int(theirs.iterations.numpy()) == 10


# J(w) = ½ Σ_k a_k ⊙ (w_k − c_k)², with curvatures a_k spread over two orders of magnitude.
CURVATURE = [np.random.default_rng(2).uniform(0.1, 10.0, size=s) for s in SHAPES]
CENTRE = [np.random.default_rng(3).normal(size=s) for s in SHAPES]
L2 = 0.05


@pytest.mark.parametrize("penalty", [False, True], ids=["quadratic", "quadratic + L2"])
@pytest.mark.parametrize("config", ["SGD momentum", "SGD nesterov", "SGD clipnorm",
                                    "RMSprop centered momentum clipnorm", "Adam defaults",
                                    "Adam amsgrad", "Adam global_clipnorm"])
def test_quadratic_loss_gradients_give_keras_weights(keras, tf, config, penalty):
    ours, theirs = make_pair(config)
    reg = regularizers.L2(L2)
    keras_reg = keras.regularizers.L2(L2)
    start = initial_weights(seed=4)
    weights = [w.copy() for w in start]
    variables = [keras.Variable(w, dtype="float64") for w in start]
    seen_ours, seen_keras = [], []
    for step in range(1, 11):
        grads = [a * (w - c) for a, w, c in zip(CURVATURE, weights, CENTRE, strict=True)]
        if penalty:
            grads = [g + reg.gradient(w) for g, w in zip(grads, weights, strict=True)]
        ours.apply_gradients(zip(grads, weights, strict=True))

        with tf.GradientTape() as tape:
            loss = tf.add_n([0.5 * tf.reduce_sum(a * tf.square(v - c))
                             for a, v, c in zip(CURVATURE, variables, CENTRE, strict=True)])
            if penalty:
                loss += tf.add_n([keras_reg(v) for v in variables])
        theirs.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        if step in (1, 10):
            seen_ours.append([w.copy() for w in weights])
            seen_keras.append([v.numpy() for v in variables])
    check_trajectories(seen_ours, seen_keras, start, f"{config}, quadratic, L2={penalty}")


@pytest.mark.parametrize("config", ["SGD momentum", "RMSprop centered momentum clipnorm",
                                    "Adam amsgrad"])
def test_state_is_kept_per_weight_array(config):
    # One optimizer on two arrays of the same shape must act as two optimizers on one each.
    rng = np.random.default_rng(5)
    w1, w2 = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    alone1, alone2 = w1.copy(), w2.copy()
    shared, separate1, separate2 = (make_pair(config)[0] for _ in range(3))
    for _ in range(5):
        g1, g2 = rng.normal(size=(2, 3)), -3 * rng.normal(size=(2, 3))
        shared.apply_gradients([(g1, w1), (g2, w2)])
        separate1.apply_gradients([(g1, alone1)])
        separate2.apply_gradients([(g2, alone2)])
    np.testing.assert_array_equal(w1, alone1)
    np.testing.assert_array_equal(w2, alone2)
    state1, state2 = shared.get_state(w1), shared.get_state(w2)
    assert state1.keys() == state2.keys() == separate1.get_state(alone1).keys()
    for name in state1:
        assert state1[name] is not state2[name]
        np.testing.assert_array_equal(state1[name], separate1.get_state(alone1)[name])
        np.testing.assert_array_equal(state2[name], separate2.get_state(alone2)[name])


@pytest.mark.parametrize("config, slots", [
    ("SGD defaults", set()), ("SGD momentum", {"momentum"}),
    ("RMSprop defaults", {"velocity"}),
    ("RMSprop centered momentum clipnorm", {"velocity", "average_gradient", "momentum"}),
    ("Adam defaults", {"momentum", "velocity"}),
    ("Adam amsgrad", {"momentum", "velocity", "velocity_hat"}),
])
def test_state_uses_keras_slot_names_and_the_weight_dtype(config, slots):
    ours, _ = make_pair(config)
    w = np.ones((2, 2), dtype=np.float32)
    ours.apply_gradients([(np.full((2, 2), 0.5, dtype=np.float32), w)])
    state = ours.get_state(w)
    assert set(state) == slots
    assert all(s.dtype == np.float32 and s.shape == (2, 2) for s in state.values())
    assert w.dtype == np.float32 and (w < 1).all()


@pytest.mark.parametrize("config", ["SGD nesterov", "RMSprop centered", "Adam clipvalue",
                                    "SGD clipnorm", "Adam global_clipnorm"])
def test_weights_are_updated_in_place_and_gradients_left_alone(config):
    ours, _ = make_pair(config)
    params = {"kernel": np.ones((3, 4)), "bias": np.zeros(4)}
    kernel, bias = params["kernel"], params["bias"]
    strided = np.zeros((3, 8))  # a non-contiguous view must update its base array
    view = strided[:, ::2]
    grads = [np.full((3, 4), 5.0), np.full(4, -2.0), np.full((3, 4), 1.0)]
    before = [g.copy() for g in grads]
    ours.apply_gradients(zip(grads, [params["kernel"], params["bias"], view], strict=True))
    assert params["kernel"] is kernel and params["bias"] is bias
    assert (kernel < 1).all() and (bias > 0).all()
    assert (strided[:, ::2] < 0).all() and (strided[:, 1::2] == 0).all()
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_array_equal(g, b)


def test_clipping_rules_by_hand():
    g = [np.array([3.0, 4.0]), np.array([0.0, 0.5])]  # norms 5 and 0.5, global norm √25.25
    for kwargs, expected in [
        ({"clipnorm": 1.0}, [[0.6, 0.8], [0.0, 0.5]]),
        ({"global_clipnorm": 1.0}, [np.array([3.0, 4.0]) / np.sqrt(25.25),
                                    np.array([0.0, 0.5]) / np.sqrt(25.25)]),
        ({"clipvalue": 0.4}, [[0.4, 0.4], [0.0, 0.4]]),
        ({"global_clipnorm": 10.0}, [[3.0, 4.0], [0.0, 0.5]]),
    ]:
        weights = [np.zeros(2), np.zeros(2)]
        optimizers.SGD(learning_rate=1.0, **kwargs).apply_gradients(zip(g, weights, strict=True))
        for w, e in zip(weights, expected, strict=True):
            np.testing.assert_allclose(-w, e, rtol=1e-15, err_msg=str(kwargs))


def test_learning_rate_can_change_between_steps():
    sgd = optimizers.SGD(learning_rate=0.5)
    w = np.zeros(2)
    sgd.apply_gradients([(np.ones(2), w)])
    sgd.learning_rate = 0.25
    sgd.apply_gradients([(np.ones(2), w)])
    np.testing.assert_array_equal(w, [-0.75, -0.75])
    with pytest.raises(ValueError, match=r"SGD: learning_rate must be a number > 0, got -1"):
        sgd.learning_rate = -1


# ----------------------------------------------------------------------------- defaults, get()
@pytest.mark.parametrize("identifier, cls", [("sgd", "SGD"), ("SGD", "SGD"),
                                             ("rmsprop", "RMSprop"), ("adam", "Adam"),
                                             ("Adam", "Adam")])
def test_get_by_keras_name_gives_keras_defaults(keras, identifier, cls):
    optimizer = optimizers.get(identifier)
    assert type(optimizer).__name__ == cls
    keras_config = keras.optimizers.get(identifier).get_config()
    for key, value in optimizer.get_config().items():
        assert keras_config[key] == value, key


def test_get_returns_instances_and_rejects_unknown_names():
    adam = optimizers.Adam(learning_rate=0.01, amsgrad=True)
    assert optimizers.get(adam) is adam
    assert repr(adam) == ("Adam(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-07, "
                          "amsgrad=True)")
    for bad in ("adagrad", "", None, 0.01):
        with pytest.raises(ValueError, match=r"optimizers.get\(\): unknown optimizer .*expected"):
            optimizers.get(bad)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, error, message", [
    (lambda: optimizers.SGD(learning_rate=0), ValueError,
     r"SGD: learning_rate must be a number > 0, got 0"),
    (lambda: optimizers.Adam(learning_rate=float("nan")), ValueError,
     r"Adam: learning_rate must be a number > 0, got nan"),
    (lambda: optimizers.SGD(learning_rate="0.1"), TypeError, r"learning_rate .* got '0.1'"),
    (lambda: optimizers.SGD(learning_rate=True), TypeError, r"learning_rate .* got True"),
    (lambda: optimizers.SGD(momentum=1.5), ValueError,
     r"SGD: momentum must be a number in \[0, 1\], got 1.5"),
    (lambda: optimizers.SGD(momentum=-0.1), ValueError, r"momentum must be a number in \[0, 1\]"),
    (lambda: optimizers.SGD(nesterov="yes"), TypeError,
     r"SGD: nesterov must be True or False, got 'yes'"),
    (lambda: optimizers.RMSprop(rho=1.0), ValueError,
     r"RMSprop: rho must be a number in \[0, 1\), got 1.0"),
    (lambda: optimizers.RMSprop(epsilon=0), ValueError,
     r"RMSprop: epsilon must be a number > 0, got 0"),
    (lambda: optimizers.RMSprop(centered=1), TypeError, r"centered must be True or False"),
    (lambda: optimizers.Adam(beta_1=1.0), ValueError,
     r"Adam: beta_1 must be a number in \[0, 1\), got 1.0"),
    (lambda: optimizers.Adam(beta_2=-0.5), ValueError, r"Adam: beta_2 must be a number in"),
    (lambda: optimizers.Adam(amsgrad=None), TypeError, r"Adam: amsgrad must be True or False"),
    (lambda: optimizers.SGD(clipnorm=1.0, global_clipnorm=1.0), ValueError,
     r"SGD: only one of clipnorm, clipvalue and global_clipnorm can be set, "
     r"got clipnorm=1.0, global_clipnorm=1.0"),
    (lambda: optimizers.Adam(clipvalue=0.5, clipnorm=2), ValueError, r"only one of"),
    (lambda: optimizers.Adam(clipnorm=0.0), ValueError,
     r"Adam: clipnorm must be a number > 0, got 0.0"),
    (lambda: optimizers.RMSprop(global_clipnorm=-1), ValueError,
     r"RMSprop: global_clipnorm must be a number > 0"),
])
def test_bad_hyperparameters(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bad_gradients_and_weights():
    sgd = optimizers.SGD()
    kernel, bias = np.zeros((4, 3)), np.zeros(3)
    with pytest.raises(ValueError, match=r"SGD: gradient 1 has shape \(4, 3\), expected \(3,\), "
                                         r"the shape of weight 1"):
        sgd.apply_gradients([(np.zeros((4, 3)), kernel), (np.zeros((4, 3)), bias)])
    with pytest.raises(ValueError, match=r"Adam: gradient 0 has dtype float32, expected float64, "
                                         r"the dtype of weight 0"):
        optimizers.Adam().apply_gradients([(np.zeros((4, 3), np.float32), kernel)])
    with pytest.raises(TypeError, match=r"SGD: weight 0 must be the NumPy array to update in "
                                        r"place, got list"):
        sgd.apply_gradients([([1.0, 2.0], [0.0, 0.0])])
    with pytest.raises(TypeError, match=r"SGD: weight 0 must be a floating-point array, "
                                        r"got dtype int64"):
        sgd.apply_gradients([(np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64))])
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"SGD: weight 0 is read-only"):
        sgd.apply_gradients([(np.zeros(3), frozen)])
    with pytest.raises(ValueError, match=r"SGD: weight 1 appears twice in the same step"):
        sgd.apply_gradients([(np.zeros(3), bias), (np.zeros(3), bias)])
    with pytest.raises(ValueError, match=r"RMSprop: apply_gradients\(\) got no"):
        optimizers.RMSprop().apply_gradients([])
    with pytest.raises(TypeError, match=r"expects \(gradient, weight\) pairs, e.g. "
                                        r"zip\(grads, weights\); item 0 is ndarray"):
        sgd.apply_gradients([np.zeros(3)])
    with pytest.raises(ValueError, match=r"Adam: no state for this array"):
        optimizers.Adam().get_state(bias)
    # A failed call changes nothing: no weight moved, no step counted.
    assert (kernel == 0).all() and (bias == 0).all() and sgd.iterations == 0
