"""Deep learning from scratch in NumPy, speaking Keras's language. Imports no TensorFlow.

Layers, losses, optimizers and ``Sequential`` carry Keras's names, arguments, weight names and
shapes, so that every concept maps one to one onto its Keras twin (:mod:`dlcourse.keras_ref`).
Every layer describes itself with ``get_config()`` under Keras's keys (``from_config`` builds it
again), and :func:`layer_types` lists the layer types, once, by their Keras class names.
"""

from dlcourse.scratch import (
    activations,
    initializers,
    losses,
    models,
    optimizers,
    regularizers,
)
from dlcourse.scratch.attention import MultiHeadAttention
from dlcourse.scratch.base import Layer, get_rng, layer_types, register_layer, set_random_seed
from dlcourse.scratch.conv import Conv2D
from dlcourse.scratch.core import Activation, Dense, Dropout, Flatten
from dlcourse.scratch.embedding import Embedding
from dlcourse.scratch.gru import GRU
from dlcourse.scratch.losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    MeanSquaredError,
    SparseCategoricalCrossentropy,
)
from dlcourse.scratch.lstm import LSTM
from dlcourse.scratch.normalization import BatchNormalization, LayerNormalization
from dlcourse.scratch.optimizers import SGD, Adam, RMSprop
from dlcourse.scratch.pooling import MaxPooling2D
from dlcourse.scratch.positional import PositionEmbedding, sinusoidal_encoding
from dlcourse.scratch.recurrent import SimpleRNN
from dlcourse.scratch.regularizers import L1, L1L2, L2
from dlcourse.scratch.scaled_dot_product import (
    attention_backward,
    attention_backward_naive,
    causal_mask,
    scaled_dot_product_attention,
    scaled_dot_product_attention_naive,
)
from dlcourse.scratch.sequential import History, Input, Sequential, TrainingDivergedError
from dlcourse.scratch.transformer import TransformerBlock

__all__ = [
    "GRU", "L1", "L1L2", "L2", "LSTM", "SGD", "Activation", "Adam", "BatchNormalization",
    "BinaryCrossentropy", "CategoricalCrossentropy", "Conv2D", "Dense", "Dropout", "Embedding",
    "Flatten", "History", "Input", "Layer", "LayerNormalization", "MaxPooling2D",
    "MeanSquaredError", "MultiHeadAttention", "PositionEmbedding", "RMSprop", "Sequential",
    "SimpleRNN", "SparseCategoricalCrossentropy", "TrainingDivergedError", "TransformerBlock",
    "activations",
    "attention_backward", "attention_backward_naive", "causal_mask", "get_rng", "initializers",
    "layer_types", "losses", "models", "optimizers", "register_layer", "regularizers",
    "scaled_dot_product_attention", "scaled_dot_product_attention_naive", "set_random_seed",
    "sinusoidal_encoding",
]
