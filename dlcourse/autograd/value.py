r"""The scalar engine: a :class:`Value` is one number that remembers how it was computed.

micrograd's design, which :class:`~dlcourse.autograd.tensor.Tensor` extends to arrays. Every
operation computes its result ``out`` and, a few lines below, its *local backward*: a closure
that, given ``out.grad`` :math:`= \partial J/\partial\,\mathrm{out}`, **adds** to each input's
``grad`` the chain rule's contribution, :math:`\partial J/\partial\,\mathrm{out} \cdot
\partial\,\mathrm{out}/\partial\,\mathrm{input}`. :meth:`Value.backward` calls these closures
from ``J`` back to the inputs, each result before the values it was computed from.

``+=``, not ``=``: a value used twice (``a + a``, ``x * x``) receives the sum of both
contributions, which is what the chain rule says when a value fans out. Pure Python.
"""

from __future__ import annotations

import math
import numbers

from dlcourse.autograd.graph import no_backward, topological_order
from dlcourse.validation import check_number

__all__ = ["Value"]


class Value:
    r"""A scalar that records the operations applied to it, so as to compute gradients.

    Parameters
    ----------
    data : float
        The number (finite).
    label : str
        A name shown by :func:`~dlcourse.autograd.drawing.draw_graph` (``"w1"``, ``"J"``).

    Attributes
    ----------
    data : float
    grad : float
        :math:`\partial J / \partial\,\mathrm{this}` after ``J.backward()``; 0 before. A value
        you created (a leaf) accumulates over calls of ``backward``: call :meth:`zero_grad`.

    Notes
    -----
    ``+ - * /`` take a Value or a number on either side; ``v ** k`` takes a number ``k``.
    """

    def __init__(self, data, label: str = ""):
        self.data = check_number(data, "data", "Value()")
        self.grad = 0.0
        self.label = str(label)
        self._parents = ()
        self._op = ""
        self._backward = no_backward

    @staticmethod
    def _result(data: float, parents: tuple, op: str) -> Value:
        """The result of operation ``op`` on ``parents``, which it remembers."""
        out = Value.__new__(Value)
        out.data, out.grad, out.label = float(data), 0.0, ""
        out._parents, out._op, out._backward = parents, op, no_backward
        return out

    @staticmethod
    def _lift(other, op: str) -> Value:
        if isinstance(other, Value):
            return other
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return Value(other)
        raise TypeError(f"Value {op}: the other operand must be a Value or a number, got "
                        f"{type(other).__name__} {other!r}")

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    def zero_grad(self) -> None:
        """Set :attr:`grad` to 0, before a new ``backward``."""
        self.grad = 0.0

    # ------------------------------------------------------------------- the operations
    def __add__(self, other) -> Value:
        """``a + b``: local derivatives 1 and 1."""
        other = Value._lift(other, "+")
        out = Value._result(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __sub__(self, other) -> Value:
        """``a - b``: local derivatives 1 and -1."""
        other = Value._lift(other, "-")
        out = Value._result(self.data - other.data, (self, other), "-")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = _backward
        return out

    def __mul__(self, other) -> Value:
        """``a * b``: local derivatives b and a."""
        other = Value._lift(other, "*")
        out = Value._result(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k) -> Value:
        """``a ** k`` for a number ``k``: local derivative k a^(k-1)."""
        k = check_number(k, "the exponent", "Value **")
        out = Value._result(self.data**k, (self,), f"**{k:g}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other) -> Value:
        """``a / b``, as ``a * b**-1``."""
        return self * Value._lift(other, "/") ** -1

    def __neg__(self) -> Value:
        return self * -1

    def __radd__(self, other) -> Value:
        return Value._lift(other, "+") + self

    def __rsub__(self, other) -> Value:
        return Value._lift(other, "-") - self

    def __rmul__(self, other) -> Value:
        return Value._lift(other, "*") * self

    def __rtruediv__(self, other) -> Value:
        return Value._lift(other, "/") / self

    def exp(self) -> Value:
        """``e^a``: local derivative e^a, the result itself."""
        out = Value._result(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self) -> Value:
        """``log a`` for a > 0: local derivative 1/a."""
        if self.data <= 0:
            raise ValueError(f"Value log: the argument must be > 0, got {self.data!r}")
        out = Value._result(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self) -> Value:
        """``tanh a``: local derivative 1 - tanh² a."""
        out = Value._result(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - out.data**2) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        """``σ(a) = 1 / (1 + e^-a)``: local derivative σ(a) (1 - σ(a))."""
        z = math.exp(-abs(self.data))  # never overflows
        s = 1 / (1 + z) if self.data >= 0 else z / (1 + z)
        out = Value._result(s, (self,), "sigmoid")

        def _backward():
            self.grad += out.data * (1 - out.data) * out.grad
        out._backward = _backward
        return out

    def relu(self) -> Value:
        """``max(a, 0)``: local derivative 1 where a > 0, else 0 (0 at the kink, as TensorFlow)."""
        out = Value._result(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    # ---------------------------------------------------------------------- backward
    def backward(self) -> None:
        """Backpropagate from this value ``J``: add ∂J/∂v into ``v.grad`` for every ``v``.

        ``J``'s own gradient is 1; then each result, before the values it was computed from,
        passes its gradient on with its local backward. Results start from 0 at each call;
        the leaves (the values you created) accumulate.
        """
        order = topological_order(self)
        for node in order:
            if node._parents:
                node.grad = 0.0
        self.grad += 1.0
        for node in reversed(order):  # each result before the values it was computed from
            node._backward()
