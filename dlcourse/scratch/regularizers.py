"""Weight penalties (``kernel_regularizer``), computed as Keras computes them.

A layer's penalty is added to the loss that training minimises, and its gradient to the weight's
gradient:

- L2: ``Ω(W) = λ Σ W²``,  ``∂Ω/∂W = 2 λ W``   (Keras's ``L2(l2=0.01)``; no factor 1/2)
- L1: ``Ω(W) = λ Σ |W|``, ``∂Ω/∂W = λ sign(W)`` (Keras's ``L1(l1=0.01)``)
- L1L2: the sum of both.
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch.registry import regularized_weight
from dlcourse.validation import check_number

__all__ = ["L1", "L1L2", "L2", "PenaltyArgument", "Regularizer", "get"]


class Regularizer:
    """A penalty ``Ω(W)``: ``reg(W)`` is its value, ``reg.gradient(W)`` is ``∂Ω/∂W``."""

    def __call__(self, w: np.ndarray) -> float:
        raise NotImplementedError  # every concrete regularizer overrides it

    def gradient(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError  # every concrete regularizer overrides it


class L1L2(Regularizer):
    """``Ω(W) = l1 Σ |W| + l2 Σ W²``; the default (0, 0) penalises nothing, as in Keras."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = check_number(l1, "l1", type(self).__name__, low=0)
        self.l2 = check_number(l2, "l2", type(self).__name__, low=0)

    # Keras stores l1 and l2 as float32 (0.01 becomes 0.0099999998); so do we, so that penalties
    # agree with Keras's to rounding error rather than to 1e-8.
    def __call__(self, w):
        w = np.asarray(w)
        l1, l2 = float(np.float32(self.l1)), float(np.float32(self.l2))
        return float(l1 * np.sum(np.abs(w)) + l2 * np.sum(np.square(w)))

    def gradient(self, w):
        w = np.asarray(w)
        l1, l2 = float(np.float32(self.l1)), float(np.float32(self.l2))
        return l1 * np.sign(w) + 2.0 * l2 * w

    def get_config(self) -> dict:
        """The factors, as Keras's ``L1L2.get_config()``: ``{"l1": ..., "l2": ...}``."""
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1:g}, l2={self.l2:g})"


class L1(L1L2):
    """``Ω(W) = l1 Σ |W|`` (Keras default ``l1=0.01``): drives weights to exactly zero."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1, l2=0.0)

    def get_config(self) -> dict:
        return {"l1": self.l1}

    def __repr__(self):
        return f"L1(l1={self.l1:g})"


class L2(L1L2):
    """``Ω(W) = l2 Σ W²`` (Keras default ``l2=0.01``): shrinks all weights towards zero."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l1=0.0, l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}

    def __repr__(self):
        return f"L2(l2={self.l2:g})"


def get(identifier, owner: str = "regularizer",
        argument: str | None = None) -> Regularizer | None:
    """``None``, a :class:`Regularizer`, or a Keras 3 name: ``"l1"``, ``"l2"`` (factor 0.01).

    ``owner`` prefixes the error, e.g. ``"Dense 'dense_1'"``; ``argument`` is the argument that
    received ``identifier`` (e.g. ``"kernel_regularizer"``), named in the error too.
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    named = {"l1": L1, "l2": L2}
    if isinstance(identifier, str) and identifier in named:
        return named[identifier]()
    where = f" for {argument}" if argument else ""
    raise ValueError(f"{owner}: unknown regularizer {identifier!r}{where}; expected None, 'l1', "
                     "'l2' or an instance of L1, L2 or L1L2 (e.g. L1L2(l1=0.01, l2=0.01))")


class PenaltyArgument:
    """A layer's ``*_regularizer`` attribute, kept in ``layer.regularizers`` and nowhere else.

    Declared on the class (``kernel_regularizer = PenaltyArgument()``), it reads and writes the
    entry of the weight it penalises (``kernel_regularizer`` → ``regularizers["kernel"]``,
    ``recurrent_regularizer`` → ``regularizers["recurrent_kernel"]``), which is what the model
    adds to the loss: setting the attribute to None removes the penalty, and a value is checked
    as the constructor checks it.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.argument = name
        self.weight = regularized_weight(name)

    def __get__(self, layer, owner: type | None = None):
        if layer is None:
            return self
        return layer.regularizers.get(self.weight)

    def __set__(self, layer, value) -> None:
        value = get(value, repr(layer), self.argument)
        if value is None:
            layer.regularizers.pop(self.weight, None)
        else:
            layer.regularizers[self.weight] = value
