"""The core layers: ``Dense``, ``Activation``, ``Dropout`` and ``Flatten``, as in Keras.

Each layer computes its output in ``call`` and, a few lines below, the gradient of that output
in ``call_backward``; the checks and the weight bookkeeping live in
:class:`~dlcourse.scratch.Layer`.
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch import activations, initializers, regularizers
from dlcourse.scratch.base import Layer, get_rng, register_layer
from dlcourse.validation import check_bool, check_int, check_number

__all__ = ["Activation", "Dense", "Dropout", "Flatten"]


class _AnyRankLayer(Layer):
    """A layer that takes inputs of rank :attr:`min_rank` or more (the base checks exact ranks)."""

    min_rank: int = 1

    def _check_input_shape(self, shape: tuple) -> None:
        if len(shape) < self.min_rank:
            raise ValueError(self.error_message(
                f"expected input of rank {self.min_rank} or more {self.input_layout}, "
                f"got shape {shape}"))


@register_layer
class Dense(_AnyRankLayer):
    r"""Fully connected layer: ``y = f(x @ kernel + bias)``, Keras's ``Dense``.

    Parameters
    ----------
    units : int
        Number of outputs ``n_out``.
    activation : str or None
        Keras name of ``f`` (``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"softmax"``, ...);
        ``None`` is the identity.
    use_bias : bool
        Whether to add ``bias``.
    kernel_initializer, bias_initializer : str or callable
        Keras initializer names, or ``f(shape, rng, dtype)``.
    kernel_regularizer : None, str or Regularizer
        Penalty on the kernel (``"l2"``, ``L2(0.01)``, ...), added to the loss by the model.
    name : str, optional
        The layer's name, used in error messages.
    seed : int, optional
        Seed of the weight initialisation.
    dtype : str or numpy dtype, optional
        The floating-point dtype it computes in; by default its first input's.

    Attributes
    ----------
    params : dict
        ``kernel`` of shape ``(n_in, units) and ``bias`` of shape ``(units,)``, as in Keras.

    Notes
    -----
    For a batch ``X`` of shape ``(N, n_in)``, with ``Z = X W + b`` and ``Y = f(Z)``:

    .. math::

        \frac{\partial J}{\partial Z} = \frac{\partial J}{\partial Y} \odot f'(Z), \quad
        \frac{\partial J}{\partial W} = X^\top \frac{\partial J}{\partial Z}, \quad
        \frac{\partial J}{\partial b} = \sum_{n} \frac{\partial J}{\partial Z_{n}}, \quad
        \frac{\partial J}{\partial X} = \frac{\partial J}{\partial Z} W^\top.

    The gradients are summed over the batch, not averaged: the loss already divides by ``N``.
    An input of rank 3 or more, ``(batch, ..., n_in)``, is treated as Keras does: every axis but
    the last is a batch axis.
    """

    masking = "pass"  # as Keras (supports_masking): applied to each step alike

    weight_names = ("kernel", "bias")
    kernel_regularizer = regularizers.PenaltyArgument()
    min_rank = 2
    input_layout = "(batch, ..., features)"

    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, name: str | None = None, seed: int | None = None,
                 dtype=None):
        owner = self._owner(name)
        units = check_int(units, "units", owner, minimum=1)
        activation = activations.get(activation, owner=owner)
        use_bias = check_bool(use_bias, "use_bias", owner)
        kernel_initializer = initializers.get(kernel_initializer, owner, "kernel_initializer")
        bias_initializer = initializers.get(bias_initializer, owner, "bias_initializer")
        kernel_regularizer = regularizers.get(kernel_regularizer, owner, "kernel_regularizer")
        super().__init__(name=name, seed=seed, dtype=dtype)
        self.units = units
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer

    def build(self, input_shape: tuple) -> None:
        """Create ``kernel`` (n_in, units) and ``bias`` (units,), ``n_in = input_shape[-1]``."""
        n_in = input_shape[-1]
        rng = get_rng(self.seed)
        self._initial_weight("kernel", self.kernel_initializer, "kernel_initializer",
                             (n_in, self.units), rng)
        if self.use_bias:
            self._initial_weight("bias", self.bias_initializer, "bias_initializer",
                                 (self.units,), rng)
        # Only the last axis is fixed by the weights, as in Keras: the others may vary.
        self.input_shape = (*(None,) * (len(input_shape) - 2), n_in)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.units)

    def call(self, x: np.ndarray, training: bool) -> np.ndarray:
        x2d = x.reshape(-1, x.shape[-1])  # (N, n_in): every leading axis is a batch axis
        z = x2d @ self.params["kernel"]
        if self.use_bias:
            z += self.params["bias"]
        a = self.activation.forward(z)
        self.cache = {"x": x2d, "z": z, "a": a, "input_shape": x.shape}
        return a.reshape(*x.shape[:-1], self.units)

    def call_backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, z, a = self.cache["x"], self.cache["z"], self.cache["a"]
        dz = self.activation.backward(z, a, grad_output.reshape(-1, self.units))
        # In place, so that an optimizer holding these arrays sees the new values.
        self.grads["kernel"][...] = x.T @ dz
        if self.use_bias:
            self.grads["bias"][...] = dz.sum(axis=0)
        if not self.compute_input_grad:
            return None
        dx = dz @ self.params["kernel"].T
        return dx.reshape(self.cache["input_shape"])


@register_layer
class Activation(_AnyRankLayer):
    """Apply an activation ``y = f(x)`` on its own, Keras's ``Activation``.

    Parameters
    ----------
    activation : str or None
        Keras name of ``f`` (``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"softmax"``, ...);
        ``None`` is the identity.
    name : str, optional
        The layer's name, used in error messages.
    dtype : str or numpy dtype, optional
        The floating-point dtype it computes in; by default its first input's.

    Notes
    -----
    Forward ``y = f(x)``, elementwise (softmax: over the last axis). Backward
    ``dJ/dx = dJ/dy ⊙ f'(x)``; for softmax ``dJ/dx = y ⊙ (dJ/dy − Σ_k (dJ/dy)_k y_k)``.
    Input and output have the same shape ``(batch, ...)``.
    """

    masking = "pass"  # as Keras (supports_masking): applied to each step alike

    input_layout = "(batch, ...)"

    def __init__(self, activation: str | None, name: str | None = None, dtype=None):
        activation = activations.get(activation, owner=self._owner(name))
        super().__init__(name=name, dtype=dtype)
        self.activation = activation

    def call(self, x: np.ndarray, training: bool) -> np.ndarray:
        a = self.activation.forward(x)
        self.cache = {"z": x, "a": a}
        return a

    def call_backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self.activation.backward(self.cache["z"], self.cache["a"], grad_output)


@register_layer
class Dropout(_AnyRankLayer):
    r"""Inverted dropout, Keras's ``Dropout``: zero a fraction ``rate`` of the units in training.

    Parameters
    ----------
    rate : float
        Probability of dropping each unit, in ``[0, 1)``.
    seed : int, optional
        Seed of the masks: two layers with the same seed draw the same sequence of masks, and
        each training call draws a new one. ``None`` uses the generator of
        :func:`~dlcourse.scratch.set_random_seed`.
    name : str, optional
        The layer's name, used in error messages.
    dtype : str or numpy dtype, optional
        The floating-point dtype it computes in; by default its first input's.

    Notes
    -----
    In training, with a fresh mask ``m`` whose entries are 1 with probability ``1 − rate``
    and 0 otherwise:

    .. math::

        y = \frac{m \odot x}{1 - \text{rate}}, \qquad
        \frac{\partial J}{\partial x} = \frac{m}{1 - \text{rate}} \odot
        \frac{\partial J}{\partial y}.

    Scaling the kept units by ``1 / (1 − rate)`` keeps ``E[y] = x``, so at inference
    (``training=False``) the layer is the identity and needs no rescaling. Input and output have
    the same shape ``(batch, ...)``.
    """

    masking = "pass"  # as Keras (supports_masking): applied to each step alike

    input_layout = "(batch, ...)"

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None,
                 dtype=None):
        rate = check_number(rate, "rate", self._owner(name), 0, 1, high_open=True)
        super().__init__(name=name, seed=seed, dtype=dtype)
        self.rate = rate
        # One generator for the layer's life: each call draws a new mask, yet a seeded layer
        # repeats the same sequence of masks, as Keras's seeded Dropout does.
        self._rng = None if seed is None else get_rng(seed)

    def call(self, x: np.ndarray, training: bool) -> np.ndarray:
        if not training or self.rate == 0:
            self.cache = {"mask": None}
            return x
        rng = self._rng if self._rng is not None else get_rng()
        keep = rng.random(x.shape) >= self.rate  # True with probability 1 - rate
        mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.rate))
        self.cache = {"mask": mask}
        return x * mask

    def call_backward(self, grad_output: np.ndarray) -> np.ndarray:
        mask = self.cache["mask"]
        return grad_output if mask is None else grad_output * mask


@register_layer
class Flatten(_AnyRankLayer):
    """Flatten each example to a vector, Keras's ``Flatten``: ``(batch, ...) → (batch, n)``.

    Parameters
    ----------
    name : str, optional
        The layer's name, used in error messages.
    dtype : str or numpy dtype, optional
        The floating-point dtype it computes in; by default its first input's.

    Notes
    -----
    Forward: ``x`` of shape ``(batch, d_1, ..., d_k)`` becomes ``(batch, d_1 ⋯ d_k)`` in C order
    (the last axis varies fastest), which for images ``(batch, height, width, channels)`` is
    Keras's channels-last order. Backward: the gradient is reshaped back to the input's shape.
    """

    input_layout = "(batch, ...)"

    def __init__(self, name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        dims = input_shape[1:]
        size = None if any(d is None for d in dims) else int(np.prod(dims, dtype=np.int64))
        return (input_shape[0], size)

    def call(self, x: np.ndarray, training: bool) -> np.ndarray:
        self.cache = {"input_shape": x.shape}
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:], dtype=np.int64)))

    def call_backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output.reshape(self.cache["input_shape"])
