"""Checks of scaled dot-product attention, with the usual mistakes.

The reference is :func:`dlcourse.scratch.scaled_dot_product.scaled_dot_product_attention`, and
every mistake is computed from the same three steps done the wrong way: the scores without (or
with the wrong) scaling, the softmax along the queries instead of the keys, the mask applied
after the softmax, inverted or ignored, the keys not transposed or the scores transposed.
"""

from __future__ import annotations

import numpy as np

from dlcourse.check.catalogue import Mistake, Spec, recognises
from dlcourse.check.engine import Case, CheckResult, rng, run
from dlcourse.scratch.scaled_dot_product import MASK_VALUE
from dlcourse.scratch.scaled_dot_product import (
    scaled_dot_product_attention as _scaled_dot_product_attention,
)

__all__ = ["scaled_dot_product_attention"]

_FORMULA = ("A = Q @ Kᵀ / √d_k (Kᵀ = np.swapaxes(key, -1, -2)); A = np.where(mask, A, -1e9); "
            "P = softmax(A) along the last axis (over the keys s, for each query t); O = P @ V")


def _reference(query, key, value, mask):
    return _scaled_dot_product_attention(query, key, value, mask)[0]


def _softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _attention(query, key, value, mask, *, scale=None, scores=None, axis=-1, masking="before"):
    """Attention done one way or another: the mistakes are the arguments that are not the
    defaults. ``scores(q, k)`` gives the unscaled scores; ``masking`` is ``"before"`` (right),
    ``"after"`` (probabilities zeroed after the softmax), ``"inverted"`` (True masks),
    ``"zero"`` (the masked scores set to 0) or ``"ignored"``."""
    d_k = query.shape[-1]
    a = (query @ np.swapaxes(key, -1, -2) if scores is None else scores(query, key))
    a = a * (1 / np.sqrt(d_k) if scale is None else scale(d_k))
    if mask is not None and masking == "before":
        a = np.where(mask, a, MASK_VALUE)
    elif mask is not None and masking == "inverted":
        a = np.where(mask, MASK_VALUE, a)
    elif mask is not None and masking == "zero":
        a = np.where(mask, a, 0.0)
    p = _softmax(a, axis)
    if mask is not None and masking == "after":
        p = np.where(mask, p, 0.0)
    return p @ value


def _mistake(key: str, summary: str, diagnosis: str, **how) -> Mistake:
    def wrong(query, key_, value, mask):
        if how.get("masking") is not None and mask is None:
            return None  # a masking mistake cannot show without a mask
        return _attention(query, key_, value, mask, **how)
    return Mistake(key, summary, "output", wrong, diagnosis)


SCALED_DOT_PRODUCT_ATTENTION_SPEC = Spec(
    "scaled_dot_product_attention", ("query", "key", "value", "mask"), ("output",), _reference,
    mistakes=(
        _mistake("attention_missing_scale", "the scores not divided by √d_k",
                 "the scores are not scaled: divide Q Kᵀ by √d_k (the square root of the "
                 "queries' and keys' depth, query.shape[-1]); without it the dot products grow "
                 "with d_k and the softmax saturates", scale=lambda d: 1.0),
        _mistake("attention_missing_scale", "the scores divided by d_k instead of √d_k",
                 "the scores are divided by d_k: the scaling is 1/√d_k, the square root "
                 "(np.sqrt(d_k)), which keeps their variance near 1", scale=lambda d: 1 / d),
        _mistake("attention_missing_scale", "the scores multiplied by √d_k",
                 "the scores are multiplied by √d_k: divide by it instead, A = Q Kᵀ / √d_k",
                 scale=np.sqrt),
        _mistake("attention_softmax_axis", "the softmax taken over the queries (axis -2)",
                 "the softmax is taken over the wrong axis: each query t distributes its "
                 "attention over the keys s, so normalise each row of A (axis=-1, the keys), "
                 "not each column (the queries)", axis=-2),
        _mistake("attention_mask_after_softmax", "the mask applied after the softmax",
                 "the mask is applied after the softmax, so the remaining weights of a row no "
                 "longer sum to 1: mask the scores before it, A = np.where(mask, A, -1e9), so "
                 "that a masked key gets probability exp(-1e9) = 0 and the others share all of "
                 "it", masking="after"),
        _mistake("attention_mask_after_softmax", "the masked scores set to 0 instead of -1e9",
                 "the masked scores are set to 0, and exp(0) = 1 still gives those keys "
                 "attention: replace them by a large negative number, "
                 "A = np.where(mask, A, -1e9), before the softmax", masking="zero"),
        _mistake("attention_mask_inverted", "the mask read the wrong way round (True: masked)",
                 "the mask is read the wrong way round: True means query t MAY attend to key "
                 "s (Keras's convention), so keep A where mask is True, "
                 "A = np.where(mask, A, -1e9)", masking="inverted"),
        _mistake("attention_mask_ignored", "the mask ignored",
                 "the mask is ignored: before the softmax, replace the scores where mask is "
                 "False by -1e9, A = np.where(mask, A, -1e9)", masking="ignored"),
        _mistake("attention_key_transpose", "the scores computed as K Qᵀ (transposed)",
                 "the scores are transposed: A = Q Kᵀ, of shape (T, S), one row per query; "
                 "K Qᵀ is its transpose, one row per key",
                 scores=lambda q, k: k @ np.swapaxes(q, -1, -2)),
        _mistake("attention_key_transpose", "K not transposed (Q @ K)",
                 "K is not transposed: the scores are the dot products of each query with each "
                 "key, A = Q @ Kᵀ = query @ np.swapaxes(key, -1, -2) (key.T for a 2-D key); "
                 "Q @ K only runs when d_k happens to equal S", scores=lambda q, k: q @ k),
    ),
    layout="query (batch, T, d_k), key (batch, S, d_k), value (batch, S, d_v), mask None or "
           "boolean (batch, T, S), True where query t may attend to key s; output "
           "(batch, T, d_v)",
)


def _attention_cases() -> list[Case]:
    r = rng(17)
    cases = []
    # The first cases are square (T = S = d_k), so that transposed scores and an untransposed
    # K still run and can be diagnosed from the values; the others have T ≠ S ≠ d_k ≠ d_v.
    for batch, T, S, d_k, d_v, masked in [(2, 4, 4, 4, 3, "causal"), (3, 3, 3, 3, 3, None),
                                          (2, 3, 5, 2, 4, "padding"), (1, 2, 6, 5, 2, None)]:
        query, key = r.normal(size=(batch, T, d_k)), r.normal(size=(batch, S, d_k))
        value = r.normal(size=(batch, S, d_v))
        if masked == "causal":
            mask = np.broadcast_to(np.tril(np.ones((T, S), bool)), (batch, T, S)).copy()
        elif masked == "padding":
            mask = r.random((batch, T, S)) > 0.4
            mask[..., 0] = True  # every query may attend to at least one key
        else:
            mask = None
        # Scores of a size that makes the scaling matter (the softmax neither flat nor one-hot).
        cases.append(Case((2 * query, key, value, mask)))
    return cases


@recognises(SCALED_DOT_PRODUCT_ATTENTION_SPEC)
def scaled_dot_product_attention(fn, *, timeout: float | None = None) -> CheckResult:
    """Check ``fn(query, key, value, mask) -> output``, scaled dot-product attention.

    ::

        A = query @ np.swapaxes(key, -1, -2) / np.sqrt(d_k)    (batch, T, S)
        A = np.where(mask, A, -1e9)                            (if mask is not None)
        P = softmax(A, axis=-1)                                each row sums to 1
        output = P @ value                                     (batch, T, d_v)

    Parameters
    ----------
    fn : callable
        ``fn(query, key, value, mask)`` with ``query (batch, T, d_k)``, ``key (batch, S,
        d_k)``, ``value (batch, S, d_v)`` and ``mask`` None or a boolean ``(batch, T, S)``,
        True where query ``t`` may attend to key ``s`` (Keras's convention); returns
        ``output (batch, T, d_v)``.
    timeout : float, optional
        Seconds your function may run on one test case before it is stopped and the check
        fails; by default :data:`TIMEOUT`.

    Returns
    -------
    CheckResult

    Raises
    ------
    CheckFailed
        On the first wrong test case, naming the mistake when it is a known one.
    """
    return run(SCALED_DOT_PRODUCT_ATTENTION_SPEC, fn, _attention_cases(), timeout=timeout)
