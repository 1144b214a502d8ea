r"""The three rules every reverse-mode engine follows, shared by :class:`Tensor` and :class:`Value`.

- **Gradients accumulate** (:func:`accumulate`, ``+=``): a value used twice (``a + a``,
  ``x * x``, a weight shared by two layers) receives the sum of both contributions, which is
  what the chain rule says for fan-out.
- **Broadcasting is undone** (:func:`unbroadcast`): a bias of shape ``(n,)`` added to a batch
  ``(b, n)`` was copied ``b`` times, so its gradient is the sum of the ``b`` rows.
- **Order** (:func:`topological_order`): a result's gradient is complete only when every use of
  it has contributed, so results are processed before their inputs.

A node is anything with a ``_parents`` tuple (the values it was computed from) and a
``_backward`` closure (its local backward); NumPy only.
"""

from __future__ import annotations

import numpy as np

from dlcourse.validation import check_int

__all__ = ["accumulate", "check_broadcast", "normalise_axes", "no_backward",
           "topological_order", "unbroadcast"]


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``.

    If ``b`` of shape ``(n,)`` or ``(1, n)`` was broadcast to ``(batch, n)`` in the forward
    pass, each entry of ``b`` was used ``batch`` times, so its gradient is the sum over them.
    """
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))  # leading axes added
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)


def accumulate(tensor, grad: np.ndarray) -> None:
    """``tensor.grad += grad`` (un-broadcast), if ``tensor`` takes part in differentiation.

    ``+=`` and not ``=``: a value used several times gets the sum of its uses' contributions.
    """
    if tensor.requires_grad:
        tensor.grad += unbroadcast(grad, tensor.shape)


def check_broadcast(op: str, a, b) -> None:
    """Raise a ValueError naming ``op`` and both shapes if ``a`` and ``b`` do not broadcast."""
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} do not broadcast") from None


def normalise_axes(axis, ndim: int, owner: str) -> tuple:
    """``axis`` (None, an int or a tuple of ints, negative allowed) as sorted positive axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(check_int(a, "axis", owner, minimum=-ndim, maximum=ndim - 1) % ndim
                 for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{owner}: axis must not repeat an axis, got {axis!r}")
    return tuple(sorted(axes))


def topological_order(root) -> list:
    """Every node ``root`` was computed from, each after all of its inputs (``root`` last).

    An iterative depth-first search: a node is appended once all of its inputs are, which is
    the post-order a recursive ``build_topo`` gives, without the recursion (a chain of
    thousands of operations does not reach Python's recursion limit).
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))  # popped again after all of its inputs
        stack.extend((parent, False) for parent in node._parents if parent not in visited)
    return order


def no_backward() -> None:
    """The local backward of a leaf: nothing to pass on."""
