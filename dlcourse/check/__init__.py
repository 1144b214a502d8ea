"""Self-checks for your own implementations, with the usual mistakes diagnosed by name.

Write the function an exercise asks for, then hand it to the checker of the same name::

    from dlcourse import check

    def dense_backward(x, kernel, bias, grad_output):
        ...
        return grad_x, grad_kernel, grad_bias

    check.dense_backward(dense_backward)

The checker calls your function on a few chosen inputs (several shapes, a batch of one,
non-square matrices), each time on fresh copies so that your function cannot spoil the next test
case, and compares the result with a reference implementation written here in NumPy.

- If every result is right, it returns a :class:`CheckResult`, shown in a notebook as
  "✔ dense_backward: correct on 4 test cases".
- Otherwise it raises :class:`CheckFailed` saying which test case failed (the shapes of its
  inputs), what was expected and what your function returned (a shape, or the largest relative
  error), and, when the values match a known mistake, the mistake in plain words, e.g. "the bias
  gradient is not summed over the batch". If your function raises an exception, that is reported
  the same way, with the line of your code it came from. A function that does not return within
  :data:`TIMEOUT` seconds on a test case (an endless loop) is stopped and reported too.

Results are compared in float64 with a relative error (:func:`dlcourse.gradcheck.rel_error`) of at
most ``1e-4``: loose enough for a float32 result, far tighter than any real mistake. Returning a
list instead of an array, or a list instead of a tuple of results, is fine.

The conventions are Keras's, as everywhere in the course: channels-last images
``x (batch, height, width, channels)``, a Dense kernel ``(in_features, units)``, a convolution
kernel ``(kernel_height, kernel_width, in_channels, filters)``, a bias ``(units,)``, and the
row-vector form of the recurrent step, ``h_t = tanh(x_t @ kernel + h_prev @ recurrent_kernel +
bias)``, which is the chapter's ``h_t = tanh(W_hh h_{t−1} + W_xh x_t + b_h)`` with
``W_xh = kernel.T`` and ``W_hh = recurrent_kernel.T``. The LSTM and GRU weights hold their
gates side by side in Keras's order: i, f, c, o for the LSTM, z, r, h for the GRU (whose bias,
as in Keras's default ``reset_after=True``, has two rows). An attention mask is True where a
query may attend to a key, as Keras's ``attention_mask``.
"""

# The package mirrors dlcourse.scratch: engine.py runs a learner's function, compares and
# reports; catalogue.py says what a known mistake is and holds the generic ones; each topic
# module (activations, core, losses, optimizers, conv, pooling, recurrent, lstm, gru,
# attention) holds its checkers and their catalogues of mistakes, from which their docstrings
# are completed.
from dlcourse.check.activations import activation, activation_derivative, softmax
from dlcourse.check.attention import scaled_dot_product_attention
from dlcourse.check.catalogue import GENERIC_MISTAKES as GENERIC_MISTAKES
from dlcourse.check.catalogue import generic_section
from dlcourse.check.conv import conv2d
from dlcourse.check.core import dense_backward, dense_forward
from dlcourse.check.engine import TOLERANCE as TOLERANCE
from dlcourse.check.engine import CheckFailed, CheckResult
from dlcourse.check.gru import gru_step
from dlcourse.check.losses import cross_entropy, softmax_cross_entropy_backward
from dlcourse.check.lstm import lstm_step
from dlcourse.check.optimizers import gradient_descent_step
from dlcourse.check.pooling import maxpool2d
from dlcourse.check.recurrent import rnn_forward, rnn_step

__all__ = [
    "CheckFailed", "CheckResult", "activation", "activation_derivative", "conv2d",
    "cross_entropy", "dense_backward", "dense_forward", "gradient_descent_step", "gru_step",
    "lstm_step", "maxpool2d", "rnn_forward", "rnn_step", "scaled_dot_product_attention",
    "softmax", "softmax_cross_entropy_backward",
]

#: Seconds the learner's function may run on one test case before the check stops it and fails
#: (every test case is small: a right answer takes milliseconds, even written with loops).
#: Each checker also takes ``timeout=`` for one call. Read at every check, so setting
#: ``check.TIMEOUT = 30`` applies to the checks that follow.
TIMEOUT = 10.0

if __doc__ is not None:  # None under python -OO, which strips docstrings
    __doc__ += "\n" + generic_section() + "\n"
