"""Smaller models, measured: int8 quantization, magnitude pruning, and what a model costs.

NumPy only; nothing here imports TensorFlow. One module per concern, every public name
re-exported here (``from dlcourse import compress; compress.quantize(...)``):

- :mod:`dlcourse.compress.quantization`: post-training affine quantization, ``r ≈ S (q − Z)``
  (:func:`quantization_params`, :func:`quantize`, :func:`dequantize`,
  :func:`quantize_weights`, :func:`dequantize_weights`, :class:`QuantizedTensor`,
  :func:`nbytes`);
- :mod:`dlcourse.compress.pruning`: magnitude pruning (:func:`magnitude_mask`,
  :func:`prune_weights`, :func:`sparsity`);
- :mod:`dlcourse.compress.cost`: parameters, FLOPs (in TensorFlow's profiler's convention) and
  memory, read from each layer's ``get_config()`` (:func:`layer_cost`, :func:`model_costs`,
  :func:`count_params`, :func:`count_flops`, :func:`memory_bytes`).
"""

from dlcourse.compress.cost import (
    LayerCost,
    count_flops,
    count_params,
    layer_cost,
    memory_bytes,
    model_costs,
)
from dlcourse.compress.pruning import magnitude_mask, prune_weights, sparsity
from dlcourse.compress.quantization import (
    INT8_MAX,
    INT8_MIN,
    QuantizedTensor,
    dequantize,
    dequantize_weights,
    nbytes,
    quantization_params,
    quantize,
    quantize_tensor,
    quantize_weights,
)

__all__ = [
    "INT8_MAX",
    "INT8_MIN",
    "LayerCost",
    "QuantizedTensor",
    "count_flops",
    "count_params",
    "dequantize",
    "dequantize_weights",
    "layer_cost",
    "magnitude_mask",
    "memory_bytes",
    "model_costs",
    "nbytes",
    "prune_weights",
    "quantization_params",
    "quantize",
    "quantize_tensor",
    "quantize_weights",
    "sparsity",
]
