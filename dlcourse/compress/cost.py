"""What a model costs, from its layers' shapes alone: parameters, FLOPs and memory.

:func:`layer_cost`, :func:`model_costs`, :func:`count_params`, :func:`count_flops`,
:func:`memory_bytes`. They read only each layer's ``get_config()``, whose keys the from-scratch
layers share with Keras (``units``, ``filters``, ``kernel_size``, ``strides``, ``padding``,
``pool_size``, ``use_bias``, ...), so they measure a ``keras.Sequential`` as well as a
from-scratch one; the layer types they know are those of :func:`dlcourse.scratch.layer_types`,
one formula each (in :mod:`dlcourse.compress.formulas`).

FLOPs follow TensorFlow's profiler (``tf.compat.v1.profiler``) so that the two can be compared:
a multiply-add counts 2, adding a bias 1 per output, a max pooling 1 per element of each window,
a softmax 5 per output, other activations and reshapes 0. Counts are per example, for inference.
NumPy only; nothing here imports TensorFlow.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dlcourse.compress.formulas import _FORMULAS, _check_layer_settings, _check_shape
from dlcourse.scratch.base import layer_types
from dlcourse.scratch.sequential import Input
from dlcourse.validation import check_int

__all__ = ["LayerCost", "count_flops", "count_params", "layer_cost", "memory_bytes",
           "model_costs"]


class LayerCost(NamedTuple):
    """What one layer costs, per example.

    Attributes
    ----------
    name, kind : str
        The layer's name and class name (``"Dense"``, ``"Conv2D"``, ...).
    output_shape : tuple of int
        Without the batch axis.
    params : int
        Number of weights (trainable or not), as Keras's ``count_params()``.
    flops : int
        Floating-point operations of one forward pass, in TensorFlow's profiler's convention.
    trainable_params : int
        The weights that training changes by gradient descent, which have a gradient and
        optimizer slots: all of ``params`` except BatchNormalization's moving statistics (and
        none for a Keras layer with ``trainable=False``).
    """

    name: str
    kind: str
    output_shape: tuple
    params: int
    flops: int
    trainable_params: int


def layer_cost(layer, input_shape) -> LayerCost:
    r"""Parameters, output shape and FLOPs of one layer, from its config and input shape.

    Parameters
    ----------
    layer : a layer of :mod:`dlcourse.scratch` or of Keras
        Of one of the types of :func:`dlcourse.scratch.layer_types` (``Dense``, ``Conv2D``,
        ``MaxPooling2D``, ``SimpleRNN``, ``LSTM``, ``GRU``, ``Embedding``,
        ``BatchNormalization``, ``LayerNormalization``, ``MultiHeadAttention``,
        ``PositionEmbedding``, ``Flatten``, ``Dropout``, ``Activation``). Only its
        ``get_config()`` is read (Keras's layers and the from-scratch ones write the same
        keys), never its weights.
    input_shape : tuple of int
        The shape of one example entering the layer, without the batch axis.

    Returns
    -------
    LayerCost

    Raises
    ------
    TypeError
        For any other kind of layer.
    ValueError
        For a shape that is not one example's (sizes below 1, a batch axis of None), an input
        smaller than a ``'valid'`` kernel, or a Keras setting the formulas do not count
        (``dilation_rate``, ``groups``, ``data_format='channels_first'``, ``return_state``,
        LoRA).

    Notes
    -----
    With ``b = 1`` if the layer has a bias (else 0):

    - Dense, input ``(..., n)``, ``u`` units: ``n u + b u`` parameters;
      ``m (2 n u + b u)`` FLOPs, ``m`` the product of the leading axes (1 for a vector).
    - Conv2D, input ``(h, w, c)``, kernel ``k_h × k_w``, ``f`` filters, output
      ``(h', w', f)``: ``k_h k_w c f + b f`` parameters; ``h' w' (2 k_h k_w c f + b f)`` FLOPs.
    - MaxPooling2D, pool ``p_h × p_w``, output ``(h', w', c)``: ``p_h p_w h' w' c`` FLOPs.
    - SimpleRNN, input ``(T, d)``, ``u`` units: ``d u + u^2 + b u`` parameters;
      ``T (2 d u + 2 u^2 + b u + u)`` FLOPs (the products ``x_t K`` and ``h_{t−1} R``, the
      bias, and their sum).
    - LSTM, input ``(T, d)``, ``u`` units: ``4 (d u + u^2 + b u)`` parameters;
      ``T (8 d u + 8 u^2 + 4 b u + 8 u)`` FLOPs: per step the multiply-adds of ``x_t K`` and
      ``h_{t−1} R`` (``4u`` columns each), their sum and the bias (``4u`` each), then the
      elementwise work ``c_t = f c_{t−1} + i g`` (``3u``) and ``h_t = o tanh(c_t)`` (``u``).
    - GRU, input ``(T, d)``, ``u`` units: ``3 (d u + u^2) + 6 b u`` parameters with
      ``reset_after`` (two biases), ``3 (d u + u^2) + 3 b u`` without;
      ``T (6 d u + 6 u^2 + 3 b u + 3 b' u + 8 u)`` FLOPs (``b' = b`` with ``reset_after``,
      else 0): the multiply-adds of ``x_t K`` and of the recurrent products (``3u`` columns
      in all), the biases, the sums for ``z`` and ``r`` (``2u``), the reset and the sum of the
      candidate (``2u``), and ``h_t = z h_{t−1} + (1 − z) h̃_t`` (``4u``).
    - Embedding, ``V = input_dim``, ``d = output_dim``: ``V d`` parameters; 0 FLOPs (a
      lookup); input ``(T,)`` gives ``(T, d)``.
    - BatchNormalization, ``C`` features (the size of ``axis``), ``E`` elements in all:
      ``(2 + g + β) C`` parameters, of which ``(g + β) C`` trainable (``γ`` if ``scale``,
      ``β`` if ``center``; the moving mean and variance count as parameters, as in Keras, but
      have no gradient); at inference ``y = x k + d`` with ``k = γ / √(σ² + ε)`` and
      ``d = β − μ k`` computed once per feature, so ``2 E + (5 + g) C`` FLOPs (per feature:
      ``+ ε``, the reciprocal square root, which the profiler counts as 2, ``μ k`` and the
      subtraction, and ``× γ`` if ``scale``).
    - LayerNormalization, ``C`` values normalised together (the sizes of ``axis``), ``E``
      elements in all, ``R = E / C`` rows: ``(g + β) C`` parameters; ``(6 + g + β) E + 3 R``
      FLOPs.
    - MultiHeadAttention as self-attention on ``(T, d)``, ``N`` heads, ``k = key_dim``,
      ``v = value_dim``, ``P`` the size of ``output_shape`` (else ``d``):
      ``N d (2k + v) + N v P + b (N (2k + v) + P)`` parameters;
      ``T (2 d N (2k + v) + b N (2k + v)) + N T k + 2 N T² k + 5 N T² + 2 N T² v
      + T (2 N v P + b P)`` FLOPs: the three projections, the scaling of the queries, the
      scores, their softmax, the weighted sums of the values, and the output projection.
      The output is ``(T, *output_shape)``, else ``(T, d)``.
    - PositionEmbedding, ``L = sequence_length``, input ``(T, d)``: ``L d`` parameters;
      ``T d`` FLOPs (one addition per element).
      These three count the arithmetic of their formulas; unlike the others they are not yet
      matched with TensorFlow's profiler, which counts Keras's broadcasts differently.
    - Flatten, Dropout (at inference): no parameters, 0 FLOPs.
    - Activations (on their own or inside a layer): 0 FLOPs, except softmax, 5 per output.
    """
    kind = type(layer).__name__
    name = getattr(layer, "name", kind)
    owner = f"layer_cost(): {kind} '{name}'"
    shape = _check_shape(input_shape, owner)
    formula = _FORMULAS.get(kind) if kind in layer_types() else None
    if formula is None:
        raise TypeError(f"layer_cost(): no formula for layers of type {kind} ('{name}'); "
                        f"supported: {', '.join(k for k in layer_types() if k in _FORMULAS)}")
    get_config = getattr(layer, "get_config", None)
    if not callable(get_config):
        raise TypeError(f"{owner}: the layer has no get_config(), from which its cost is read")
    config = get_config()
    _check_layer_settings(config, kind, owner)
    cost = formula(config, shape, owner)
    trainable = cost.trainable_params if config.get("trainable", True) is not False else 0
    return LayerCost(name, kind, cost.output_shape, cost.params, cost.flops, trainable)


def _input_shape(model, func: str) -> tuple[int, ...]:
    model_input = getattr(model, "input", None)
    if isinstance(model_input, Input):                    # from scratch: no batch axis
        return model_input.shape
    try:
        keras_inputs = getattr(model, "inputs", None)     # Keras: [KerasTensor (None, ...)]
    except (AttributeError, ValueError):                  # a Keras model not built yet
        keras_inputs = None
    shape = keras_inputs[0].shape if keras_inputs else None
    if shape is not None and len(shape) > 1 and None not in tuple(shape)[1:]:
        return tuple(int(s) for s in tuple(shape)[1:])
    raise ValueError(f"{func}(): the model has no input shape; start it with "
                     "Input(shape) (or keras.Input(shape))")


def _model_costs(model, func: str) -> list[LayerCost]:
    layers = getattr(model, "layers", None)
    if isinstance(model, (str, bytes)) or not isinstance(layers, (list, tuple)):
        raise TypeError(f"{func}(): model must be a dlcourse.scratch.Sequential or a "
                        f"keras.Sequential, got {type(model).__name__}")
    shape = _input_shape(model, func)
    costs = []
    for layer in layers:
        cost = layer_cost(layer, shape)
        costs.append(cost)
        shape = cost.output_shape
    return costs


def model_costs(model) -> list[LayerCost]:
    """:func:`layer_cost` of every layer of a ``Sequential`` (from scratch or Keras), in order.

    Parameters
    ----------
    model : dlcourse.scratch.Sequential or keras.Sequential
        With a known input shape (started with ``Input(shape)`` / ``keras.Input(shape)``).

    Returns
    -------
    list of LayerCost
    """
    return _model_costs(model, "model_costs")


def count_params(model) -> int:
    """Number of weights of the model, from its layers' shapes (see :func:`layer_cost`).

    Parameters
    ----------
    model : dlcourse.scratch.Sequential or keras.Sequential

    Returns
    -------
    int
        Equal to Keras's ``count_params()`` for the same architecture.
    """
    return sum(cost.params for cost in _model_costs(model, "count_params"))


def count_flops(model) -> int:
    """FLOPs of one forward pass for one example (see :func:`layer_cost`).

    Parameters
    ----------
    model : dlcourse.scratch.Sequential or keras.Sequential

    Returns
    -------
    int
        In the convention of TensorFlow's profiler (``tf.compat.v1.profiler``), which counts
        the same number for the model's graph, recurrent loops unrolled.
    """
    return sum(cost.flops for cost in _model_costs(model, "count_flops"))


def memory_bytes(model, batch_size: int = 1, optimizer_slots: int = 0,
                 dtype=None) -> dict[str, int]:
    """Memory for the weights, their gradients, the optimizer's state and the activations.

    Parameters
    ----------
    model : dlcourse.scratch.Sequential or keras.Sequential
    batch_size : int
        Examples in flight at once (the activations scale with it), at least 1.
    optimizer_slots : int
        Arrays the optimizer keeps per weight: 0 for SGD, 1 for momentum or RMSprop, 2 for Adam.
    dtype : numpy dtype, optional
        Of the weights and activations (a numeric dtype, e.g. ``"int8"`` for quantized
        weights); by default the first layer's (float32 if unknown).

    Returns
    -------
    dict
        ``weights`` (params × itemsize), ``gradients`` (trainable params × itemsize: the same
        but for BatchNormalization's moving statistics), ``optimizer`` (``optimizer_slots`` ×
        gradients), ``activations`` (the outputs of every layer for the batch, which
        backpropagation keeps), ``inference`` (weights + activations) and ``training`` (all
        four).
    """
    owner = "memory_bytes()"
    batch_size = check_int(batch_size, "batch_size", owner, minimum=1)
    optimizer_slots = check_int(optimizer_slots, "optimizer_slots", owner, minimum=0)
    costs = _model_costs(model, "memory_bytes")
    if dtype is None:
        dtype = getattr(model.layers[0], "dtype", None) if model.layers else None
        dtype = getattr(dtype, "name", dtype) or "float32"
    try:
        itemsize = np.dtype(dtype).itemsize
        numeric = np.issubdtype(np.dtype(dtype), np.number)
    except TypeError:
        numeric = False
    if not numeric:
        raise TypeError(f"{owner}: dtype must be a numeric dtype such as 'float32', "
                        f"got {dtype!r}")
    weights = itemsize * sum(c.params for c in costs)
    gradients = itemsize * sum(c.trainable_params for c in costs)
    activations = itemsize * batch_size * sum(math.prod(c.output_shape) for c in costs)
    return {"weights": weights, "gradients": gradients, "optimizer": optimizer_slots * gradients,
            "activations": activations, "inference": weights + activations,
            "training": weights + (1 + optimizer_slots) * gradients + activations}
