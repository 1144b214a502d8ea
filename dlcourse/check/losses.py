"""Checks of cross-entropy and of the gradient of softmax + cross-entropy, with the usual mistakes.

The references are :class:`dlcourse.scratch.losses.SparseCategoricalCrossentropy` (on the class
indices, whichever label format the learner's function takes), the loss the course's models use.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dlcourse.check.catalogue import Mistake, Spec, recognises
from dlcourse.check.engine import Case, CheckResult, rng, run
from dlcourse.scratch import activations as act
from dlcourse.scratch.losses import SparseCategoricalCrossentropy
from dlcourse.validation import check_bool

__all__ = ["cross_entropy", "softmax_cross_entropy_backward"]


def _onehot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes)[labels]


def _class_indices(labels):
    return labels.argmax(axis=-1) if labels.ndim == 2 else labels


def _probs_true(probs, labels):
    return probs[np.arange(len(probs)), _class_indices(labels)]


def _label_cases(seed: int, one_hot: bool, shapes) -> list[Case]:
    r = rng(seed)
    cases = []
    for batch, classes in shapes:
        logits = r.normal(size=(batch, classes))
        # Every class appears when it can, so that a mistake tied to one class shows.
        labels = r.permutation(np.arange(batch) % classes)
        cases.append(Case((logits, _onehot(labels, classes) if one_hot else labels), batch))
    return cases


def _labels(spec: Spec, one_hot: bool, result: str) -> Spec:
    """``spec`` for labels in the format the learner's function takes."""
    hint = ("here labels are one-hot, shape (batch, classes); if your function expects integer "
            f"class indices, call check.{spec.name}(fn) without one_hot=True" if one_hot else
            "here labels are integer class indices, shape (batch,); if your function expects "
            f"one-hot labels (batch, classes), call check.{spec.name}(fn, one_hot=True)")
    labels = "(batch, classes) one-hot" if one_hot else "(batch,) class indices"
    return dataclasses.replace(spec, layout=f"{spec.params[0]} (batch, classes), labels "
                                            f"{labels}, {result}", error_hint=hint)


# ================================================================================== cross-entropy
def _cross_entropy(probs, labels):
    return SparseCategoricalCrossentropy()(_class_indices(labels), probs)


def _sparse_only(fn):
    # These mistakes index probs with the labels, which only integer labels allow.
    def wrong(probs, labels):
        return None if labels.ndim == 2 else fn(probs, labels)
    return wrong


def _binary_formula(p, y):
    y = _onehot(_class_indices(y), p.shape[1])
    return -np.mean(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1))


_LOG_BASE = "the natural logarithm, np.log"

CROSS_ENTROPY_SPEC = Spec(
    "cross_entropy", ("probs", "labels"), ("loss",), _cross_entropy,
    mistakes=(
        Mistake("ce_missing_minus", "the minus sign missing", "loss",
                lambda p, y: np.mean(np.log(_probs_true(p, y))),
                "the minus sign is missing: the loss is −mean(log p[true class]), a positive "
                "number"),
        Mistake("ce_per_sample", "one loss per sample instead of their mean", "loss",
                lambda p, y: -np.log(_probs_true(p, y)),
                "you returned one loss per sample, shape (batch,): average them to a single "
                "number, the mean over the batch"),
        Mistake("ce_mean_over_classes", "the mean taken over the classes too", "loss",
                lambda p, y: -np.mean(_onehot(_class_indices(y), p.shape[1]) * np.log(p)),
                "you averaged over the classes too (np.mean of one_hot * log(p) divides by "
                "batch × classes): sum over the classes, then average over the batch"),
        Mistake("ce_rows_indexed", "probs[labels], whole rows, instead of one entry per sample",
                "loss", _sparse_only(lambda p, y: -np.mean(np.log(p[y]))),
                "probs[labels] picks whole rows (samples), not one entry per sample: use "
                "probs[np.arange(batch), labels]"),
        Mistake("ce_all_pairs", "probs[:, labels], every label for every sample", "loss",
                _sparse_only(lambda p, y: -np.mean(np.log(p[:, y]))),
                "probs[:, labels] picks every label's column for every sample (batch × batch "
                "entries): use probs[np.arange(batch), labels], one entry per sample"),
        Mistake("ce_all_classes", "the log of every class's probability", "loss",
                lambda p, y: -np.mean(np.sum(np.log(p), axis=1)),
                "you took the log of every class's probability: only the true class counts, "
                "−mean(log probs[np.arange(batch), labels])"),
        Mistake("ce_max_probability", "the log of the largest probability", "loss",
                lambda p, y: -np.mean(np.log(p.max(axis=1))),
                "you took the log of the largest probability, not of the true class's: "
                "−mean(log probs[np.arange(batch), labels])"),
        Mistake("ce_binary_formula", "the binary cross-entropy formula for every class", "loss",
                _binary_formula,
                "you used the binary cross-entropy y log p + (1 − y) log(1 − p) for every "
                "class: for one class out of many, only −log p[true class] remains"),
        Mistake("ce_log_base", "log10 or log2 instead of the natural log", "loss",
                lambda p, y: -np.mean(np.log10(_probs_true(p, y))),
                f"you used log10: cross-entropy uses {_LOG_BASE}"),
        Mistake("ce_log_base", "log10 or log2 instead of the natural log", "loss",
                lambda p, y: -np.mean(np.log2(_probs_true(p, y))),
                f"you used log2: cross-entropy uses {_LOG_BASE}"),
    ),
)


@recognises(CROSS_ENTROPY_SPEC)
def cross_entropy(fn, *, one_hot: bool = False, timeout: float | None = None) -> CheckResult:
    """Check ``fn(probs, labels) -> loss``, the categorical cross-entropy averaged over the batch.

    ``loss = −(1/batch) Σ_i log probs[i, labels[i]]``, the same as Keras's
    ``sparse_categorical_crossentropy`` (or ``categorical_crossentropy`` with one-hot labels).

    Parameters
    ----------
    fn : callable
        ``fn(probs, labels)`` with ``probs (batch, classes)`` (rows summing to 1, no zeros) and
        ``labels``; returns a scalar (a 1-element array is fine too).
    one_hot : bool
        Pass ``labels`` one-hot, ``(batch, classes)``, instead of integer class indices
        ``(batch,)``.
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
    The sum over the batch instead of the mean is recognised as ``batch_factor``, a factor of
    the batch size.
    """
    one_hot = check_bool(one_hot, "one_hot", "check.cross_entropy()")
    spec = _labels(CROSS_ENTROPY_SPEC, one_hot, "loss a scalar")
    cases = _label_cases(5, one_hot, [(5, 3), (1, 4), (4, 6), (6, 2)])
    cases = [Case((act.softmax(c.args[0]), c.args[1]), c.batch) for c in cases]
    return run(spec, fn, cases, timeout=timeout)


# ================================================================================== gradient
def _softmax_cross_entropy_backward(logits, labels):
    return SparseCategoricalCrossentropy(from_logits=True).gradient(_class_indices(labels),
                                                                    logits)


def _sce_variant(fn):
    def wrong(logits, labels):
        onehot = _onehot(_class_indices(labels), logits.shape[1])
        return fn(act.softmax(logits), onehot, logits, len(logits))
    return wrong


_SCE_FORMULA = "(softmax(logits) − one_hot) / batch"

SCE_SPEC = Spec(
    "softmax_cross_entropy_backward", ("logits", "labels"), ("grad_logits",),
    _softmax_cross_entropy_backward,
    mistakes=(
        Mistake("sce_missing_batch_division", "the division by the batch size missing",
                "grad_logits", _sce_variant(lambda p, y, z, n: p - y),
                "the division by the batch size is missing: the loss is a mean over the batch, "
                f"so dJ/dlogits = {_SCE_FORMULA}"),
        Mistake("sce_wrong_sign", "a wrong sign, (one_hot − softmax) / batch", "grad_logits",
                _sce_variant(lambda p, y, z, n: (y - p) / n),
                f"wrong sign: dJ/dlogits = {_SCE_FORMULA}, not "
                "(one_hot − softmax(logits)) / batch"),
        Mistake("sce_no_onehot", "the one-hot labels not subtracted", "grad_logits",
                _sce_variant(lambda p, y, z, n: p / n),
                f"you forgot to subtract the one-hot labels: dJ/dlogits = {_SCE_FORMULA}"),
        Mistake("sce_minus_one_everywhere", "1 subtracted from every entry", "grad_logits",
                _sce_variant(lambda p, y, z, n: (p - 1) / n),
                "you subtracted 1 from every entry: subtract 1 only at the true class, "
                f"{_SCE_FORMULA}"),
        Mistake("sce_logits_not_probs", "the logits used instead of the probabilities",
                "grad_logits", _sce_variant(lambda p, y, z, n: (z - y) / n),
                "you used the logits where the probabilities are needed: dJ/dlogits = "
                f"{_SCE_FORMULA}"),
    ),
)


@recognises(SCE_SPEC)
def softmax_cross_entropy_backward(fn, *, one_hot: bool = False,
                                   timeout: float | None = None) -> CheckResult:
    """Check ``fn(logits, labels) -> grad_logits``, the gradient of softmax + cross-entropy.

    For ``J = cross_entropy(softmax(logits), labels)`` averaged over the batch,
    ``dJ/dlogits = (softmax(logits) − one_hot(labels)) / batch``.

    Parameters
    ----------
    fn : callable
        ``fn(logits, labels)`` with ``logits (batch, classes)`` and ``labels``; returns
        ``grad_logits (batch, classes)``.
    one_hot : bool
        Pass ``labels`` one-hot, ``(batch, classes)``, instead of integer class indices
        ``(batch,)``.
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
    one_hot = check_bool(one_hot, "one_hot", "check.softmax_cross_entropy_backward()")
    spec = _labels(SCE_SPEC, one_hot, "grad_logits (batch, classes)")
    cases = _label_cases(6, one_hot, [(4, 3), (1, 5), (3, 3), (6, 2)])
    return run(spec, fn, cases, timeout=timeout)
