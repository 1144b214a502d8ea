r"""The gated recurrent unit (GRU): one step, the forward pass, backpropagation through time.

In the course's notation (column vectors, :math:`\sigma` the logistic sigmoid), one step is

.. math::

    z_t &= \sigma(W_{hz} h_{t-1} + W_{xz} x_t + b_z)     && \text{update gate} \\
    r_t &= \sigma(W_{hr} h_{t-1} + W_{xr} x_t + b_r)     && \text{reset gate} \\
    \tilde h_t &= \tanh(W_{hh} (r_t \odot h_{t-1}) + W_{xh} x_t + b_h)
        && \text{candidate (reset\_after=False)} \\
    \tilde h_t &= \tanh(r_t \odot (W_{hh} h_{t-1} + b'_h) + W_{xh} x_t + b_h)
        && \text{candidate (reset\_after=True)} \\
    h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t,

with :math:`h_{-1} = 0`. In Keras's convention :math:`z_t` is the share of the *old* state that
is kept (some texts swap ``z`` and ``1 − z``). Keras stores the three gates side by side in the
order z, r, h: ``kernel`` ``(features, 3·units)`` is :math:`[W_{xz}; W_{xr}; W_{xh}]^\top`,
``recurrent_kernel`` ``(units, 3·units)`` is :math:`[W_{hz}; W_{hr}; W_{hh}]^\top` (``W_xh =
kernelᵀ``, ``W_hh = recurrent_kernelᵀ``, as for the simple RNN). ``tanh`` is ``activation``,
:math:`\sigma` ``recurrent_activation``.

Keras has both variants. ``reset_after=True`` (its default, and cuDNN's) applies the reset
gate after the recurrent product and has a second bias for it: ``bias`` ``(2, 3·units)``,
row 0 for the input part, row 1 for the recurrent part (:math:`b'`, which also enters ``z``
and ``r``). ``reset_after=False`` (the original GRU of Cho et al., 2014) resets ``h_{t-1}``
before the product and has one bias ``(3·units,)``.

Masks are handled as in :mod:`~dlcourse.scratch.lstm` (a masked step keeps ``h_{t-1}``), and
each operation comes as a ``*_naive`` loop over examples and steps and a twin with the same
signature that computes the whole batch at each step. With Keras's defaults (tanh, sigmoid,
``reset_after=True``) the layer runs the same computation made fast,
:func:`~dlcourse.scratch.recurrent_kernels.gru_forward_kernel` and
:func:`~dlcourse.scratch.recurrent_kernels.gru_backward_kernel`; tests keep all three equal.
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
from dlcourse.validation import check_bool

__all__ = ["GRU", "GRUCache", "GRUGradients", "GRUStep", "gru_backward", "gru_backward_naive",
           "gru_forward", "gru_forward_naive", "gru_step"]


class GRUStep(NamedTuple):
    """One step's result: ``h`` ``(batch, units)``; ``gates`` ``(batch, 3·units)``, the
    activated ``z, r, h̃`` side by side; ``recurrent_h`` ``(batch, units)``, the recurrent
    part of the candidate: ``h_{t-1} R_h + b'`` before the reset (``reset_after=True``) or
    ``(r ⊙ h_{t-1}) R_h`` (``reset_after=False``)."""

    h: np.ndarray
    gates: np.ndarray
    recurrent_h: np.ndarray


class GRUCache(NamedTuple):
    """What :func:`gru_backward` needs from :func:`gru_forward`, by name.

    ``x`` (batch, time, features); ``h0`` (batch, units); ``mask`` (batch, time) or None;
    ``gates`` (batch, time, 3·units) and ``recurrent_h`` (batch, time, units) of every step
    (as in :class:`GRUStep`); ``h`` (batch, time, units) the states (masked steps carry the
    previous one); the weights, the activations and the variant.
    """

    x: np.ndarray
    h0: np.ndarray
    mask: np.ndarray | None
    gates: np.ndarray
    recurrent_h: np.ndarray
    h: np.ndarray
    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    activation: object
    recurrent_activation: object
    reset_after: bool


class GRUGradients(NamedTuple):
    """What backpropagation through a GRU returns, by name: ``grad_x`` (batch, time,
    features); ``grad_kernel``, ``grad_recurrent_kernel``, ``grad_bias`` (``(2, 3·units)``
    with ``reset_after``, else ``(3·units,)``) summed over batch and steps; ``grad_h0``
    (batch, units); ``grad_h_steps`` (batch, time, units) the total ``dJ/dh_t``."""

    grad_x: np.ndarray
    grad_kernel: np.ndarray
    grad_recurrent_kernel: np.ndarray
    grad_bias: np.ndarray
    grad_h0: np.ndarray
    grad_h_steps: np.ndarray


def _bias_shape(units: int, reset_after: bool) -> tuple:
    return (2, 3 * units) if reset_after else (3 * units,)


# ------------------------------------------------------------------------------ forward
def gru_step(x_t, h_prev, kernel, recurrent_kernel, bias, activation="tanh",
             recurrent_activation="sigmoid", reset_after=True) -> GRUStep:
    r"""One GRU step, the module's equations line by line.

    Parameters
    ----------
    x_t : ndarray, shape (batch, features) or (features,)
    h_prev : ndarray, shape (batch, units) or (units,)
    kernel : ndarray, shape (features, 3·units)
        ``[W_xz; W_xr; W_xh]ᵀ``.
    recurrent_kernel : ndarray, shape (units, 3·units)
        ``[W_hz; W_hr; W_hh]ᵀ``.
    bias : ndarray of shape (2, 3·units) if ``reset_after`` else (3·units,), or None
    activation, recurrent_activation : str
        Keras names of ``tanh`` and ``σ`` in the equations.
    reset_after : bool
        Which of Keras's two variants (see the module).

    Returns
    -------
    GRUStep
    """
    act = get_activation(activation, "gru_step()")
    ract = get_activation(recurrent_activation, "gru_step()")
    units = np.shape(recurrent_kernel)[0]
    input_bias, recurrent_bias = (None, None) if bias is None else (
        (bias[0], bias[1]) if reset_after else (bias, None))
    x_part = x_t @ kernel if input_bias is None else x_t @ kernel + input_bias
    x_z, x_r, x_h = np.split(x_part, 3, axis=-1)           # W_x· x_t + b_·
    if reset_after:
        h_part = h_prev @ recurrent_kernel
        if recurrent_bias is not None:
            h_part = h_part + recurrent_bias
        h_z, h_r, recurrent_h = np.split(h_part, 3, axis=-1)  # W_h· h_{t-1} + b'_·
        z = ract.forward(x_z + h_z)                           # how much of h_{t-1} to keep
        r = ract.forward(x_r + h_r)                           # how much of it the candidate sees
        candidate = act.forward(x_h + r * recurrent_h)
    else:
        z = ract.forward(x_z + h_prev @ recurrent_kernel[:, :units])
        r = ract.forward(x_r + h_prev @ recurrent_kernel[:, units:2 * units])
        recurrent_h = (r * h_prev) @ recurrent_kernel[:, 2 * units:]
        candidate = act.forward(x_h + recurrent_h)
    h = z * h_prev + (1 - z) * candidate
    return GRUStep(h, np.concatenate([z, r, candidate], axis=-1), recurrent_h)


def check_gru_args(where, x, kernel, recurrent_kernel, bias, reset_after, h0, mask):
    """The GRU functions' arguments checked (``where`` names the function in the errors):
    ``x, kernel, recurrent_kernel, reset_after, h0, mask``, ``h0`` zeros if None."""
    reset_after = check_bool(reset_after, "reset_after", where)
    units = np.shape(recurrent_kernel)[0] if np.ndim(recurrent_kernel) else 0
    x, kernel, recurrent_kernel, (h0,), mask = check_recurrent_args(
        where, x, kernel, recurrent_kernel, bias, 3, {"h0": h0}, mask,
        bias_shape=_bias_shape(units, reset_after))
    return x, kernel, recurrent_kernel, reset_after, h0, mask


def gru_forward_naive(x, kernel, recurrent_kernel, bias, activation="tanh",
                      recurrent_activation="sigmoid", reset_after=True, h0=None, mask=None):
    r"""All states of a GRU, one example and one step at a time (for reading).

    Parameters
    ----------
    x : ndarray, shape (batch, time, features)
    kernel, recurrent_kernel, bias, activation, recurrent_activation, reset_after
        As in :func:`gru_step`.
    h0 : ndarray of shape (batch, units), optional
        The initial state; zeros by default, as in Keras.
    mask : bool ndarray of shape (batch, time), optional
        False skips the step: the state carries over unchanged.

    Returns
    -------
    h : ndarray, shape (batch, time, units)
        ``h[:, t]`` after step ``t``; ``h[:, -1]`` is what a ``GRU`` returns by default.
    cache : GRUCache
        For :func:`gru_backward`.
    """
    x, kernel, recurrent_kernel, reset_after, h0, mask = check_gru_args(
        "gru_forward_naive()", x, kernel, recurrent_kernel, bias, reset_after, h0, mask)
    act = get_activation(activation, "gru_forward_naive()")
    ract = get_activation(recurrent_activation, "gru_forward_naive()")
    batch, time, _ = x.shape
    units = recurrent_kernel.shape[0]
    h = np.zeros((batch, time, units), dtype=h0.dtype)
    recurrent_h = np.zeros_like(h)
    gates = np.zeros((batch, time, 3 * units), dtype=h0.dtype)
    for n in range(batch):
        h_prev = h0[n]
        for t in range(time):
            step = gru_step(x[n, t], h_prev, kernel, recurrent_kernel, bias, act, ract,
                            reset_after)
            gates[n, t], recurrent_h[n, t] = step.gates, step.recurrent_h
            if mask is None or mask[n, t]:  # a masked step keeps h_{t-1}
                h_prev = step.h
            h[n, t] = h_prev
    return h, GRUCache(x, h0, mask, gates, recurrent_h, h, kernel, recurrent_kernel, act, ract,
                       reset_after)


def gru_forward(x, kernel, recurrent_kernel, bias, activation="tanh",
                recurrent_activation="sigmoid", reset_after=True, h0=None, mask=None):
    """All states of a GRU, one :func:`gru_step` per time step for the whole batch.

    Same parameters, results and equations as :func:`gru_forward_naive`, without the loop over
    the examples. A mask is applied as Keras does: the step is computed, and the old state
    kept where the mask is False.
    """
    x, kernel, recurrent_kernel, reset_after, h0, mask = check_gru_args(
        "gru_forward()", x, kernel, recurrent_kernel, bias, reset_after, h0, mask)
    act = get_activation(activation, "gru_forward()")
    ract = get_activation(recurrent_activation, "gru_forward()")
    h, gates, recurrent_h = [], [], []
    h_prev = h0
    for t in range(x.shape[1]):
        step = gru_step(x[:, t], h_prev, kernel, recurrent_kernel, bias, act, ract, reset_after)
        h_t = step.h if mask is None else np.where(mask[:, t, None], step.h, h_prev)
        h.append(h_t)
        gates.append(step.gates)
        recurrent_h.append(step.recurrent_h)
        h_prev = h_t
    h, gates, recurrent_h = (np.stack(a, axis=1) for a in (h, gates, recurrent_h))
    return h, GRUCache(x, h0, mask, gates, recurrent_h, h, kernel, recurrent_kernel, act, ract,
                       reset_after)


# ------------------------------------------------------------------------------ backward
def check_gru_grad(where: str, cache: GRUCache, grad_h) -> np.ndarray:
    """``grad_h`` as an array of the states' shape and dtype, ``cache`` a :class:`GRUCache`."""
    if not isinstance(cache, GRUCache):
        raise TypeError(f"{where}: expected the GRUCache that gru_forward returned, "
                        f"got {type(cache).__name__}")
    grad_h = np.asarray(grad_h, dtype=cache.h.dtype)
    if grad_h.shape != cache.h.shape:
        raise ValueError(f"{where}: expected grad_h of the states' shape {cache.h.shape}, "
                         f"got shape {grad_h.shape}")
    return grad_h


def gru_backward_naive(grad_h, cache: GRUCache) -> GRUGradients:
    r"""Backpropagation through time, one example and one step at a time (for reading).

    Parameters
    ----------
    grad_h : ndarray, shape (batch, time, units)
        The gradient of the loss with respect to each ``h_t`` directly.
    cache : GRUCache
        From :func:`gru_forward` (or :func:`gru_forward_naive`).

    Returns
    -------
    GRUGradients

    Notes
    -----
    Going back from ``t = T-1``, ``dh = g_t + δ_{t+1}`` (what arrives directly plus what flows
    back from step ``t+1``); from ``h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃``:

    .. math::

        \frac{\partial J}{\partial z} = dh \odot (h_{t-1} - \tilde h), \quad
        \frac{\partial J}{\partial \tilde h} = dh \odot (1 - z), \quad
        \delta_t \mathrel{+}= dh \odot z,

    then through ``tanh`` to the candidate's pre-activation :math:`a_h`; with
    ``reset_after``, :math:`\partial J/\partial r = \partial J/\partial a_h \odot u` and
    :math:`\partial J/\partial u = \partial J/\partial a_h \odot r` for the recurrent part
    :math:`u = h_{t-1} R_h + b'`; without, :math:`\partial J/\partial (r \odot h_{t-1}) =
    (\partial J/\partial a_h) R_h^\top`, which gives ``dJ/dr`` (times ``h_{t-1}``) and a term
    of :math:`\delta_t` (times ``r``). ``z`` and ``r`` go through ``σ``; every product with a
    weight gives, as for the simple RNN, its outer-product term of the weight's gradient and
    its term of ``dJ/dx_t`` or ``δ_t``. A masked step passes ``dh`` back unchanged.
    """
    grad_h = check_gru_grad("gru_backward_naive()", cache, grad_h)
    x, h0, mask, gates, recurrent_h, h, kernel, recurrent_kernel, act, ract, reset_after = cache
    batch, time, _ = x.shape
    u = h.shape[-1]
    grad_x = np.zeros(x.shape, dtype=h.dtype)
    grad_kernel = np.zeros(kernel.shape, dtype=h.dtype)
    grad_recurrent_kernel = np.zeros(recurrent_kernel.shape, dtype=h.dtype)
    grad_bias = np.zeros(_bias_shape(u, reset_after), dtype=h.dtype)
    grad_h_steps, grad_h0 = np.zeros_like(h), np.zeros_like(h0)
    for n in range(batch):
        dh_next = np.zeros(u, dtype=h.dtype)
        for t in reversed(range(time)):
            h_prev = h[n, t - 1] if t > 0 else h0[n]
            dh = grad_h_steps[n, t] = grad_h[n, t] + dh_next
            if mask is not None and not mask[n, t]:  # h_t = h_{t-1}
                dh_next = dh
                continue
            z, r, candidate = np.split(gates[n, t], 3)
            dz = dh * (h_prev - candidate)            # h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃
            dh_next = dh * z
            da_h = grad_z_from_output(act, candidate, dh * (1 - z))
            if reset_after:                           # a_h = x W_xh + b + r ⊙ u
                dr = da_h * recurrent_h[n, t]
                du = da_h * r
            else:                                     # a_h = x W_xh + b + (r ⊙ h_{t-1}) R_h
                d_reset_h = recurrent_kernel[:, 2 * u:] @ da_h
                dr = d_reset_h * h_prev
                dh_next = dh_next + d_reset_h * r
            da_z, da_r = grad_z_from_output(ract, z, dz), grad_z_from_output(ract, r, dr)
            da_x = np.concatenate([da_z, da_r, da_h])  # the input part's pre-activations
            grad_x[n, t] = kernel @ da_x
            grad_kernel += np.outer(x[n, t], da_x)
            if reset_after:
                da_rec = np.concatenate([da_z, da_r, du])
                grad_recurrent_kernel += np.outer(h_prev, da_rec)
                dh_next = dh_next + recurrent_kernel @ da_rec
                grad_bias[0] += da_x
                grad_bias[1] += da_rec
            else:
                grad_recurrent_kernel[:, :2 * u] += np.outer(h_prev, da_x[:2 * u])
                grad_recurrent_kernel[:, 2 * u:] += np.outer(r * h_prev, da_h)
                dh_next = dh_next + recurrent_kernel[:, :2 * u] @ da_x[:2 * u]
                grad_bias += da_x
        grad_h0[n] = dh_next
    return GRUGradients(grad_x, grad_kernel, grad_recurrent_kernel, grad_bias, grad_h0,
                        grad_h_steps)


def gru_backward(grad_h, cache: GRUCache) -> GRUGradients:
    """Backpropagation through time for the whole batch at each step.

    Same parameters, result and formulas as :func:`gru_backward_naive`, without the loop over
    the examples. Only the recursion needs the loop over the steps; the weight and input
    gradients are computed after it, one matrix product each, from the pre-activation
    gradients of every step.
    """
    grad_h = check_gru_grad("gru_backward()", cache, grad_h)
    x, h0, mask, gates, recurrent_h, h, kernel, recurrent_kernel, act, ract, reset_after = cache
    batch, time, features = x.shape
    u = h.shape[-1]
    h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)  # h_{t-1} for every step
    da_x = np.zeros((batch, time, 3 * u), dtype=h.dtype)    # the input part's pre-activations
    da_rec = np.zeros_like(da_x)                            # the recurrent part's
    grad_h_steps = np.zeros_like(h)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(time)):
        dh = grad_h[:, t] + dh_next
        z, r, candidate = np.split(gates[:, t], 3, axis=-1)
        dz = dh * (h_prev[:, t] - candidate)      # h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃
        dh_back = dh * z
        da_h = grad_z_from_output(act, candidate, dh * (1 - z))
        if reset_after:                           # a_h = x W_xh + b + r ⊙ u
            dr = da_h * recurrent_h[:, t]
            du = da_h * r
        else:                                     # a_h = x W_xh + b + (r ⊙ h_{t-1}) R_h
            d_reset_h = da_h @ recurrent_kernel[:, 2 * u:].T
            dr = d_reset_h * h_prev[:, t]
            dh_back = dh_back + d_reset_h * r
            du = da_h                             # dJ/d((r ⊙ h_{t-1}) R_h)
        da_z, da_r = grad_z_from_output(ract, z, dz), grad_z_from_output(ract, r, dr)
        step_x = np.concatenate([da_z, da_r, da_h], axis=-1)
        step_rec = np.concatenate([da_z, da_r, du], axis=-1)
        if reset_after:
            dh_back = dh_back + step_rec @ recurrent_kernel.T
        else:
            dh_back = dh_back + step_x[:, :2 * u] @ recurrent_kernel[:, :2 * u].T
        if mask is not None:  # masked: h_t = h_{t-1}; dh passes straight back
            keep = mask[:, t, None]
            step_x, step_rec = np.where(keep, step_x, 0), np.where(keep, step_rec, 0)
            dh_back = np.where(keep, dh_back, dh)
        grad_h_steps[:, t], da_x[:, t], da_rec[:, t] = dh, step_x, step_rec
        dh_next = dh_back
    rows = batch * time
    da_x_rows, da_rec_rows = da_x.reshape(rows, 3 * u), da_rec.reshape(rows, 3 * u)
    h_prev_rows = h_prev.reshape(rows, u)
    if reset_after:
        grad_recurrent_kernel = h_prev_rows.T @ da_rec_rows
        grad_bias = np.stack([da_x_rows.sum(axis=0), da_rec_rows.sum(axis=0)])
    else:  # z and r see h_{t-1}, the candidate r ⊙ h_{t-1}
        reset_h_rows = (gates[:, :, u:2 * u] * h_prev).reshape(rows, u)
        grad_recurrent_kernel = np.concatenate([h_prev_rows.T @ da_x_rows[:, :2 * u],
                                                reset_h_rows.T @ da_rec_rows[:, 2 * u:]], axis=1)
        grad_bias = da_x_rows.sum(axis=0)
    return GRUGradients(
        grad_x=(da_x_rows @ kernel.T).reshape(batch, time, features),
        grad_kernel=x.reshape(rows, features).T @ da_x_rows,
        grad_recurrent_kernel=grad_recurrent_kernel, grad_bias=grad_bias, grad_h0=dh_next,
        grad_h_steps=grad_h_steps)


# ------------------------------------------------------------------------------ the layer
@register_layer
class GRU(RecurrentLayer):
    r"""Gated recurrent unit layer, Keras's ``GRU``.

    Parameters
    ----------
    units : int
        Size of the hidden state.
    activation, recurrent_activation : str or None
        Keras names of ``tanh`` (candidate) and ``σ`` (the gates).
    use_bias : bool
    kernel_initializer, recurrent_initializer, bias_initializer : str or callable
        Keras's defaults: ``glorot_uniform``, ``orthogonal``, ``zeros``.
    kernel_regularizer, recurrent_regularizer, bias_regularizer : None, str or Regularizer
    return_sequences, return_state, go_backwards : bool
        As in Keras (see :class:`~dlcourse.scratch.recurrent.RecurrentLayer`).
    reset_after : bool
        Keras's default ``True``: the reset gate after the recurrent product, ``bias``
        ``(2, 3·units)``; ``False``: before it, ``bias`` ``(3·units,)`` (see the module).
    name : str, optional
    seed : int, optional
        Seed of the weight initialisation.
    dtype : str or numpy dtype, optional
        The floating-point dtype it computes in; by default its first input's.
    """

    n_gates = 3
    state_names = ("h",)

    def __init__(self, units: int, activation: str | None = "tanh",
                 recurrent_activation: str | None = "sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 reset_after: bool = True, name: str | None = None, seed: int | None = None,
                 dtype=None):
        owner = self._owner(name)
        recurrent_activation = get_activation(recurrent_activation, owner,
                                              "recurrent_activation")
        reset_after = check_bool(reset_after, "reset_after", owner)
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, return_sequences, return_state, go_backwards, name,
                         seed, dtype)
        self.recurrent_activation = recurrent_activation
        self.reset_after = reset_after

    def _bias_shape(self) -> tuple:
        return _bias_shape(self.units, self.reset_after)

    def _fast(self) -> bool:
        """Whether the kernels compute this GRU (Keras's defaults)."""
        return (self.reset_after
                and recurrent_kernels.has_kernel(self.activation, self.recurrent_activation))

    def _run(self, x, mask, initial_state):
        h0 = initial_state[0] if initial_state else None
        weights = self.params["kernel"], self.params["recurrent_kernel"], self.params.get("bias")
        if self._fast():
            h, cache = recurrent_kernels.gru_forward_kernel(x, *weights, h0, mask)
        else:
            h, cache = gru_forward(x, *weights, self.activation, self.recurrent_activation,
                                   self.reset_after, h0, mask)
        return h, [h[:, -1]], cache

    def _run_backward(self, grad_h, grad_states, cache):
        grads = (recurrent_kernels.gru_backward_kernel if self._fast() else gru_backward)(
            grad_h, cache)
        return grads, [grads.grad_h0]
