r"""Embedding: a table lookup, the first layer of a model that reads words (token ids).

An embedding layer maps each integer id :math:`x \in \{0, \dots, V-1\}` to row :math:`x` of a
weight matrix ``embeddings`` :math:`E` of shape ``(input_dim, output_dim) = (V, d)``:

.. math::

    y_{n,t} = E[x_{n,t}] = \mathrm{onehot}(x_{n,t})^\top E,

so a lookup is a Dense layer without bias applied to one-hot vectors, computed without ever
building them. Keras's ``mask_zero=True`` reserves id 0 for padding: the layer then also
produces a mask (False where ``x == 0``) that the recurrent layers use to skip those steps.

Forward and backward come twice with identical signatures: :func:`embedding_backward_naive`
is the formula with explicit one-hot vectors, :func:`embedding_backward` the scatter-add the
layer uses; a test keeps them equal.
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch import initializers, regularizers
from dlcourse.scratch.base import Layer, check_ids, get_rng, register_layer
from dlcourse.validation import check_bool, check_int

__all__ = ["Embedding", "check_ids", "embedding_backward", "embedding_backward_naive",
           "embedding_forward"]


def embedding_forward(ids, embeddings) -> np.ndarray:
    """The rows of ``embeddings`` ``(V, d)`` at ``ids`` (any shape): ``y`` ``(*ids.shape, d)``."""
    return np.take(np.asarray(embeddings), check_ids(ids, len(embeddings),
                                                     "embedding_forward()"), axis=0)


def embedding_backward_naive(grad_y, ids, input_dim: int) -> np.ndarray:
    r"""``dJ/dE`` as the formula writes it, with explicit one-hot vectors (for reading).

    Parameters
    ----------
    grad_y : ndarray, shape (*ids.shape, output_dim)
        ``dJ/dy``.
    ids : int ndarray, any shape
        The ids of the forward pass.
    input_dim : int
        ``V``, the number of rows of ``E``.

    Returns
    -------
    ndarray, shape (input_dim, output_dim)

    Notes
    -----
    Stacking the ``N`` looked-up positions as rows, ``Y = X E`` with ``X`` ``(N, V)`` the one-hot
    matrix of the ids; as for a Dense layer, ``dJ/dE = Xᵀ dJ/dY``. Row ``v`` of it is the sum of
    ``dJ/dy`` over the positions where the id is ``v``: rows of ids absent from the batch get
    exactly zero, so the gradient is row-sparse (a few rows of a large vocabulary change at
    each step), and an id used twice gets both gradients added.
    """
    ids = check_ids(ids, input_dim, "embedding_backward_naive()").reshape(-1)
    grad_y = np.asarray(grad_y)
    grad_rows = grad_y.reshape(ids.size, grad_y.shape[-1])
    one_hot = np.zeros((ids.size, input_dim), dtype=grad_y.dtype)
    one_hot[np.arange(ids.size), ids] = 1
    return one_hot.T @ grad_rows


def embedding_backward(grad_y, ids, input_dim: int) -> np.ndarray:
    """``dJ/dE`` by a scatter-add into the rows used (the layer's version).

    Same parameters, result and formula as :func:`embedding_backward_naive`, without the
    ``(N, V)`` one-hot matrix: ``np.add.at`` adds each ``dJ/dy`` row into row ``id`` of a zero
    matrix, adding (not overwriting) when an id repeats.
    """
    ids = check_ids(ids, input_dim, "embedding_backward()")
    grad_y = np.asarray(grad_y)
    grad = np.zeros((input_dim, grad_y.shape[-1]), dtype=grad_y.dtype)
    np.add.at(grad, ids.reshape(-1), grad_y.reshape(ids.size, grad_y.shape[-1]))
    return grad


@register_layer
class Embedding(Layer):
    r"""Turns integer ids into dense vectors, Keras's ``Embedding``.

    Parameters
    ----------
    input_dim : int
        Size of the vocabulary ``V``: ids are in ``[0, input_dim)``.
    output_dim : int
        Size ``d`` of each vector.
    embeddings_initializer : str or callable
        Keras's default ``"uniform"`` (on ``[-0.05, 0.05]``), another Keras initializer name,
        or ``f(shape, rng, dtype)``.
    embeddings_regularizer : None, str or Regularizer
    mask_zero : bool
        Whether id 0 is padding: :meth:`compute_mask` then returns ``ids != 0``.
    dtype : str or numpy dtype, optional
        The weights' and output's floating-point dtype. The input is ids, so it cannot decide
        it as it does for the other layers: by default ``float32`` (Keras's default), or the
        floating-point dtype a model builds it with.
    name : str, optional
    seed : int, optional
        Seed of the weight initialisation.

    Notes
    -----
    ``forward(x)`` takes integer ids of any shape ``(batch, ...)`` and returns
    ``(batch, ..., output_dim)``: ``y = embeddings[x]``. ``backward(dJ/dy)`` fills
    ``grads["embeddings"]`` (see :func:`embedding_backward_naive`) and returns None: ids are
    not differentiable, and an Embedding is always a model's first layer.
    """

    weight_names = ("embeddings",)
    input_kind = "integer"  # ids of any shape (batch, ...), checked against input_dim
    #: The penalty on ``embeddings``: ``regularizers["embeddings"]``, what the model adds.
    embeddings_regularizer = regularizers.PenaltyArgument()

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 embeddings_regularizer=None, mask_zero: bool = False,
                 name: str | None = None, seed: int | None = None, dtype=None):
        owner = self._owner(name)
        input_dim = check_int(input_dim, "input_dim", owner, minimum=1)
        output_dim = check_int(output_dim, "output_dim", owner, minimum=1)
        initializer = initializers.get(embeddings_initializer, owner, "embeddings_initializer")
        regularizer = regularizers.get(embeddings_regularizer, owner, "embeddings_regularizer")
        mask_zero = check_bool(mask_zero, "mask_zero", owner)
        super().__init__(name=name, seed=seed, dtype=dtype)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = initializer
        self.embeddings_regularizer = regularizer  # kept in regularizers["embeddings"]
        self.mask_zero = mask_zero

    # ----------------------------------------------------------------------------- building
    @property
    def input_bound(self) -> int:
        return self.input_dim

    def build(self, input_shape: tuple) -> None:
        self._initial_weight("embeddings", self.embeddings_initializer, "embeddings_initializer",
                             (self.input_dim, self.output_dim), get_rng(self.seed))
        # The weights depend on neither the input's shape nor its dtype (ids), as in Keras.
        self.input_shape = (None,) * (len(input_shape) - 1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape, self.output_dim)

    def compute_mask(self, x, mask=None):
        """``x != 0`` (same shape as the ids) if ``mask_zero``, else None, as Keras."""
        return np.asarray(x) != 0 if self.mask_zero else None

    # ----------------------------------------------------------------------------- passes
    def call(self, ids: np.ndarray, training: bool) -> np.ndarray:
        out = np.take(self.params["embeddings"], ids, axis=0)
        self.cache = {"ids": ids}
        self._last_output_shape = out.shape
        return out

    def call_backward(self, grad_output: np.ndarray) -> None:
        # In place, so that an optimizer holding the array sees the new values.
        self.grads["embeddings"][...] = embedding_backward(grad_output, self.cache["ids"],
                                                           self.input_dim)
        return None
