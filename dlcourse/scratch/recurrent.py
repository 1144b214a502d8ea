r"""The simple recurrent network: one step, the forward pass, backpropagation through time.

The course writes the recurrence with column vectors,

.. math::

    h_t = \sigma(W_{hh} h_{t-1} + W_{xh} x_t + b_h), \qquad h_{-1} = 0,

and Keras stores the same weights for row vectors (a batch is a stack of rows):
``h_t = f(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``, so
``W_xh = kernelᵀ`` and ``W_hh = recurrent_kernelᵀ``. This module uses Keras's layout throughout:
``x`` is ``(batch, time, features)``, ``kernel`` ``(features, units)``, ``recurrent_kernel``
``(units, units)``, ``bias`` ``(units,)``, the hidden states ``h`` ``(batch, time, units)``.

**Masks**, as Keras: where ``mask[n, t]`` is False, step ``t`` of example ``n`` is skipped:
``h_t = h_{t-1}``, so the step gets no gradient and passes the one it receives straight back
to step ``t-1``.

Each operation comes twice with identical signatures: ``*_naive`` loops over examples and time
steps and reads like the formulas (the book shows it); the other loops over time only, which
the recursion cannot avoid, and does everything else in a few large matrix products. The layer
runs the same computation made fast, :func:`~dlcourse.scratch.recurrent_kernels.rnn_forward_kernel`
and :func:`~dlcourse.scratch.recurrent_kernels.rnn_backward_kernel` (for every activation but
softmax). Tests keep all three equal.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcourse.scratch import recurrent_kernels
from dlcourse.scratch.base import register_layer
from dlcourse.scratch.recurrent_base import (
    RecurrentLayer,
    check_recurrent_args,
    get_activation,
    grad_z_from_output,
)

__all__ = ["RNNCache", "RNNGradients", "RecurrentLayer", "SimpleRNN", "check_recurrent_args",
           "get_activation", "grad_z_from_output", "rnn_backward", "rnn_backward_naive",
           "rnn_forward", "rnn_forward_naive", "rnn_step"]


class RNNGradients(NamedTuple):
    """What backpropagation through time returns, by name.

    Attributes
    ----------
    grad_x : ndarray, shape (batch, time, features)
        ``dJ/dx_t`` for every step.
    grad_kernel : ndarray, shape (features, units)
        ``dJ/d kernel``, summed over the batch and the time steps.
    grad_recurrent_kernel : ndarray, shape (units, units)
        ``dJ/d recurrent_kernel``, summed over the batch and the time steps.
    grad_bias : ndarray, shape (units,)
        ``dJ/d bias``, summed over the batch and the time steps.
    grad_h_steps : ndarray, shape (batch, time, units)
        The total ``dJ/dh_t`` at every step: the gradient arriving directly at ``h_t`` plus
        everything that flows back into it from later steps. Its norm against ``t`` shows
        vanishing or exploding gradients.
    grad_h0 : ndarray, shape (batch, units)
        ``dJ/dh0``, the gradient with respect to the initial state.
    """

    grad_x: np.ndarray
    grad_kernel: np.ndarray
    grad_recurrent_kernel: np.ndarray
    grad_bias: np.ndarray
    grad_h_steps: np.ndarray
    grad_h0: np.ndarray


# ------------------------------------------------------------------------------ forward
def rnn_step(x_t, h_prev, kernel, recurrent_kernel, bias, activation="tanh"):
    r"""One step of the recurrence: ``h_t = f(x_t @ kernel + h_prev @ recurrent_kernel + bias)``.

    Parameters
    ----------
    x_t : ndarray, shape (batch, features) or (features,)
        The input at step ``t``.
    h_prev : ndarray, shape (batch, units) or (units,)
        The previous hidden state ``h_{t-1}``.
    kernel : ndarray, shape (features, units)
        ``W_xhᵀ``.
    recurrent_kernel : ndarray, shape (units, units)
        ``W_hhᵀ``.
    bias : ndarray of shape (units,), or None
        ``b_h``; ``None`` for no bias.
    activation : str or ActivationFunction
        Keras name of ``f`` (``"tanh"``, ``"relu"``, ``"sigmoid"``, ...).

    Returns
    -------
    h_t : ndarray, shape (batch, units) or (units,)

    Notes
    -----
    .. math::

        h_t = f(W_{hh} h_{t-1} + W_{xh} x_t + b_h)
            = f(x_t K + h_{t-1} R + b)  \text{ (row vectors)}, \quad K = W_{xh}^\top,\;
            R = W_{hh}^\top.
    """
    z = x_t @ kernel + h_prev @ recurrent_kernel
    if bias is not None:
        z = z + bias
    return get_activation(activation, "rnn_step()").forward(z)


def _check(where: str, x, kernel, recurrent_kernel, bias, h0, mask, **per_step):
    """The arguments as arrays, ``h0`` zeros if None, the mask as booleans or None."""
    x, kernel, recurrent_kernel, (h0,), mask = check_recurrent_args(
        where, x, kernel, recurrent_kernel, bias, 1, {"h0": h0}, mask, per_step=per_step)
    return x, kernel, recurrent_kernel, h0, mask


def rnn_forward_naive(x, kernel, recurrent_kernel, bias, activation="tanh", h0=None, mask=None):
    r"""All hidden states of a simple RNN, one example and one step at a time (for reading).

    Parameters
    ----------
    x : ndarray, shape (batch, time, features)
        The input sequences.
    kernel : ndarray, shape (features, units)
        ``W_xhᵀ``.
    recurrent_kernel : ndarray, shape (units, units)
        ``W_hhᵀ``.
    bias : ndarray of shape (units,), or None
        ``b_h``; ``None`` for no bias.
    activation : str or ActivationFunction
        Keras name of ``f``.
    h0 : ndarray of shape (batch, units), optional
        The initial state; zeros by default, as in Keras.
    mask : bool ndarray of shape (batch, time), optional
        False skips the step: the state carries over unchanged.

    Returns
    -------
    h : ndarray, shape (batch, time, units)
        ``h[:, t]`` is ``h_t``; ``h[:, -1]`` is what a ``SimpleRNN`` returns by default.

    Notes
    -----
    .. math::

        h_t = f(x_t K + h_{t-1} R + b), \quad t = 0, \dots, T-1, \quad h_{-1} = h_0.
    """
    x, kernel, recurrent_kernel, h0, mask = _check("rnn_forward_naive()", x, kernel,
                                                   recurrent_kernel, bias, h0, mask)
    act = get_activation(activation, "rnn_forward_naive()")
    batch, time, _ = x.shape
    units = recurrent_kernel.shape[1]
    h = np.zeros((batch, time, units), dtype=h0.dtype)
    for n in range(batch):
        h_prev = h0[n]
        for t in range(time):
            if mask is None or mask[n, t]:  # a masked step keeps h_{t-1}
                h_prev = rnn_step(x[n, t], h_prev, kernel, recurrent_kernel, bias, act)
            h[n, t] = h_prev
    return h


def rnn_forward(x, kernel, recurrent_kernel, bias, activation="tanh", h0=None, mask=None):
    """All hidden states of a simple RNN, the whole batch at each step.

    Same parameters, result and formula as :func:`rnn_forward_naive`. The input part
    ``x_t @ kernel + bias`` does not depend on the previous state, so it is computed for every
    step in one matrix product before the loop; only ``h_{t-1} @ recurrent_kernel`` and ``f``
    remain inside it.
    """
    x, kernel, recurrent_kernel, h0, mask = _check("rnn_forward()", x, kernel, recurrent_kernel,
                                                   bias, h0, mask)
    act = get_activation(activation, "rnn_forward()")
    batch, time, _ = x.shape
    units = recurrent_kernel.shape[1]
    x_part = x @ kernel if bias is None else x @ kernel + bias   # (batch, time, units)
    h = np.zeros((batch, time, units), dtype=h0.dtype)
    h_prev = h0
    for t in range(time):
        h_t = act.forward(x_part[:, t] + h_prev @ recurrent_kernel)
        if mask is not None:  # a masked step keeps h_{t-1}
            h_t = np.where(mask[:, t, None], h_t, h_prev)
        h[:, t] = h_prev = h_t
    return h


# ------------------------------------------------------------------------------ backward
def rnn_backward_naive(grad_h, x, h, kernel, recurrent_kernel, activation="tanh", h0=None,
                       mask=None):
    r"""Backpropagation through time, one example and one step at a time (for reading).

    Parameters
    ----------
    grad_h : ndarray, shape (batch, time, units)
        The gradient of the loss with respect to each output ``h_t`` directly (zero except at
        the last step when only the last state is used).
    x : ndarray, shape (batch, time, features)
        The input of the forward pass.
    h : ndarray, shape (batch, time, units)
        The hidden states the forward pass returned.
    kernel : ndarray, shape (features, units)
        ``W_xhᵀ``.
    recurrent_kernel : ndarray, shape (units, units)
        ``W_hhᵀ``.
    activation : str or ActivationFunction
        Keras name of ``f``, as in the forward pass.
    h0 : ndarray of shape (batch, units), optional
        The initial state of the forward pass; zeros by default.
    mask : bool ndarray of shape (batch, time), optional
        The mask of the forward pass.

    Returns
    -------
    RNNGradients
        ``grad_x`` (batch, time, features), ``grad_kernel`` (features, units),
        ``grad_recurrent_kernel`` (units, units), ``grad_bias`` (units,),
        ``grad_h_steps`` (batch, time, units), ``grad_h0`` (batch, units).

    Notes
    -----
    Going backwards from ``t = T-1``, with ``δ_T = 0`` the gradient flowing back from the future:

    .. math::

        \frac{\partial J}{\partial h_t} = g_t + \delta_{t+1}, \quad
        \frac{\partial J}{\partial z_t} = \frac{\partial J}{\partial h_t} \odot f'(z_t), \quad
        \delta_t = \frac{\partial J}{\partial z_t} R^\top,

    where ``g_t = grad_h[:, t]`` and ``δ_t`` reaches ``h_{t-1}``. The same weights serve every
    step, so their gradients are sums over the steps (and the batch):

    .. math::

        \frac{\partial J}{\partial K} = \sum_t x_t^\top \frac{\partial J}{\partial z_t}, \quad
        \frac{\partial J}{\partial R} = \sum_t h_{t-1}^\top \frac{\partial J}{\partial z_t}, \quad
        \frac{\partial J}{\partial b} = \sum_t \frac{\partial J}{\partial z_t}, \quad
        \frac{\partial J}{\partial x_t} = \frac{\partial J}{\partial z_t} K^\top.

    ``δ_t`` is multiplied by ``R^\top`` and ``f'`` once per step: over many steps it shrinks
    (vanishing gradients) or grows (exploding gradients) geometrically. A masked step
    (``h_t = h_{t-1}``) passes ``∂J/∂h_t`` back unchanged: ``δ_t = ∂J/∂h_t``, and adds nothing.
    """
    x, kernel, recurrent_kernel, h0, mask = _check("rnn_backward_naive()", x, kernel,
                                                   recurrent_kernel, None, h0, mask, h=h,
                                                   grad_h=grad_h)
    h, grad_h = np.asarray(h), np.asarray(grad_h)
    act = get_activation(activation, "rnn_backward_naive()")
    batch, time, features = x.shape
    units = recurrent_kernel.shape[1]
    grad_x = np.zeros_like(x, dtype=h.dtype)
    grad_kernel = np.zeros((features, units), dtype=h.dtype)
    grad_recurrent_kernel = np.zeros((units, units), dtype=h.dtype)
    grad_bias = np.zeros(units, dtype=h.dtype)
    grad_h_steps = np.zeros_like(h)
    grad_h0 = np.zeros_like(h0)
    for n in range(batch):
        grad_from_future = np.zeros(units, dtype=h.dtype)
        for t in reversed(range(time)):
            h_prev = h[n, t - 1] if t > 0 else h0[n]
            grad_h_t = grad_h[n, t] + grad_from_future
            grad_h_steps[n, t] = grad_h_t
            if mask is not None and not mask[n, t]:  # h_t = h_{t-1}
                grad_from_future = grad_h_t
                continue
            grad_z = grad_z_from_output(act, h[n, t], grad_h_t)
            grad_x[n, t] = kernel @ grad_z
            grad_kernel += np.outer(x[n, t], grad_z)
            grad_recurrent_kernel += np.outer(h_prev, grad_z)
            grad_bias += grad_z
            grad_from_future = recurrent_kernel @ grad_z
        grad_h0[n] = grad_from_future
    return RNNGradients(grad_x, grad_kernel, grad_recurrent_kernel, grad_bias, grad_h_steps,
                        grad_h0)


def rnn_backward(grad_h, x, h, kernel, recurrent_kernel, activation="tanh", h0=None, mask=None):
    """Backpropagation through time, the whole batch at each step.

    Same parameters, result and formulas as :func:`rnn_backward_naive`. Only the recursion
    ``δ_t = (dJ/dz_t) Rᵀ`` needs the loop; the weight and input gradients are sums over all steps
    of products with ``dJ/dz_t``, so they are computed after it in one matrix product each.
    """
    x, kernel, recurrent_kernel, h0, mask = _check("rnn_backward()", x, kernel, recurrent_kernel,
                                                   None, h0, mask, h=h, grad_h=grad_h)
    h, grad_h = np.asarray(h), np.asarray(grad_h)
    act = get_activation(activation, "rnn_backward()")
    batch, time, features = x.shape
    units = recurrent_kernel.shape[1]
    grad_z = np.zeros_like(h)           # dJ/dz_t of every step
    grad_h_steps = np.zeros_like(h)
    grad_from_future = np.zeros_like(h0)
    for t in reversed(range(time)):
        grad_h_t = grad_h[:, t] + grad_from_future
        grad_z_t = grad_z_from_output(act, h[:, t], grad_h_t)
        grad_from_future = grad_z_t @ recurrent_kernel.T
        if mask is not None:  # masked: h_t = h_{t-1}, so dJ/dh_t goes straight back
            keep = mask[:, t, None]
            grad_z_t = np.where(keep, grad_z_t, 0)
            grad_from_future = np.where(keep, grad_from_future, grad_h_t)
        grad_h_steps[:, t], grad_z[:, t] = grad_h_t, grad_z_t
    grad_z_rows = grad_z.reshape(batch * time, units)
    h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)  # h_{t-1} for every step
    return RNNGradients(
        grad_x=(grad_z_rows @ kernel.T).reshape(batch, time, features),
        grad_kernel=x.reshape(batch * time, features).T @ grad_z_rows,
        grad_recurrent_kernel=h_prev.reshape(batch * time, units).T @ grad_z_rows,
        grad_bias=grad_z_rows.sum(axis=0),
        grad_h_steps=grad_h_steps,
        grad_h0=grad_from_future,
    )


class RNNCache(NamedTuple):
    """What :class:`SimpleRNN`'s backward needs from its forward pass, by name."""

    x: np.ndarray
    h: np.ndarray
    h0: np.ndarray | None
    mask: np.ndarray | None


# ------------------------------------------------------------------------------ the layer
@register_layer
class SimpleRNN(RecurrentLayer):
    r"""Fully connected recurrent layer, Keras's ``SimpleRNN``.

    Parameters
    ----------
    units : int
        Size of the hidden state.
    activation : str or None
        Keras name of ``f``; ``"tanh"`` by default, ``None`` is the identity.
    return_sequences : bool
        Return every hidden state ``(batch, time, units)`` instead of the last ``(batch, units)``.
    use_bias : bool
        Whether to add ``bias``.
    kernel_initializer, recurrent_initializer, bias_initializer : str or callable
        Keras initializer names, or ``f(shape, rng, dtype)``; the recurrent kernel is orthogonal
        by default.
    kernel_regularizer, recurrent_regularizer, bias_regularizer : None, str or Regularizer
        Penalties on the weights, added to the loss by the model.
    return_state, go_backwards : bool
        As in Keras: the output followed by the final ``h``; read the sequence from its end
        (see :class:`~dlcourse.scratch.recurrent_base.RecurrentLayer`).
    name : str, optional
        The layer's name, used in error messages.
    seed : int, optional
        Seed of the weight initialisation.
    dtype : str or numpy dtype, optional
        The floating-point dtype it computes in; by default its first input's.

    Attributes
    ----------
    params : dict
        ``kernel`` (features, units) ``= W_xhᵀ``, ``recurrent_kernel`` (units, units)
        ``= W_hhᵀ`` and ``bias`` (units,) ``= b_h``, as in Keras.
    grad_h_steps : ndarray of shape (batch, time, units), or None
        The total ``dJ/dh_t`` at every step from the last ``backward`` call, for plotting
        vanishing and exploding gradients.

    Notes
    -----
    Forward, for ``x`` of shape ``(batch, time, features)`` and ``h_{-1} = 0``:

    .. math::

        h_t = \sigma(W_{hh} h_{t-1} + W_{xh} x_t + b_h)
            = f(x_t K + h_{t-1} R + b), \quad K = W_{xh}^\top, \; R = W_{hh}^\top.

    Backward is backpropagation through time (:func:`rnn_backward_naive` states the formulas);
    with ``return_sequences=False`` the output's gradient arrives at the last step only.
    ``forward(x, mask=..., initial_state=[h0])`` and ``backward(grad_output,
    grad_states=[grad_h])`` as in :class:`~dlcourse.scratch.recurrent_base.RecurrentLayer`.
    """

    def __init__(self, units: int, activation: str | None = "tanh",
                 return_sequences: bool = False, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, return_state: bool = False, go_backwards: bool = False,
                 name: str | None = None, seed: int | None = None, dtype=None):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, return_sequences, return_state, go_backwards, name,
                         seed, dtype)

    def _run(self, x, mask, initial_state):
        h0 = initial_state[0] if initial_state else None
        fast = recurrent_kernels.rnn_has_kernel(self.activation)
        h = (recurrent_kernels.rnn_forward_kernel if fast else rnn_forward)(
            x, self.params["kernel"], self.params["recurrent_kernel"], self.params.get("bias"),
            self.activation, h0, mask)
        return h, [h[:, -1]], RNNCache(x, h, h0, mask)

    def _run_backward(self, grad_h, grad_states, cache):
        fast = recurrent_kernels.rnn_has_kernel(self.activation)
        grads = (recurrent_kernels.rnn_backward_kernel if fast else rnn_backward)(
            grad_h, cache.x, cache.h, self.params["kernel"], self.params["recurrent_kernel"],
            self.activation, cache.h0, cache.mask)
        return grads, [grads.grad_h0]
