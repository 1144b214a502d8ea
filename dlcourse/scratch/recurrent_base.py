r"""What the recurrent layers share: activations for BPTT, argument checks, the layer base.

:class:`RecurrentLayer` is Keras's ``RNN`` wrapper for the three cells,
:class:`~dlcourse.scratch.recurrent.SimpleRNN`, :class:`~dlcourse.scratch.lstm.LSTM` and
:class:`~dlcourse.scratch.gru.GRU`: it checks the input, the mask and the initial states, reads
the sequence backwards if asked, turns the states into the output (the last one or all of
them, with the final states if asked) and back again for the gradient. A cell's module writes
only its recurrence, as two functions: ``_run`` (the forward pass over the sequence) and
``_run_backward`` (backpropagation through time).
"""

from __future__ import annotations

import numpy as np

from dlcourse.scratch import activations, initializers, regularizers
from dlcourse.scratch.base import Layer, _check_training, get_rng
from dlcourse.validation import check_bool, check_int

__all__ = ["RecurrentLayer", "check_recurrent_args", "get_activation", "grad_z_from_output"]


# ------------------------------------------------------------------------------ activations
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


# ------------------------------------------------------------------------------ arguments
def check_recurrent_args(where: str, x, kernel, recurrent_kernel, bias, n_gates: int,
                         initial: dict, mask, bias_shape: tuple | None = None,
                         per_step: dict | None = None):
    """The arguments of a recurrence (SimpleRNN, LSTM, GRU) checked against ``x``'s shape.

    ``initial`` maps names (``"h0"``, ``"c0"``) to initial states or None; ``bias_shape`` is
    ``(n_gates·units,)`` unless given; ``per_step`` maps names (``"h"``, ``"grad_h"``) to arrays
    that must be ``(batch, time, units)``. Returns ``x``, ``kernel``, ``recurrent_kernel`` as
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
                **{name: (value, (batch, units)) for name, value in initial.items()},
                **{name: (value, (batch, time, units)) for name, value in (per_step or {}).items()}}
    for name, (value, shape) in expected.items():
        if value is not None and np.shape(value) != shape:
            raise ValueError(f"{where}: expected {name} of shape {shape} for x of shape "
                             f"{x.shape} and {units} units, got shape {np.shape(value)}")
    dtype = np.result_type(x, kernel)
    states = [np.zeros((batch, units), dtype) if value is None else np.asarray(value, dtype)
              for value in initial.values()]
    return x, kernel, recurrent_kernel, states, None if mask is None else np.asarray(mask, bool)


# ------------------------------------------------------------------------------ the layer
class RecurrentLayer(Layer):
    """What the recurrent layers (:class:`~dlcourse.scratch.recurrent.SimpleRNN`,
    :class:`~dlcourse.scratch.lstm.LSTM`, :class:`~dlcourse.scratch.gru.GRU`) share, as Keras's
    ``RNN``.

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

    Subclasses set ``n_gates`` and ``state_names``, check their own extra arguments before
    calling ``__init__`` and write ``_run`` (the states of every step, the final states and
    the cache) and ``_run_backward`` (the gradients and those of the initial states).

    Attributes
    ----------
    grad_h_steps : ndarray of shape (batch, time, units), or None
        The total ``dJ/dh_t`` at every step (in reading order) from the last ``backward``,
        for plotting vanishing and exploding gradients.
    """

    weight_names = ("kernel", "recurrent_kernel", "bias")
    input_ranks = (3,)
    input_layout = "(batch, time, features)"
    masking = "use"
    n_gates = 1
    state_names: tuple[str, ...] = ("h",)
    # The penalties live in ``regularizers`` only (what the model adds); these read and set them.
    kernel_regularizer = regularizers.PenaltyArgument()
    recurrent_regularizer = regularizers.PenaltyArgument()
    bias_regularizer = regularizers.PenaltyArgument()

    def __init__(self, units, activation, use_bias, kernel_initializer, recurrent_initializer,
                 bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                 return_sequences, return_state, go_backwards, name, seed, dtype):
        owner = self._owner(name)
        units = check_int(units, "units", owner, minimum=1)
        activation = get_activation(activation, owner, "activation")
        flags = {arg: check_bool(value, arg, owner) for arg, value in (
            ("use_bias", use_bias), ("return_sequences", return_sequences),
            ("return_state", return_state), ("go_backwards", go_backwards))}
        kernel_initializer = initializers.get(kernel_initializer, owner, "kernel_initializer")
        recurrent_initializer = initializers.get(recurrent_initializer, owner,
                                                 "recurrent_initializer")
        bias_initializer = initializers.get(bias_initializer, owner, "bias_initializer")
        penalties = {argument: regularizers.get(value, owner, argument) for argument, value in (
            ("kernel_regularizer", kernel_regularizer),
            ("recurrent_regularizer", recurrent_regularizer),
            ("bias_regularizer", bias_regularizer))}
        super().__init__(name=name, seed=seed, dtype=dtype)
        self.units = units
        self.activation = activation
        self.use_bias = flags["use_bias"]
        self.return_sequences = flags["return_sequences"]
        self.return_state = flags["return_state"]
        self.go_backwards = flags["go_backwards"]
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        for argument, penalty in penalties.items():
            setattr(self, argument, penalty)
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


