"""Language-model helpers: training windows, and sampling text at a temperature."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlcourse.text.vocabulary import Vocabulary, _check_text
from dlcourse.validation import check_array, check_bool, check_int, check_number, check_seed

__all__ = ["generate", "next_token_windows", "sample_with_temperature"]


def next_token_windows(ids, length: int, step: int = 1, sequence_targets: bool = False):
    """Training pairs for a language model: windows of ``length`` ids and the id that follows.

    Parameters
    ----------
    ids : 1-D int array of shape ``(n,)``
        An encoded text.
    length : int
        Window length ``T``, at least 1 and less than ``n``.
    step : int
        Distance between the starts of consecutive windows.
    sequence_targets : bool
        If True, the target of a window is the window shifted by one (the next id after every
        position), for a model with ``return_sequences=True``.

    Returns
    -------
    x : int64 array of shape ``(m, T)``
        ``x[k] = ids[k·step : k·step + T]``, with ``m = ⌊(n − T − 1) / step⌋ + 1``.
    y : int64 array of shape ``(m,)``, or ``(m, T)`` with ``sequence_targets``
        ``ids[k·step + T]``, or ``ids[k·step + 1 : k·step + T + 1]``.
    """
    owner = "next_token_windows()"
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{owner}: expected a 1-D int array, got {ids.dtype} "
                         f"of shape {ids.shape}")
    length = check_int(length, "length", owner, minimum=1)
    step = check_int(step, "step", owner, minimum=1)
    sequence_targets = check_bool(sequence_targets, "sequence_targets", owner)
    if len(ids) <= length:
        raise ValueError(f"next_token_windows(): the text has {len(ids)} ids, fewer than "
                         f"length + 1 = {length + 1}")
    starts = np.arange(0, len(ids) - length, step)
    x = ids[starts[:, None] + np.arange(length)].astype(np.int64)
    if sequence_targets:
        y = ids[starts[:, None] + np.arange(1, length + 1)].astype(np.int64)
    else:
        y = ids[starts + length].astype(np.int64)
    return x, y


def _logits_vector(logits, owner: str, name: str = "logits") -> np.ndarray:
    """``logits`` as a 1-D float64 array: leading axes of length 1 (a batch of one) are dropped.

    Anything else of rank 2 or more is refused: flattening the logits of several steps (a model
    with ``return_sequences=True``) would draw ids beyond the vocabulary.
    """
    logits = check_array(logits, name, owner, allow_nonfinite=True)
    shape = logits.shape
    while logits.ndim > 1 and logits.shape[0] == 1:
        logits = logits[0]
    if logits.ndim != 1 or logits.size == 0:
        raise ValueError(f"{owner}: {name} must hold one value per token of the vocabulary, "
                         f"shape (vocabulary,), got shape {shape}; for a model that returns "
                         "every step, take the last one (e.g. logits[-1])")
    bad = np.isnan(logits) | np.isposinf(logits)
    if bad.any():
        raise ValueError(f"{owner}: {name} contains NaN or +inf ({int(bad.sum())} of "
                         f"{logits.size} entries); only -inf (a token never drawn) is allowed")
    if np.isneginf(logits).all():
        raise ValueError(f"{owner}: every entry of {name} is -inf: no token can be drawn")
    return logits.astype(np.float64)


def sample_with_temperature(logits, temperature: float, rng: np.random.Generator) -> int:
    """Draw one id from ``softmax(logits / temperature)``.

    Notes
    -----
    With temperature ``τ``, ``p_k = exp(z_k / τ) / Σ_j exp(z_j / τ)``: ``τ = 1`` samples the
    model's own distribution, ``τ → 0`` approaches always taking the most likely id (``τ = 0``
    takes it exactly), and ``τ > 1`` flattens the distribution towards uniform.

    Parameters
    ----------
    logits : 1-D array of shape ``(vocabulary,)``
        The model's outputs before the softmax (for probabilities ``p``, pass ``np.log(p)``);
        ``-inf`` marks an id that is never drawn. A leading axis of length 1 (a batch of one)
        is accepted.
    temperature : float
        ``τ ≥ 0``, finite.
    rng : numpy.random.Generator

    Returns
    -------
    int
        An id in ``[0, vocabulary)``.
    """
    owner = "sample_with_temperature()"
    logits = _logits_vector(logits, owner)
    temperature = check_number(temperature, "temperature", owner, 0.0)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{owner}: rng must be a numpy.random.Generator, e.g. "
                        f"np.random.default_rng(0), got {type(rng).__name__}")
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(rng.choice(len(p), p=p))


def generate(next_logits: Callable[[np.ndarray], np.ndarray], vocab: Vocabulary, prompt: str,
             n_tokens: int, temperature: float = 1.0, context: int | None = None,
             seed: int = 0) -> str:
    """Extend ``prompt`` by ``n_tokens`` tokens sampled one at a time from a language model.

    Parameters
    ----------
    next_logits : callable
        Maps the ids so far, an int64 array of shape ``(t,)`` (the last ``context`` ids when
        ``context`` is given), to the logits of the next id, shape ``(len(vocab),)``.
    vocab : Vocabulary
    prompt : str
        The start; must be encodable by ``vocab`` and not empty.
    n_tokens : int
        At least 0.
    temperature : float
        See :func:`sample_with_temperature`.
    context : int, optional
        How many of the latest ids the model sees (its window length, at least 1); all of them
        if None.
    seed : int

    Returns
    -------
    str
        The prompt followed by the generated tokens.
    """
    owner = "generate()"
    if not callable(next_logits):
        raise TypeError(f"{owner}: next_logits must be a function from ids to logits, got "
                        f"{type(next_logits).__name__}")
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"{owner}: vocab must be a Vocabulary, got {type(vocab).__name__}")
    _check_text(prompt, "prompt", owner)
    n_tokens = check_int(n_tokens, "n_tokens", owner, minimum=0)
    temperature = check_number(temperature, "temperature", owner, 0.0)
    if context is not None:
        context = check_int(context, "context", owner, minimum=1)
    seed = check_seed(seed, owner)
    ids = list(vocab.encode(prompt))
    if not ids:
        raise ValueError("generate(): the prompt is empty")
    rng = np.random.default_rng(seed)
    for _ in range(n_tokens):
        window = np.array(ids if context is None else ids[-context:], dtype=np.int64)
        logits = _logits_vector(next_logits(window), owner, "the logits from next_logits")
        if logits.shape != (len(vocab),):
            raise ValueError(f"{owner}: next_logits returned {logits.size} logits, expected one "
                             f"per token of the vocabulary: shape ({len(vocab)},)")
        ids.append(sample_with_temperature(logits, temperature, rng))
    return vocab.decode(ids)

