"""The reference models of the course, built from scratch (their Keras twins: dlcourse.keras_ref).

Each builder takes a ``seed`` so that the same call gives the same initial weights.
"""

from __future__ import annotations

from dlcourse.scratch.conv import Conv2D
from dlcourse.scratch.core import Dense, Flatten
from dlcourse.scratch.pooling import MaxPooling2D
from dlcourse.scratch.recurrent import SimpleRNN
from dlcourse.scratch.sequential import Input, Sequential
from dlcourse.validation import check_int

__all__ = ["mlp", "mnist_cnn", "rnn"]


def mlp(input_dim: int = 784, hidden=(128,), outputs: int = 10, activation: str = "relu",
        output_activation: str | None = None, seed: int = 0, dtype="float32") -> Sequential:
    """A multilayer perceptron ``input_dim → hidden... → outputs`` (logits by default).

    The course's MNIST MLP is ``mlp(784, (128,), 10)``: 784-128-10 with ReLU, 101,770 weights.
    """
    input_dim = check_int(input_dim, "input_dim", "mlp()", minimum=1)
    if not isinstance(hidden, (tuple, list)):
        raise TypeError(f"mlp(): hidden must be a tuple of layer widths, e.g. (128,) or (), "
                        f"got {hidden!r}")
    hidden = [check_int(units, f"hidden[{i}]", "mlp()", minimum=1)
              for i, units in enumerate(hidden)]
    outputs = check_int(outputs, "outputs", "mlp()", minimum=1)
    seed = check_int(seed, "seed", "mlp()", minimum=0)
    layers = [Input((input_dim,), dtype=dtype)]
    for i, units in enumerate(hidden):
        layers.append(Dense(units, activation=activation, seed=seed + i, name=f"dense_{i}"))
    layers.append(Dense(outputs, activation=output_activation, seed=seed + len(hidden),
                        name="output"))
    return Sequential(layers, name="mlp")


def mnist_cnn(seed: int = 0, output_activation: str | None = None,
              dtype="float32") -> Sequential:
    """The classic Keras MNIST convnet: ``Conv2D(32, 3, relu) → MaxPooling2D → Flatten →
    Dense(128, relu) → Dense(10)``, for images of shape ``(28, 28, 1)``; 693,962 weights."""
    seed = check_int(seed, "seed", "mnist_cnn()", minimum=0)
    return Sequential([
        Input((28, 28, 1), dtype=dtype),
        Conv2D(32, 3, activation="relu", seed=seed, name="conv2d"),
        MaxPooling2D(name="max_pooling2d"),
        Flatten(name="flatten"),
        Dense(128, activation="relu", seed=seed + 1, name="dense"),
        Dense(10, activation=output_activation, seed=seed + 2, name="output"),
    ], name="mnist_cnn")


def rnn(timesteps: int, features: int, units: int = 32, outputs: int = 1,
        activation: str = "tanh", output_activation: str | None = None,
        return_sequences: bool = False, seed: int = 0, dtype="float32") -> Sequential:
    """A SimpleRNN over ``(timesteps, features)`` sequences followed by a Dense read-out."""
    timesteps = check_int(timesteps, "timesteps", "rnn()", minimum=1)
    features = check_int(features, "features", "rnn()", minimum=1)
    seed = check_int(seed, "seed", "rnn()", minimum=0)
    return Sequential([
        Input((timesteps, features), dtype=dtype),
        SimpleRNN(units, activation=activation, return_sequences=return_sequences, seed=seed,
                  name="simple_rnn"),
        Dense(outputs, activation=output_activation, seed=seed + 1, name="output"),
    ], name="rnn")
