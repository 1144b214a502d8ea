"""Magnitude pruning (Han et al., NeurIPS 2015): the smallest weights set to exactly zero.

:func:`magnitude_mask` (which entries of one array survive), :func:`prune_weights` (a model's
kernels, layer by layer or globally) and :func:`sparsity` (the fraction of zeros). NumPy only.
"""

from __future__ import annotations

import numpy as np

from dlcourse.compress.quantization import _check_weight_list
from dlcourse.validation import check_array, check_choice, check_number

__all__ = ["magnitude_mask", "prune_weights", "sparsity"]


def _check_sparsity(value, func: str) -> float:
    """The fraction of weights set to zero, a number in [0, 1]."""
    return check_number(value, "sparsity", f"{func}()", 0.0, 1.0)


def magnitude_mask(w, sparsity: float) -> np.ndarray:
    """Which weights survive magnitude pruning: all but the ``round(sparsity · n)`` smallest |w|.

    Parameters
    ----------
    w : array_like
        Weights, any shape, ``n`` entries.
    sparsity : float in [0, 1]
        The fraction of entries to remove.

    Returns
    -------
    bool array of the shape of ``w``
        True where the weight is kept. Exactly ``round(sparsity · n)`` entries are False; among
        equal magnitudes the earlier entries (in C order) go first.
    """
    w = check_array(w, "w", "magnitude_mask()")
    sparsity = _check_sparsity(sparsity, "magnitude_mask")
    n_pruned = int(round(sparsity * w.size))
    order = np.argsort(np.abs(w), axis=None, kind="stable")
    keep = np.ones(w.size, dtype=bool)
    keep[order[:n_pruned]] = False
    return keep.reshape(w.shape)


def prune_weights(weights, sparsity: float, scope: str = "layer"):
    """Magnitude pruning of a model's kernels: the smallest weights become exactly 0.

    Parameters
    ----------
    weights : list of arrays
        E.g. ``model.get_weights()``.
    sparsity : float in [0, 1]
        The fraction of kernel weights removed.
    scope : {"layer", "global"}
        ``"layer"``: remove that fraction from every kernel. ``"global"``: rank the weights of
        all kernels together, so that layers with many small weights lose more.

    Returns
    -------
    pruned : list of arrays
        New arrays (the input is not modified); biases (1-d arrays) are never pruned.
    masks : list of bool arrays
        True where a weight was kept (all True for biases).
    """
    weights = _check_weight_list(weights, "prune_weights")
    sparsity = _check_sparsity(sparsity, "prune_weights")
    scope = check_choice(scope, "scope", "prune_weights()", ("layer", "global"))
    weights = [check_array(w, f"weights[{i}]", "prune_weights()") for i, w in enumerate(weights)]
    kernels = [i for i, w in enumerate(weights) if w.ndim >= 2]
    masks = [np.ones(w.shape, dtype=bool) for w in weights]
    if scope == "layer":
        for i in kernels:
            masks[i] = magnitude_mask(weights[i], sparsity)
    elif kernels:
        flat = np.concatenate([weights[i].ravel() for i in kernels])
        keep = magnitude_mask(flat, sparsity)
        start = 0
        for i in kernels:
            masks[i] = keep[start:start + weights[i].size].reshape(weights[i].shape)
            start += weights[i].size
    return [w * m for w, m in zip(weights, masks, strict=True)], masks


def sparsity(weights) -> float:
    """The fraction of entries that are exactly zero, over a list of arrays.

    Parameters
    ----------
    weights : list of arrays

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        If the arrays hold no entries at all.
    """
    weights = _check_weight_list(weights, "sparsity")
    arrays = [check_array(w, f"weights[{i}]", "sparsity()", allow_nonfinite=True)
              for i, w in enumerate(weights)]
    total = sum(a.size for a in arrays)
    if total == 0:
        raise ValueError("sparsity(): no weights given")
    return sum(int(np.count_nonzero(a == 0)) for a in arrays) / total
