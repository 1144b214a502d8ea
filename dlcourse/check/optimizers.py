"""Check of one step of gradient descent, with the usual mistakes.

The step is the one :class:`dlcourse.scratch.SGD` takes without momentum:
``theta − learning_rate * grad``.
"""

from __future__ import annotations

from dlcourse.check.catalogue import Mistake, Spec, recognises
from dlcourse.check.engine import Case, CheckResult, rng, run

__all__ = ["gradient_descent_step"]

_STEP = "theta − learning_rate * grad"

GRADIENT_DESCENT_SPEC = Spec(
    "gradient_descent_step", ("theta", "grad", "learning_rate"), ("new_theta",),
    lambda t, g, lr: t - lr * g,
    mistakes=(
        Mistake("gd_wrong_sign", "the wrong sign, a step up the gradient", "new_theta",
                lambda t, g, lr: t + lr * g,
                f"wrong sign: gradient descent moves against the gradient, {_STEP}"),
        Mistake("gd_learning_rate_ignored", "the learning rate ignored", "new_theta",
                lambda t, g, lr: t - g, f"the learning rate is ignored: {_STEP}"),
        Mistake("gd_learning_rate_squared", "the learning rate squared", "new_theta",
                lambda t, g, lr: t - lr ** 2 * g,
                f"the learning rate is applied twice (learning_rate² * grad): {_STEP}"),
        Mistake("gd_divided_by_learning_rate", "divided by the learning rate", "new_theta",
                lambda t, g, lr: t - g / lr, f"you divided by the learning rate: {_STEP}"),
        Mistake("gd_no_update", "theta returned unchanged", "new_theta", lambda t, g, lr: t,
                f"you returned theta unchanged: the step is {_STEP}"),
        Mistake("gd_returned_step", "the step returned instead of the new parameters",
                "new_theta", lambda t, g, lr: -lr * g,
                "you returned the step −learning_rate * grad, not the updated parameters "
                f"{_STEP}"),
    ),
    layout="theta and grad of the same shape, learning_rate a float",
)


@recognises(GRADIENT_DESCENT_SPEC)
def gradient_descent_step(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(theta, grad, learning_rate) -> new_theta``, one step of gradient descent.

    ``new_theta = theta − learning_rate * grad``.

    Parameters
    ----------
    fn : callable
        ``fn(theta, grad, learning_rate)`` with ``theta`` and ``grad`` arrays of the same shape
        and a float ``learning_rate``; returns the new parameters, same shape. Updating ``theta``
        in place is fine as long as the function returns it too.
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
    Updating ``theta`` in place and returning None is diagnosed as ``in_place_none``.
    """
    r = rng(7)
    cases = [Case((r.normal(size=shape), r.normal(size=shape), lr))
             for shape, lr in [((5,), 0.1), ((2, 4), 0.5), ((3, 2, 2), 0.01), ((1,), 0.3)]]
    return run(GRADIENT_DESCENT_SPEC, fn, cases, timeout=timeout)
