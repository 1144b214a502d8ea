r"""The long short-term memory (LSTM): one step, the forward pass, backpropagation through time.

In the course's notation (column vectors, :math:`\sigma` the logistic sigmoid), one step is

.. math::

    i_t &= \sigma(W_{hi} h_{t-1} + W_{xi} x_t + b_i)          && \text{input gate} \\
    f_t &= \sigma(W_{hf} h_{t-1} + W_{xf} x_t + b_f)          && \text{forget gate} \\
    \tilde c_t &= \tanh(W_{hc} h_{t-1} + W_{xc} x_t + b_c)     && \text{candidate} \\
    o_t &= \sigma(W_{ho} h_{t-1} + W_{xo} x_t + b_o)          && \text{output gate} \\
    c_t &= f_t \odot c_{t-1} + i_t \odot \tilde c_t,  \qquad
    h_t = o_t \odot \tanh(c_t),

with :math:`h_{-1} = c_{-1} = 0`. Keras stores the four gates side by side for row vectors,
in the order i, f, c, o: ``kernel`` ``(features, 4·units)`` is
:math:`[W_{xi}; W_{xf}; W_{xc}; W_{xo}]^\top`, ``recurrent_kernel`` ``(units, 4·units)`` is
:math:`[W_{hi}; W_{hf}; W_{hc}; W_{ho}]^\top` (so ``W_xh = kernelᵀ`` and ``W_hh =
recurrent_kernelᵀ``, as for the simple RNN) and ``bias`` ``(4·units,)`` is
:math:`[b_i, b_f, b_c, b_o]`. ``tanh`` is ``activation`` and :math:`\sigma` is
``recurrent_activation``.

The cell state :math:`c_t` is updated by a sum, not through a weight matrix: going back one step
its gradient is only multiplied by :math:`f_t`, so it survives over many steps where a simple
RNN's vanishes.

**Masks**, as Keras: where ``mask[n, t]`` is False, step ``t`` of example ``n`` is skipped:
``h_t = h_{t-1}``, ``c_t = c_{t-1}`` (and the output there is that carried ``h``), so the step
gets no gradient and passes the one it receives straight back to step ``t-1``.

Each operation comes twice with identical signatures, as in :mod:`~dlcourse.scratch.recurrent`:
``*_naive`` loops over examples and steps and reads like the equations; the other loops over
time only, computing the whole batch at each step. ``lstm_forward`` returns a
:class:`LSTMCache` that ``lstm_backward`` takes, so the backward pass recomputes nothing. With
Keras's default activations the layer runs the same computation made fast,
:func:`~dlcourse.scratch.recurrent_kernels.lstm_forward_kernel` and
:func:`~dlcourse.scratch.recurrent_kernels.lstm_backward_kernel`; tests keep all three equal.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcourse.scratch import initializers, recurrent_kernels
from dlcourse.scratch.base import register_layer
from dlcourse.scratch.recurrent_base import (
    RecurrentLayer,
    check_recurrent_args,
    get_activation,
    grad_z_from_output,
)
from dlcourse.validation import check_bool

__all__ = ["LSTM", "LSTMCache", "LSTMGradients", "LSTMStep", "lstm_backward",
           "lstm_backward_naive", "lstm_forward", "lstm_forward_naive", "lstm_step"]


class LSTMStep(NamedTuple):
    """One step's result: ``h`` and ``c`` ``(batch, units)``, ``gates`` ``(batch, 4·units)``.

    ``gates`` holds ``i, f, c̃, o`` after their activations, side by side in Keras's order.
    """

    h: np.ndarray
    c: np.ndarray
    gates: np.ndarray


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward` needs from :func:`lstm_forward`, by name.

    ``x`` (batch, time, features); ``h0``, ``c0`` (batch, units); ``mask`` (batch, time) bool or
    None; ``gates`` (batch, time, 4·units) ``i, f, c̃, o`` after their activations; ``h``, ``c``
    (batch, time, units) the states after each step (masked steps carry the previous ones);
    ``c_act`` ``activation(c)``; the weights and the two activations.
    """

    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    mask: np.ndarray | None
    gates: np.ndarray
    h: np.ndarray
    c: np.ndarray
    c_act: np.ndarray
    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    activation: object
    recurrent_activation: object


class LSTMGradients(NamedTuple):
    """What backpropagation through an LSTM returns, by name.

    ``grad_x`` (batch, time, features); ``grad_kernel``, ``grad_recurrent_kernel``,
    ``grad_bias`` with the weights' shapes, summed over the batch and the steps; ``grad_h0``,
    ``grad_c0`` (batch, units) for the initial states; ``grad_h_steps``, ``grad_c_steps``
    (batch, time, units) the total ``dJ/dh_t`` and ``dJ/dc_t`` at every step (every path
    from the state to the loss: ``c_t`` reaches it through ``h_t`` and through ``c_{t+1}``),
    to plot how gradients vanish or do not.
    """

    grad_x: np.ndarray
    grad_kernel: np.ndarray
    grad_recurrent_kernel: np.ndarray
    grad_bias: np.ndarray
    grad_h0: np.ndarray
    grad_c0: np.ndarray
    grad_h_steps: np.ndarray
    grad_c_steps: np.ndarray


# ------------------------------------------------------------------------------ forward
def lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias, activation="tanh",
              recurrent_activation="sigmoid") -> LSTMStep:
    r"""One LSTM step, the module's equations line by line.

    Parameters
    ----------
    x_t : ndarray, shape (batch, features) or (features,)
    h_prev, c_prev : ndarray, shape (batch, units) or (units,)
        ``h_{t-1}`` and ``c_{t-1}``.
    kernel : ndarray, shape (features, 4·units)
        ``[W_xi; W_xf; W_xc; W_xo]ᵀ``.
    recurrent_kernel : ndarray, shape (units, 4·units)
        ``[W_hi; W_hf; W_hc; W_ho]ᵀ``.
    bias : ndarray of shape (4·units,), or None
    activation, recurrent_activation : str
        Keras names of ``tanh`` and ``σ`` in the equations.

    Returns
    -------
    LSTMStep
        ``h_t``, ``c_t`` and the activated gates ``[i_t, f_t, c̃_t, o_t]``.
    """
    act = get_activation(activation, "lstm_step()")
    ract = get_activation(recurrent_activation, "lstm_step()")
    z = x_t @ kernel + h_prev @ recurrent_kernel  # W_xh x_t + W_hh h_{t-1}, four gates at once
    if bias is not None:
        z = z + bias
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    i = ract.forward(z_i)       # how much of the candidate to write
    f = ract.forward(z_f)       # how much of c_{t-1} to keep
    g = act.forward(z_c)        # the candidate c̃_t
    o = ract.forward(z_o)       # how much of the cell to show
    c = f * c_prev + i * g
    h = o * act.forward(c)
    return LSTMStep(h, c, np.concatenate([i, f, g, o], axis=-1))


def lstm_forward_naive(x, kernel, recurrent_kernel, bias, activation="tanh",
                       recurrent_activation="sigmoid", h0=None, c0=None, mask=None):
    r"""All states of an LSTM, one example and one step at a time (for reading).

    Parameters
    ----------
    x : ndarray, shape (batch, time, features)
    kernel, recurrent_kernel, bias, activation, recurrent_activation
        As in :func:`lstm_step`.
    h0, c0 : ndarray of shape (batch, units), optional
        The initial states; zeros by default, as in Keras.
    mask : bool ndarray of shape (batch, time), optional
        False skips the step: the states carry over unchanged.

    Returns
    -------
    h, c : ndarray, shape (batch, time, units)
        ``h[:, t]`` and ``c[:, t]`` after step ``t``; ``h[:, -1]`` is what an ``LSTM``
        returns by default.
    cache : LSTMCache
        For :func:`lstm_backward`.
    """
    x, kernel, recurrent_kernel, (h0, c0), mask = check_recurrent_args(
        "lstm_forward_naive()", x, kernel, recurrent_kernel, bias, 4, {"h0": h0, "c0": c0}, mask)
    act = get_activation(activation, "lstm_forward_naive()")
    ract = get_activation(recurrent_activation, "lstm_forward_naive()")
    batch, time, _ = x.shape
    units = recurrent_kernel.shape[0]
    h = np.zeros((batch, time, units), dtype=h0.dtype)
    c = np.zeros_like(h)
    gates = np.zeros((batch, time, 4 * units), dtype=h0.dtype)
    for n in range(batch):
        h_prev, c_prev = h0[n], c0[n]
        for t in range(time):
            step = lstm_step(x[n, t], h_prev, c_prev, kernel, recurrent_kernel, bias, act, ract)
            gates[n, t] = step.gates
            if mask is None or mask[n, t]:  # a masked step keeps h_{t-1} and c_{t-1}
                h_prev, c_prev = step.h, step.c
            h[n, t], c[n, t] = h_prev, c_prev
    cache = LSTMCache(x, h0, c0, mask, gates, h, c, act.forward(c), kernel, recurrent_kernel,
                      act, ract)
    return h, c, cache


def lstm_forward(x, kernel, recurrent_kernel, bias, activation="tanh",
                 recurrent_activation="sigmoid", h0=None, c0=None, mask=None):
    """All states of an LSTM, one :func:`lstm_step` per time step for the whole batch.

    Same parameters, results and equations as :func:`lstm_forward_naive`, without the loop
    over the examples. A mask is applied as Keras does: the step is computed, and the old
    states kept where the mask is False.
    """
    x, kernel, recurrent_kernel, (h0, c0), mask = check_recurrent_args(
        "lstm_forward()", x, kernel, recurrent_kernel, bias, 4, {"h0": h0, "c0": c0}, mask)
    act = get_activation(activation, "lstm_forward()")
    ract = get_activation(recurrent_activation, "lstm_forward()")
    h, c, gates = [], [], []
    h_prev, c_prev = h0, c0
    for t in range(x.shape[1]):
        step = lstm_step(x[:, t], h_prev, c_prev, kernel, recurrent_kernel, bias, act, ract)
        h_t, c_t = step.h, step.c
        if mask is not None:  # a masked step keeps h_{t-1} and c_{t-1}
            h_t = np.where(mask[:, t, None], h_t, h_prev)
            c_t = np.where(mask[:, t, None], c_t, c_prev)
        h.append(h_t)
        c.append(c_t)
        gates.append(step.gates)
        h_prev, c_prev = h_t, c_t
    h, c, gates = (np.stack(a, axis=1) for a in (h, c, gates))
    cache = LSTMCache(x, h0, c0, mask, gates, h, c, act.forward(c), kernel, recurrent_kernel,
                      act, ract)
    return h, c, cache


# ------------------------------------------------------------------------------ backward
def check_lstm_grads(where: str, cache: LSTMCache, grad_h, grad_c):
    """``grad_h`` and ``grad_c`` (zeros if None) as arrays of the states' shape and dtype,
    ``cache`` an :class:`LSTMCache`; ``where`` names the function in the errors."""
    if not isinstance(cache, LSTMCache):
        raise TypeError(f"{where}: expected the LSTMCache that lstm_forward returned, "
                        f"got {type(cache).__name__}")
    grad_h = np.asarray(grad_h, dtype=cache.h.dtype)
    grad_c = np.zeros_like(grad_h) if grad_c is None else np.asarray(grad_c, cache.h.dtype)
    for name, grad in (("grad_h", grad_h), ("grad_c", grad_c)):
        if grad.shape != cache.h.shape:
            raise ValueError(f"{where}: expected {name} of the states' shape {cache.h.shape}, "
                             f"got shape {grad.shape}")
    return grad_h, grad_c


def lstm_backward_naive(grad_h, cache: LSTMCache, grad_c=None) -> LSTMGradients:
    r"""Backpropagation through time, one example and one step at a time (for reading).

    Parameters
    ----------
    grad_h : ndarray, shape (batch, time, units)
        The gradient of the loss with respect to each ``h_t`` directly (zero except at the last
        step when only the last state is used).
    cache : LSTMCache
        From :func:`lstm_forward` (or :func:`lstm_forward_naive`).
    grad_c : ndarray of shape (batch, time, units), optional
        The gradient arriving at each ``c_t`` directly (e.g. at the last step, when the final
        cell state is returned); zeros by default.

    Returns
    -------
    LSTMGradients

    Notes
    -----
    Going back from ``t = T-1`` with ``δh``, ``δc`` what flows back from step ``t+1`` (zero at
    first), ``dh = g^h_t + δh`` and ``dc = g^c_t + δc``; then, reading the forward equations
    backwards (``a = tanh`` or ``σ`` as in the step, ``z`` its pre-activation):

    .. math::

        \frac{\partial J}{\partial o} = dh \odot \tanh(c_t), \quad
        dc \mathrel{+}= dh \odot o \odot \tanh'(c_t), \quad
        \frac{\partial J}{\partial i} = dc \odot \tilde c, \quad
        \frac{\partial J}{\partial f} = dc \odot c_{t-1}, \quad
        \frac{\partial J}{\partial \tilde c} = dc \odot i,

    :math:`\partial J/\partial z = \partial J/\partial a \odot a'(z)` for each gate, and
    :math:`\delta c = dc \odot f`, :math:`\delta h = (\partial J/\partial z) R^\top`. As for
    the simple RNN, ``dJ/dkernel = Σ_t x_tᵀ dJ/dz_t``, ``dJ/drecurrent_kernel =
    Σ_t h_{t-1}ᵀ dJ/dz_t``, ``dJ/dbias = Σ_t dJ/dz_t`` and ``dJ/dx_t = dJ/dz_t kernelᵀ``.
    A masked step passes ``dh`` and ``dc`` back unchanged and adds nothing.
    """
    grad_h, grad_c = check_lstm_grads("lstm_backward_naive()", cache, grad_h, grad_c)
    x, h0, c0, mask, gates, h, c, c_act, kernel, recurrent_kernel, act, ract = cache
    batch, time, _ = x.shape
    units = h.shape[-1]
    grad_x = np.zeros(x.shape, dtype=h.dtype)
    grad_kernel = np.zeros(kernel.shape, dtype=h.dtype)
    grad_recurrent_kernel = np.zeros(recurrent_kernel.shape, dtype=h.dtype)
    grad_bias = np.zeros(4 * units, dtype=h.dtype)
    grad_h_steps, grad_c_steps = np.zeros_like(h), np.zeros_like(h)
    grad_h0, grad_c0 = np.zeros_like(h0), np.zeros_like(c0)
    for n in range(batch):
        dh_next, dc_next = np.zeros(units, h.dtype), np.zeros(units, h.dtype)
        for t in reversed(range(time)):
            h_prev = h[n, t - 1] if t > 0 else h0[n]
            c_prev = c[n, t - 1] if t > 0 else c0[n]
            dh = grad_h_steps[n, t] = grad_h[n, t] + dh_next
            dc = grad_c_steps[n, t] = grad_c[n, t] + dc_next
            if mask is not None and not mask[n, t]:  # h_t = h_{t-1}, c_t = c_{t-1}
                dh_next, dc_next = dh, dc
                continue
            i, f, g, o = np.split(gates[n, t], 4)
            do = dh * c_act[n, t]                             # h_t = o ⊙ tanh(c_t)
            dc = grad_c_steps[n, t] = dc + grad_z_from_output(act, c_act[n, t], dh * o)
            di, df, dg = dc * g, dc * c_prev, dc * i          # c_t = f ⊙ c_{t-1} + i ⊙ c̃
            dz = np.concatenate([grad_z_from_output(ract, i, di), grad_z_from_output(ract, f, df),
                                 grad_z_from_output(act, g, dg), grad_z_from_output(ract, o, do)])
            grad_x[n, t] = kernel @ dz
            grad_kernel += np.outer(x[n, t], dz)
            grad_recurrent_kernel += np.outer(h_prev, dz)
            grad_bias += dz
            dh_next = recurrent_kernel @ dz
            dc_next = dc * f
        grad_h0[n], grad_c0[n] = dh_next, dc_next
    return LSTMGradients(grad_x, grad_kernel, grad_recurrent_kernel, grad_bias, grad_h0,
                         grad_c0, grad_h_steps, grad_c_steps)


def lstm_backward(grad_h, cache: LSTMCache, grad_c=None) -> LSTMGradients:
    """Backpropagation through time for the whole batch at each step.

    Same parameters, result and formulas as :func:`lstm_backward_naive`, without the loop over
    the examples. Only the recursion needs the loop over the steps; the weight and input
    gradients are sums over all steps of products with ``dJ/dz_t``, computed after it in one
    matrix product each.
    """
    grad_h, grad_c = check_lstm_grads("lstm_backward()", cache, grad_h, grad_c)
    x, h0, c0, mask, gates, h, c, c_act, kernel, recurrent_kernel, act, ract = cache
    batch, time, features = x.shape
    units = h.shape[-1]
    h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)  # h_{t-1} for every step
    c_prev = np.concatenate([c0[:, None], c[:, :-1]], axis=1)
    grad_z = np.zeros_like(gates)
    grad_h_steps, grad_c_steps = np.zeros_like(h), np.zeros_like(h)
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(c0)
    for t in reversed(range(time)):
        dh = grad_h[:, t] + dh_next
        dc_arriving = grad_c[:, t] + dc_next
        i, f, g, o = np.split(gates[:, t], 4, axis=-1)
        do = dh * c_act[:, t]                                 # h_t = o ⊙ tanh(c_t)
        dc = dc_arriving + grad_z_from_output(act, c_act[:, t], dh * o)
        di, df, dg = dc * g, dc * c_prev[:, t], dc * i         # c_t = f ⊙ c_{t-1} + i ⊙ c̃
        dz = np.concatenate([grad_z_from_output(ract, i, di), grad_z_from_output(ract, f, df),
                             grad_z_from_output(act, g, dg), grad_z_from_output(ract, o, do)],
                            axis=-1)
        dh_back, dc_back = dz @ recurrent_kernel.T, dc * f
        if mask is not None:  # masked: h_t = h_{t-1}, c_t = c_{t-1}; dh, dc pass straight back
            keep = mask[:, t, None]
            dz = np.where(keep, dz, 0)
            dc = np.where(keep, dc, dc_arriving)
            dh_back, dc_back = np.where(keep, dh_back, dh), np.where(keep, dc_back, dc)
        grad_h_steps[:, t], grad_c_steps[:, t], grad_z[:, t] = dh, dc, dz
        dh_next, dc_next = dh_back, dc_back
    dz_rows = grad_z.reshape(batch * time, 4 * units)
    return LSTMGradients(
        grad_x=(dz_rows @ kernel.T).reshape(batch, time, features),
        grad_kernel=x.reshape(batch * time, features).T @ dz_rows,
        grad_recurrent_kernel=h_prev.reshape(batch * time, units).T @ dz_rows,
        grad_bias=dz_rows.sum(axis=0),
        grad_h0=dh_next, grad_c0=dc_next,
        grad_h_steps=grad_h_steps, grad_c_steps=grad_c_steps,
    )


# ------------------------------------------------------------------------------ the layer
@register_layer
class LSTM(RecurrentLayer):
    r"""Long short-term memory layer, Keras's ``LSTM``.

    Parameters
    ----------
    units : int
        Size of the hidden state ``h`` and of the cell state ``c``.
    activation, recurrent_activation : str or None
        Keras names of ``tanh`` (candidate and output) and ``σ`` (the gates).
    use_bias : bool
    kernel_initializer, recurrent_initializer, bias_initializer : str or callable
        Keras's defaults: ``glorot_uniform``, ``orthogonal``, ``zeros``.
    unit_forget_bias : bool
        Add 1 to the forget gate's bias at initialisation, as Keras (the bias is
        ``[init(units), ones(units), init(2·units)]``): the cell keeps its memory at first.
    kernel_regularizer, recurrent_regularizer, bias_regularizer : None, str or Regularizer
    return_sequences, return_state, go_backwards : bool
        As in Keras: every ``h_t`` instead of the last; the output followed by the final
        ``h`` and ``c``; read the sequence from its end (the output sequence is then in
        reading order, i.e. reversed).
    name : str, optional
    seed : int, optional
        Seed of the weight initialisation.
    dtype : str or numpy dtype, optional
        The floating-point dtype it computes in; by default its first input's.

    Notes
    -----
    The equations are the module's; ``forward(x, mask=..., initial_state=[h0, c0])`` and
    ``backward(grad_output, grad_states=[grad_h, grad_c])`` as described in
    :class:`~dlcourse.scratch.recurrent.RecurrentLayer`.
    """

    n_gates = 4
    state_names = ("h", "c")

    def __init__(self, units: int, activation: str | None = "tanh",
                 recurrent_activation: str | None = "sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias: bool = True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, name: str | None = None, seed: int | None = None,
                 dtype=None):
        owner = self._owner(name)
        recurrent_activation = get_activation(recurrent_activation, owner,
                                              "recurrent_activation")
        unit_forget_bias = check_bool(unit_forget_bias, "unit_forget_bias", owner)
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, return_sequences, return_state, go_backwards, name,
                         seed, dtype)
        self.recurrent_activation = recurrent_activation
        self.unit_forget_bias = unit_forget_bias

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, init = self.units, self.bias_initializer

        def unit_forget(shape, rng, dtype):  # Keras's: the forget gate's block starts at 1
            parts = [init((units,), rng, dtype), initializers.ones((units,), dtype=dtype),
                     init((2 * units,), rng, dtype)]
            for part, size in zip(parts, (units, units, 2 * units), strict=True):
                if np.shape(part) != (size,):
                    raise ValueError(self.error_message(
                        f"bias_initializer returned an array of shape {np.shape(part)} for "
                        f"shape ({size},), with unit_forget_bias=True"))
            return np.concatenate(parts)

        return unit_forget

    def _run(self, x, mask, initial_state):
        h0, c0 = initial_state or (None, None)
        weights = self.params["kernel"], self.params["recurrent_kernel"], self.params.get("bias")
        if recurrent_kernels.has_kernel(self.activation, self.recurrent_activation):
            h, c, cache = recurrent_kernels.lstm_forward_kernel(x, *weights, h0, c0, mask)
        else:
            h, c, cache = lstm_forward(x, *weights, self.activation, self.recurrent_activation,
                                       h0, c0, mask)
        return h, [h[:, -1], c[:, -1]], cache

    def _run_backward(self, grad_h, grad_states, cache):
        grad_c = None
        if grad_states[1] is not None:
            grad_c = np.zeros_like(grad_h)
            grad_c[:, -1] = grad_states[1]
        fast = recurrent_kernels.has_kernel(self.activation, self.recurrent_activation)
        grads = (recurrent_kernels.lstm_backward_kernel if fast else lstm_backward)(
            grad_h, cache, grad_c)
        self.grad_c_steps = grads.grad_c_steps
        return grads, [grads.grad_h0, grads.grad_c0]

