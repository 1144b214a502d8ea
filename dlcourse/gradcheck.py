"""Gradient checking with centred finite differences.

For a scalar function ``f`` of an array ``x``, the centred difference

    ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / (2h)

has an error of order ``h²``, so in float64 with ``h = 1e-6`` an analytic gradient that is right
agrees to a relative error of about 1e-8 or better; one that is wrong (a missing transpose, a
forgotten sum over the batch) is off by order 1. :func:`check_layer` applies this to every input
and weight gradient of a from-scratch layer.

A NaN or an infinity never passes: :func:`rel_error` is ``inf`` for them (a NaN compared with a
tolerance, ``nan > tol``, is False and would pass silently), and :func:`check_layer` says which
gradient holds the first one, where, and how many there are.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable

import numpy as np

from dlcourse.scratch.base import get_rng
from dlcourse.validation import check_array, check_bool, check_number, check_seed

__all__ = ["GradientCheckError", "check_layer", "numerical_gradient", "rel_error"]


class GradientCheckError(AssertionError):
    """An analytic gradient disagrees with finite differences (or is NaN, or has a wrong shape)."""


def _as_numbers(value, name: str) -> np.ndarray:
    """``value`` as a float64 array; booleans count as 0/1, NaN and inf are kept."""
    array = np.asarray(value)
    if array.dtype == np.bool_:
        return array.astype(np.float64)
    return check_array(array, name, "rel_error()", allow_nonfinite=True).astype(np.float64)


def rel_error(a, b, eps: float = 1e-30) -> float:
    """Relative error ``max|a − b| / max(max|a|, max|b|)`` of two arrays.

    Measured against the largest entry rather than entry by entry, so that entries that are
    zero up to rounding (a dead ReLU, a padded border) do not count as 100 % wrong. About 1e-7 or
    less means the two agree in float64; 1e-2 or more almost always means a bug.

    Parameters
    ----------
    a, b : array_like of numbers, same shape
        The two arrays, e.g. an analytic and a numerical gradient.
    eps : float
        Smallest scale divided by, so that two arrays of zeros have error 0.

    Returns
    -------
    float
        The relative error, ``0.0`` for empty arrays, and ``inf`` when either array contains a
        NaN or an infinity (even at the same place in both): such a result is never right, and
        ``inf > tol`` fails a check where ``nan > tol`` would be False and pass it.

    Raises
    ------
    ValueError
        If the shapes differ.
    TypeError
        If either is not an array of numbers (``None``, text, complex numbers).
    """
    a = _as_numbers(a, "a")
    b = _as_numbers(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"rel_error(): shapes differ, {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.inf
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), eps)
    return float(np.max(np.abs(a - b)) / scale)


def _scalar(value, owner: str) -> float:
    """``value`` (what ``f`` returned) as a float, or a TypeError saying what it was."""
    try:
        array = None if value is None else np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.size != 1:
        got = (f"an array of shape {array.shape}" if array is not None
               else f"{type(value).__name__}")
        raise TypeError(f"{owner}: expected f to return a scalar, got {got}")
    return float(array.reshape(()))


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6):
    """Centred finite-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored afterwards, so ``f`` may close
    over ``x`` (that is how the weights of a layer are checked).

    Parameters
    ----------
    f : callable
        ``f()`` or ``f(x)`` returning a scalar; called ``2 * x.size`` times.
    x : float64 ndarray
        The point; must be float64, since float32 cannot resolve a step of 1e-6.
    h : float
        The step, a finite number > 0.

    Returns
    -------
    ndarray, same shape as ``x``
        NaN where ``f`` is NaN at ``x ± h e_i`` (:func:`check_layer` reports it).
    """
    owner = "numerical_gradient()"
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"{owner}: x must be a float64 ndarray, got {got}; "
                        "finite differences need double precision")
    h = check_number(h, "h", owner, 0, low_open=True)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        try:
            x[i] = old + h
            f_plus = _scalar(f(x), owner)
            x[i] = old - h
            f_minus = _scalar(f(x), owner)
        finally:
            x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


# ================================================================================ check_layer
class _RandomReplay:
    """Puts the random generators a layer draws from back in the state they had at the start.

    Checking a stochastic layer (Dropout in training) needs the same random draw at every forward
    pass, or the finite differences compare two different functions. The generators looked at
    are: every ``numpy.random.Generator`` or ``RandomState`` the layer keeps as an attribute
    (also inside lists, dicts and sublayers), the shared generator of
    :func:`dlcourse.scratch.set_random_seed`, NumPy's global one (``np.random.rand``) and
    Python's (``random.random``). After the first forward pass, :meth:`keep_only_used` drops
    those it did not draw from, so that a deterministic layer is checked at no extra cost.
    """

    def __init__(self, layer):
        sources: list = []
        self._collect(layer, sources, set(), depth=0)
        shared = get_rng()
        if all(g is not shared for g in sources):
            sources.append(shared)
        sources += [np.random, random]  # the global generators: np.random.rand, random.random
        self._saved = [(source, self._get(source)) for source in sources]

    @classmethod
    def _collect(cls, obj, found: list, seen: set, depth: int) -> None:
        if id(obj) in seen or depth > 4:
            return
        seen.add(id(obj))
        if isinstance(obj, (np.random.Generator, np.random.RandomState)):
            found.append(obj)
            return
        if isinstance(obj, dict):
            children = list(obj.values())
        elif isinstance(obj, (list, tuple)):
            children = list(obj)
        elif depth == 0 or callable(getattr(obj, "forward", None)):  # the layer, or a sublayer
            children = list(getattr(obj, "__dict__", {}).values())
        else:
            return
        for child in children:
            cls._collect(child, found, seen, depth + 1)

    @staticmethod
    def _get(source):
        if isinstance(source, np.random.Generator):
            return copy.deepcopy(source.bit_generator.state)
        if source is random:
            return random.getstate()
        return source.get_state()  # a RandomState, or np.random's global one

    @staticmethod
    def _set(source, state) -> None:
        if isinstance(source, np.random.Generator):
            source.bit_generator.state = state
        elif source is random:
            random.setstate(state)
        else:
            source.set_state(state)

    def keep_only_used(self) -> None:
        """Forget the generators whose state the forward passes so far have not changed."""
        self._saved = [(source, state) for source, state in self._saved
                       if not _same_state(self._get(source), state)]

    def restore(self) -> None:
        for source, state in self._saved:
            self._set(source, state)


def _same_state(a, b) -> bool:
    """Equality of two generator states (dicts and tuples that may hold arrays)."""
    if isinstance(a, dict):
        return (isinstance(b, dict) and a.keys() == b.keys()
                and all(_same_state(a[k], b[k]) for k in a))
    if isinstance(a, (tuple, list)):
        return (isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(_same_state(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def _first_nonfinite(array: np.ndarray) -> str | None:
    """``"NaN at index (0, 2) (3 of 12 entries are NaN or infinite)"``, or None if all finite."""
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(bad)[0]), array.shape))
    kind = "NaN" if np.isnan(array[index]) else "an infinity"
    return (f"{kind} at index {index} ({int(bad.sum())} of {array.size} entries are NaN or "
            "infinite)")


def _analytic_array(layer, name: str, value, shape: tuple) -> np.ndarray:
    """The gradient ``name`` that ``backward`` gave, as float64, or a GradientCheckError."""
    where = "backward() returned" if name == "input" else f"layer.grads[{name!r}] is"
    wanted = f"the gradient with respect to the {name}, an array of shape {shape}"
    if value is None:
        hint = ("; the layer has compute_input_grad = False, set it to True to check the "
                "input gradient"
                if name == "input" and getattr(layer, "compute_input_grad", True) is False else "")
        raise GradientCheckError(f"{layer!r}: expected {wanted}, but {where} None{hint}")
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.floating)
                                     or np.issubdtype(array.dtype, np.integer)):
        raise GradientCheckError(f"{layer!r}: expected {wanted}, but {where} "
                                 f"{type(value).__name__} of dtype {array.dtype}")
    if array.shape != shape:
        raise GradientCheckError(f"{layer!r}: expected {wanted}, but {where} an array of shape "
                                 f"{array.shape}")
    return array.astype(np.float64)


def check_layer(layer, x, *, training: bool = False, h: float = 1e-6, tol: float = 1e-6,
                seed: int | None = 0) -> dict[str, float]:
    """Check a layer's ``backward`` against finite differences, for the input and every weight.

    Uses the scalar ``J = Σ y ⊙ g`` for a fixed random ``g`` of the output's shape, whose
    gradient with respect to the output is exactly ``g``; so ``layer.backward(g)`` must equal the
    numerical ``dJ/dx``, and ``layer.grads[name]`` the numerical ``dJ/d(name)``.

    Parameters
    ----------
    layer : dlcourse.scratch layer
        Built on the first call if needed; it must be float64.
    x : float64 ndarray
        An input batch, finite.
    training : bool
        Passed to ``forward`` (e.g. for batch normalisation's batch statistics, or dropout).
    h, tol : float
        Finite-difference step and the largest relative error accepted, both finite and > 0.
    seed : int or None
        Seed of ``g``.

    Returns
    -------
    dict
        The relative error of each gradient: ``{"input": ..., "kernel": ..., ...}``.

    Raises
    ------
    GradientCheckError
        Naming every gradient whose relative error exceeds ``tol``; or the first gradient (or
        the forward output) that holds a NaN or an infinity, whether it comes from ``backward``
        (analytic) or from finite differences (numerical), with the index of its first such
        entry and how many there are; or a gradient of the wrong shape, or None; or a forward
        pass that gives different outputs for the same input.
    TypeError, ValueError
        For arguments that are not what is described above.

    Notes
    -----
    **Stochastic layers.** Dropout in training draws a new mask at every forward pass, so the
    finite differences would compare different functions and a correct layer would fail. Before
    every forward pass of the check, the random generators the layer can draw from are put back
    in the state they had when the check started: the ``numpy.random.Generator`` (or
    ``RandomState``) objects the layer keeps as attributes (in sublayers too), the shared
    generator of :func:`dlcourse.scratch.set_random_seed`, NumPy's global generator and Python's.
    Every forward pass of the check thus sees the same draw, and the generators end as after one
    forward pass (an unbuilt layer is first built, its weights drawn, by a forward pass with
    ``training=False``, before that state is taken). A layer whose output still changes from
    call to call (it creates a fresh unseeded generator at each call, say) is reported as such.
    """
    owner = f"check_layer({layer!r})"
    for method in ("forward", "backward"):
        if not callable(getattr(layer, method, None)):
            raise TypeError(f"check_layer(): expected a layer with forward() and backward() "
                            f"(a dlcourse.scratch layer), got {type(layer).__name__}")
    training = check_bool(training, "training", owner)
    h = check_number(h, "h", owner, 0, low_open=True)
    tol = check_number(tol, "tol", owner, 0, low_open=True)
    seed = check_seed(seed, owner)
    was_array = isinstance(x, np.ndarray)
    x = check_array(x, "x", owner)  # numbers, finite
    if not was_array:
        x = x.astype(np.float64)
    if x.dtype != np.float64:
        raise TypeError(f"{owner}: x must be float64 for finite differences, got {x.dtype}")
    x = x.copy()

    if not getattr(layer, "built", False):
        # Build it (its weights are drawn here, once) in inference mode, which draws no mask.
        layer.forward(x, training=False)
    if getattr(layer, "dtype", np.float64) != np.float64:
        raise TypeError(f"{owner}: the layer's weights are {layer.dtype}; "
                        "build it on float64 input for a gradient check")
    replay = _RandomReplay(layer)

    def forward() -> np.ndarray:
        replay.restore()  # the same random draw (dropout mask) at every call
        return layer.forward(x, training=training)

    y = np.array(forward(), dtype=np.float64)  # a copy: an output may be a view of x
    replay.keep_only_used()
    problem = _first_nonfinite(y)
    if problem:
        raise GradientCheckError(f"{layer!r}: the forward output contains {problem} for a "
                                 "finite input; a gradient check needs a finite output")
    if not np.array_equal(np.asarray(forward()), y):
        raise GradientCheckError(
            f"{layer!r}: forward() gave different outputs for the same input, with the random "
            "generators it can reach put back in the same state; a stochastic layer must draw "
            "from a generator it keeps (e.g. self.rng = np.random.default_rng(seed), created "
            "once in __init__), not from a new unseeded one at each call")
    g = np.random.default_rng(seed).normal(size=y.shape)

    def objective(_=None):
        out = forward()
        with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf are reported below
            return float(np.sum(out * g))

    objective()  # forward again so backward runs on exactly this input and random draw
    grad_x = layer.backward(g)
    params = getattr(layer, "params", {})
    grads = getattr(layer, "grads", {})
    analytic = {"input": _analytic_array(layer, "input", grad_x, x.shape)}
    for name, value in grads.items():
        if name in params:
            analytic[name] = _analytic_array(layer, name, value, params[name].shape)
    numeric = {"input": numerical_gradient(objective, x, h)}
    for name, value in params.items():
        if name in grads:
            numeric[name] = numerical_gradient(objective, value, h)

    nonfinite = []
    for name in numeric:
        for source, values in (("from backward", analytic), ("from finite differences", numeric)):
            problem = _first_nonfinite(values[name])
            if problem:
                nonfinite.append(f"the {name} gradient {source} contains {problem}")
    if nonfinite:
        raise GradientCheckError(f"{layer!r}: NaN or infinite gradients: "
                                 + "; ".join(nonfinite))
    errors = {name: rel_error(analytic[name], numeric[name]) for name in numeric}
    failed = {name: err for name, err in errors.items() if err > tol}
    if failed:
        detail = ", ".join(f"{name}: {err:.2e}" for name, err in failed.items())
        raise GradientCheckError(f"{layer!r}: gradients disagree with finite differences "
                                 f"(relative error above {tol:g}): {detail}")
    return errors
