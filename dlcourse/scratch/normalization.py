"""Batch and layer normalisation, Keras's ``BatchNormalization`` and ``LayerNormalization``.

In training, each feature is standardised with the mean and variance of the current batch, then
scaled and shifted by two learned vectors; running averages of those batch statistics are kept for
inference, when the layer uses them instead (so that a prediction does not depend on the other
examples of its batch). Layer normalisation standardises each example on its own, over its
feature axes (the transformer's choice): the same in training and inference, nothing kept.
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch.base import Layer, register_layer
from dlcourse.validation import check_bool, check_int, check_number

__all__ = ["BatchNormalization", "LayerNormalization"]


@register_layer
class BatchNormalization(Layer):
    r"""Normalise each feature over the batch, then scale and shift: Keras's ``BatchNormalization``.

    Parameters
    ----------
    axis : int
        The feature axis, kept; the statistics are taken over every other axis (``-1``: the
        channels of ``(batch, height, width, channels)`` images, the features of
        ``(batch, features)``). Not the batch axis.
    momentum : float in [0, 1]
        Weight of the old value in the running averages (Keras's default 0.99).
    epsilon : float > 0
        Added to the variance before the square root (Keras's default 1e-3).
    center : bool
        Learn the shift ``beta`` (otherwise it is 0).
    scale : bool
        Learn the scale ``gamma`` (otherwise it is 1).
    name : str, optional
        The layer's name, used in error messages.
    dtype : str or numpy dtype, optional
        The floating-point dtype it computes in; by default its first input's.

    Attributes
    ----------
    params : dict
        ``gamma`` and ``beta`` (if ``scale``/``center``), ``moving_mean``, ``moving_variance``,
        each of shape ``(features,)``, in Keras's order and with Keras's initial values
        (ones, zeros, zeros, ones).
    grads : dict
        ``gamma`` and ``beta`` only: the moving statistics are not trained by gradient descent
        (Keras's non-trainable weights), so the optimizer never sees them.

    Notes
    -----
    For one feature with values :math:`x_1, \dots, x_m` over the batch (and the spatial axes), in
    training mode:

    .. math::

        \mu = \frac{1}{m}\sum_i x_i, \quad
        \sigma^2 = \frac{1}{m}\sum_i (x_i - \mu)^2, \quad
        \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \varepsilon}}, \quad
        y_i = \gamma \hat x_i + \beta,

    and the running averages move towards the batch statistics (the *biased* variance, as Keras 3
    uses):

    .. math::

        \mu_{\text{moving}} \leftarrow \text{momentum} \cdot \mu_{\text{moving}}
        + (1 - \text{momentum}) \mu, \qquad
        \sigma^2_{\text{moving}} \leftarrow \text{momentum} \cdot \sigma^2_{\text{moving}}
        + (1 - \text{momentum}) \sigma^2.

    Backward, with :math:`g_i = \partial J / \partial y_i`: because :math:`\mu` and
    :math:`\sigma^2` depend on every :math:`x_i`, the input gradient has two correction terms,

    .. math::

        \frac{\partial J}{\partial \gamma} = \sum_i g_i \hat x_i, \quad
        \frac{\partial J}{\partial \beta} = \sum_i g_i, \quad
        \frac{\partial J}{\partial x_i} = \frac{\gamma}{m\sqrt{\sigma^2 + \varepsilon}}
        \Big(m g_i - \sum_j g_j - \hat x_i \sum_j g_j \hat x_j\Big).

    In inference mode the moving statistics replace :math:`\mu, \sigma^2`; they are constants,
    so the layer is an affine map and
    :math:`\partial J / \partial x_i = \gamma g_i / \sqrt{\sigma^2_{\text{moving}} + \varepsilon}`.
    """

    masking = "refuse"  # Keras's computes its batch statistics over the unmasked steps only

    weight_names = ("gamma", "beta", "moving_mean", "moving_variance")
    #: The weights trained by gradient descent; the moving statistics are updated by ``forward``.
    trainable_names = ("gamma", "beta")
    input_layout = "(batch, ..., features)"

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, name: str | None = None,
                 dtype=None):
        owner = self._owner(name)
        axis = check_int(axis, "axis", owner)
        if axis == 0:
            raise ValueError(f"{owner}: axis=0 is not a feature axis: axis 0 is the batch "
                             "(the features are usually the last axis, axis=-1)")
        momentum = check_number(momentum, "momentum", owner, 0, 1)
        epsilon = check_number(epsilon, "epsilon", owner, 0, low_open=True)
        center = check_bool(center, "center", owner)
        scale = check_bool(scale, "scale", owner)
        super().__init__(name=name, dtype=dtype)
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.center, self.scale = center, scale

    # ----------------------------------------------------------------------------- checks
    def _feature_axis(self, ndim: int) -> int:
        """``axis`` as a non-negative index for an input of rank ``ndim``, or a clear error."""
        if not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ValueError(self.error_message(
                f"axis={self.axis} is not a feature axis of an input of rank {ndim}: it must be "
                f"one of 1..{ndim - 1} (or -{ndim - 1}..-1); axis 0 is the batch"))
        return self.axis % ndim

    def _check_input_shape(self, shape: tuple) -> None:
        if len(shape) < 2:
            raise ValueError(self.error_message(
                f"expected input of rank 2 or more {self.input_layout}, got shape {shape}"))
        axis = self._feature_axis(len(shape))
        if self.built:
            features = self.params["moving_mean"].shape[0]
            if len(shape) != len(self.input_shape) + 1:
                raise ValueError(self.error_message(
                    f"expected input of rank {len(self.input_shape) + 1} as on its first call, "
                    f"got shape {shape}"))
            if shape[axis] != features:
                raise ValueError(self.error_message(
                    f"expected {features} features on axis {self.axis} as on its first call, "
                    f"got shape {shape}"))

    # ----------------------------------------------------------------------------- building
    def build(self, input_shape: tuple) -> None:
        """Create ``gamma``, ``beta``, ``moving_mean`` and ``moving_variance``, ``(features,)``."""
        axis = self._feature_axis(len(input_shape))
        features = input_shape[axis]
        if self.scale:
            self.add_weight("gamma", np.ones(features))
        if self.center:
            self.add_weight("beta", np.zeros(features))
        self.add_weight("moving_mean", np.zeros(features))
        self.add_weight("moving_variance", np.ones(features))
        # Only the feature axis is fixed by the weights, as Keras's InputSpec: the others may vary.
        self.input_shape = tuple(features if i == axis else None
                                 for i in range(1, len(input_shape)))
        # The statistics are taken over every axis but the feature axis.
        self._reduce_axes = tuple(i for i in range(len(input_shape)) if i != axis)
        self._broadcast = tuple(features if i == axis else 1 for i in range(len(input_shape)))

    def _ensure_built(self, input_shape: tuple, dtype) -> None:
        was_built = self.built
        super()._ensure_built(input_shape, dtype)
        if not was_built:
            # Only the trainable weights have gradients: what is not in ``grads`` is not
            # handed to the optimizer by Sequential.grads_and_vars().
            self.grads = {k: v for k, v in self.grads.items() if k in self.trainable_names}

    # ----------------------------------------------------------------------------- passes
    def _affine(self) -> tuple[np.ndarray | float, np.ndarray | float]:
        gamma = self.params["gamma"].reshape(self._broadcast) if self.scale else 1.0
        beta = self.params["beta"].reshape(self._broadcast) if self.center else 0.0
        return gamma, beta

    def call(self, x: np.ndarray, training: bool) -> np.ndarray:
        if training:
            mean = x.mean(axis=self._reduce_axes, keepdims=True)
            var = x.var(axis=self._reduce_axes, keepdims=True)  # biased: divides by m
            m = self.momentum
            self.params["moving_mean"][...] = (
                self.params["moving_mean"] * m + mean.reshape(-1) * (1 - m))
            self.params["moving_variance"][...] = (
                self.params["moving_variance"] * m + var.reshape(-1) * (1 - m))
        else:
            mean = self.params["moving_mean"].reshape(self._broadcast)
            var = self.params["moving_variance"].reshape(self._broadcast)
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        x_hat = (x - mean) * inv_std
        gamma, beta = self._affine()
        self.cache = {"x_hat": x_hat, "inv_std": inv_std, "training": training}
        return gamma * x_hat + beta

    def call_backward(self, grad_output: np.ndarray) -> np.ndarray:
        x_hat, inv_std = self.cache["x_hat"], self.cache["inv_std"]
        axes = self._reduce_axes
        sum_g = grad_output.sum(axis=axes, keepdims=True)
        sum_g_xhat = (grad_output * x_hat).sum(axis=axes, keepdims=True)
        # In place, so that an optimizer holding these arrays sees the new values.
        if self.scale:
            self.grads["gamma"][...] = sum_g_xhat.reshape(-1)
        if self.center:
            self.grads["beta"][...] = sum_g.reshape(-1)
        if not self.compute_input_grad:  # first layer of a model: dJ/dx is never used
            return None
        gamma, _ = self._affine()
        if not self.cache["training"]:
            return grad_output * (gamma * inv_std)  # constant statistics: an affine map
        m = x_hat.size // sum_g.size  # values per feature that the statistics averaged
        return (gamma * inv_std / m) * (m * grad_output - sum_g - x_hat * sum_g_xhat)


@register_layer
class LayerNormalization(Layer):
    r"""Normalise each example over its feature axes, then scale and shift: Keras's
    ``LayerNormalization``.

    Parameters
    ----------
    axis : int or list of int
        The axes normalised over (``-1``: the features of ``(batch, time, features)``); the
        statistics are taken per example (and per position along the other axes). Not axis 0.
    epsilon : float > 0
        Added to the variance before the square root (Keras's default 1e-3).
    center : bool
        Learn the shift ``beta`` (otherwise it is 0).
    scale : bool
        Learn the scale ``gamma`` (otherwise it is 1).
    name : str, optional
    dtype : str or numpy dtype, optional

    Attributes
    ----------
    params : dict
        ``gamma`` (ones) and ``beta`` (zeros) if ``scale``/``center``, in Keras's order, of the
        shape of the normalised axes (in increasing order).

    Notes
    -----
    For one example (one position) with the :math:`m` values :math:`x_1, \dots, x_m` of the
    normalised axes:

    .. math::

        \mu = \frac{1}{m}\sum_i x_i, \quad \sigma^2 = \frac{1}{m}\sum_i (x_i - \mu)^2, \quad
        \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \varepsilon}}, \quad
        y_i = \gamma_i \hat x_i + \beta_i.

    Backward, with :math:`g_i = \partial J / \partial y_i` and :math:`\hat g_i = \gamma_i g_i`
    (the gradient reaching :math:`\hat x`): the statistics depend on every :math:`x_i` of the
    example, which gives the two correction terms of batch normalisation, summed over features
    instead of over the batch,

    .. math::

        \frac{\partial J}{\partial x_i} = \frac{1}{m\sqrt{\sigma^2 + \varepsilon}}
        \Big(m \hat g_i - \sum_j \hat g_j - \hat x_i \sum_j \hat g_j \hat x_j\Big),
        \qquad \frac{\partial J}{\partial \gamma} = \sum g \odot \hat x, \quad
        \frac{\partial J}{\partial \beta} = \sum g,

    the last two summed over the examples (and the other axes).
    """

    masking = "pass"  # Keras's passes a mask on: each position is normalised on its own
    weight_names = ("gamma", "beta")
    input_layout = "(batch, ..., features)"

    def __init__(self, axis=-1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 name: str | None = None, dtype=None):
        owner = self._owner(name)
        if isinstance(axis, (list, tuple)):
            if not axis:
                raise ValueError(f"{owner}: axis must be an integer or a non-empty tuple of "
                                 f"integers, got {axis!r}")
            axis = [check_int(a, "axis", owner) for a in axis]  # a list, as Keras keeps it
        else:
            axis = check_int(axis, "axis", owner)
        if 0 in ((axis,) if isinstance(axis, int) else axis):
            raise ValueError(f"{owner}: axis=0 is not a feature axis: axis 0 is the batch "
                             "(layer normalisation usually normalises the last axis, axis=-1)")
        epsilon = check_number(epsilon, "epsilon", owner, 0, low_open=True)
        center = check_bool(center, "center", owner)
        scale = check_bool(scale, "scale", owner)
        super().__init__(name=name, dtype=dtype)
        self.axis, self.epsilon, self.center, self.scale = axis, epsilon, center, scale

    def _axes(self, ndim: int) -> tuple[int, ...]:
        """The normalised axes as sorted non-negative indices, or a clear error."""
        axes = (self.axis,) if isinstance(self.axis, int) else self.axis
        bad = [a for a in axes if not -ndim <= a < ndim or a % ndim == 0]
        if bad or len({a % ndim for a in axes}) != len(axes):
            raise ValueError(self.error_message(
                f"axis={self.axis!r} is not a set of distinct feature axes of an input of rank "
                f"{ndim}: each must be one of 1..{ndim - 1} (or -{ndim - 1}..-1); axis 0 is "
                "the batch"))
        return tuple(sorted(a % ndim for a in axes))

    def _check_input_shape(self, shape: tuple) -> None:
        if len(shape) < 2:
            raise ValueError(self.error_message(
                f"expected input of rank 2 or more {self.input_layout}, got shape {shape}"))
        axes = self._axes(len(shape))
        if self.built:
            if len(shape) != len(self.input_shape) + 1 or any(
                    shape[a] != self.input_shape[a - 1] for a in axes):
                expected = tuple("?" if n is None else n for n in self.input_shape)
                raise ValueError(self.error_message(
                    f"expected input of shape (batch, {', '.join(map(str, expected))}) as on "
                    f"its first call (? any size), got shape {shape}"))

    def build(self, input_shape: tuple) -> None:
        """Create ``gamma`` (ones) and ``beta`` (zeros) of the normalised axes' shape."""
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if self.scale:
            self.add_weight("gamma", np.ones(shape))
        if self.center:
            self.add_weight("beta", np.zeros(shape))
        # Only the normalised axes are fixed by the weights, as Keras's: the others may vary.
        self.input_shape = tuple(input_shape[i] if i in axes else None
                                 for i in range(1, len(input_shape)))
        self._norm_axes = axes
        self._broadcast = tuple(input_shape[i] if i in axes else 1
                                for i in range(len(input_shape)))

    def call(self, x: np.ndarray, training: bool) -> np.ndarray:
        axes = self._norm_axes
        mean = x.mean(axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + self.epsilon)
        x_hat = (x - mean) * inv_std
        self.cache = {"x_hat": x_hat, "inv_std": inv_std}
        y = x_hat * self.params["gamma"].reshape(self._broadcast) if self.scale else x_hat
        return y + self.params["beta"].reshape(self._broadcast) if self.center else y

    def call_backward(self, grad_output: np.ndarray) -> np.ndarray:
        x_hat, inv_std = self.cache["x_hat"], self.cache["inv_std"]
        other = tuple(i for i in range(grad_output.ndim) if i not in self._norm_axes)
        if self.scale:
            self.grads["gamma"][...] = (grad_output * x_hat).sum(axis=other).reshape(
                self.params["gamma"].shape)
        if self.center:
            self.grads["beta"][...] = grad_output.sum(axis=other).reshape(
                self.params["beta"].shape)
        if not self.compute_input_grad:  # first layer of a model: dJ/dx is never used
            return None
        g_hat = grad_output * self.params["gamma"].reshape(self._broadcast) if self.scale \
            else grad_output
        axes = self._norm_axes
        m = x_hat.size // inv_std.size  # values per example that the statistics averaged
        return (inv_std / m) * (m * g_hat - g_hat.sum(axis=axes, keepdims=True)
                                - x_hat * (g_hat * x_hat).sum(axis=axes, keepdims=True))
