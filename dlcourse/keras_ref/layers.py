"""Keras twins of the from-scratch layers that ``keras.layers`` has no class for.

Each is made of Keras's own layers and weights, takes the from-scratch layer's arguments and holds
the same weights in the same order, so ``set_weights(layer.get_weights())`` moves them across in
one call, and :func:`~dlcourse.keras_ref.to_keras` / :func:`~dlcourse.keras_ref.from_keras` carry
them inside a Sequential. Imported by :mod:`dlcourse.keras_ref`, after TensorFlow.
"""

from __future__ import annotations

from tensorflow import keras

from dlcourse.scratch.transformer import SUBLAYERS as _BLOCK_SUBLAYERS

__all__ = ["PositionEmbedding", "TransformerBlock"]


class PositionEmbedding(keras.layers.Layer):
    """The Keras twin of :class:`dlcourse.scratch.PositionEmbedding`: ``x + embeddings[:T]``.

    keras_hub's ``PositionEmbedding`` returns the table alone (broadcast to the input's shape);
    this one adds it to its input, as the from-scratch layer does, with the same weight
    ``embeddings`` ``(sequence_length, features)``.
    """

    def __init__(self, sequence_length, embeddings_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = sequence_length
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.sequence_length, input_shape[-1]),
                                          initializer=self.embeddings_initializer,
                                          name="embeddings")

    def call(self, x):
        length = keras.ops.shape(x)[1]
        return x + keras.ops.slice(self.embeddings, (0, 0), (length, keras.ops.shape(x)[2]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length,
                "embeddings_initializer":
                    keras.initializers.serialize(self.embeddings_initializer)}


class TransformerBlock(keras.layers.Layer):
    """The Keras twin of :class:`dlcourse.scratch.transformer.TransformerBlock`, made of Keras's
    own layers: the same arguments, sublayers, formula and list of weights.

    ``keras_block.set_weights(block.get_weights())`` moves the weights across in one call (and
    ``block.set_weights(keras_block.get_weights())`` back), once both are built;
    :func:`to_keras` and :func:`from_keras` carry it over inside a Sequential.
    """

    def __init__(self, intermediate_dim, num_heads, activation="relu", layer_norm_epsilon=1e-5,
                 use_causal_mask=False, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.intermediate_dim, self.num_heads = intermediate_dim, num_heads
        self.activation = keras.activations.get(activation)  # the function, as Dense keeps it
        self.layer_norm_epsilon = layer_norm_epsilon
        self.use_causal_mask = use_causal_mask
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        d = input_shape[-1]
        common = {"kernel_initializer": self.kernel_initializer,
                  "bias_initializer": self.bias_initializer, "dtype": self.dtype_policy}
        norm = {"epsilon": self.layer_norm_epsilon, "dtype": self.dtype_policy}
        # Created in the order of the from-scratch block's SUBLAYERS, under the same names: the
        # order and the names of the weights.
        names = iter(_BLOCK_SUBLAYERS)
        self.self_attention_layer_norm = keras.layers.LayerNormalization(name=next(names),
                                                                         **norm)
        self.self_attention_layer = keras.layers.MultiHeadAttention(
            self.num_heads, d // self.num_heads, name=next(names), **common)
        self.feedforward_layer_norm = keras.layers.LayerNormalization(name=next(names), **norm)
        self.feedforward_intermediate_dense = keras.layers.Dense(
            self.intermediate_dim, activation=self.activation, name=next(names), **common)
        self.feedforward_output_dense = keras.layers.Dense(d, name=next(names), **common)
        self.self_attention_layer_norm.build(input_shape)
        self.self_attention_layer.build(input_shape, input_shape)
        self.feedforward_layer_norm.build(input_shape)
        self.feedforward_intermediate_dense.build(input_shape)
        self.feedforward_output_dense.build((*input_shape[:-1], self.intermediate_dim))

    def call(self, x, training=None):
        a = self.self_attention_layer_norm(x)
        h = x + self.self_attention_layer(a, a, use_causal_mask=self.use_causal_mask,
                                          training=training)
        f = self.feedforward_intermediate_dense(self.feedforward_layer_norm(h))
        return h + self.feedforward_output_dense(f)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "intermediate_dim": self.intermediate_dim,
                "num_heads": self.num_heads,
                "activation": keras.activations.serialize(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "use_causal_mask": self.use_causal_mask,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}


#: Twins of from-scratch layer types that keras.layers has no class for, made of Keras's layers.
