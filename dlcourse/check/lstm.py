"""Checks of the LSTM step, with the usual mistakes.

The reference is :func:`dlcourse.scratch.lstm.lstm_step`, and every mistake is computed with it:
the weights' gate blocks permuted, a bias changed, the activations swapped, or the step's own
gates recombined the wrong way (``h = o ⊙ c``).
"""

from __future__ import annotations

import numpy as np

from dlcourse.check.catalogue import Mistake, Spec, recognises
from dlcourse.check.engine import Case, CheckResult, rng, run
from dlcourse.scratch.lstm import lstm_step as lstm_step_reference

__all__ = ["lstm_step"]

#: Keras's order of the four gate blocks in kernel, recurrent_kernel and bias.
_ORDER = "ifco"
_STEP = ("z = x_t @ kernel + h_prev @ recurrent_kernel + bias; z_i, z_f, z_c, z_o = "
         "np.split(z, 4, axis=-1); i, f, o = σ(z_i), σ(z_f), σ(z_o); c̃ = tanh(z_c); "
         "c = f ⊙ c_prev + i ⊙ c̃; h = o ⊙ tanh(c)")


def _reference(x, h, c, k, rk, b):
    step = lstm_step_reference(x, h, c, k, rk, b)
    return step.h, step.c


def _blocks_as(order: str):
    """The weights rearranged so that Keras's step reads the gates as a learner who splits
    ``z`` in ``order`` (e.g. ``"ifoc"``): the block the learner calls ``c`` goes where Keras
    reads ``c``."""
    def rearrange(w):
        if w is None:
            return None
        blocks = np.split(w, 4, axis=-1)
        return np.concatenate([blocks[order.index(gate)] for gate in _ORDER], axis=-1)

    def wrong(x, h, c, k, rk, b):
        return _reference(x, h, c, rearrange(k), rearrange(rk), rearrange(b))
    return wrong


def _forget_bias(change):
    """The step with the forget gate's slice of the bias replaced by ``change(b_f)``."""
    def wrong(x, h, c, k, rk, b):
        b_i, b_f, b_c, b_o = np.split(b, 4)
        return _reference(x, h, c, k, rk, np.concatenate([b_i, change(b_f), b_c, b_o]))
    return wrong


def _no_cell_tanh(x, h, c, k, rk, b):
    """``h = o ⊙ c``: the step's own output gate times its cell state, without the tanh."""
    step = lstm_step_reference(x, h, c, k, rk, b)
    o = np.split(step.gates, 4, axis=-1)[3]
    return o * step.c, step.c


def _sigmoid_candidate(x, h, c, k, rk, b):
    """The candidate through σ like the gates; the cell output still through tanh."""
    step = lstm_step_reference(x, h, c, k, rk, b, activation="sigmoid")
    o = np.split(step.gates, 4, axis=-1)[3]
    return o * np.tanh(step.c), step.c


def _both(key: str, summary: str, wrong, diagnosis: str) -> tuple[Mistake, Mistake]:
    """The mistake on each output: ``wrong`` returns ``(h, c)``."""
    return tuple(Mistake(key, summary, output, lambda *a, i=i: wrong(*a)[i], diagnosis)
                 for i, output in enumerate(("h", "c")))


def _gate_order(order: str, note: str = "") -> tuple[Mistake, Mistake]:
    learner = ", ".join(order)
    return _both("lstm_gate_order", f"the gates split as {learner}", _blocks_as(order),
                 f"you split the four gate blocks as {learner}{note}: Keras's order is i, f, "
                 "c, o (input, forget, candidate c̃, output), the same in kernel, "
                 "recurrent_kernel and bias")


LSTM_STEP_SPEC = Spec(
    "lstm_step", ("x_t", "h_prev", "c_prev", "kernel", "recurrent_kernel", "bias"), ("h", "c"),
    _reference,
    mistakes=(
        *_gate_order("ifoc"),
        *_gate_order("icfo", " (the order of TensorFlow's low-level LSTMBlockCell)"),
        *_gate_order("fico"),
        *_gate_order("oifc"),
        *_both("lstm_forgot_bias", "the bias forgotten",
               lambda x, h, c, k, rk, b: _reference(x, h, c, k, rk, None),
               f"you forgot the bias: {_STEP}"),
        *_both("lstm_forget_gate_bias", "the forget gate computed without its bias",
               _forget_bias(np.zeros_like),
               "the forget gate is computed without its bias: f = σ(z_f) where z_f includes "
               "bias's forget slice, bias[units:2·units], like every other gate"),
        *_both("lstm_forget_gate_bias", "1 added to the forget gate at every step "
                                        "(unit_forget_bias misread)",
               _forget_bias(lambda b_f: b_f + 1),
               "you added 1 to the forget gate's pre-activation: Keras's unit_forget_bias=True "
               "only initialises bias[units:2·units] to 1 when the layer is built; the step "
               "itself adds the bias as it is"),
        Mistake("lstm_no_cell_tanh", "h = o ⊙ c, without the tanh of the cell state", "h",
                lambda *a: _no_cell_tanh(*a)[0],
                "the tanh of the cell state is missing: h = o ⊙ tanh(c), not o ⊙ c"),
        *_both("lstm_candidate_activation", "sigmoid on the candidate c̃ instead of tanh",
               _sigmoid_candidate,
               "the candidate c̃ goes through tanh, not sigmoid: c̃ = tanh(z_c) (only i, f and "
               "o are sigmoid gates)"),
        *_both("lstm_candidate_activation", "tanh and sigmoid swapped (tanh on the gates, "
                                            "sigmoid on c̃ and c)",
               lambda x, h, c, k, rk, b: tuple(lstm_step_reference(x, h, c, k, rk, b, "sigmoid",
                                                                   "tanh")[:2]),
               "tanh and sigmoid are swapped: the gates i, f, o use sigmoid (they are shares "
               "between 0 and 1), the candidate c̃ and the cell output use tanh"),
        *_both("lstm_weights_swapped", "kernel and recurrent_kernel swapped",
               lambda x, h, c, k, rk, b: _reference(x, h, c, rk, k, b),
               "kernel and recurrent_kernel are swapped: x_t @ kernel (features, 4·units) and "
               "h_prev @ recurrent_kernel (units, 4·units)"),
        *_both("lstm_h_for_c", "h_prev used in place of c_prev in the cell update",
               lambda x, h, c, k, rk, b: _reference(x, h, h, k, rk, b),
               "the cell update uses h_prev: c = f ⊙ c_prev + i ⊙ c̃, with the previous cell "
               "state c_prev"),
    ),
    tuple_output=True,
    layout="x_t (batch, features), h_prev and c_prev (batch, units), kernel (features, "
           "4·units), recurrent_kernel (units, 4·units), bias (4·units,), gates in the order "
           "i, f, c, o; h and c (batch, units)",
)


@recognises(LSTM_STEP_SPEC)
def lstm_step(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias) -> (h, c)``, one LSTM step.

    In Keras's layout, with the four gates side by side in the order i, f, c, o::

        z = x_t @ kernel + h_prev @ recurrent_kernel + bias      (batch, 4·units)
        z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
        i, f, o = σ(z_i), σ(z_f), σ(z_o);   c̃ = tanh(z_c)
        c = f ⊙ c_prev + i ⊙ c̃;             h = o ⊙ tanh(c)

    Parameters
    ----------
    fn : callable
        ``fn(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias)`` with
        ``x_t (batch, features)``, ``h_prev`` and ``c_prev (batch, units)``,
        ``kernel (features, 4·units)``, ``recurrent_kernel (units, 4·units)`` and
        ``bias (4·units,)``; returns ``(h, c)``, each ``(batch, units)``, in this order.
    timeout : float, optional
        Seconds your function may run on one test case before it is stopped and the check
        fails; by default :data:`TIMEOUT`.

    Returns
    -------
    CheckResult

    Raises
    ------
    CheckFailed
        On the first wrong test case, naming every wrong output with its diagnosis.
    """
    r = rng(12)
    cases = []
    # First features == units, so that swapped weights still run and can be diagnosed.
    for batch, features, units in [(3, 4, 4), (1, 3, 5), (4, 6, 2)]:
        # Small weights keep the gates away from 0 and 1, where mistakes would barely show.
        args = (r.normal(size=(batch, features)), np.tanh(r.normal(size=(batch, units))),
                r.normal(size=(batch, units)), r.normal(scale=0.5, size=(features, 4 * units)),
                r.normal(scale=0.5, size=(units, 4 * units)), r.normal(scale=0.5, size=4 * units))
        cases.append(Case(args, batch))
    return run(LSTM_STEP_SPEC, fn, cases, timeout=timeout)
