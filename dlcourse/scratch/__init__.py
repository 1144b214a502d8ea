"""Deep learning from scratch in NumPy, speaking Keras's language. Imports no TensorFlow."""

from dlcourse.scratch import activations, initializers
from dlcourse.scratch.base import Layer, get_rng, set_random_seed

__all__ = ["Layer", "activations", "get_rng", "initializers", "set_random_seed"]
