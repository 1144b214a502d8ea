"""Checks of the SimpleRNN step and forward pass, with the usual mistakes.

The references are :func:`dlcourse.scratch.recurrent.rnn_step` and
:func:`~dlcourse.scratch.recurrent.rnn_forward`, and every mistake is one of them called the wrong
way: the weights swapped or transposed, another activation, the state not carried.
"""

from __future__ import annotations

import numpy as np

from dlcourse.check.catalogue import Mistake, Spec, recognises
from dlcourse.check.engine import Case, CheckResult, rng, run
from dlcourse.scratch.recurrent import rnn_forward as rnn_forward_reference
from dlcourse.scratch.recurrent import rnn_step as rnn_step_reference

__all__ = ["rnn_forward", "rnn_step"]


def _rnn_weights(r, input_dim: int, units: int):
    # Small weights keep tanh out of saturation, where a missing tanh would barely show.
    return (r.normal(scale=0.5, size=(input_dim, units)),
            r.normal(scale=0.5, size=(units, units)), r.normal(scale=0.5, size=units))


_STEP = "h_t = tanh(x_t @ kernel + h_prev @ recurrent_kernel + bias)"

RNN_STEP_SPEC = Spec(
    "rnn_step", ("x_t", "h_prev", "kernel", "recurrent_kernel", "bias"), ("h_t",),
    rnn_step_reference,
    mistakes=(
        Mistake("rnn_weights_swapped", "kernel and recurrent_kernel (W_xh and W_hh) swapped",
                "h_t", lambda x, h, k, rk, b: rnn_step_reference(x, h, rk, k, b),
                "W_xh and W_hh are swapped: the input x_t goes through kernel (W_xh.T, shape "
                "(input_dim, units)) and the previous state h_prev through recurrent_kernel "
                "(W_hh.T, shape (units, units))"),
        Mistake("rnn_weights_transposed", "both weights used transposed", "h_t",
                lambda x, h, k, rk, b: rnn_step_reference(x, h, k.T, rk.T, b),
                "both weights are used transposed: in the row-vector form the course uses, "
                f"{_STEP} (kernel is W_xh.T)"),
        Mistake("rnn_recurrent_kernel_transposed", "recurrent_kernel used transposed", "h_t",
                lambda x, h, k, rk, b: rnn_step_reference(x, h, k, rk.T, b),
                "recurrent_kernel is used transposed: h_prev @ recurrent_kernel (which is "
                "W_hh.T, so that this is the row-vector form of W_hh h_prev)"),
        Mistake("rnn_no_activation", "the activation missing", "h_t",
                lambda x, h, k, rk, b: rnn_step_reference(x, h, k, rk, b, "linear"),
                f"the activation is missing: {_STEP}"),
        Mistake("rnn_ignores_state", "the previous state ignored", "h_t",
                lambda x, h, k, rk, b: rnn_step_reference(x, np.zeros_like(h), k, rk, b),
                "the previous state is ignored: add h_prev @ recurrent_kernel inside the tanh"),
        Mistake("rnn_forgot_bias", "the bias forgotten", "h_t",
                lambda x, h, k, rk, b: rnn_step_reference(x, h, k, rk, None),
                f"you forgot the bias: {_STEP}"),
        Mistake("rnn_wrong_activation", "sigmoid instead of tanh", "h_t",
                lambda x, h, k, rk, b: rnn_step_reference(x, h, k, rk, b, "sigmoid"),
                "you used sigmoid: SimpleRNN's activation is tanh"),
        Mistake("rnn_wrong_activation", "relu instead of tanh", "h_t",
                lambda x, h, k, rk, b: rnn_step_reference(x, h, k, rk, b, "relu"),
                "you used relu: SimpleRNN's activation is tanh"),
    ),
    layout="x_t (batch, input_dim), h_prev (batch, units), kernel (input_dim, units), "
           "recurrent_kernel (units, units), bias (units,), h_t (batch, units)",
)


@recognises(RNN_STEP_SPEC)
def rnn_step(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t``, one SimpleRNN step.

    ``h_t = tanh(x_t @ kernel + h_prev @ recurrent_kernel + bias)``: the row-vector form of
    ``h_t = tanh(W_hh h_{t−1} + W_xh x_t + b_h)`` with ``W_xh = kernel.T``,
    ``W_hh = recurrent_kernel.T``.

    Parameters
    ----------
    fn : callable
        ``fn(x_t, h_prev, kernel, recurrent_kernel, bias)`` with ``x_t (batch, input_dim)``,
        ``h_prev (batch, units)``, ``kernel (input_dim, units)``,
        ``recurrent_kernel (units, units)`` and ``bias (units,)``; returns ``h_t (batch, units)``.
    timeout : float, optional
        Seconds your function may run on one test case before it is stopped and the check
        fails; by default :data:`TIMEOUT`.

    Returns
    -------
    CheckResult

    Raises
    ------
    CheckFailed
        On the first wrong test case, with the diagnosis when recognised.
    """
    r = rng(10)
    cases = []
    # First input_dim == units, so that swapped weights still run and can be diagnosed.
    for batch, input_dim, units in [(3, 4, 4), (1, 3, 5), (4, 6, 2)]:
        x_t = r.normal(size=(batch, input_dim))
        h_prev = np.tanh(r.normal(size=(batch, units)))
        cases.append(Case((x_t, h_prev, *_rnn_weights(r, input_dim, units)), batch))
    return run(RNN_STEP_SPEC, fn, cases, timeout=timeout)


def _with_h0(x, k, rk, b):
    """The states with the initial state ``h_0 = 0`` in front, ``(batch, time + 1, units)``."""
    states = rnn_forward_reference(x, k, rk, b)
    return np.concatenate([np.zeros_like(states[:, :1]), states], axis=1)


def _not_carried(x, k, rk, b):
    """Every step computed from ``h = 0``, as a sequence of its own."""
    return np.concatenate([rnn_forward_reference(x[:, t:t + 1], k, rk, b)
                           for t in range(x.shape[1])], axis=1)


_BACKWARDS = "step t uses x[:, t], from t = 0 to time − 1"

RNN_FORWARD_SPEC = Spec(
    "rnn_forward", ("x", "kernel", "recurrent_kernel", "bias"), ("states",),
    rnn_forward_reference,
    mistakes=(
        Mistake("rnn_last_state_only", "only the last state returned", "states",
                lambda x, k, rk, b: rnn_forward_reference(x, k, rk, b)[:, -1],
                "you returned only the last state: return every h_t, stacked as (batch, time, "
                "units) (Keras's return_sequences=True)"),
        Mistake("rnn_time_major", "time-major states, (time, batch, units)", "states",
                lambda x, k, rk, b: rnn_forward_reference(x, k, rk, b).transpose(1, 0, 2),
                "your states are time-major, (time, batch, units): stack them along axis 1, "
                "np.stack(states, axis=1), to get (batch, time, units)"),
        Mistake("rnn_includes_h0", "the initial state h_0 included", "states", _with_h0,
                "you included the initial state h_0 = 0: return h_1, ..., h_T, one per time "
                "step"),
        Mistake("rnn_states_one_step_late", "the states one step late (h stored before its "
                "update)", "states", lambda x, k, rk, b: _with_h0(x, k, rk, b)[:, :-1],
                "your states are one step late: you stored h before updating it; store h_t "
                "after computing it (the first state returned is h_1, not h_0 = 0)"),
        Mistake("rnn_state_not_carried", "the state not carried from step to step", "states",
                _not_carried,
                "the state is not carried from step to step: each h_t must use the h_{t−1} "
                "just computed, starting from zeros"),
        Mistake("rnn_batch_as_time", "the loop over the batch axis instead of time", "states",
                lambda x, k, rk, b: rnn_forward_reference(x.transpose(1, 0, 2), k, rk,
                                                          b).transpose(1, 0, 2),
                "you stepped over the batch axis: x is (batch, time, features), so step t uses "
                "x[:, t], not x[t]"),
        Mistake("rnn_reversed", "the sequence run backwards", "states",
                lambda x, k, rk, b: rnn_forward_reference(x[:, ::-1], k, rk, b),
                f"you ran the sequence backwards: {_BACKWARDS}"),
        Mistake("rnn_reversed", "the sequence run backwards", "states",
                lambda x, k, rk, b: rnn_forward_reference(x[:, ::-1], k, rk, b)[:, ::-1],
                "you ran the sequence backwards (from the last step to the first): "
                f"{_BACKWARDS}, each h_t computed from h_{{t−1}}"),
        Mistake("rnn_weights_swapped", "kernel and recurrent_kernel (W_xh and W_hh) swapped",
                "states", lambda x, k, rk, b: rnn_forward_reference(x, rk, k, b),
                "W_xh and W_hh are swapped: the input x_t goes through kernel (W_xh.T, shape "
                "(features, units)) and the previous state through recurrent_kernel (W_hh.T)"),
        Mistake("rnn_no_activation", "the activation missing", "states",
                lambda x, k, rk, b: rnn_forward_reference(x, k, rk, b, "linear"),
                "the activation is missing: h_t = tanh(x_t @ kernel + h_{t−1} @ "
                "recurrent_kernel + bias)"),
    ),
    layout="x (batch, time, features), kernel (features, units), recurrent_kernel "
           "(units, units), bias (units,), states (batch, time, units)",
)


@recognises(RNN_FORWARD_SPEC)
def rnn_forward(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x, kernel, recurrent_kernel, bias) -> states``, a SimpleRNN over a sequence.

    Starting from ``h_0 = 0``, ``h_t = tanh(x[:, t] @ kernel + h_{t−1} @ recurrent_kernel + bias)``
    for ``t = 1 … time``; the result stacks ``h_1 … h_time`` as Keras's
    ``SimpleRNN(return_sequences=True)`` does.

    Parameters
    ----------
    fn : callable
        ``fn(x, kernel, recurrent_kernel, bias)`` with ``x (batch, time, features)``,
        ``kernel (features, units)``, ``recurrent_kernel (units, units)`` and ``bias (units,)``;
        returns ``states (batch, time, units)``.
    timeout : float, optional
        Seconds your function may run on one test case before it is stopped and the check
        fails; by default :data:`TIMEOUT`.

    Returns
    -------
    CheckResult

    Raises
    ------
    CheckFailed
        On the first wrong test case, with the diagnosis when recognised.

    Notes
    -----
    Test cases include a batch of one and a sequence of length one.
    """
    r = rng(11)
    cases = []
    # First features == units (weights swappable), batch ≠ time (layouts distinguishable).
    for batch, time, features, units in [(2, 4, 3, 3), (1, 5, 2, 4), (3, 1, 4, 2)]:
        x = r.normal(size=(batch, time, features))
        cases.append(Case((x, *_rnn_weights(r, features, units)), batch))
    return run(RNN_FORWARD_SPEC, fn, cases, timeout=timeout)
