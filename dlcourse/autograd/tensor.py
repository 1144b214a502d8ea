r"""The array engine: a :class:`Tensor` wraps a NumPy array and records the operations on it.

Every operation computes its result and, right beside it, the *local backward*: a closure
``_backward`` stored on the result that, given the gradient of the final scalar ``J`` with
respect to the result, adds the gradient with respect to each input
(:func:`~dlcourse.autograd.graph.accumulate`). :meth:`Tensor.backward` visits the graph from
``J`` back to the inputs in reverse topological order and calls each closure once. This is
micrograd's design (:class:`~dlcourse.autograd.value.Value`), on arrays instead of scalars.

Notation in the docstrings: for any value ``a``, :math:`\bar a = \partial J / \partial a`, an
array of ``a``'s shape (its *adjoint*); ``out`` is the result of the operation.

NumPy only.
"""

from __future__ import annotations

import numbers
import reprlib

import numpy as np

from dlcourse.autograd.graph import (
    accumulate,
    check_broadcast,
    no_backward,
    normalise_axes,
    topological_order,
)
from dlcourse.validation import check_array, check_bool, check_int

__all__ = ["Tensor"]


def _as_float_array(value, name: str, owner: str) -> np.ndarray:
    """``value`` as a new floating-point array: float32/float64 kept, integers to float64."""
    if isinstance(value, Tensor):
        raise TypeError(f"{owner}: {name} is already a Tensor; use it directly "
                        "(or its .data for the array)")
    try:
        array = check_array(value, name, owner, allow_nonfinite=True)
    except TypeError as err:  # name what was given, not only its dtype
        raise TypeError(f"{err} (given: {type(value).__name__} {reprlib.repr(value)})") from None
    dtype = array.dtype if np.issubdtype(array.dtype, np.floating) else np.float64
    return array.astype(dtype, copy=True)


# ================================================================================ Tensor
class Tensor:
    r"""An array that records the operations applied to it, so as to compute gradients.

    Parameters
    ----------
    data : array_like of numbers
        Copied. Floating-point data keeps its dtype (float32 stays float32); integers become
        float64.
    requires_grad : bool
        Whether ``backward`` should compute ``∂J/∂(this tensor)`` into :attr:`grad`. A result
        requires grad when one of its inputs does.

    Attributes
    ----------
    data : ndarray
        The values.
    grad : ndarray or None
        None until a ``backward`` reaches this tensor; then :math:`\bar x = \partial J/\partial
        x`, an array of ``data``'s shape. A leaf (a tensor you created) accumulates over calls of
        ``backward``; an intermediate result holds the gradient of the last call only.

    Notes
    -----
    Operators ``+ - * / @ **`` and unary ``-`` take a Tensor, a number or an array on either
    side (``2 * x``, ``x / 3``, ``array @ w``), with NumPy's broadcasting. A Python number takes
    the Tensor's dtype; an array is promoted with it as NumPy does. NumPy's functions do not
    apply to a Tensor (``np.exp(x)`` is a TypeError): use the methods (``x.exp()``), which
    record the operation.
    """

    __array_ufunc__ = None  # `array + tensor` calls Tensor.__radd__ instead of NumPy's loop

    def __init__(self, data, requires_grad: bool = False):
        self.data = _as_float_array(data, "data", "Tensor()")
        self.requires_grad = check_bool(requires_grad, "requires_grad", "Tensor()")
        self.grad = None
        self._parents = ()
        self._op = ""
        self._backward = no_backward

    @staticmethod
    def _result(data, parents: tuple, op: str) -> Tensor:
        """The result of operation ``op`` on ``parents``; remembers them if it needs a gradient."""
        out = Tensor.__new__(Tensor)
        out.data = np.asarray(data)
        out.requires_grad = any(p.requires_grad for p in parents)
        out.grad = None
        out._parents = parents if out.requires_grad else ()
        out._op = op
        out._backward = no_backward
        return out

    def _lift(self, other, op: str) -> Tensor:
        """``other`` as a constant Tensor (a Python number in this tensor's dtype)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, numbers.Real) and not isinstance(other, (bool, np.bool_)):
            return Tensor(np.asarray(other, dtype=self.dtype))
        return Tensor(_as_float_array(other, "the other operand", op))

    # ----------------------------------------------------------------------------- basics
    @property
    def shape(self) -> tuple:
        """The shape of :attr:`data`."""
        return self.data.shape

    ndim = property(lambda self: self.data.ndim, doc="The rank of :attr:`data`.")
    dtype = property(lambda self: self.data.dtype, doc="The dtype of :attr:`data`.")

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        return self.data.item()

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (:attr:`grad` becomes None), before a new backward."""
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        dtype = "" if self.dtype == np.float64 else f", dtype={self.dtype}"
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}{dtype}{grad})"

    # ------------------------------------------------------------------------ arithmetic
    def __add__(self, other) -> Tensor:
        r"""Elementwise sum ``a + b``, with NumPy's broadcasting.

        Forward :math:`c = a + b`; backward :math:`\bar a = \bar c`, :math:`\bar b = \bar c`,
        each summed over the axes it was broadcast along. ``c`` has the broadcast shape.
        """
        other = self._lift(other, "add")
        check_broadcast("add", self, other)
        out = Tensor._result(self.data + other.data, (self, other), "add")

        def _backward():
            accumulate(self, out.grad)
            accumulate(other, out.grad)
        out._backward = _backward
        return out

    def __sub__(self, other) -> Tensor:
        r"""Elementwise difference ``a - b``, with broadcasting.

        Forward :math:`c = a - b`; backward :math:`\bar a = \bar c`, :math:`\bar b = -\bar c`.
        """
        other = self._lift(other, "subtract")
        check_broadcast("subtract", self, other)
        out = Tensor._result(self.data - other.data, (self, other), "subtract")

        def _backward():
            accumulate(self, out.grad)
            accumulate(other, -out.grad)
        out._backward = _backward
        return out

    def __mul__(self, other) -> Tensor:
        r"""Elementwise product ``a * b``, with broadcasting.

        Forward :math:`c = a \odot b`; backward :math:`\bar a = \bar c \odot b`,
        :math:`\bar b = \bar c \odot a`.
        """
        other = self._lift(other, "multiply")
        check_broadcast("multiply", self, other)
        out = Tensor._result(self.data * other.data, (self, other), "multiply")

        def _backward():
            accumulate(self, out.grad * other.data)
            accumulate(other, out.grad * self.data)
        out._backward = _backward
        return out

    def __truediv__(self, other) -> Tensor:
        r"""Elementwise quotient ``a / b``, with broadcasting.

        Forward :math:`c = a / b`; backward :math:`\bar a = \bar c / b`,
        :math:`\bar b = -\bar c \odot a / b^2`. Division by zero follows NumPy (inf, NaN).
        """
        other = self._lift(other, "divide")
        check_broadcast("divide", self, other)
        out = Tensor._result(self.data / other.data, (self, other), "divide")

        def _backward():
            accumulate(self, out.grad / other.data)
            accumulate(other, -out.grad * self.data / other.data**2)
        out._backward = _backward
        return out

    def __pow__(self, other) -> Tensor:
        r"""Elementwise power ``a ** b``, with broadcasting.

        Forward :math:`c = a^b`; backward :math:`\bar a = \bar c \odot b\,a^{b-1}`,
        :math:`\bar b = \bar c \odot c \log a`. Where :math:`a \le 0`, :math:`\bar b` is taken
        as 0, as TensorFlow does (:math:`0^b` is constant in :math:`b > 0`; a negative base
        with a non-integer exponent is NaN in the forward pass, as in NumPy).
        """
        other = self._lift(other, "power")
        check_broadcast("power", self, other)
        out = Tensor._result(self.data**other.data, (self, other), "power")

        def _backward():
            a, b = self.data, other.data
            if self.requires_grad:
                accumulate(self, out.grad * b * a ** (b - 1))
            if other.requires_grad:  # log a only when needed: it is NaN for a < 0
                log_a = np.log(np.where(a > 0, a, 1))
                accumulate(other, out.grad * out.data * log_a)
        out._backward = _backward
        return out

    def __matmul__(self, other) -> Tensor:
        r"""Matrix product ``A @ B``, as NumPy's ``@``.

        Forward :math:`C = A B`; backward :math:`\bar A = \bar C B^\top`,
        :math:`\bar B = A^\top \bar C`. Shapes: ``(n, k) @ (k, m) -> (n, m)``; a vector
        ``(k,)`` on either side is a row or a column; leading batch axes broadcast (their
        gradients are summed).
        """
        other = self._lift(other, "matmul")
        try:
            data = self.data @ other.data
        except ValueError:
            raise ValueError(f"matmul: shapes {self.shape} and {other.shape} do not align"
                             ) from None
        out = Tensor._result(data, (self, other), "matmul")

        def _backward():
            # Vectors as (1, k) rows and (k, 1) columns, so that the two matrix formulas apply.
            a = self.data if self.ndim > 1 else self.data[None, :]
            b = other.data if other.ndim > 1 else other.data[:, None]
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            g = out.grad.reshape(*batch, a.shape[-2], b.shape[-1])
            da = g @ np.swapaxes(b, -1, -2)
            db = np.swapaxes(a, -1, -2) @ g
            accumulate(self, da if self.ndim > 1 else da[..., 0, :])
            accumulate(other, db if other.ndim > 1 else db[..., 0])
        out._backward = _backward
        return out

    def __neg__(self) -> Tensor:
        r"""Negation ``-a``.

        Forward :math:`c = -a`; backward :math:`\bar a = -\bar c`.
        """
        out = Tensor._result(-self.data, (self,), "negative")

        def _backward():
            accumulate(self, -out.grad)
        out._backward = _backward
        return out

    # A number or an array on the left: lift it and apply the operation in the written order.
    def __radd__(self, other) -> Tensor:
        return self._lift(other, "add") + self

    def __rsub__(self, other) -> Tensor:
        return self._lift(other, "subtract") - self

    def __rmul__(self, other) -> Tensor:
        return self._lift(other, "multiply") * self

    def __rtruediv__(self, other) -> Tensor:
        return self._lift(other, "divide") / self

    def __rpow__(self, other) -> Tensor:
        return self._lift(other, "power") ** self

    def __rmatmul__(self, other) -> Tensor:
        return self._lift(other, "matmul") @ self

    # ------------------------------------------------------------------------- reductions
    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        r"""Sum over ``axis`` (an int, a tuple of ints, or None for all axes).

        Forward :math:`c = \sum_i a_i`; backward :math:`\bar a_i = \bar c`: the gradient is
        copied back along the summed axes. ``c`` has ``data.sum(axis, keepdims=keepdims)``'s
        shape.
        """
        axes = normalise_axes(axis, self.ndim, "sum")
        keepdims = check_bool(keepdims, "keepdims", "sum")
        out = Tensor._result(self.data.sum(axis=axes, keepdims=keepdims), (self,), "sum")

        def _backward():
            g = out.grad if keepdims else np.expand_dims(out.grad, axes)
            accumulate(self, np.broadcast_to(g, self.shape))
        out._backward = _backward
        return out

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        r"""Mean over ``axis`` (an int, a tuple of ints, or None for all axes).

        Forward :math:`c = \frac{1}{m} \sum_i a_i`; backward :math:`\bar a_i = \bar c / m`,
        ``m`` the number of entries averaged; ``c`` has :meth:`sum`'s shape. Built from
        :meth:`sum` and a product, so its backward is theirs.
        """
        total = self.sum(axis, keepdims)
        return total * (total.data.size / self.data.size)

    # ------------------------------------------------------------------------ shape changes
    def reshape(self, *shape) -> Tensor:
        r"""The same entries in a new shape, as NumPy's ``reshape``.

        Called as ``reshape(2, 3)`` or ``reshape((2, 3))``; ``-1`` is allowed. Forward
        ``c = a.reshape(shape)``; backward :math:`\bar a` is :math:`\bar c` reshaped back to
        ``a``'s shape.
        """
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            data = self.data.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape shape {self.shape} into {shape}") from None
        out = Tensor._result(data, (self,), "reshape")

        def _backward():
            accumulate(self, out.grad.reshape(self.shape))
        out._backward = _backward
        return out

    def transpose(self, axes=None) -> Tensor:
        r"""Permute the axes (reverse them if ``axes`` is None), as NumPy's ``transpose``.

        Forward ``c = a.transpose(axes)``; backward :math:`\bar a` is :math:`\bar c` permuted
        back by the inverse permutation, ``argsort(axes)``.
        """
        if axes is None:
            axes = tuple(reversed(range(self.ndim)))
        else:
            axes = tuple(check_int(a, "axes", "transpose", minimum=-self.ndim,
                                   maximum=self.ndim - 1) % self.ndim for a in axes)
            if sorted(axes) != list(range(self.ndim)):
                raise ValueError(f"transpose: axes must be a permutation of "
                                 f"{tuple(range(self.ndim))} for shape {self.shape}, got {axes}")
        out = Tensor._result(self.data.transpose(axes), (self,), "transpose")

        def _backward():
            accumulate(self, out.grad.transpose(np.argsort(axes)))
        out._backward = _backward
        return out

    @property
    def T(self) -> Tensor:
        """The tensor with its axes reversed (the transpose of a matrix)."""
        return self.transpose()

    def __getitem__(self, index) -> Tensor:
        r"""Entries picked by integers, slices or integer arrays, as NumPy's ``a[index]``.

        Forward ``c = a[index]``; backward :math:`\bar a` is zero except at the picked
        entries, where :math:`\bar c` is added (an entry picked twice, as by ``a[[0, 0]]``,
        gets both). ``c`` has the shape NumPy gives ``a[index]``.
        """
        parts = index if isinstance(index, tuple) else (index,)
        if any(isinstance(part, Tensor) for part in parts):
            raise TypeError("getitem: index with integers, slices or integer arrays, not a "
                            "Tensor (use its .data)")
        out = Tensor._result(self.data[index], (self,), "getitem")

        def _backward():
            grad = np.zeros_like(self.data)
            np.add.at(grad, index, out.grad)  # unbuffered: repeated indices all add up
            accumulate(self, grad)
        out._backward = _backward
        return out

    # ------------------------------------------------------------------ elementwise functions
    def exp(self) -> Tensor:
        r"""Elementwise exponential.

        Forward :math:`c = e^a`; backward :math:`\bar a = \bar c \odot c`. Same shape.
        """
        out = Tensor._result(np.exp(self.data), (self,), "exp")

        def _backward():
            accumulate(self, out.grad * out.data)
        out._backward = _backward
        return out

    def log(self) -> Tensor:
        r"""Elementwise natural logarithm.

        Forward :math:`c = \log a`; backward :math:`\bar a = \bar c / a`. Same shape.
        NumPy's semantics, no check: ``log(0) = -inf`` and ``log(a < 0) = nan``, each with a
        NumPy RuntimeWarning (and an infinite or NaN gradient).
        """
        out = Tensor._result(np.log(self.data), (self,), "log")

        def _backward():
            accumulate(self, out.grad / self.data)
        out._backward = _backward
        return out

    def tanh(self) -> Tensor:
        r"""Elementwise hyperbolic tangent.

        Forward :math:`c = \tanh a`; backward :math:`\bar a = \bar c \odot (1 - c^2)`.
        Same shape.
        """
        out = Tensor._result(np.tanh(self.data), (self,), "tanh")

        def _backward():
            accumulate(self, out.grad * (1 - out.data**2))
        out._backward = _backward
        return out

    def sigmoid(self) -> Tensor:
        r"""Elementwise logistic sigmoid.

        Forward :math:`c = 1 / (1 + e^{-a})`; backward :math:`\bar a = \bar c \odot c \odot
        (1 - c)`. Same shape. Computed as :math:`e^{-\log(1 + e^{-a})}` with ``logaddexp``,
        which does not overflow for large negative ``a``.
        """
        out = Tensor._result(np.exp(-np.logaddexp(0, -self.data)), (self,), "sigmoid")

        def _backward():
            accumulate(self, out.grad * out.data * (1 - out.data))
        out._backward = _backward
        return out

    def relu(self) -> Tensor:
        r"""Elementwise rectified linear unit.

        Forward :math:`c = \max(a, 0)`; backward :math:`\bar a = \bar c \odot [a > 0]` (0 at
        :math:`a = 0`, as TensorFlow). Same shape.
        """
        out = Tensor._result(np.maximum(self.data, 0), (self,), "relu")

        def _backward():
            accumulate(self, out.grad * (self.data > 0))
        out._backward = _backward
        return out

    def log_softmax(self, axis: int = -1) -> Tensor:
        r"""Log of the softmax along ``axis``.

        Forward :math:`c_k = a_k - \log \sum_j e^{a_j}`; backward
        :math:`\bar a_k = \bar c_k - p_k \sum_j \bar c_j`, with :math:`p = e^{c}` the softmax.
        Stable: the log-sum-exp is computed after subtracting :math:`\max_j a_j`, so no
        exponential overflows. Same shape as the input.
        """
        axis = check_int(axis, "axis", "log_softmax", minimum=-self.ndim, maximum=self.ndim - 1)
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        data = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        out = Tensor._result(data, (self,), "log_softmax")

        def _backward():
            p = np.exp(out.data)
            accumulate(self, out.grad - p * out.grad.sum(axis=axis, keepdims=True))
        out._backward = _backward
        return out

    # ------------------------------------------------------------------------- backward
    def backward(self, grad=None) -> None:
        r"""Backpropagate: add :math:`\partial J / \partial x` into ``x.grad`` for each ``x``.

        ``J`` is this tensor; ``x`` ranges over the tensors it was computed from that require
        grad.

        Parameters
        ----------
        grad : array_like, optional
            :math:`\bar J`, the seed, of this tensor's shape. Only for a scalar (shape ``()``)
            may it be left out: it is then 1. For a non-scalar ``y``, ``y.backward(g)``
            computes the gradients of :math:`\sum y \odot g`.

        Notes
        -----
        The leaves' gradients are *added* to what they hold, so two calls give twice the
        gradient: call :meth:`zero_grad` on the leaves between training steps. Intermediate
        results are reset at each call, so that they pass on this call's gradient only.
        """
        owner = "backward()"
        if not self.requires_grad:
            raise ValueError(f"{owner}: this tensor does not require grad: none of the tensors "
                             "it was computed from was created with requires_grad=True")
        if grad is None:
            if self.ndim != 0:
                raise ValueError(f"backward() on a tensor of shape {self.shape} needs grad= of "
                                 "that shape; only a scalar's gradient defaults to 1")
            seed = np.ones_like(self.data)
        else:
            seed = check_array(grad, "grad", owner)
            if seed.shape != self.shape:
                raise ValueError(f"{owner}: grad has shape {seed.shape}, expected the tensor's "
                                 f"shape {self.shape}")
        order = topological_order(self)
        for node in order:
            # Results start from 0; leaves keep what they hold and accumulate; constants
            # (requires_grad False) keep grad None.
            if node.requires_grad and (node._parents or node.grad is None):
                node.grad = np.zeros_like(node.data)
        self.grad += seed
        for node in reversed(order):  # each result before the values it was computed from
            node._backward()
