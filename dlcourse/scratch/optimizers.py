"""Optimizers with Keras 3's update rules, defaults and gradient clipping, on NumPy arrays.

Used exactly as Keras's::

    optimizer = Adam(learning_rate=1e-3)
    optimizer.apply_gradients(zip(grads, weights))   # e.g. layer.grads[k], layer.params[k]

Each weight array is updated **in place** (``w -= ...``), so the layer that owns it sees the new
values without being told. The optimizer's state (momentum, velocity, ...) is kept per weight array
under Keras's slot names, created as zeros the first time the array is seen; ``iterations`` counts
the calls to ``apply_gradients``, as Keras's ``optimizer.iterations``.

One step does, as Keras does:

1. clip the gradients, if asked: ``clipnorm`` rescales each gradient array whose L2 norm exceeds
   it, ``global_clipnorm`` rescales all of them together when their joint norm exceeds it,
   ``clipvalue`` clips every entry to ``[−clipvalue, clipvalue]`` (at most one of the three);
2. update every weight with its (clipped) gradient;
3. ``iterations += 1``.

A penalty such as L2 is not the optimizer's business: its gradient is added to the weight's
gradient before ``apply_gradients`` (``layer.add_regularization_grads()``), as Keras adds the
penalty to the loss.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dlcourse.validation import check_bool, check_number

__all__ = ["SGD", "Adam", "Optimizer", "RMSprop", "get"]


def _keras_cast(value: float) -> float:
    """A Python-float hyperparameter rounded to float32, as Keras 3 uses it in some formulas.

    Keras's TensorFlow backend writes ``ops.cast(self.momentum, variable.dtype)``, and
    ``tf.cast`` turns a Python float into a float32 tensor before casting it, so SGD's momentum
    0.9 becomes 0.89999997615814 even for float64 weights (likewise Adam's β₁, β₂ in the bias
    correction). Rounding the same way keeps the trajectories equal to Keras's to rounding error;
    otherwise Adam's first steps differ by about 7e-6 relative.
    """
    return float(np.float32(value))


class _Slots(NamedTuple):
    weight: np.ndarray        # held so that its id() cannot be reused by another array
    state: dict[str, np.ndarray]


class Optimizer:
    """Base class: validation, clipping, per-weight state and the step counter.

    Subclasses implement ``_active_slots()``, Keras's names of the state arrays they keep per
    weight, and ``_update(g, w, state)``: the update rule written as its formula, which changes
    ``w`` and the ``state`` arrays in place (``w -= ...``, ``v[...] = ...``), so that the layer's
    own arrays, and the slots :meth:`get_state` returns, are the ones updated.

    Parameters
    ----------
    learning_rate : float > 0
        The step size ``η``.
    clipnorm : float > 0, optional
        Rescale each gradient array ``g`` to ``g · clipnorm / max(‖g‖₂, clipnorm)``.
    clipvalue : float > 0, optional
        Clip each gradient entry to ``[−clipvalue, clipvalue]``.
    global_clipnorm : float > 0, optional
        Rescale all gradients by ``global_clipnorm / max(‖(g₁, …, g_n)‖₂, global_clipnorm)``.

    Attributes
    ----------
    iterations : int
        Number of completed ``apply_gradients`` calls (Keras's ``optimizer.iterations``).
    """

    def __init__(self, learning_rate: float, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None):
        owner = type(self).__name__
        self.learning_rate = learning_rate
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        given = [name for name, value in clips.items() if value is not None]
        if len(given) > 1:
            raise ValueError(f"{owner}: only one of clipnorm, clipvalue and global_clipnorm can be "
                             f"set, got {', '.join(f'{n}={clips[n]!r}' for n in given)}")
        self.clipnorm, self.clipvalue, self.global_clipnorm = (
            None if value is None else check_number(value, name, owner, 0, low_open=True)
            for name, value in clips.items())
        self.iterations = 0
        self._slots: dict[int, _Slots] = {}

    @property
    def learning_rate(self) -> float:
        """The step size; may be changed between steps (e.g. by a schedule)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = check_number(value, "learning_rate", type(self).__name__, 0,
                                           low_open=True)

    def get_config(self) -> dict:
        """The hyperparameters, under Keras's names."""
        return {"learning_rate": self.learning_rate, "clipnorm": self.clipnorm,
                "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------------- the step
    def apply_gradients(self, grads_and_vars) -> int:
        """Update each weight in place from its gradient; return :attr:`iterations`.

        Parameters
        ----------
        grads_and_vars : iterable of (ndarray, ndarray)
            ``(gradient, weight)`` pairs, e.g. ``zip(grads, weights)``; each gradient has its
            weight's shape and dtype, and each weight is the layer's own array (not a copy).

        Returns
        -------
        int
            The number of steps taken so far, this one included.
        """
        pairs = list(grads_and_vars)
        if not pairs:
            raise ValueError(f"{type(self).__name__}: apply_gradients() got no "
                             "(gradient, weight) pairs")
        grads, weights = self._check(pairs)
        grads = self._clip(grads)
        for grad, weight in zip(grads, weights, strict=True):
            slots = self._slots.get(id(weight))
            if slots is None:
                slots = self._slots[id(weight)] = _Slots(
                    weight, {name: np.zeros_like(weight) for name in self._active_slots()})
            self._update(grad, weight, slots.state)
        self.iterations += 1
        return self.iterations

    def get_state(self, weight: np.ndarray) -> dict[str, np.ndarray]:
        """The state arrays of ``weight`` (e.g. Adam's ``momentum`` and ``velocity``).

        Parameters
        ----------
        weight : ndarray
            A weight array already passed to :meth:`apply_gradients`.

        Returns
        -------
        dict[str, ndarray]
            The live state arrays by Keras's slot names, each of ``weight``'s shape and dtype.
        """
        slots = self._slots.get(id(weight))
        if slots is None or slots.weight is not weight:
            raise ValueError(f"{type(self).__name__}: no state for this array; it has not been "
                             "passed to apply_gradients() yet")
        return slots.state

    def _active_slots(self) -> tuple[str, ...]:
        raise NotImplementedError  # every concrete optimizer overrides it

    def _update(self, g: np.ndarray, w: np.ndarray, state: dict) -> None:
        raise NotImplementedError  # every concrete optimizer overrides it

    # ------------------------------------------------------------------------- checks, clipping
    def _check(self, pairs) -> tuple[list[np.ndarray], list[np.ndarray]]:
        owner = type(self).__name__
        grads, weights, seen = [], [], set()
        for i, pair in enumerate(pairs):
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise TypeError(f"{owner}: apply_gradients() expects (gradient, weight) pairs, "
                                f"e.g. zip(grads, weights); item {i} is {type(pair).__name__}")
            grad, weight = pair
            if not isinstance(weight, np.ndarray):
                raise TypeError(f"{owner}: weight {i} must be the NumPy array to update in place, "
                                f"got {type(weight).__name__}")
            if not np.issubdtype(weight.dtype, np.floating):
                raise TypeError(f"{owner}: weight {i} must be a floating-point array, "
                                f"got dtype {weight.dtype}")
            if not weight.flags.writeable:
                raise ValueError(f"{owner}: weight {i} is read-only and cannot be updated in place")
            if id(weight) in seen:
                raise ValueError(f"{owner}: weight {i} appears twice in the same step; "
                                 "sum its gradients first")
            seen.add(id(weight))
            grad = np.asarray(grad)
            if grad.shape != weight.shape:
                raise ValueError(f"{owner}: gradient {i} has shape {grad.shape}, expected "
                                 f"{weight.shape}, the shape of weight {i}")
            if grad.dtype != weight.dtype:
                raise ValueError(f"{owner}: gradient {i} has dtype {grad.dtype}, expected "
                                 f"{weight.dtype}, the dtype of weight {i}")
            grads.append(grad)
            weights.append(weight)
        return grads, weights

    def _clip(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        # The callers' gradient arrays are never modified: a clipped gradient is a new array.
        if self.clipnorm is not None:
            return [_rescale(g, self.clipnorm, _norm(g)) for g in grads]
        if self.global_clipnorm is not None:
            total = math.sqrt(sum(_norm(g) ** 2 for g in grads))
            return [_rescale(g, self.global_clipnorm, total) for g in grads]
        if self.clipvalue is not None:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads


def _norm(g: np.ndarray) -> float:
    # vdot sums g·g without materialising g**2.
    return math.sqrt(float(np.vdot(g, g)))


def _rescale(g: np.ndarray, limit: float, norm: float) -> np.ndarray:
    """``g · limit / max(norm, limit)``: unchanged below the limit, else shrunk to that norm."""
    return g if norm <= limit else g * (limit / norm)


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional (Nesterov) momentum: Keras's ``SGD``.

    Parameters
    ----------
    learning_rate : float > 0
        Keras's default 0.01.
    momentum : float in [0, 1]
        0 gives plain gradient descent.
    nesterov : bool
        Look ahead along the velocity (Nesterov momentum).
    clipnorm, clipvalue, global_clipnorm : float > 0, optional
        See :class:`Optimizer`.

    Notes
    -----
    With learning rate ``η`` and momentum ``μ``, Keras 3 keeps a velocity ``v`` (slot
    ``"momentum"``, zero at first) and steps

    .. math::

        v \leftarrow \mu v - \eta g, \qquad
        w \leftarrow w + v \quad\text{or, Nesterov,}\quad w \leftarrow w + \mu v - \eta g.

    Without momentum, ``w ← w − η g``. As in Keras, ``μ`` is used rounded to float32.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None):
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm)
        self.momentum = check_number(momentum, "momentum", "SGD", 0, 1)
        self.nesterov = check_bool(nesterov, "nesterov", "SGD")

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}

    def _active_slots(self):
        return ("momentum",) if self.momentum else ()

    def _update(self, g, w, state):
        if not self.momentum:
            w -= self.learning_rate * g                 # θ ← θ − η g
            return
        momentum = _keras_cast(self.momentum)
        v = state["momentum"]
        v[...] = momentum * v - self.learning_rate * g  # v ← μ v − η g
        if self.nesterov:
            w += momentum * v - self.learning_rate * g  # w ← w + μ v − η g
        else:
            w += v                                      # w ← w + v


class RMSprop(Optimizer):
    r"""RMSprop: scale each step by a running root-mean-square of the gradient; Keras's ``RMSprop``.

    Parameters
    ----------
    learning_rate : float > 0
        Keras's default 0.001.
    rho : float in [0, 1)
        Decay of the running average of ``g²``.
    momentum : float in [0, 1]
        Momentum applied to the scaled steps (0: none).
    epsilon : float > 0
        Added under the square root (Keras's default 1e-7).
    centered : bool
        Divide by the running standard deviation (``g²`` average minus squared ``g`` average)
        instead of the root mean square.
    clipnorm, clipvalue, global_clipnorm : float > 0, optional
        See :class:`Optimizer`.

    Notes
    -----
    Slots ``velocity`` (``s``), ``average_gradient`` (``ḡ``, if centered), ``momentum`` (``m``,
    if momentum > 0), all zero at first:

    .. math::

        s \leftarrow \rho s + (1 - \rho) g^2, \qquad
        \bar g \leftarrow \rho \bar g + (1 - \rho) g, \qquad
        \Delta = \frac{\eta g}{\sqrt{s - \bar g^2 + \varepsilon}}
        \ \Big(\text{not centered: } \frac{\eta g}{\sqrt{s + \varepsilon}}\Big),

    then ``m ← μ m + Δ; w ← w − m``, or ``w ← w − Δ`` without momentum. Keras adds ε inside the
    square root (Adam adds it outside).
    """

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None):
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm)
        self.rho = check_number(rho, "rho", "RMSprop", 0, 1, high_open=True)
        self.momentum = check_number(momentum, "momentum", "RMSprop", 0, 1)
        self.epsilon = check_number(epsilon, "epsilon", "RMSprop", 0, low_open=True)
        self.centered = check_bool(centered, "centered", "RMSprop")

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}

    def _active_slots(self):
        return (("velocity",) + (("average_gradient",) if self.centered else ())
                + (("momentum",) if self.momentum else ()))

    def _update(self, g, w, state):
        rho = self.rho
        s = state["velocity"]
        s[...] = rho * s + (1 - rho) * g**2                      # s ← ρ s + (1 − ρ) g²
        if self.centered:
            avg = state["average_gradient"]
            avg[...] = rho * avg + (1 - rho) * g                 # ḡ ← ρ ḡ + (1 − ρ) g
            denominator = s - avg**2 + self.epsilon
        else:
            denominator = s + self.epsilon
        step = self.learning_rate * g / np.sqrt(denominator)     # Δ = η g / √(s + ε)
        if self.momentum:
            m = state["momentum"]
            m[...] = self.momentum * m + step                    # m ← μ m + Δ
            w -= m
        else:
            w -= step


class Adam(Optimizer):
    r"""Adam: momentum on the gradient, RMSprop-style scaling, bias-corrected; Keras's ``Adam``.

    Parameters
    ----------
    learning_rate : float > 0
        Keras's default 0.001.
    beta_1, beta_2 : float in [0, 1)
        Decay rates of the first-moment (momentum) and second-moment (velocity) averages.
    epsilon : float > 0
        Added to ``sqrt(v)`` (Keras's default 1e-7).
    amsgrad : bool
        Divide by the largest second moment seen so far (slot ``velocity_hat``), so steps never
        grow because the velocity shrank.
    clipnorm, clipvalue, global_clipnorm : float > 0, optional
        See :class:`Optimizer`.

    Notes
    -----
    Slots ``momentum`` (``m``) and ``velocity`` (``v``), zero at first. At step
    ``t = iterations + 1`` (1 on the first call):

    .. math::

        m \leftarrow m + (1 - \beta_1)(g - m), \qquad
        v \leftarrow v + (1 - \beta_2)(g^2 - v), \qquad
        w \leftarrow w - \alpha_t \frac{m}{\sqrt{v} + \varepsilon}, \quad
        \alpha_t = \eta \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}.

    This is the "efficient" form of Kingma & Ba (section 2): the bias corrections
    ``m̂ = m / (1 − β₁ᵗ)``, ``v̂ = v / (1 − β₂ᵗ)`` are folded into ``α_t``, so ε is effectively
    ``ε √(1 − β₂ᵗ)`` in the paper's ``m̂ / (√v̂ + ε)``. With amsgrad, ``v`` in the step is
    replaced by ``v̂_max ← max(v̂_max, v)``. As in Keras, ``β₁ᵗ`` and ``β₂ᵗ`` are computed from
    ``β₁`` and ``β₂`` rounded to float32 (the moving averages use them unrounded).
    """

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None):
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm)
        self.beta_1 = check_number(beta_1, "beta_1", "Adam", 0, 1, high_open=True)
        self.beta_2 = check_number(beta_2, "beta_2", "Adam", 0, 1, high_open=True)
        self.epsilon = check_number(epsilon, "epsilon", "Adam", 0, low_open=True)
        self.amsgrad = check_bool(amsgrad, "amsgrad", "Adam")

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}

    def _active_slots(self):
        return ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def _update(self, g, w, state):
        t = self.iterations + 1
        beta_1_power = _keras_cast(self.beta_1) ** t
        beta_2_power = _keras_cast(self.beta_2) ** t
        alpha = self.learning_rate * math.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m, v = state["momentum"], state["velocity"]
        m += (1 - self.beta_1) * (g - m)                          # m ← m + (1 − β₁)(g − m)
        v += (1 - self.beta_2) * (g**2 - v)                       # v ← v + (1 − β₂)(g² − v)
        if self.amsgrad:
            v = state["velocity_hat"]
            v[...] = np.maximum(v, state["velocity"])             # v̂_max ← max(v̂_max, v)
        w -= alpha * m / (np.sqrt(v) + self.epsilon)              # w ← w − α_t m / (√v + ε)


_OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


def get(identifier) -> Optimizer:
    """An optimizer from an instance (returned as is) or a Keras name with Keras's defaults.

    Parameters
    ----------
    identifier : Optimizer or str
        ``"sgd"``, ``"rmsprop"`` or ``"adam"`` (any case, as Keras).

    Returns
    -------
    Optimizer

    Raises
    ------
    ValueError
        For any other identifier.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _OPTIMIZERS:
        return _OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"optimizers.get(): unknown optimizer {identifier!r}; expected one of "
                     f"{sorted(_OPTIMIZERS)} or an instance of SGD, RMSprop or Adam")
