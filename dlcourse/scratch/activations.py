"""Activation functions, each beside its derivative.

For an activation ``a = f(z)`` applied elementwise, backpropagation needs
``dJ/dz = dJ/da * f'(z)``. Softmax is not elementwise (every output depends on every input of its
row), so its backward rule multiplies by the Jacobian instead:
``dJ/dz = a * (dJ/da - sum(dJ/da * a))``, the sum over the last axis.

A layer that keeps only the output ``a = f(z)`` (backpropagation through time keeps the hidden
states ``h = f(z)``, not ``z``) needs the same derivative written in terms of ``a``:
``σ'(z) = a (1 − a)``, ``tanh'(z) = 1 − a²``, ``relu'(z) = [a > 0]``; each ``*_derivative`` has
its ``*_derivative_from_output`` twin beside it.

Every activation is available by its Keras name through :func:`get`, which returns an
:class:`ActivationFunction` with ``forward(z)``, ``backward(z, a, grad_a)`` and
``backward_from_output(a, grad_a)``: this module's table is the only one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ActivationFunction", "get", "linear", "linear_derivative", "linear_derivative_from_output",
    "names", "relu", "relu_derivative", "relu_derivative_from_output", "sigmoid",
    "sigmoid_derivative", "sigmoid_derivative_from_output", "softmax", "softmax_backward", "tanh",
    "tanh_derivative", "tanh_derivative_from_output",
]


def sigmoid(z):
    """``σ(z) = 1 / (1 + e^{-z})``, computed without overflow for large ``|z|``."""
    z = np.asarray(z)
    out = np.empty_like(z, dtype=np.result_type(z, np.float32))
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def sigmoid_derivative(z):
    """``σ'(z) = σ(z) (1 − σ(z))``: at most 1/4, at ``z = 0``, and close to 0 for large ``|z|``."""
    s = sigmoid(z)
    return s * (1.0 - s)


def sigmoid_derivative_from_output(a):
    """``σ'(z) = a (1 − a)`` from the output ``a = σ(z)``."""
    return a * (1.0 - a)


def tanh(z):
    """``tanh(z) = (e^z − e^{-z}) / (e^z + e^{-z})``, in (−1, 1) and centred on 0."""
    return np.tanh(z)


def tanh_derivative(z):
    """``tanh'(z) = 1 − tanh(z)²``: at most 1, at ``z = 0``."""
    return 1.0 - np.tanh(z) ** 2


def tanh_derivative_from_output(a):
    """``tanh'(z) = 1 − a²`` from the output ``a = tanh(z)``."""
    return 1.0 - a * a


def relu(z):
    """``relu(z) = max(0, z)``."""
    return np.maximum(z, 0)


def relu_derivative(z):
    """``relu'(z) = 1`` for ``z > 0`` and 0 otherwise (0 at ``z = 0``, as TensorFlow)."""
    z = np.asarray(z)
    return (z > 0).astype(np.result_type(z, np.float32))


def relu_derivative_from_output(a):
    """``relu'(z) = [a > 0]`` from the output ``a = relu(z)`` (``a > 0`` exactly when ``z > 0``)."""
    return (a > 0).astype(a.dtype)


def linear(z):
    """The identity ``f(z) = z`` (Keras's ``activation=None``)."""
    return np.asarray(z)


def linear_derivative(z):
    """``f'(z) = 1``."""
    z = np.asarray(z)
    return np.ones_like(z, dtype=np.result_type(z, np.float32))


def linear_derivative_from_output(a):
    """``f'(z) = 1``, in the output's dtype."""
    return np.ones_like(a)


def softmax(z, axis: int = -1):
    """``softmax(z)_k = e^{z_k} / Σ_j e^{z_j}`` over ``axis``; shifted by the max for stability."""
    z = np.asarray(z)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(a, grad_a, axis: int = -1):
    """``dJ/dz = a ⊙ (dJ/da − Σ_k (dJ/da)_k a_k)`` for ``a = softmax(z)``."""
    return a * (grad_a - np.sum(grad_a * a, axis=axis, keepdims=True))


@dataclass(frozen=True)
class ActivationFunction:
    """An activation by name: ``forward(z) -> a`` and ``backward(z, a, grad_a) -> grad_z``.

    ``derivative(z)`` is ``f'(z)`` for the elementwise activations (None for softmax, whose
    derivative is a Jacobian); ``derivative_from_output(a)`` is the same ``f'(z)`` computed from
    ``a = f(z)`` alone (None when ``a`` does not determine it, and for softmax).
    """

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray] | None
    derivative_from_output: Callable[[np.ndarray], np.ndarray] | None = None

    def backward(self, z, a, grad_a):
        """``dJ/dz = dJ/da ⊙ f'(z)`` (softmax: its Jacobian product, from ``a``)."""
        if self.derivative is None:  # softmax
            return softmax_backward(a, grad_a)
        return grad_a * self.derivative(z)

    def backward_from_output(self, a, grad_a):
        """``dJ/dz`` from ``a = f(z)`` and ``dJ/da``, without ``z`` (what BPTT keeps).

        Raises ValueError for an elementwise activation without ``derivative_from_output``.
        """
        if self.derivative is None:  # softmax: its Jacobian needs only a
            return softmax_backward(a, grad_a)
        if self.derivative_from_output is None:
            raise ValueError(f"activation {self.name!r} has no derivative in terms of its output")
        return grad_a * self.derivative_from_output(a)


_ACTIVATIONS = {
    "linear": ActivationFunction("linear", linear, linear_derivative,
                                 linear_derivative_from_output),
    "sigmoid": ActivationFunction("sigmoid", sigmoid, sigmoid_derivative,
                                  sigmoid_derivative_from_output),
    "tanh": ActivationFunction("tanh", tanh, tanh_derivative, tanh_derivative_from_output),
    "relu": ActivationFunction("relu", relu, relu_derivative, relu_derivative_from_output),
    "softmax": ActivationFunction("softmax", softmax, None),
}


def names() -> list[str]:
    """The Keras names accepted by :func:`get`."""
    return sorted(_ACTIVATIONS)


def get(name: str | None, owner: str = "activation",
        argument: str | None = None) -> ActivationFunction:
    """The activation called ``name`` in Keras (``None`` means ``"linear"``, as in Keras).

    ``owner`` prefixes the error message, e.g. ``"Dense 'dense_1'"``; ``argument`` (e.g.
    ``"recurrent_activation"``), if given, is named in it too.
    """
    if name is None:
        name = "linear"
    if isinstance(name, ActivationFunction):
        return name
    if not isinstance(name, str) or name not in _ACTIVATIONS:
        where = f" for {argument}" if argument else ""
        raise ValueError(f"{owner}: unknown activation {name!r}{where}; expected one of "
                         f"{names()} or None")
    return _ACTIVATIONS[name]
