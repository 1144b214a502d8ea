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
``*_naive`` loops over examples and steps and reads like the equations; the fast version loops
over time only. ``lstm_forward`` returns a :class:`LSTMCache` that ``lstm_backward`` takes, so
the backward pass recomputes nothing.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcourse.scratch import initializers, regularizers
from dlcourse.scratch.base import Layer, _check_training, get_rng
from dlcourse.scratch.recurrent import _activation, _grad_z
from dlcourse.validation import check_bool, check_int

__all__ = ["LSTM", "LSTMCache", "LSTMGradients", "LSTMStep", "RecurrentLayer",
           "check_recurrent_args", "lstm_backward", "lstm_backward_naive", "lstm_forward",
           "lstm_forward_naive", "lstm_step"]


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
    act = _activation(activation, "lstm_step()")
    ract = _activation(recurrent_activation, "lstm_step()")
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
    act = _activation(activation, "lstm_forward_naive()")
    ract = _activation(recurrent_activation, "lstm_forward_naive()")
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


def _gate_activations(z: np.ndarray, act, ract, units: int) -> np.ndarray:
    """``[σ(z_i), σ(z_f), tanh(z_c), σ(z_o)]`` for the pre-activations ``z`` (..., 4·units)."""
    out = np.empty_like(z)
    for k, f in enumerate((ract, ract, act, ract)):
        block = slice(k * units, (k + 1) * units)
        out[..., block] = f.forward(z[..., block])
    return out


def lstm_forward(x, kernel, recurrent_kernel, bias, activation="tanh",
                 recurrent_activation="sigmoid", h0=None, c0=None, mask=None):
    """All states of an LSTM, vectorised over the batch (the layer's version).

    Same parameters, results and equations as :func:`lstm_forward_naive`. The input part
    ``x_t @ kernel + bias`` of every step is one matrix product before the loop; a mask is
    applied as Keras does, computing the step and keeping the old states where it is False.
    """
    x, kernel, recurrent_kernel, (h0, c0), mask = check_recurrent_args(
        "lstm_forward()", x, kernel, recurrent_kernel, bias, 4, {"h0": h0, "c0": c0}, mask)
    act = _activation(activation, "lstm_forward()")
    ract = _activation(recurrent_activation, "lstm_forward()")
    batch, time, features = x.shape
    units = recurrent_kernel.shape[0]
    xw = (x.reshape(batch * time, features) @ kernel).reshape(batch, time, 4 * units)
    if bias is not None:
        xw += bias
    xw = xw.transpose(1, 0, 2)  # time-major: every step's slice is one contiguous block
    keep = None if mask is None else mask.T[:, :, None]
    gates = np.empty((time, batch, 4 * units), dtype=h0.dtype)
    h = np.empty((time, batch, units), dtype=h0.dtype)
    c = np.empty_like(h)
    h_prev, c_prev = h0, c0
    for t in range(time):
        a = gates[t] = _gate_activations(xw[t] + h_prev @ recurrent_kernel, act, ract, units)
        i, f, g, o = np.split(a, 4, axis=-1)
        c[t] = f * c_prev + i * g
        h[t] = o * act.forward(c[t])
        if keep is not None:
            c[t] = np.where(keep[t], c[t], c_prev)
            h[t] = np.where(keep[t], h[t], h_prev)
        h_prev, c_prev = h[t], c[t]
    h, c, gates = (a.transpose(1, 0, 2) for a in (h, c, gates))
    cache = LSTMCache(x, h0, c0, mask, gates, h, c, act.forward(c), kernel, recurrent_kernel,
                      act, ract)
    return h, c, cache


# ------------------------------------------------------------------------------ backward
def _check_grads(where: str, cache: LSTMCache, grad_h, grad_c):
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
    grad_h, grad_c = _check_grads("lstm_backward_naive()", cache, grad_h, grad_c)
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
            dc = grad_c_steps[n, t] = dc + _grad_z(act, c_act[n, t], dh * o)
            di, df, dg = dc * g, dc * c_prev, dc * i          # c_t = f ⊙ c_{t-1} + i ⊙ c̃
            dz = np.concatenate([_grad_z(ract, i, di), _grad_z(ract, f, df),
                                 _grad_z(act, g, dg), _grad_z(ract, o, do)])
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
    """Backpropagation through time, vectorised over the batch (the layer's version).

    Same parameters, result and formulas as :func:`lstm_backward_naive`. Only the recursion
    needs the loop; the weight and input gradients are sums over all steps of products with
    ``dJ/dz_t``, computed after it in one matrix product each.
    """
    grad_h, grad_c = _check_grads("lstm_backward()", cache, grad_h, grad_c)
    x, h0, c0, mask, gates, h, c, c_act, kernel, recurrent_kernel, act, ract = cache
    batch, time, features = x.shape
    units = h.shape[-1]
    tm = [a.transpose(1, 0, 2) for a in (grad_h, grad_c, gates, c_act)]
    grad_h_tm, grad_c_tm, gates_tm, c_act_tm = tm
    c_prev_tm = np.concatenate([c0[None], c.transpose(1, 0, 2)[:-1]])
    keep = None if mask is None else mask.T[:, :, None].astype(h.dtype)
    dz = np.empty((time, batch, 4 * units), dtype=h.dtype)
    grad_h_steps, grad_c_steps = np.empty_like(dz[..., :units]), np.empty_like(dz[..., :units])
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(c0)
    for t in range(time - 1, -1, -1):
        dh = grad_h_steps[t] = grad_h_tm[t] + dh_next
        dc = grad_c_tm[t] + dc_next
        if keep is not None:  # masked examples pass dh, dc straight back
            dh_skip, dc_skip = dh * (1 - keep[t]), dc * (1 - keep[t])
            dh, dc = dh * keep[t], dc * keep[t]
        i, f, g, o = np.split(gates_tm[t], 4, axis=-1)
        dc = dc + _grad_z(act, c_act_tm[t], dh * o)
        grad_c_steps[t] = dc if keep is None else dc + dc_skip
        for k, (fn, a, grad_a) in enumerate(((ract, i, dc * g), (ract, f, dc * c_prev_tm[t]),
                                             (act, g, dc * i), (ract, o, dh * c_act_tm[t]))):
            dz[t, :, k * units:(k + 1) * units] = _grad_z(fn, a, grad_a)
        dh_next = dz[t] @ recurrent_kernel.T
        dc_next = dc * f
        if keep is not None:
            dh_next += dh_skip
            dc_next += dc_skip
    dz_rows = dz.transpose(1, 0, 2).reshape(batch * time, 4 * units)
    h_prev_rows = np.concatenate([h0[:, None], h[:, :-1]], axis=1).reshape(batch * time, units)
    return LSTMGradients(
        grad_x=(dz_rows @ kernel.T).reshape(batch, time, features),
        grad_kernel=x.reshape(batch * time, features).T @ dz_rows,
        grad_recurrent_kernel=h_prev_rows.T @ dz_rows,
        grad_bias=dz_rows.sum(axis=0),
        grad_h0=dh_next, grad_c0=dc_next,
        grad_h_steps=grad_h_steps.transpose(1, 0, 2),
        grad_c_steps=grad_c_steps.transpose(1, 0, 2),
    )


# ------------------------------------------------------- shared with the GRU (see gru.py)
# check_recurrent_args and RecurrentLayer serve every gated recurrent layer; they sit here, by
# the first of them, until recurrent.py takes them (and SimpleRNN gains masks and states).
def check_recurrent_args(where: str, x, kernel, recurrent_kernel, bias, n_gates: int,
                         initial: dict, mask, bias_shape: tuple | None = None):
    """The arguments of a gated recurrence checked against ``x``'s shape (LSTM and GRU).

    ``initial`` maps names (``"h0"``, ``"c0"``) to initial states or None; ``bias_shape`` is
    ``(n_gates·units,)`` unless given. Returns ``x``, ``kernel``, ``recurrent_kernel`` as
    arrays, the initial states (zeros where None, as Keras) and the mask as booleans or None.
    """
    x, kernel, recurrent_kernel = np.asarray(x), np.asarray(kernel), np.asarray(recurrent_kernel)
    if x.ndim != 3:
        raise ValueError(f"{where}: expected x of rank 3 (batch, time, features), "
                         f"got shape {x.shape}")
    batch, time, features = x.shape
    units = recurrent_kernel.shape[0] if recurrent_kernel.ndim else 0
    gates = n_gates * units
    expected = {"kernel": (kernel, (features, gates)),
                "recurrent_kernel": (recurrent_kernel, (units, gates)),
                "bias": (bias, bias_shape or (gates,)), "mask": (mask, (batch, time)),
                **{name: (value, (batch, units)) for name, value in initial.items()}}
    for name, (value, shape) in expected.items():
        if value is not None and np.shape(value) != shape:
            raise ValueError(f"{where}: expected {name} of shape {shape} for x of shape "
                             f"{x.shape} and {units} units, got shape {np.shape(value)}")
    dtype = np.result_type(x, kernel)
    states = [np.zeros((batch, units), dtype) if value is None else np.asarray(value, dtype)
              for value in initial.values()]
    return x, kernel, recurrent_kernel, states, None if mask is None else np.asarray(mask, bool)


class RecurrentLayer(Layer):
    """What the gated recurrent layers (:class:`LSTM`, ``GRU``) share, as Keras's ``RNN``.

    - ``forward(x, training=False, mask=None, initial_state=None)``: ``mask`` ``(batch, time)``
      booleans (False skips the step, as Keras); ``initial_state`` one array ``(batch, units)``
      per state (``h``, and ``c`` for the LSTM), zeros by default. Returns the output, or
      with ``return_state`` the tuple ``(output, *final states)``, as Keras. With a mask the
      output at a masked step is the last step's output, and 0 before the example's first
      unmasked step (even with a non-zero ``initial_state``), as Keras's.
    - ``backward(grad_output, grad_states=None)``: with ``return_state``, ``grad_states`` are
      the gradients of the returned states (a list; None, or a None entry, counts as zeros;
      ``grad_output`` may be None when only the states were used). Returns ``dJ/dx`` and
      fills :attr:`grads`; ``dJ/d initial_state`` is left in :attr:`grad_initial_state`.
    - ``go_backwards`` reads the sequence from its end: the output sequence is in reading
      order (reversed), as in Keras, and so is ``grad_output``; ``dJ/dx`` is in ``x``'s order.

    Subclasses set ``n_gates`` and ``state_names`` and write ``_run`` and ``_run_backward``.

    Attributes
    ----------
    grad_h_steps : ndarray of shape (batch, time, units), or None
        The total ``dJ/dh_t`` at every step (in reading order) from the last ``backward``.
    """

    weight_names = ("kernel", "recurrent_kernel", "bias")
    input_ranks = (3,)
    input_layout = "(batch, time, features)"
    n_gates = 1
    state_names: tuple[str, ...] = ("h",)

    def __init__(self, units, activation, recurrent_activation, use_bias, kernel_initializer,
                 recurrent_initializer, bias_initializer, kernel_regularizer,
                 recurrent_regularizer, bias_regularizer, return_sequences, return_state,
                 go_backwards, name, seed, dtype):
        owner = self._owner(name)
        units = check_int(units, "units", owner, minimum=1)
        activation = _activation(activation, owner)
        recurrent_activation = _activation(recurrent_activation, owner)
        flags = {arg: check_bool(value, arg, owner) for arg, value in (
            ("use_bias", use_bias), ("return_sequences", return_sequences),
            ("return_state", return_state), ("go_backwards", go_backwards))}
        kernel_initializer = initializers.get(kernel_initializer, owner, "kernel_initializer")
        recurrent_initializer = initializers.get(recurrent_initializer, owner,
                                                 "recurrent_initializer")
        bias_initializer = initializers.get(bias_initializer, owner, "bias_initializer")
        penalties = {  # by the weight they penalise, as the model reads them
            "kernel": regularizers.get(kernel_regularizer, owner, "kernel_regularizer"),
            "recurrent_kernel": regularizers.get(recurrent_regularizer, owner,
                                                 "recurrent_regularizer"),
            "bias": regularizers.get(bias_regularizer, owner, "bias_regularizer")}
        super().__init__(name=name, seed=seed, dtype=dtype)
        self.units = units
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.use_bias = flags["use_bias"]
        self.return_sequences = flags["return_sequences"]
        self.return_state = flags["return_state"]
        self.go_backwards = flags["go_backwards"]
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = penalties["kernel"]
        self.recurrent_regularizer = penalties["recurrent_kernel"]
        self.bias_regularizer = penalties["bias"]
        self.regularizers.update({k: v for k, v in penalties.items() if v is not None})
        self.grad_h_steps: np.ndarray | None = None
        self.grad_initial_state: list[np.ndarray] | None = None

    def _setting(self, argument: str):
        # Keras's recurrent_regularizer is the penalty on the weight recurrent_kernel.
        if argument == "recurrent_regularizer":
            return self.regularizers.get("recurrent_kernel")
        return super()._setting(argument)

    # ----------------------------------------------------------------------------- building
    def _bias_shape(self) -> tuple:
        return (self.n_gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape: tuple) -> None:
        """Create the weights for inputs ``(batch, time, features)``."""
        features, gates = input_shape[-1], self.n_gates * self.units
        rng = get_rng(self.seed)
        self._initial_weight("kernel", self.kernel_initializer, "kernel_initializer",
                             (features, gates), rng)
        self._initial_weight("recurrent_kernel", self.recurrent_initializer,
                             "recurrent_initializer", (self.units, gates), rng)
        if self.use_bias:
            self._initial_weight("bias", self._bias_initializer(), "bias_initializer",
                                 self._bias_shape(), rng)
        self.input_shape = (None, features)  # any sequence length, as in Keras

    def compute_output_shape(self, input_shape: tuple):
        batch = input_shape[0]
        out = ((batch, input_shape[1], self.units) if self.return_sequences
               else (batch, self.units))
        if self.return_state:
            return (out, *[(batch, self.units)] * len(self.state_names))
        return out

    def compute_mask(self, x, mask=None):
        """The mask of the output, as Keras: ``mask`` if ``return_sequences``, else None."""
        out = mask if self.return_sequences else None
        return [out, *[None] * len(self.state_names)] if self.return_state else out

    # ----------------------------------------------------------------------------- checks
    def _check_mask(self, mask, shape: tuple):
        if mask is None:
            return None
        mask = np.asarray(mask)
        if mask.dtype != bool and not (np.issubdtype(mask.dtype, np.integer)
                                       and np.isin(mask, (0, 1)).all()):
            raise TypeError(self.error(f"expected a boolean mask (True where the step is "
                                       f"used), got dtype {mask.dtype}"))
        if mask.shape != tuple(shape[:2]):
            raise ValueError(self.error(f"expected a mask of shape (batch, time) = "
                                        f"{tuple(shape[:2])}, got shape {mask.shape}"))
        return mask.astype(bool)

    def _check_states(self, states, what: str, batch: int) -> list | None:
        """``initial_state`` or ``grad_states``: one (batch, units) array (or None) per state."""
        if states is None:
            return None
        n = len(self.state_names)
        if isinstance(states, np.ndarray) and n == 1:
            states = [states]
        if not isinstance(states, (list, tuple)) or len(states) != n:
            raise ValueError(self.error(
                f"expected {what} as a list of {n} arrays ({', '.join(self.state_names)}), "
                f"got {type(states).__name__}" + (f" of length {len(states)}"
                                                   if isinstance(states, (list, tuple)) else "")))
        checked = []
        for name, state in zip(self.state_names, states, strict=True):
            if state is not None:
                state = self._check_array(state, f"{what} for {name}")
                if state.shape != (batch, self.units):
                    raise ValueError(self.error(
                        f"expected {what} for {name} of shape {(batch, self.units)}, "
                        f"got shape {state.shape}"))
                state = state.astype(self.dtype, copy=False)
            checked.append(state)
        return checked

    # ----------------------------------------------------------------------------- passes
    def forward(self, x, training: bool = False, mask=None, initial_state=None):
        """The output for ``x`` ``(batch, time, features)``; see the class for the rest."""
        _check_training(training, repr(self))
        x = self._check_input(x)
        self._ensure_built(x.shape, x.dtype if self.dtype is None else self.dtype)
        return self._call(x.astype(self.dtype, copy=False), mask, initial_state)

    __call__ = forward

    def call(self, x, training: bool = False, mask=None, initial_state=None):
        """``forward`` without the input checks, for a model (see :meth:`Layer.call`)."""
        self._ensure_built(x.shape, x.dtype if self.dtype is None else self.dtype)
        return self._call(x.astype(self.dtype, copy=False), mask, initial_state)

    def _forward(self, x: np.ndarray, training: bool):
        return self._call(x, None, None)

    def _call(self, x, mask, initial_state):
        if x.shape[1] == 0:
            raise ValueError(self.error(f"expected at least one time step, got shape {x.shape}"))
        mask = self._check_mask(mask, x.shape)
        initial_state = self._check_states(initial_state, "initial_state", x.shape[0])
        if self.go_backwards:
            x, mask = x[:, ::-1], None if mask is None else mask[:, ::-1]
        h, states, cache = self._run(x, mask, initial_state)
        # Keras's output at a masked step is the previous *output*, which starts at 0 and not
        # at initial_state: zero until the example's first unmasked step, h_t from then on.
        seen = None if mask is None else np.logical_or.accumulate(mask, axis=1)[:, :, None]
        output = h if seen is None else h * seen
        output = output if self.return_sequences else output[:, -1]
        self.cache = {"steps": cache, "seen": seen}
        self._last_output_shape = output.shape
        return (output, *states) if self.return_state else output

    def backward(self, grad_output, grad_states=None):
        """``dJ/dx`` given ``dJ/d output`` (and, with ``return_state``, of the states)."""
        if self.cache is None:
            raise ValueError(self.error(
                "backward() called before forward(): run a forward pass on a batch first"))
        if grad_states is not None and not self.return_state:
            raise ValueError(self.error("grad_states given, but the layer returns no states "
                                        "(return_state=False)"))
        if grad_output is None and self.return_state:
            grad_output = np.zeros(self._last_output_shape, self.dtype)
        grad_output = self._check_array(grad_output, "gradient")
        if grad_output.shape != self._last_output_shape:
            raise ValueError(self.error(
                f"expected a gradient of the output's shape {self._last_output_shape}, "
                f"got shape {grad_output.shape}"))
        return self._backward(grad_output.astype(self.dtype, copy=False), grad_states)

    def _backward(self, grad_output: np.ndarray, grad_states=None) -> np.ndarray:
        cache = self.cache["steps"]
        grad_states = (self._check_states(grad_states, "grad_states", grad_output.shape[0])
                       or [None] * len(self.state_names))
        if self.return_sequences:
            grad_h = np.array(grad_output, dtype=self.dtype)  # a copy: added to below
        else:  # only the last state was used: the other steps get gradient from it alone
            grad_h = np.zeros(cache.h.shape, dtype=self.dtype)
            grad_h[:, -1] = grad_output
        if self.cache["seen"] is not None:
            grad_h *= self.cache["seen"]
        if grad_states[0] is not None:  # the returned final h is the last step's h
            grad_h[:, -1] += grad_states[0]
        grads, self.grad_initial_state = self._run_backward(grad_h, grad_states, cache)
        # In place, so that an optimizer holding these arrays sees the new values.
        self.grads["kernel"][...] = grads.grad_kernel
        self.grads["recurrent_kernel"][...] = grads.grad_recurrent_kernel
        if self.use_bias:
            self.grads["bias"][...] = grads.grad_bias
        self.grad_h_steps = grads.grad_h_steps
        return grads.grad_x[:, ::-1] if self.go_backwards else grads.grad_x


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
    :class:`~dlcourse.scratch.recurrent_layer.RecurrentLayer`.
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
        unit_forget_bias = check_bool(unit_forget_bias, "unit_forget_bias", self._owner(name))
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, return_sequences,
                         return_state, go_backwards, name, seed, dtype)
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
                    raise ValueError(self.error(
                        f"bias_initializer returned an array of shape {np.shape(part)} for "
                        f"shape ({size},), with unit_forget_bias=True"))
            return np.concatenate(parts)

        return unit_forget

    def _run(self, x, mask, initial_state):
        h0, c0 = initial_state or (None, None)
        h, c, cache = lstm_forward(x, self.params["kernel"], self.params["recurrent_kernel"],
                                   self.params.get("bias"), self.activation,
                                   self.recurrent_activation, h0, c0, mask)
        return h, [h[:, -1], c[:, -1]], cache

    def _run_backward(self, grad_h, grad_states, cache):
        grad_c = None
        if grad_states[1] is not None:
            grad_c = np.zeros_like(grad_h)
            grad_c[:, -1] = grad_states[1]
        grads = lstm_backward(grad_h, cache, grad_c)
        self.grad_c_steps = grads.grad_c_steps
        return grads, [grads.grad_h0, grads.grad_c0]

