r"""The simple recurrent network: one step, the forward pass, backpropagation through time.

The course writes the recurrence with column vectors,

.. math::

    h_t = \sigma(W_{hh} h_{t-1} + W_{xh} x_t + b_h), \qquad h_{-1} = 0,

and Keras stores the same weights for row vectors (a batch is a stack of rows):
``h_t = f(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``, so
``W_xh = kernelᵀ`` and ``W_hh = recurrent_kernelᵀ``. This module uses Keras's layout throughout:
``x`` is ``(batch, time, features)``, ``kernel`` ``(features, units)``, ``recurrent_kernel``
``(units, units)``, ``bias`` ``(units,)``, the hidden states ``h`` ``(batch, time, units)``.

Each operation comes twice with identical signatures: ``*_naive`` loops over examples and time
steps and reads like the formulas (the book shows it); the fast version loops over time only,
which the recursion cannot avoid, and does everything else in a few large matrix products
(the layer uses it). A test keeps the two equal.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcourse.scratch import activations, initializers, regularizers
from dlcourse.scratch.base import Layer, _check_training, get_rng, register_layer
from dlcourse.validation import check_bool, check_int

__all__ = ["RNNGradients", "RecurrentLayer", "SimpleRNN", "check_recurrent_args",
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


# ------------------------------------------------------------------------------ helpers
# The backward pass keeps the hidden states h = f(z), not z, so it uses each activation's
# derivative written in terms of its output (tanh' = 1 − h², σ' = h (1 − h), relu' = [h > 0]),
# from the one table of dlcourse.scratch.activations.
def get_activation(activation, where: str,
                   argument: str | None = None) -> activations.ActivationFunction:
    """The activation by Keras name, refused if its derivative cannot be had from its output.

    ``where`` prefixes the errors; ``argument`` (e.g. ``"recurrent_activation"``) is named in
    them if given.
    """
    act = activations.get(activation, owner=where, argument=argument)
    if act.derivative is not None and act.derivative_from_output is None:
        named = f" ({argument})" if argument else ""
        raise ValueError(f"{where}: activation {act.name!r}{named} has no backward rule here; "
                         f"expected one of {activations.names()}")
    return act


def grad_z_from_output(act: activations.ActivationFunction, a: np.ndarray, grad_a: np.ndarray):
    """``dJ/dz`` from ``a = f(z)`` and ``dJ/da``, without ``z``."""
    return act.backward_from_output(a, grad_a)


def _check_shapes(where: str, x, kernel, recurrent_kernel, bias=None, h0=None, h=None,
                  grad_h=None) -> None:
    x, kernel, recurrent_kernel = np.asarray(x), np.asarray(kernel), np.asarray(recurrent_kernel)
    if x.ndim != 3:
        raise ValueError(f"{where}: expected x of rank 3 (batch, time, features), "
                         f"got shape {x.shape}")
    batch, time, features = x.shape
    units = recurrent_kernel.shape[-1]
    expected = {"kernel": (kernel, (features, units)),
                "recurrent_kernel": (recurrent_kernel, (units, units)),
                "bias": (bias, (units,)), "h0": (h0, (batch, units)),
                "h": (h, (batch, time, units)), "grad_h": (grad_h, (batch, time, units))}
    for name, (value, shape) in expected.items():
        if value is not None and np.shape(value) != shape:
            raise ValueError(f"{where}: expected {name} of shape {shape} for x of shape "
                             f"{x.shape} and {units} units, got shape {np.shape(value)}")


def _initial_state(h0, batch: int, units: int, dtype) -> np.ndarray:
    return np.zeros((batch, units), dtype=dtype) if h0 is None else np.asarray(h0, dtype=dtype)


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


def rnn_forward_naive(x, kernel, recurrent_kernel, bias, activation="tanh", h0=None):
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

    Returns
    -------
    h : ndarray, shape (batch, time, units)
        ``h[:, t]`` is ``h_t``; ``h[:, -1]`` is what a ``SimpleRNN`` returns by default.

    Notes
    -----
    .. math::

        h_t = f(x_t K + h_{t-1} R + b), \quad t = 0, \dots, T-1, \quad h_{-1} = h_0.
    """
    x, kernel, recurrent_kernel = np.asarray(x), np.asarray(kernel), np.asarray(recurrent_kernel)
    _check_shapes("rnn_forward_naive()", x, kernel, recurrent_kernel, bias, h0)
    act = get_activation(activation, "rnn_forward_naive()")
    batch, time, _ = x.shape
    units = recurrent_kernel.shape[1]
    h0 = _initial_state(h0, batch, units, np.result_type(x, kernel))
    h = np.zeros((batch, time, units), dtype=h0.dtype)
    for n in range(batch):
        h_prev = h0[n]
        for t in range(time):
            h[n, t] = rnn_step(x[n, t], h_prev, kernel, recurrent_kernel, bias, act)
            h_prev = h[n, t]
    return h


def rnn_forward(x, kernel, recurrent_kernel, bias, activation="tanh", h0=None):
    """All hidden states of a simple RNN, vectorised over the batch (the layers' version).

    Same parameters, result and formula as :func:`rnn_forward_naive`. The input part
    ``x_t @ kernel + bias`` does not depend on the previous state, so it is computed for every
    step in one matrix product before the loop; only ``h_{t-1} @ recurrent_kernel`` and ``f``
    remain inside it.
    """
    x, kernel, recurrent_kernel = np.asarray(x), np.asarray(kernel), np.asarray(recurrent_kernel)
    _check_shapes("rnn_forward()", x, kernel, recurrent_kernel, bias, h0)
    act = get_activation(activation, "rnn_forward()")
    batch, time, features = x.shape
    units = recurrent_kernel.shape[1]
    h0 = _initial_state(h0, batch, units, np.result_type(x, kernel))
    # Time-major storage makes every h[t] one contiguous (batch, units) block.
    xw = (x.reshape(batch * time, features) @ kernel).reshape(batch, time, units)
    if bias is not None:
        xw += bias
    xw = xw.transpose(1, 0, 2)  # (time, batch, units), a view
    h = np.empty((time, batch, units), dtype=h0.dtype)
    h_prev = h0
    for t in range(time):
        z = np.matmul(h_prev, recurrent_kernel, out=h[t])
        z += xw[t]
        h[t] = act.forward(z)
        h_prev = h[t]
    return h.transpose(1, 0, 2)


# ------------------------------------------------------------------------------ backward
def rnn_backward_naive(grad_h, x, h, kernel, recurrent_kernel, activation="tanh", h0=None):
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
    (vanishing gradients) or grows (exploding gradients) geometrically.
    """
    x, h, grad_h = np.asarray(x), np.asarray(h), np.asarray(grad_h)
    kernel, recurrent_kernel = np.asarray(kernel), np.asarray(recurrent_kernel)
    _check_shapes("rnn_backward_naive()", x, kernel, recurrent_kernel, h0=h0, h=h, grad_h=grad_h)
    act = get_activation(activation, "rnn_backward_naive()")
    batch, time, features = x.shape
    units = recurrent_kernel.shape[1]
    h0 = _initial_state(h0, batch, units, h.dtype)
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
            grad_z = grad_z_from_output(act, h[n, t], grad_h_t)
            grad_x[n, t] = kernel @ grad_z
            grad_kernel += np.outer(x[n, t], grad_z)
            grad_recurrent_kernel += np.outer(h_prev, grad_z)
            grad_bias += grad_z
            grad_from_future = recurrent_kernel @ grad_z
        grad_h0[n] = grad_from_future
    return RNNGradients(grad_x, grad_kernel, grad_recurrent_kernel, grad_bias, grad_h_steps,
                        grad_h0)


def rnn_backward(grad_h, x, h, kernel, recurrent_kernel, activation="tanh", h0=None):
    """Backpropagation through time, vectorised over the batch (the layers' version).

    Same parameters, result and formulas as :func:`rnn_backward_naive`. Only the recursion
    ``δ_t = (dJ/dz_t) Rᵀ`` needs the loop; the weight and input gradients are sums over all steps
    of products with ``dJ/dz_t``, so they are computed after it in one matrix product each.
    """
    x, h, grad_h = np.asarray(x), np.asarray(h), np.asarray(grad_h)
    kernel, recurrent_kernel = np.asarray(kernel), np.asarray(recurrent_kernel)
    _check_shapes("rnn_backward()", x, kernel, recurrent_kernel, h0=h0, h=h, grad_h=grad_h)
    act = get_activation(activation, "rnn_backward()")
    batch, time, features = x.shape
    units = recurrent_kernel.shape[1]
    dtype = h.dtype
    h0 = _initial_state(h0, batch, units, dtype)
    # Time-major views, the layout rnn_forward stores h in: each step's slice is contiguous.
    h_tm = h.transpose(1, 0, 2)
    grad_h_tm = grad_h.astype(dtype, copy=False).transpose(1, 0, 2)
    elementwise = act.derivative is not None  # softmax's derivative is a Jacobian
    if elementwise:
        f_prime = act.derivative_from_output(h_tm)  # f'(z_t) for every step at once
    grad_h_steps = np.empty((time, batch, units), dtype=dtype)
    grad_z = np.empty((time, batch, units), dtype=dtype)
    recurrent_kernel_t = recurrent_kernel.T
    grad_from_future = np.zeros((batch, units), dtype=dtype)
    for t in range(time - 1, -1, -1):
        np.add(grad_h_tm[t], grad_from_future, out=grad_h_steps[t])
        if elementwise:
            np.multiply(grad_h_steps[t], f_prime[t], out=grad_z[t])
        else:
            grad_z[t] = grad_z_from_output(act, h_tm[t], grad_h_steps[t])
        np.matmul(grad_z[t], recurrent_kernel_t, out=grad_from_future)
    # Back to batch-major, the order of x, for the products that sum over batch and time.
    grad_z_rows = grad_z.transpose(1, 0, 2).reshape(batch * time, units)
    x_rows = x.reshape(batch * time, features)
    h_prev_rows = np.concatenate([h0[:, None], h[:, :-1]], axis=1).reshape(batch * time, units)
    return RNNGradients(
        grad_x=(grad_z_rows @ kernel.T).reshape(batch, time, features),
        grad_kernel=x_rows.T @ grad_z_rows,
        grad_recurrent_kernel=h_prev_rows.T @ grad_z_rows,
        grad_bias=grad_z_rows.sum(axis=0),
        grad_h_steps=grad_h_steps.transpose(1, 0, 2),
        grad_h0=grad_from_future,
    )


# ------------------------------------------------------------------------------ shared layers
# check_recurrent_args and RecurrentLayer serve every gated recurrent layer (lstm.py, gru.py).
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
    """What the gated recurrent layers (:class:`~dlcourse.scratch.lstm.LSTM`,
    :class:`~dlcourse.scratch.gru.GRU`) share, as Keras's ``RNN``.

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
    masking = "use"
    n_gates = 1
    state_names: tuple[str, ...] = ("h",)

    def __init__(self, units, activation, recurrent_activation, use_bias, kernel_initializer,
                 recurrent_initializer, bias_initializer, kernel_regularizer,
                 recurrent_regularizer, bias_regularizer, return_sequences, return_state,
                 go_backwards, name, seed, dtype):
        owner = self._owner(name)
        units = check_int(units, "units", owner, minimum=1)
        activation = get_activation(activation, owner, "activation")
        recurrent_activation = get_activation(recurrent_activation, owner,
                                              "recurrent_activation")
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
            raise TypeError(self.error_message(f"expected a boolean mask (True where the step is "
                                       f"used), got dtype {mask.dtype}"))
        if mask.shape != tuple(shape[:2]):
            raise ValueError(self.error_message(f"expected a mask of shape (batch, time) = "
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
            raise ValueError(self.error_message(
                f"expected {what} as a list of {n} arrays ({', '.join(self.state_names)}), "
                f"got {type(states).__name__}" + (f" of length {len(states)}"
                                                   if isinstance(states, (list, tuple)) else "")))
        checked = []
        for name, state in zip(self.state_names, states, strict=True):
            if state is not None:
                state = self._check_array(state, f"{what} for {name}")
                if state.shape != (batch, self.units):
                    raise ValueError(self.error_message(
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
        return self._forward_masked(x.astype(self.dtype, copy=False), mask, initial_state)

    __call__ = forward

    def forward_unchecked(self, x, training: bool = False, mask=None, initial_state=None):
        """``forward`` without the input checks, (see :meth:`Layer.forward_unchecked`)."""
        self._ensure_built(x.shape, x.dtype if self.dtype is None else self.dtype)
        return self._forward_masked(x.astype(self.dtype, copy=False), mask, initial_state)

    def call(self, x: np.ndarray, training: bool):
        return self._forward_masked(x, None, None)

    def _forward_masked(self, x, mask, initial_state):
        if x.shape[1] == 0:
            raise ValueError(self.error_message(
                f"expected at least one time step, got shape {x.shape}"))
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
            raise ValueError(self.error_message(
                "backward() called before forward(): run a forward pass on a batch first"))
        if grad_states is not None and not self.return_state:
            raise ValueError(self.error_message(
                "grad_states given, but the layer returns no states (return_state=False)"))
        if grad_output is None and self.return_state:
            grad_output = np.zeros(self._last_output_shape, self.dtype)
        grad_output = self._check_array(grad_output, "gradient")
        if grad_output.shape != self._last_output_shape:
            raise ValueError(self.error_message(
                f"expected a gradient of the output's shape {self._last_output_shape}, "
                f"got shape {grad_output.shape}"))
        return self.call_backward(grad_output.astype(self.dtype, copy=False), grad_states)

    def call_backward(self, grad_output: np.ndarray, grad_states=None) -> np.ndarray:
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



# ------------------------------------------------------------------------------ the layer
@register_layer
class SimpleRNN(Layer):
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
    kernel_regularizer : None, str or Regularizer
        Penalty on the kernel, added to the loss by the model.
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
    """

    weight_names = ("kernel", "recurrent_kernel", "bias")
    input_ranks = (3,)
    input_layout = "(batch, time, features)"
    masking = "refuse"  # Keras's SimpleRNN skips masked steps; this one cannot (yet)

    def __init__(self, units: int, activation: str | None = "tanh",
                 return_sequences: bool = False, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, name: str | None = None,
                 seed: int | None = None, dtype=None):
        owner = self._owner(name)
        units = check_int(units, "units", owner, minimum=1)
        activation = get_activation(activation, owner)
        return_sequences = check_bool(return_sequences, "return_sequences", owner)
        use_bias = check_bool(use_bias, "use_bias", owner)
        kernel_initializer = initializers.get(kernel_initializer, owner, "kernel_initializer")
        recurrent_initializer = initializers.get(recurrent_initializer, owner,
                                                 "recurrent_initializer")
        bias_initializer = initializers.get(bias_initializer, owner, "bias_initializer")
        kernel_regularizer = regularizers.get(kernel_regularizer, owner, "kernel_regularizer")
        super().__init__(name=name, seed=seed, dtype=dtype)
        self.units = units
        self.activation = activation
        self.return_sequences = return_sequences
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        if self.kernel_regularizer is not None:
            self.regularizers["kernel"] = self.kernel_regularizer
        self.grad_h_steps: np.ndarray | None = None

    def build(self, input_shape: tuple) -> None:
        """Create the weights for inputs ``(batch, time, features)``."""
        features = input_shape[-1]
        rng = get_rng(self.seed)
        self._initial_weight("kernel", self.kernel_initializer, "kernel_initializer",
                             (features, self.units), rng)
        self._initial_weight("recurrent_kernel", self.recurrent_initializer,
                             "recurrent_initializer", (self.units, self.units), rng)
        if self.use_bias:
            self._initial_weight("bias", self.bias_initializer, "bias_initializer",
                                 (self.units,), rng)
        self.input_shape = (None, features)  # any sequence length, as in Keras

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def call(self, x: np.ndarray, training: bool) -> np.ndarray:
        if x.shape[1] == 0:
            raise ValueError(self.error_message(
                f"expected at least one time step, got shape {x.shape}"))
        h = rnn_forward(x, self.params["kernel"], self.params["recurrent_kernel"],
                        self.params.get("bias"), self.activation)
        self.cache = {"x": x, "h": h}
        return h if self.return_sequences else h[:, -1]

    def call_backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, h = self.cache["x"], self.cache["h"]
        if self.return_sequences:
            grad_h = grad_output
        else:  # only the last state was used: the other steps get gradient from it alone
            grad_h = np.zeros_like(h)
            grad_h[:, -1] = grad_output
        grads = rnn_backward(grad_h, x, h, self.params["kernel"], self.params["recurrent_kernel"],
                             self.activation)
        # In place, so that an optimizer holding these arrays sees the new values.
        self.grads["kernel"][...] = grads.grad_kernel
        self.grads["recurrent_kernel"][...] = grads.grad_recurrent_kernel
        if self.use_bias:
            self.grads["bias"][...] = grads.grad_bias
        self.grad_h_steps = grads.grad_h_steps
        return grads.grad_x
