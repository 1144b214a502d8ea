r"""Where a token is: learned position embeddings and the sinusoidal encoding.

Attention treats its keys as a set: permute the positions of the keys and values and every
output stays the same. A transformer therefore adds to each token's vector a vector that says
where it is, either learned (:class:`PositionEmbedding`, one trained row per position) or fixed
(:func:`sinusoidal_encoding`, Vaswani et al., 2017):

.. math::

    \mathrm{PE}_{p, 2i} = \sin\!\Big(\frac{p}{w^{2i/d}}\Big), \qquad
    \mathrm{PE}_{p, 2i+1} = \cos\!\Big(\frac{p}{w^{2i/d}}\Big), \qquad w = 10\,000,

for position :math:`p` and feature pair :math:`i` of depth :math:`d`: each pair of features turns
at its own frequency, from one turn per :math:`2\pi` positions down to one per
:math:`2\pi w` positions.
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch import initializers
from dlcourse.scratch.base import Layer, get_rng, register_layer
from dlcourse.validation import check_int, check_number

__all__ = ["PositionEmbedding", "sinusoidal_encoding"]


def sinusoidal_encoding(length: int, depth: int, max_wavelength: float = 10000.0) -> np.ndarray:
    r"""The sinusoidal position encoding ``(length, depth)`` of Vaswani et al. (2017).

    Parameters
    ----------
    length : int >= 1
        Number of positions :math:`p = 0, \dots, \text{length} - 1`.
    depth : int >= 1
        Size :math:`d` of each position's vector; even features are sines, odd ones cosines
        (an odd depth ends with a sine).
    max_wavelength : float > 0
        :math:`w` in the module's formula (10 000 in the paper).

    Returns
    -------
    ndarray, shape (length, depth), float64
        Row ``p`` is added to the vector of the token at position ``p``.
    """
    owner = "sinusoidal_encoding()"
    length = check_int(length, "length", owner, minimum=1)
    depth = check_int(depth, "depth", owner, minimum=1)
    max_wavelength = check_number(max_wavelength, "max_wavelength", owner, 0, low_open=True)
    position = np.arange(length)[:, None]                 # p
    pair = np.arange(depth) // 2                          # i, the same for features 2i and 2i+1
    angle = position / max_wavelength ** (2 * pair / depth)
    return np.where(np.arange(depth) % 2 == 0, np.sin(angle), np.cos(angle))


@register_layer
class PositionEmbedding(Layer):
    r"""Add a learned vector per position: ``y[n, t] = x[n, t] + embeddings[t]``.

    Parameters
    ----------
    sequence_length : int >= 1
        The longest sequence the layer takes: the number of rows of ``embeddings``. Shorter
        sequences use the first rows.
    embeddings_initializer : str or callable
        Keras name of the initial values (``"glorot_uniform"``, as keras_hub's).
    seed : int, optional
        Seed of the initial table.
    name, dtype
        As for every layer.

    Notes
    -----
    ``embeddings`` ``(sequence_length, features)`` is Keras's ``Embedding(sequence_length,
    features)`` table looked up at the positions ``0, ..., T-1``; the layer adds it to its input
    of shape ``(batch, T, features)``. keras_hub's ``PositionEmbedding`` returns that table
    alone (broadcast to the input's shape) and leaves the sum to the caller: this layer is
    ``x + keras_hub.layers.PositionEmbedding(sequence_length)(x)``, with the same weight.

    Backward: the output is the input plus a constant, so :math:`\partial J / \partial x = g`;
    row ``t`` of the table is added to every example, so its gradient is
    :math:`\sum_n g_{n, t}` (rows beyond ``T`` get 0).
    """

    weight_names = ("embeddings",)
    masking = "pass"  # each position gets its own vector, whatever the mask says
    input_ranks = (3,)
    input_layout = "(batch, time, features)"

    def __init__(self, sequence_length: int, embeddings_initializer="glorot_uniform",
                 seed: int | None = None, name: str | None = None, dtype=None):
        owner = self._owner(name)
        sequence_length = check_int(sequence_length, "sequence_length", owner, minimum=1)
        embeddings_initializer = initializers.get(embeddings_initializer, owner,
                                                  "embeddings_initializer")
        super().__init__(name=name, seed=seed, dtype=dtype)
        self.sequence_length = sequence_length
        self.embeddings_initializer = embeddings_initializer

    def _check_input_shape(self, shape: tuple) -> None:
        super()._check_input_shape(shape)
        if shape[1] is not None and shape[1] > self.sequence_length:
            raise ValueError(self.error_message(
                f"expected sequences of at most sequence_length={self.sequence_length} steps, "
                f"got shape {shape}"))
        if self.built and shape[2] != self.params["embeddings"].shape[1]:
            raise ValueError(self.error_message(
                f"expected {self.params['embeddings'].shape[1]} features as on its first call, "
                f"got shape {shape}"))

    def build(self, input_shape: tuple) -> None:
        """Create ``embeddings`` ``(sequence_length, features)``."""
        self._initial_weight("embeddings", self.embeddings_initializer,
                             "embeddings_initializer",
                             (self.sequence_length, input_shape[-1]), get_rng(self.seed))
        self.input_shape = (None, input_shape[-1])  # any length up to sequence_length

    def call(self, x: np.ndarray, training: bool) -> np.ndarray:
        self.cache = {"length": x.shape[1]}
        return x + self.params["embeddings"][:x.shape[1]]

    def call_backward(self, grad_output: np.ndarray) -> np.ndarray:
        length = self.cache["length"]
        self.grads["embeddings"][...] = 0.0
        self.grads["embeddings"][:length] = grad_output.sum(axis=0)
        return grad_output if self.compute_input_grad else None
