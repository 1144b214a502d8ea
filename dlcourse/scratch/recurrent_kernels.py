r"""Fast kernels of the recurrent layers: SimpleRNN, and LSTM and GRU with Keras's defaults.

Each kernel computes exactly what a readable function of :mod:`~dlcourse.scratch.recurrent`,
:mod:`~dlcourse.scratch.lstm` or :mod:`~dlcourse.scratch.gru` computes, takes the same arguments
(the gated ones without the activations) and returns the same result types, so the two can be
swapped and compared; a test keeps them equal. The layers run a kernel when it computes their
activations (for the LSTM and the GRU Keras's defaults, as Keras runs its cuDNN kernel only
then; for the SimpleRNN every elementwise one) and the readable function otherwise. What makes
them fast, none of which belongs in the code a learner reads:

- **one tanh for every gate.** The identity :math:`\sigma(z) = \tfrac12 (1 + \tanh(z/2))` is
  exact and cannot overflow. The halving of ``z`` is folded into the weights once (the columns
  of the sigmoid gates times 1/2), so one ``tanh`` over all the gates' pre-activations and one
  multiply-add give every activated gate: 3 array operations where four sigmoids take about 20.
- **what does not depend on the recursion is computed for all steps at once.** The derivative
  factors of backpropagation (``σ' = a (1 − a)``, ``tanh' = 1 − a²`` and what multiplies them)
  depend only on the forward pass's values, so they are one operation each over the whole
  sequence before the loop; a mask is folded into them too. The loop keeps about seven
  operations per step: with arrays this small, each NumPy call costs about as much as its
  arithmetic, so fewer calls is what counts.
- **time-major arrays and ``out=`` buffers**: every step's slice is one contiguous block, and
  nothing is allocated inside the loop. What does not need the loop (the input projection
  before it, the weight and input gradients after it) is one matrix product over all steps.

The caches hold batch-major views of the kernels' time-major arrays, so a kernel's cache also
serves the readable backward function, and the readable forward's cache serves the backward
kernel.
"""

from __future__ import annotations

import numpy as np

# The cells' modules import this one for their layers, so it refers to their result types
# through the modules (lstm.LSTMCache, ...), looked up when a kernel runs.
from dlcourse.scratch import activations, gru, lstm, recurrent
from dlcourse.scratch.recurrent_base import check_recurrent_args, get_activation

__all__ = ["KERNEL_ACTIVATIONS", "gru_backward_kernel", "gru_forward_kernel", "has_kernel",
           "lstm_backward_kernel", "lstm_forward_kernel", "rnn_backward_kernel",
           "rnn_forward_kernel", "rnn_has_kernel"]

#: ``(activation, recurrent_activation)`` of the kernels: Keras's defaults.
KERNEL_ACTIVATIONS = ("tanh", "sigmoid")


def has_kernel(activation: activations.ActivationFunction,
               recurrent_activation: activations.ActivationFunction) -> bool:
    """Whether the kernels compute these activations (the layers' defaults, as Keras's)."""
    return (activation is activations.get(KERNEL_ACTIVATIONS[0])
            and recurrent_activation is activations.get(KERNEL_ACTIVATIONS[1]))


def rnn_has_kernel(activation: activations.ActivationFunction) -> bool:
    """Whether the SimpleRNN kernels compute ``activation``: every elementwise one (not softmax,
    whose derivative is a Jacobian)."""
    return activation.derivative is not None


def _rnn_activation(activation, where: str) -> activations.ActivationFunction:
    act = get_activation(activation, where)
    if not rnn_has_kernel(act):
        raise ValueError(f"{where}: computes elementwise activations, got {act.name!r}; use "
                         f"{where.replace('_kernel()', '()')}")
    return act


def _time_major(a: np.ndarray) -> np.ndarray:
    """``(batch, time, ...)`` → ``(time, batch, ...)``, contiguous (a view if it already is)."""
    return np.ascontiguousarray(a.transpose(1, 0, *range(2, a.ndim)))


def _gate_scale(units: int, sigmoid_blocks: tuple, n_gates: int, dtype) -> np.ndarray:
    """1/2 in the columns of the sigmoid gates, 1 elsewhere: ``σ(z) = (1 + tanh(z/2)) / 2``."""
    scale = np.ones(n_gates * units, dtype=dtype)
    for k in sigmoid_blocks:
        scale[k * units:(k + 1) * units] = 0.5
    return scale


# ------------------------------------------------------------------------------ SimpleRNN
def rnn_forward_kernel(x, kernel, recurrent_kernel, bias, activation="tanh", h0=None, mask=None):
    """Equals :func:`~dlcourse.scratch.recurrent.rnn_forward` for an elementwise activation,
    fast: same parameters, same result ``h`` (batch, time, units)."""
    act = _rnn_activation(activation, "rnn_forward_kernel()")
    x, kernel, recurrent_kernel, (h0,), mask = check_recurrent_args(
        "rnn_forward_kernel()", x, kernel, recurrent_kernel, bias, 1, {"h0": h0}, mask)
    batch, time, features = x.shape
    u = recurrent_kernel.shape[0]
    xw = (_time_major(x).reshape(time * batch, features) @ kernel).reshape(time, batch, u)
    if bias is not None:
        xw += bias
    skipped = None if mask is None else ~mask.T[:, :, None]  # True: keep the old state
    h = np.empty((time, batch, u), dtype=h0.dtype)
    h_prev = h0
    for t in range(time):
        z = np.matmul(h_prev, recurrent_kernel, out=h[t])
        z += xw[t]
        h[t] = act.forward(z)
        if skipped is not None:
            np.copyto(h[t], h_prev, where=skipped[t])
        h_prev = h[t]
    return h.transpose(1, 0, 2)


def rnn_backward_kernel(grad_h, x, h, kernel, recurrent_kernel, activation="tanh", h0=None,
                        mask=None):
    """Equals :func:`~dlcourse.scratch.recurrent.rnn_backward` for an elementwise activation,
    fast: same parameters, same result (``RNNGradients``)."""
    act = _rnn_activation(activation, "rnn_backward_kernel()")
    x, kernel, recurrent_kernel, (h0,), mask = check_recurrent_args(
        "rnn_backward_kernel()", x, kernel, recurrent_kernel, None, 1, {"h0": h0}, mask,
        per_step={"h": h, "grad_h": grad_h})
    batch, time, features = x.shape
    u = recurrent_kernel.shape[0]
    h_tm = _time_major(np.asarray(h))
    dtype = h_tm.dtype
    grad_h = _time_major(np.asarray(grad_h, dtype=dtype))
    f_prime = act.derivative_from_output(h_tm)  # f'(z_t) of every step at once
    skip = None
    if mask is not None:  # a masked step: no dJ/dz, dJ/dh_t passes straight back
        keep = mask.T[:, :, None].astype(dtype)
        f_prime = f_prime * keep
        skip = 1 - keep
    grad_h_steps, grad_z = np.empty_like(h_tm), np.empty_like(h_tm)
    recurrent_t = np.ascontiguousarray(recurrent_kernel.T)
    grad_from_future = np.zeros_like(h0, dtype=dtype)
    tmp = np.empty_like(grad_from_future)
    for t in range(time - 1, -1, -1):
        np.add(grad_h[t], grad_from_future, out=grad_h_steps[t])
        np.multiply(grad_h_steps[t], f_prime[t], out=grad_z[t])
        np.matmul(grad_z[t], recurrent_t, out=grad_from_future)
        if skip is not None:
            np.multiply(grad_h_steps[t], skip[t], out=tmp)
            grad_from_future += tmp
    rows = time * batch
    grad_z_rows = grad_z.reshape(rows, u)
    h_prev_rows = np.concatenate([h0[None].astype(dtype), h_tm[:-1]]).reshape(rows, u)
    return recurrent.RNNGradients(
        grad_x=(grad_z_rows @ kernel.T).reshape(time, batch, features).transpose(1, 0, 2),
        grad_kernel=_time_major(x).reshape(rows, features).T @ grad_z_rows,
        grad_recurrent_kernel=h_prev_rows.T @ grad_z_rows,
        grad_bias=grad_z_rows.sum(axis=0),
        grad_h_steps=grad_h_steps.transpose(1, 0, 2),
        grad_h0=grad_from_future)


# ------------------------------------------------------------------------------ LSTM
def lstm_forward_kernel(x, kernel, recurrent_kernel, bias, h0=None, c0=None, mask=None):
    """Equals :func:`~dlcourse.scratch.lstm.lstm_forward` with ``activation="tanh"`` and
    ``recurrent_activation="sigmoid"``, fast.

    The same parameters without the two activations, the same results ``(h, c, LSTMCache)``;
    the cache serves :func:`~dlcourse.scratch.lstm.lstm_backward` as well as
    :func:`lstm_backward_kernel`.
    """
    x, kernel, recurrent_kernel, (h0, c0), mask = check_recurrent_args(
        "lstm_forward_kernel()", x, kernel, recurrent_kernel, bias, 4, {"h0": h0, "c0": c0},
        mask)
    batch, time, features = x.shape
    u = recurrent_kernel.shape[0]
    dtype = h0.dtype
    # Gates i, f, c̃, o: σ, σ, tanh, σ. Halve the σ columns; after one tanh, a·m + b is each gate.
    scale = _gate_scale(u, (0, 1, 3), 4, dtype)
    m, b = scale, np.where(scale == 0.5, 0.5, 0.0).astype(dtype)
    xw = (_time_major(x).reshape(time * batch, features) @ (kernel * scale)).reshape(
        time, batch, 4 * u)
    if bias is not None:
        xw += bias * scale
    recurrent_scaled = recurrent_kernel * scale
    skipped = None if mask is None else ~mask.T[:, :, None]  # True: keep the old state
    gates = np.empty((time, batch, 4 * u), dtype=dtype)
    h = np.empty((time, batch, u), dtype=dtype)
    c, c_act = np.empty_like(h), np.empty_like(h)
    ig = np.empty((batch, u), dtype=dtype)
    h_prev, c_prev = h0, c0
    for t in range(time):
        a = gates[t]
        np.matmul(h_prev, recurrent_scaled, out=a)
        a += xw[t]
        np.tanh(a, out=a)
        a *= m
        a += b                                  # [i, f, c̃, o]
        np.multiply(a[:, u:2 * u], c_prev, out=c[t])
        np.multiply(a[:, :u], a[:, 2 * u:3 * u], out=ig)
        c[t] += ig                              # c = f ⊙ c_{t-1} + i ⊙ c̃
        np.tanh(c[t], out=c_act[t])
        np.multiply(a[:, 3 * u:], c_act[t], out=h[t])
        if skipped is not None:                 # masked: keep the previous states
            np.copyto(c[t], c_prev, where=skipped[t])
            np.copyto(h[t], h_prev, where=skipped[t])
            np.tanh(c[t], out=c_act[t])
        h_prev, c_prev = h[t], c[t]
    h, c, gates, c_act = (array.transpose(1, 0, 2) for array in (h, c, gates, c_act))
    cache = lstm.LSTMCache(x, h0, c0, mask, gates, h, c, c_act, kernel, recurrent_kernel,
                           activations.get("tanh"), activations.get("sigmoid"))
    return h, c, cache


def lstm_backward_kernel(grad_h, cache, grad_c=None):
    """Equals :func:`~dlcourse.scratch.lstm.lstm_backward` for a cache of the default
    activations (tanh, sigmoid), fast: same parameters, same result (``LSTMGradients``)."""
    no_grad_c = grad_c is None  # the usual case: nothing arrives at c_t directly
    grad_h, grad_c = lstm.check_lstm_grads("lstm_backward_kernel()", cache, grad_h, grad_c)
    x, h0, c0, mask, gates, h, c, c_act, kernel, recurrent_kernel, act, ract = cache
    if not has_kernel(act, ract):
        raise ValueError(f"lstm_backward_kernel(): computes activations {KERNEL_ACTIVATIONS}, "
                         f"the cache has ({act.name!r}, {ract.name!r}); use lstm_backward")
    batch, time, features = x.shape
    u = h.shape[-1]
    dtype = h.dtype
    gates, c_act, h_tm, c_tm = (_time_major(a) for a in (gates, c_act, h, c))
    i, f, g, o = (gates[:, :, k * u:(k + 1) * u] for k in range(4))
    # dJ/dz_t = [dc ⊙ c̃ σ'(i), dc ⊙ c_{t-1} σ'(f), dc ⊙ i tanh'(c̃), dh ⊙ tanh(c_t) σ'(o)]
    # and dc = δc + dh ⊙ o tanh'(c_t): every factor but dh and dc, for all steps at once.
    factors = np.subtract(1, gates)
    factors *= gates                                              # σ'(a) = a (1 − a)
    factors4 = factors.reshape(time, batch, 4, u)
    np.multiply(g, g, out=factors4[:, :, 2])
    np.subtract(1, factors4[:, :, 2], out=factors4[:, :, 2])     # tanh'(c̃) = 1 − c̃²
    factors4[:, :, 0] *= g
    factors4[1:, :, 1] *= c_tm[:-1]                               # c_{t-1}
    factors4[0, :, 1] *= c0
    factors4[:, :, 2] *= i
    factors4[:, :, 3] *= c_act
    through_h = c_act * c_act
    np.subtract(1, through_h, out=through_h)
    through_h *= o                                                # o ⊙ tanh'(c_t)
    forget, skip = f, None
    if mask is not None:  # a masked step: dz = 0, dh and dc pass straight back
        keep = mask.T[:, :, None].astype(dtype)
        factors4 *= keep[:, :, :, None]
        through_h *= keep
        forget = f * keep + (1 - keep)
        skip = 1 - keep
    grad_h = _time_major(grad_h)
    grad_c = None if no_grad_c else _time_major(grad_c)
    dz = np.empty((time, batch, 4 * u), dtype=dtype)
    dz4 = dz.reshape(time, batch, 4, u)
    grad_h_steps, grad_c_steps = np.empty_like(h_tm), np.empty_like(h_tm)
    recurrent_t = np.ascontiguousarray(recurrent_kernel.T)
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(c0)
    tmp = np.empty_like(h0)
    for t in range(time - 1, -1, -1):
        dh, dc = grad_h_steps[t], grad_c_steps[t]
        np.add(grad_h[t], dh_next, out=dh)
        np.multiply(dh, through_h[t], out=dc)
        dc += dc_next
        if grad_c is not None:
            dc += grad_c[t]
        np.multiply(factors4[t, :, :3], dc[:, None, :], out=dz4[t, :, :3])
        np.multiply(factors4[t, :, 3], dh, out=dz4[t, :, 3])
        np.matmul(dz[t], recurrent_t, out=dh_next)
        np.multiply(dc, forget[t], out=dc_next)
        if skip is not None:
            np.multiply(dh, skip[t], out=tmp)
            dh_next += tmp
    rows = time * batch
    dz_rows = dz.reshape(rows, 4 * u)
    h_prev_rows = np.concatenate([h0[None], h_tm[:-1]]).reshape(rows, u)
    return lstm.LSTMGradients(
        grad_x=(dz_rows @ kernel.T).reshape(time, batch, features).transpose(1, 0, 2),
        grad_kernel=_time_major(x).reshape(rows, features).T @ dz_rows,
        grad_recurrent_kernel=h_prev_rows.T @ dz_rows,
        grad_bias=dz_rows.sum(axis=0),
        grad_h0=dh_next, grad_c0=dc_next,
        grad_h_steps=grad_h_steps.transpose(1, 0, 2),
        grad_c_steps=grad_c_steps.transpose(1, 0, 2))


# ------------------------------------------------------------------------------ GRU
def gru_forward_kernel(x, kernel, recurrent_kernel, bias, h0=None, mask=None):
    """Equals :func:`~dlcourse.scratch.gru.gru_forward` with ``activation="tanh"``,
    ``recurrent_activation="sigmoid"`` and ``reset_after=True`` (Keras's defaults), fast.

    The same parameters without those three, the same results ``(h, GRUCache)``; the cache
    serves :func:`~dlcourse.scratch.gru.gru_backward` as well as :func:`gru_backward_kernel`.
    """
    x, kernel, recurrent_kernel, _, h0, mask = gru.check_gru_args(
        "gru_forward_kernel()", x, kernel, recurrent_kernel, bias, True, h0, mask)
    batch, time, features = x.shape
    u = recurrent_kernel.shape[0]
    dtype = h0.dtype
    scale = _gate_scale(u, (0, 1), 3, dtype)     # z, r: σ; the candidate: tanh
    xw = (_time_major(x).reshape(time * batch, features) @ (kernel * scale)).reshape(
        time, batch, 3 * u)
    recurrent_bias = None
    if bias is not None:
        xw += bias[0] * scale
        recurrent_bias = bias[1] * scale
    recurrent_scaled = recurrent_kernel * scale
    skipped = None if mask is None else ~mask.T[:, :, None]  # True: keep the old state
    gates = np.empty((time, batch, 3 * u), dtype=dtype)
    hw = np.empty((time, batch, 3 * u), dtype=dtype)  # h_{t-1} R + b' (halved for z and r)
    h = np.empty((time, batch, u), dtype=dtype)
    h_prev = h0
    for t in range(time):
        np.matmul(h_prev, recurrent_scaled, out=hw[t])
        if recurrent_bias is not None:
            hw[t] += recurrent_bias
        zr = gates[t, :, :2 * u]
        np.add(xw[t, :, :2 * u], hw[t, :, :2 * u], out=zr)
        np.tanh(zr, out=zr)
        zr *= 0.5
        zr += 0.5                                # [z, r]
        candidate = gates[t, :, 2 * u:]
        np.multiply(zr[:, u:], hw[t, :, 2 * u:], out=candidate)
        candidate += xw[t, :, 2 * u:]
        np.tanh(candidate, out=candidate)
        np.subtract(h_prev, candidate, out=h[t])  # h = h̃ + z ⊙ (h_{t-1} − h̃)
        h[t] *= zr[:, :u]
        h[t] += candidate
        if skipped is not None:
            np.copyto(h[t], h_prev, where=skipped[t])
        h_prev = h[t]
    h, gates, hw = (array.transpose(1, 0, 2) for array in (h, gates, hw))
    return h, gru.GRUCache(x, h0, mask, gates, hw[:, :, 2 * u:], h, kernel, recurrent_kernel,
                           activations.get("tanh"), activations.get("sigmoid"), True)


def gru_backward_kernel(grad_h, cache):
    """Equals :func:`~dlcourse.scratch.gru.gru_backward` for a cache of Keras's default GRU
    (tanh, sigmoid, ``reset_after=True``), fast: same parameters, same result
    (``GRUGradients``)."""
    grad_h = gru.check_gru_grad("gru_backward_kernel()", cache, grad_h)
    x, h0, mask, gates, recurrent_h, h, kernel, recurrent_kernel, act, ract, reset_after = cache
    if not (has_kernel(act, ract) and reset_after):
        raise ValueError("gru_backward_kernel(): computes activations "
                         f"{KERNEL_ACTIVATIONS} with reset_after=True, the cache has "
                         f"({act.name!r}, {ract.name!r}), reset_after={reset_after}; use "
                         "gru_backward")
    batch, time, features = x.shape
    u = h.shape[-1]
    dtype = h.dtype
    gates, recurrent_h, h_tm = (_time_major(a) for a in (gates, recurrent_h, h))
    z, r, candidate = (gates[:, :, k * u:(k + 1) * u] for k in range(3))
    h_prev = np.concatenate([h0[None], h_tm[:-1]])
    # With dh the total dJ/dh_t: dJ/da_z = dh (h_{t-1} − h̃) σ'(z), dJ/da_h = dh (1 − z)
    # tanh'(h̃), dJ/da_r = dJ/da_h ⊙ u σ'(r) and the recurrent candidate's dJ/da_h ⊙ r: each is
    # dh times a factor known before the loop. Order [z, r, h̃ recurrent, h̃ input], so that
    # the first three are the recurrent product's gradient, one block of each row.
    factors = np.empty((time, batch, 4, u), dtype=dtype)
    factors[:, :, 3] = (1 - z) * (1 - candidate * candidate)
    factors[:, :, 0] = (h_prev - candidate) * z * (1 - z)
    factors[:, :, 1] = factors[:, :, 3] * recurrent_h * r * (1 - r)
    factors[:, :, 2] = factors[:, :, 3] * r
    carry = z.copy()                              # δh_{t-1} gets dh ⊙ z directly
    if mask is not None:  # a masked step: no gradient to its gates, dh passes straight back
        keep = mask.T[:, :, None].astype(dtype)
        factors *= keep[:, :, :, None]
        carry = carry * keep + (1 - keep)
    grad_h = _time_major(grad_h)
    da = np.empty((time, batch, 4 * u), dtype=dtype)
    da4 = da.reshape(time, batch, 4, u)
    grad_h_steps = np.empty_like(h_tm)
    recurrent_t = np.ascontiguousarray(recurrent_kernel.T)
    dh_next = np.zeros_like(h0)
    tmp = np.empty_like(h0)
    for t in range(time - 1, -1, -1):
        dh = grad_h_steps[t]
        np.add(grad_h[t], dh_next, out=dh)
        np.multiply(factors[t], dh[:, None, :], out=da4[t])
        np.matmul(da[t, :, :3 * u], recurrent_t, out=dh_next)
        np.multiply(dh, carry[t], out=tmp)
        dh_next += tmp
    rows = time * batch
    da_rec_rows = da[:, :, :3 * u].reshape(rows, 3 * u)
    da_x_rows = np.concatenate([da[:, :, :2 * u], da[:, :, 3 * u:]], axis=2).reshape(rows, 3 * u)
    h_prev_rows = h_prev.reshape(rows, u)
    return gru.GRUGradients(
        grad_x=(da_x_rows @ kernel.T).reshape(time, batch, features).transpose(1, 0, 2),
        grad_kernel=_time_major(x).reshape(rows, features).T @ da_x_rows,
        grad_recurrent_kernel=h_prev_rows.T @ da_rec_rows,
        grad_bias=np.stack([da_x_rows.sum(axis=0), da_rec_rows.sum(axis=0)]),
        grad_h0=dh_next, grad_h_steps=grad_h_steps.transpose(1, 0, 2))
