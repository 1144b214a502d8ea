"""Backpropagation as an algorithm: a small reverse-mode autograd engine, NumPy only.

Two engines with one design (micrograd's): every operation computes its result and, right
beside it, its local backward, a closure that adds the chain rule's contribution to each
input's gradient; ``backward()`` runs these closures from the loss back to the inputs, each
result before the values it was computed from.

- :class:`Value` (:mod:`~dlcourse.autograd.value`): one scalar, pure Python, the engine as
  chapter 4 builds it; :func:`draw_graph` (:mod:`~dlcourse.autograd.drawing`) draws its graph
  with every node's value and gradient, in Matplotlib.
- :class:`Tensor` (:mod:`~dlcourse.autograd.tensor`): the same on NumPy arrays, with
  broadcasting undone in the backward pass, and :func:`softmax_cross_entropy`
  (:mod:`~dlcourse.autograd.losses`).
- :mod:`~dlcourse.autograd.graph`: the rules both share (accumulate, un-broadcast, order).
"""

from dlcourse.autograd.drawing import draw_graph
from dlcourse.autograd.losses import softmax_cross_entropy
from dlcourse.autograd.tensor import Tensor
from dlcourse.autograd.value import Value

__all__ = ["Tensor", "Value", "draw_graph", "softmax_cross_entropy"]
