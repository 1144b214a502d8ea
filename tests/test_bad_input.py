"""dlcourse.scratch under a learner's mistakes: no silent wrong answer, no half-changed model.

One test per class of mistake, walking the public API rather than one example at a time:

- every constructor argument of every public layer, loss, optimizer and regularizer is checked
  at construction, and the error names the class and the argument;
- every seed is checked where it is given, not at the first draw deep inside NumPy;
- data is checked at the entry of fit/evaluate/predict/train_on_batch, all of it before the
  first step;
- every operation that changes a model (set_weights, add, build, compile, fit, train_on_batch,
  backward) either succeeds or leaves the weights, the layer list, the optimizer's state, the
  BatchNormalization statistics and the shared generator exactly as they were;
- arrays whose kind cannot be right (complex, boolean, object) are refused, never converted;
- automatic layer names are Keras's.

Only the Keras-name test imports TensorFlow.
"""

import inspect
import math
import re

import numpy as np
import pytest

from dlcourse import scratch
from dlcourse.scratch import (
    GRU,
    LSTM,
    SGD,
    Activation,
    Adam,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Input,
    Layer,
    LayerNormalization,
    MaxPooling2D,
    MeanSquaredError,
    MultiHeadAttention,
    PositionEmbedding,
    Sequential,
    SimpleRNN,
    SparseCategoricalCrossentropy,
    TransformerBlock,
    initializers,
    losses,
    models,
    optimizers,
    regularizers,
)

NAN, INF = float("nan"), float("inf")


def public_classes(base):
    """The classes exported by dlcourse.scratch that derive from ``base`` (``base`` excluded)."""
    found = [getattr(scratch, name) for name in scratch.__all__]
    return [obj for obj in found
            if isinstance(obj, type) and issubclass(obj, base) and obj is not base]


LAYERS = public_classes(Layer)
CONFIGURABLES = (public_classes(losses.Loss) + public_classes(optimizers.Optimizer)
                 + public_classes(regularizers.Regularizer))

#: The smallest valid constructor arguments of every public layer (Keras's names).
VALID_LAYER_ARGS = {
    Activation: dict(activation="relu"),
    BatchNormalization: {},
    Conv2D: dict(filters=2, kernel_size=3),
    Dense: dict(units=3),
    Dropout: dict(rate=0.5),
    Flatten: {},
    MaxPooling2D: {},
    SimpleRNN: dict(units=3),
    LSTM: dict(units=3),
    GRU: dict(units=3),
    Embedding: dict(input_dim=10, output_dim=4),
    LayerNormalization: {},
    MultiHeadAttention: dict(num_heads=2, key_dim=3),
    PositionEmbedding: dict(sequence_length=6),
    TransformerBlock: dict(intermediate_dim=4, num_heads=2),
}

SIZES = [0, -1, 2.5, True, "3", None, NAN]
PAIRS = [0, -1, 1.5, True, "3", (3, 0), (1, 2, 3), (2.0, 2)]
FLAGS = ["yes", 1, 0, None, 1.0]
SEEDS = [-1, 1.5, "0", True]
UNIT_INTERVAL = [-0.1, 1.5, NAN, "0.5", True, None]      # [0, 1]
HALF_OPEN = [-0.1, 1.0, NAN, "0.5", True, None]          # [0, 1)
POSITIVE = [0, -1e-3, NAN, INF, "1e-3", True, None, 1j]   # > 0

#: Bad values for every constructor argument, by name. A new argument must be added here:
#: ``test_every_constructor_argument_has_bad_values`` fails until it is.
BAD_ARGS = {
    # layers
    "units": SIZES, "filters": SIZES,
    "kernel_size": [*PAIRS, None], "pool_size": [*PAIRS, None], "strides": PAIRS,
    "padding": ["full", "", 1, None],
    "activation": ["relux", 5, ["relu"]], "recurrent_activation": ["sigmoidd", 5, ["tanh"]],
    "kernel_initializer": ["glorot", 5, None], "bias_initializer": ["glorot", 5, None],
    "recurrent_initializer": ["orthogonall", 5, None],
    "kernel_regularizer": ["l3", 0.01, -1], "recurrent_regularizer": ["l3", 0.01, -1],
    "bias_regularizer": ["l3", 0.01, -1],
    "input_dim": SIZES, "output_dim": SIZES,
    "num_heads": SIZES, "key_dim": SIZES, "sequence_length": SIZES, "intermediate_dim": SIZES,
    "layer_norm_epsilon": POSITIVE, "use_causal_mask": FLAGS,
    "value_dim": [0, -1, 2.5, True, "3", NAN],                  # None: key_dim
    "output_shape": [0, -1, 2.5, True, "3", (), (2, 0)],         # None: the query's features
    "dropout": HALF_OPEN,                                        # a rate in [0, 1)
    "embeddings_initializer": ["unifrom", 5, None], "embeddings_regularizer": ["l3", 0.01, -1],
    "mask_zero": FLAGS, "return_state": FLAGS, "go_backwards": FLAGS,
    "unit_forget_bias": FLAGS, "reset_after": FLAGS,
    "use_bias": FLAGS, "return_sequences": FLAGS, "center": FLAGS, "scale": FLAGS,
    "rate": HALF_OPEN, "momentum": UNIT_INTERVAL, "epsilon": POSITIVE,
    "axis": [1.5, "1", True, None, 0],
    "seed": SEEDS,
    "name": ["", 5, "a/b"],
    "dtype": ["int32", "float33", "mixed_float16", 5, bool, np.complex64],
    # losses, optimizers, regularizers
    "from_logits": FLAGS, "label_smoothing": UNIT_INTERVAL,
    "learning_rate": POSITIVE,
    "rho": HALF_OPEN, "beta_1": HALF_OPEN, "beta_2": HALF_OPEN,
    "nesterov": FLAGS, "centered": FLAGS, "amsgrad": FLAGS,
    "clipnorm": [0, -1, NAN, "1", True], "clipvalue": [0, -1, NAN, "1", True],
    "global_clipnorm": [0, -1, NAN, "1", True],
    "l1": [-1, NAN, INF, "0.01", True, None], "l2": [-1, NAN, INF, "0.01", True, None],
}


def constructor_args(cls):
    return [p for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def constructor_cases(classes):
    return [pytest.param(cls, arg.name, value, id=f"{cls.__name__}-{arg.name}={value!r}")
            for cls in classes for arg in constructor_args(cls)
            for value in BAD_ARGS[arg.name]
            # SGD's momentum may be 1; 1.5 and the rest are still refused
            if not (cls is SGD and arg.name == "momentum" and value == 1.0)]


def test_the_walk_finds_every_public_class():
    assert {cls.__name__ for cls in LAYERS} == {cls.__name__ for cls in VALID_LAYER_ARGS}
    assert {"SGD", "Adam", "RMSprop", "BinaryCrossentropy", "CategoricalCrossentropy",
            "MeanSquaredError", "SparseCategoricalCrossentropy", "L1", "L2",
            "L1L2"} == {cls.__name__ for cls in CONFIGURABLES}


@pytest.mark.parametrize("cls", LAYERS + CONFIGURABLES, ids=lambda cls: cls.__name__)
def test_every_constructor_argument_has_bad_values(cls):
    missing = [arg.name for arg in constructor_args(cls) if arg.name not in BAD_ARGS]
    assert not missing, f"{cls.__name__}: add bad values for {missing} to BAD_ARGS"


# ----------------------------------------------------------------------- constructors
@pytest.mark.parametrize("cls, arg, value", constructor_cases(LAYERS))
def test_layer_constructors_refuse_bad_arguments_naming_layer_and_argument(cls, arg, value):
    scratch.set_random_seed(0)
    with pytest.raises((TypeError, ValueError)) as err:
        cls(**{**VALID_LAYER_ARGS[cls], arg: value})
    message = str(err.value)
    assert message.startswith(cls.__name__), message
    assert arg in message, message
    # A constructor that fails changes nothing: the next layer still gets the first name.
    assert cls(**VALID_LAYER_ARGS[cls]).name == scratch.registry._snake_case(cls.__name__)


@pytest.mark.parametrize("cls, arg, value", constructor_cases(CONFIGURABLES))
def test_loss_optimizer_and_regularizer_constructors_refuse_bad_arguments(cls, arg, value):
    with pytest.raises((TypeError, ValueError)) as err:
        cls(**{arg: value})
    message = str(err.value)
    assert message.startswith(cls.__name__) and arg in message, message


@pytest.mark.parametrize("cls", LAYERS + CONFIGURABLES, ids=lambda cls: cls.__name__)
def test_valid_arguments_are_kept(cls):
    # The checks return the value they were given (as the canonical type), never another one.
    if cls in VALID_LAYER_ARGS:
        obj = cls(**VALID_LAYER_ARGS[cls])
        for arg, value in VALID_LAYER_ARGS[cls].items():
            kept = getattr(obj, arg)
            assert kept in (value, (value, value)) or getattr(kept, "name", None) == value
    else:
        assert isinstance(cls(), cls)


# ----------------------------------------------------------------------- seeds
BAD_SEED_CALLS = {
    "set_random_seed": lambda seed: scratch.set_random_seed(seed),
    "get_rng": lambda seed: scratch.get_rng(seed),
    "Dense": lambda seed: Dense(2, seed=seed),
    "Conv2D": lambda seed: Conv2D(2, 3, seed=seed),
    "SimpleRNN": lambda seed: SimpleRNN(2, seed=seed),
    "Dropout": lambda seed: Dropout(0.5, seed=seed),
    "models.mlp": lambda seed: models.mlp(4, (3,), 2, seed=seed),
    "models.mnist_cnn": lambda seed: models.mnist_cnn(seed=seed),
    "models.rnn": lambda seed: models.rnn(5, 2, seed=seed),
}


@pytest.mark.parametrize("seed", [-1, -(2 ** 40), 1.5, 2.0, "0", True, NAN])
@pytest.mark.parametrize("call", list(BAD_SEED_CALLS))
def test_bad_seeds_are_refused_where_they_are_given(call, seed):
    scratch.set_random_seed(7)
    state = scratch.get_rng().bit_generator.state
    with pytest.raises((TypeError, ValueError), match="seed must be an integer >= 0"):
        BAD_SEED_CALLS[call](seed)
    assert scratch.get_rng().bit_generator.state == state  # the shared generator untouched


def test_valid_seeds_draw_what_they_drew_before():
    # Validation must not change a single draw: the chapters assert results that depend on it.
    layer = Dense(4, seed=np.int64(5))
    layer.forward(np.ones((1, 3)))
    expected = initializers.glorot_uniform((3, 4), np.random.default_rng(5), "float64")
    np.testing.assert_array_equal(layer.params["kernel"], expected)
    scratch.set_random_seed(np.int64(11))
    a = scratch.get_rng().permutation(10)
    scratch.set_random_seed(11)
    np.testing.assert_array_equal(a, scratch.get_rng().permutation(10))


def lazy_model():
    return Sequential([Dense(8, name="a"), Dropout(0.5, name="drop"), Dense(3, name="b")])


def test_checks_keep_the_order_of_the_draws_of_a_model_built_by_its_first_batch():
    # A model without Input builds each layer when the first batch reaches it, so the shared
    # generator gives, in this order: the epoch's shuffle, a's weights, the dropout mask, b's
    # weights. Checking everything before the first step must not build anything earlier.
    x, y = data()
    loss = SparseCategoricalCrossentropy(from_logits=True)
    scratch.set_random_seed(4)
    fitted = lazy_model()
    fitted.compile(optimizer=SGD(0.1), loss=loss)
    fitted.fit(x, y, epochs=1, batch_size=50, verbose=0)

    scratch.set_random_seed(4)
    by_hand = lazy_model()
    order = scratch.get_rng().permutation(50)
    y_pred = by_hand.forward(x[order], training=True)
    by_hand.backward(loss.gradient(y[order], y_pred))
    SGD(0.1).apply_gradients(by_hand.grads_and_vars())
    for a, b in zip(fitted.get_weights(), by_hand.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_fit_tries_a_model_not_built_yet_before_training_and_leaves_no_trace():
    def broken(shape, rng, dtype):
        return np.zeros(shape[:1])  # a custom initializer that forgot the second axis

    scratch.set_random_seed(2)
    model = Sequential([Dense(4, name="a"), Dropout(0.5, name="drop"),
                        Dense(3, kernel_initializer=broken, name="b")])
    model.compile(optimizer="adam", loss=SparseCategoricalCrossentropy(from_logits=True))
    state = scratch.get_rng().bit_generator.state
    x, y = data()
    with pytest.raises(ValueError, match=r"Sequential 'sequential': fit\(\): Dense 'b': "
                                         r"kernel_initializer returned an array of shape \(4,\)"):
        model.fit(x, y, verbose=0)
    assert not any(layer.built for layer in model.layers)
    assert scratch.get_rng().bit_generator.state == state
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("fname", ["glorot_uniform", "glorot_normal", "he_uniform",
                                   "he_normal", "orthogonal"])
def test_initializers_check_their_generator_and_shape(fname):
    init = getattr(initializers, fname)
    with pytest.raises(TypeError, match=rf"{fname}\(\): rng must be a numpy.random.Generator, "
                                        r"e.g. np.random.default_rng\(0\), got int"):
        init((3, 3), 0)
    for shape in [(3, -1), (3, 2.5), None, (True, 3)]:
        with pytest.raises(ValueError, match=rf"{fname}\(\): shape must be a tuple of integers"):
            init(shape, np.random.default_rng(0))


# ----------------------------------------------------------------------- automatic names
#: Layers with no class in keras.layers, and the name their Keras counterpart gives
#: (keras_hub's PositionEmbedding, which this one adds to its input).
NO_KERAS_LAYER = {PositionEmbedding: "position_embedding",
                  TransformerBlock: "transformer_block"}


def test_automatic_names_are_keras_names(keras):
    for cls in LAYERS:
        theirs = (NO_KERAS_LAYER[cls] if cls in NO_KERAS_LAYER
                  else getattr(keras.layers, cls.__name__)(**VALID_LAYER_ARGS[cls]).name)
        # Keras numbers its names across the whole session (dense_7): compare the stem.
        stem = re.sub(r"_\d+$", "", theirs)
        scratch.set_random_seed(0)  # restarts our numbering
        first, second = cls(**VALID_LAYER_ARGS[cls]), cls(**VALID_LAYER_ARGS[cls])
        assert (first.name, second.name) == (stem, f"{stem}_1"), cls.__name__


@pytest.mark.parametrize("cls, expected", [
    (Conv2D, "conv2d"), (MaxPooling2D, "max_pooling2d"),
    (BatchNormalization, "batch_normalization"), (SimpleRNN, "simple_rnn"), (Dense, "dense"),
])
def test_automatic_names_without_keras(cls, expected):
    scratch.set_random_seed(0)
    assert cls(**VALID_LAYER_ARGS[cls]).name == expected


# ----------------------------------------------------------------------- a model and its state
def trained_model():
    """A model with every kind of state: weights, BN statistics, dropout, optimizer slots."""
    scratch.set_random_seed(0)
    model = Sequential([
        Input((6,), dtype="float64"),
        Dense(8, seed=0, name="hidden"),
        BatchNormalization(momentum=0.5, name="bn"),
        Dropout(0.25, seed=1, name="drop"),
        Dense(3, seed=2, name="logits"),
    ], name="m")
    model.compile(optimizer=Adam(0.01), loss=SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    x, y = data()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    return model


def data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 6)), rng.integers(0, 3, size=n)


def snapshot(model):
    optimizer = model.optimizer
    return {
        "weights": [w.copy() for w in model.get_weights()] if model.built else None,
        "built": [layer.built for layer in model.layers],
        "layers": [layer.name for layer in model.layers],
        "layer objects": list(model.layers),
        "input": None if model.input is None else model.input.shape,
        "optimizer": optimizer,
        "iterations": getattr(optimizer, "iterations", None),
        "slots": {k: {n: a.copy() for n, a in s.state.items()}
                  for k, s in getattr(optimizer, "_slots", {}).items()},
        "loss": model.loss, "metrics": list(model.metrics),
        "rng": scratch.get_rng().bit_generator.state,
        "dropout rng": [layer._rng.bit_generator.state for layer in model.layers
                        if isinstance(layer, Dropout) and layer._rng is not None],
    }


def assert_unchanged(before, after):
    assert before.keys() == after.keys()
    for key in before:
        if key == "weights" and before[key] is not None:
            assert len(before[key]) == len(after[key])
            for a, b in zip(before[key], after[key], strict=True):
                np.testing.assert_array_equal(a, b, err_msg="a weight changed")
        elif key == "slots":
            assert before[key].keys() == after[key].keys()
            for k in before[key]:
                for name in before[key][k]:
                    np.testing.assert_array_equal(before[key][k][name], after[key][k][name],
                                                  err_msg=f"optimizer slot {name} changed")
        elif key in ("optimizer", "loss"):
            assert before[key] is after[key], key
        else:
            assert before[key] == after[key], key


def with_last(values, last):
    values = values.copy()
    values[-1] = last
    return values


def replace_last_weight(model, value):
    # Every other array is new too, so that writing the first layers before checking the last
    # one would show.
    weights = [w + 1.0 for w in model.get_weights()]
    weights[-1] = value
    return weights


#: Mistakes on a trained model: (what is done, the error, words the message must contain).
STATE_MISTAKES = {
    "set_weights: last array of the wrong shape": (
        lambda m, x, y: m.set_weights(replace_last_weight(m, np.zeros(4))),
        ValueError, "weight 'bias' must have shape (3,)"),
    "set_weights: complex last array": (
        lambda m, x, y: m.set_weights(replace_last_weight(m, np.zeros(3) + 1j)),
        TypeError, "complex"),
    "set_weights: one array instead of a list": (
        lambda m, x, y: m.set_weights(np.zeros((10, 3))), TypeError, "list of arrays"),
    "add: a layer that cannot take the output": (
        lambda m, x, y: m.add(Conv2D(2, 3, name="conv")), ValueError, "expected input of rank 4"),
    "add: a duplicate name": (
        lambda m, x, y: m.add(Dense(2, name="hidden")), ValueError, "two layers are named"),
    "add: an Input after layers": (
        lambda m, x, y: m.add(Input((6,))), ValueError, "an Input can only come first"),
    "add: a class instead of a layer": (
        lambda m, x, y: m.add(Dense), TypeError, "got the class Dense"),
    "build: another input shape": (
        lambda m, x, y: m.build((5,)), ValueError, "already built for input shape (6,)"),
    "compile: metrics as a string": (
        lambda m, x, y: m.compile(optimizer="sgd", loss="mse", metrics="accuracy"),
        TypeError, "metrics must be a list"),
    "compile: an unknown loss": (
        lambda m, x, y: m.compile(optimizer="sgd", loss="mae"), ValueError, "unknown loss"),
    "fit: a bad label at the end": (
        lambda m, x, y: m.fit(x, with_last(y, 99), verbose=0), ValueError,
        "label 99 at index (49,) is out of range"),
    "fit: a fractional label at the end": (
        lambda m, x, y: m.fit(x, with_last(y.astype(float), 1.5), verbose=0), ValueError,
        "expected integer class labels, got 1.5"),
    "fit: NaN in the last input": (
        lambda m, x, y: m.fit(with_last(x, np.nan), y, verbose=0), ValueError, "NaN"),
    "fit: bad validation labels": (
        lambda m, x, y: m.fit(x, y, validation_data=(x, with_last(y, -1)), verbose=0),
        ValueError, "validation_data: SparseCategoricalCrossentropy: label -1"),
    "fit: validation inputs of another shape": (
        lambda m, x, y: m.fit(x, y, validation_data=(x[:, :5], y), verbose=0),
        ValueError, "validation_data: expected input of shape (batch, 6)"),
    "fit: validation data with one target too few": (
        lambda m, x, y: m.fit(x, y, validation_data=(x, y[:-1]), verbose=0),
        ValueError, "got 50 inputs but 49 targets"),
    "fit: logits for a loss that expects probabilities": (
        lambda m, x, y: m.fit(x, y, verbose=0), ValueError, "pass from_logits=True"),
    "fit: validation_split that leaves no training data": (
        lambda m, x, y: m.fit(x, y, validation_split=0.99, verbose=0), ValueError,
        "validation_split=0.99"),
    "fit: validation_split and validation_data": (
        lambda m, x, y: m.fit(x, y, validation_split=0.2, validation_data=(x, y), verbose=0),
        ValueError, "not both"),
    "train_on_batch: a bad label": (
        lambda m, x, y: m.train_on_batch(x, with_last(y, 3)), ValueError, "label 3"),
    "backward: a gradient of the right size but the wrong shape": (
        lambda m, x, y: (m.forward(x), m.backward(np.ones(len(x) * 3))), ValueError,
        "expected a gradient of the output's shape (50, 3), got shape (150,)"),
    "backward: a transposed gradient": (
        lambda m, x, y: (m.forward(x), m.backward(np.ones((3, len(x))))), ValueError,
        "got shape (3, 50)"),
}


@pytest.mark.parametrize("mistake", list(STATE_MISTAKES))
def test_a_refused_operation_leaves_the_model_as_it_was(mistake):
    call, error, words = STATE_MISTAKES[mistake]
    model = trained_model()
    x, y = data()
    if mistake.startswith("fit: logits"):  # the mistake is in the (valid) compile before
        model.compile(optimizer=model.optimizer, loss=SparseCategoricalCrossentropy(),
                      metrics=["accuracy"])
    before = snapshot(model)
    with pytest.raises(error) as err:
        call(model, x, y)
    assert words in str(err.value)
    assert_unchanged(before, snapshot(model))
    # and the model still works
    assert model.predict(x).shape == (50, 3)


@pytest.mark.parametrize("make", [
    lambda: Sequential([Dense(4, name="a"), Dense(3, name="b"), Conv2D(2, 3, name="c")]),
    lambda: Sequential([Dense(4, name="a"), Dense(3, name="b"),
                        BatchNormalization(axis=2, name="c")]),
], ids=["Conv2D after Dense", "BatchNormalization on a missing axis"])
@pytest.mark.parametrize("how", ["build", "forward", "fit", "constructor"])
def test_a_build_that_fails_half_way_unbuilds_what_it_built(make, how):
    # Unseeded layers draw from the shared generator: a failed build must rewind it, so that
    # the weights drawn afterwards are those a clean run would draw.
    scratch.set_random_seed(3)
    model = make()
    layers = list(model.layers)
    state = scratch.get_rng().bit_generator.state
    x, y = np.ones((2, 5)), np.zeros((2, 3))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="'c'"):
        if how == "build":
            model.build((5,))
        elif how == "forward":
            model.forward(x)
        elif how == "fit":
            model.fit(x, y, verbose=0)
        else:
            Sequential([Input((5,)), *layers])
    assert not any(layer.built or layer.params for layer in layers)
    assert model.layers == layers and model.input is None
    assert scratch.get_rng().bit_generator.state == state


def test_a_failed_add_leaves_a_usable_model():
    model = trained_model()
    x, _ = data()
    before = model.predict(x)
    with pytest.raises(ValueError):
        model.add(SimpleRNN(2))
    np.testing.assert_array_equal(model.predict(x), before)
    model.add(Dense(2, name="extra"))  # a layer that fits still can be added
    assert model.predict(x).shape == (50, 2)


def test_a_custom_initializer_of_the_wrong_shape_is_refused_and_undone():
    layer = Dense(3, kernel_initializer=lambda shape, rng, dtype: np.zeros(shape[0]), name="d")
    with pytest.raises(ValueError, match=r"Dense 'd': kernel_initializer returned an array of "
                                         r"shape \(4,\) for weight 'kernel', expected \(4, 3\)"):
        layer.forward(np.ones((2, 4)))
    assert not layer.built and layer.params == {} and layer.dtype is None
    with pytest.raises(ValueError, match=r"bias_initializer .* NaN"):
        Dense(3, bias_initializer=lambda s, r, d: np.full(s, np.nan)).forward(np.ones((1, 2)))


# ----------------------------------------------------------------------- arguments at entry
#: (method, keyword, bad value): every one refused before anything is computed or changed.
ENTRY_ARGUMENTS = [
    *[("fit", "epochs", v) for v in [0, -1, 1.5, "3", None, True]],
    *[("fit", "batch_size", v) for v in [0, -1, 2.5, "32", True]],
    *[("fit", "shuffle", v) for v in ["yes", 1, None]],
    *[("fit", "verbose", v) for v in [3, -1, "1", 1.0, True, None]],
    *[("fit", "validation_split", v) for v in [-0.1, 1.0, NAN, "0.2", True]],
    *[("fit", "validation_data", v) for v in [[1, 2, 3], "xy", 5]],
    *[("evaluate", "batch_size", v) for v in [0, -1, 1.5, "8"]],
    *[("evaluate", "verbose", v) for v in [3, "0"]],
    *[("evaluate", "return_dict", v) for v in ["yes", 1]],
    *[("predict", "batch_size", v) for v in [0, -1, 1.5, "8"]],
    *[("predict", "verbose", v) for v in [5, "x"]],
    *[("forward", "training", v) for v in ["False", 1, 0.0]],
    *[("backward", "compute_input_grad", v) for v in ["no", 1]],
    *[("summary", "print_fn", v) for v in ["print", 5]],
]


@pytest.mark.parametrize("method, keyword, value", ENTRY_ARGUMENTS,
                         ids=[f"{m}-{k}={v!r}" for m, k, v in ENTRY_ARGUMENTS])
def test_bad_call_arguments_are_refused_at_entry(method, keyword, value):
    model = trained_model()
    x, y = data()
    model.forward(x)  # so that backward has a cache
    before = snapshot(model)
    args = {"fit": (x, y), "evaluate": (x, y), "predict": (x,), "forward": (x,),
            "backward": (np.ones((50, 3)),), "summary": ()}[method]
    with pytest.raises((TypeError, ValueError)) as err:
        getattr(model, method)(*args, **{keyword: value})
    assert str(err.value).startswith("Sequential 'm': ") and keyword in str(err.value)
    assert_unchanged(before, snapshot(model))


def test_batch_size_none_is_keras_default():
    model = trained_model()
    x, y = data()
    assert model.evaluate(x, y, batch_size=None) == model.evaluate(x, y, batch_size=32)
    np.testing.assert_array_equal(model.predict(x, batch_size=None), model.predict(x))


def test_validation_split_holds_out_the_last_examples_as_keras():
    x, y = data()
    split = trained_model().fit(x, y, epochs=2, shuffle=False, verbose=0,
                                validation_split=0.3).history
    # Keras: split_at = floor(n (1 - validation_split)), before shuffling.
    at = math.floor(len(x) * (1 - 0.3))
    explicit = trained_model().fit(x[:at], y[:at], epochs=2, shuffle=False, verbose=0,
                                   validation_data=(x[at:], y[at:])).history
    assert split == explicit and set(split) == {"loss", "accuracy", "val_loss", "val_accuracy"}


# ----------------------------------------------------------------------- kinds of arrays
COMPLEX = np.ones((4, 6)) + 1j


@pytest.mark.parametrize("call, words", [
    (lambda: Dense(3, name="d").forward(COMPLEX), "dtype complex128"),
    (lambda: trained_model().predict(COMPLEX), "dtype complex128"),
    (lambda: trained_model().fit(np.ones((4, 6)), np.ones(4) + 1j, verbose=0),
     "dtype complex128"),
    (lambda: trained_model().fit(np.ones((4, 6)), np.array([True, False, True, False]),
                                 verbose=0), "dtype bool"),
    (lambda: trained_model().fit(np.ones((4, 6)), np.array(["0", "1", "2", "0"]), verbose=0),
     "dtype <U1"),
    (lambda: MeanSquaredError()(np.ones(3) + 1j, np.ones(3)), "dtype complex128"),
    (lambda: MeanSquaredError()(np.ones(3), np.ones(3) + 1j), "dtype complex128"),
    (lambda: losses.BinaryCrossentropy()(np.array([1, 0]) + 0j, np.array([0.5, 0.5])),
     "dtype complex128"),
    (lambda: losses.CategoricalCrossentropy()(np.eye(2) + 0j, np.full((2, 2), 0.5)),
     "dtype complex128"),
    (lambda: losses.SparseCategoricalCrossentropy()(np.array([0, 1]) + 0j,
                                                    np.full((2, 2), 0.5)), "dtype complex128"),
    (lambda: losses.MeanSquaredError()(np.array(["1", "2"]), np.ones(2)), "dtype <U1"),
    (lambda: losses.MeanSquaredError()(np.array([1, None]), np.ones(2)), "dtype object"),
])
def test_complex_boolean_and_object_arrays_are_refused(call, words):
    with pytest.raises(TypeError) as err:
        call()
    assert words in str(err.value)


@pytest.mark.parametrize("value", [np.ones((4, 3)) + 1j, np.ones((4, 3), dtype=bool),
                                   np.full((4, 3), None), np.full((4, 3), "1")],
                         ids=["complex", "bool", "object", "str"])
@pytest.mark.parametrize("target", ["layer", "model"])
def test_set_weights_refuses_arrays_that_are_no_weights(value, target):
    model = trained_model()
    layer = model.layers[0]
    before = model.get_weights()
    kernel = np.resize(value, layer.params["kernel"].shape)
    with pytest.raises(TypeError, match=r"weight 'kernel' must be an array of real numbers"):
        if target == "layer":
            layer.set_weights([kernel, layer.params["bias"]])
        else:
            model.set_weights([kernel, *before[1:]])
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("loss, y_true, shape, words", [
    (MeanSquaredError(), np.ones(5), (5, 2), "expected y_true of the shape of y_pred, (5, 2)"),
    (losses.BinaryCrossentropy(), np.full((4, 1), 2.0), (4, 1), "expected y_true in [0, 1]"),
    (losses.CategoricalCrossentropy(), np.array([0, 1, 2]), (3, 3),
     "for integer class labels use SparseCategoricalCrossentropy"),
    (losses.SparseCategoricalCrossentropy(), np.array([0, 3]), (2, 3),
     "label 3 at index (1,) is out of range [0, 3)"),
    (losses.SparseCategoricalCrossentropy(), np.array([0, 1]), (2, 0), "non-empty y_pred"),
])
def test_check_targets_needs_no_predictions(loss, y_true, shape, words):
    with pytest.raises(ValueError) as err:
        loss.check_targets(y_true, shape)
    assert words in str(err.value)


@pytest.mark.parametrize("loss, y_true, shape", [
    (MeanSquaredError(), np.ones(5), (5, 1)),
    (losses.BinaryCrossentropy(), np.array([True, False]), (2, 1)),
    (losses.CategoricalCrossentropy(label_smoothing=0.1), np.eye(3), (3, 3)),
    (losses.SparseCategoricalCrossentropy(), np.array([[0], [2]]), (2, 3)),
    (losses.SparseCategoricalCrossentropy(), np.array([0.0, 2.0]), (2, 3)),
])
def test_check_targets_accepts_what_the_loss_accepts(loss, y_true, shape):
    assert loss.check_targets(y_true, shape) is None
    loss(y_true, np.full(shape, 1 / shape[-1]))  # and the loss itself agrees


def test_boolean_targets_stay_fine_for_binary_losses():
    # Booleans are meaningful targets (0/1) and Keras casts them: accepted, with the 0/1 result.
    loss = losses.BinaryCrossentropy()
    p = np.array([0.2, 0.9])
    assert loss(np.array([False, True]), p) == loss(np.array([0.0, 1.0]), p)


# ----------------------------------------------------------------------- other entry points
@pytest.mark.parametrize("shape", [0, (28, 0), 28.0, True, None, "28", (None, 5), (2, -1), ()])
def test_input_refuses_bad_shapes(shape):
    with pytest.raises(ValueError, match=r"Input: shape must be a tuple of positive integers"):
        Input(shape)


@pytest.mark.parametrize("dtype", ["int16", "foo", bool, "complex64"])
def test_input_refuses_bad_dtypes(dtype):
    with pytest.raises(TypeError, match=r"Input: dtype must be float32 or float64"):
        Input((3,), dtype=dtype)


def test_build_accepts_keras_form_with_the_batch_axis():
    a, b = Sequential([Dense(2, seed=0)]), Sequential([Dense(2, seed=0)])
    a.build((None, 5))
    b.build((5,))
    assert a.input.shape == b.input.shape == (5,)
    a.build((None, 5))  # the same shape again: nothing to refuse


@pytest.mark.parametrize("call, words", [
    (lambda: models.mlp(hidden=128), "hidden must be a tuple"),
    (lambda: models.mlp(hidden=(128, 0)), "hidden[1] must be an integer >= 1"),
    (lambda: models.mlp(input_dim=0), "input_dim must be an integer >= 1"),
    (lambda: models.rnn(0, 3), "timesteps must be an integer >= 1"),
    (lambda: models.rnn(5, 2.0), "features must be an integer >= 1"),
    (lambda: Sequential(Dense(3)), "layers must be a list"),
    (lambda: Sequential([Dense(3)], name=""), "name must be a non-empty string"),
    (lambda: Sequential([Dense(3)]).compile(loss="mse", metrics={"out": "accuracy"}),
     "metrics must be a list"),
    (lambda: SGD().apply_gradients([(np.ones(2) + 1j, np.zeros(2))]), "dtype complex128"),
])
def test_other_entry_points_name_the_argument(call, words):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert words in str(err.value)


# ------------------------------------------------------------------ regularizers, one place
def regularized_layers():
    """Every layer type with a ``*_regularizer`` argument, and those arguments."""
    from dlcourse.scratch import layer_types

    return [(kind, key) for kind, cls in layer_types().items() for key in cls.config_keys()
            if key.endswith("_regularizer")]


@pytest.mark.parametrize(("kind", "argument"), regularized_layers())
def test_a_regularizer_attribute_is_the_penalty_the_model_adds(kind, argument):
    from dlcourse.scratch import layer_types
    from dlcourse.scratch.registry import regularized_weight
    from dlcourse.scratch.regularizers import L2

    cls = layer_types()[kind]
    weight = regularized_weight(argument)
    layer = cls(**{**VALID_LAYER_ARGS[cls], argument: "l2"})
    assert layer.regularizers == {weight: getattr(layer, argument)}
    # Switching it off removes the penalty; the config says so too.
    setattr(layer, argument, None)
    assert layer.regularizers == {} and layer.get_config()[argument] is None
    penalty = L2(0.5)
    setattr(layer, argument, penalty)
    assert layer.regularizers == {weight: penalty}
    # A bad value is refused by name and changes nothing.
    with pytest.raises(ValueError, match=rf"{kind} '{layer.name}': unknown regularizer 'l3' "
                                         rf"for {argument}"):
        setattr(layer, argument, "l3")
    assert layer.regularizers == {weight: penalty}
