"""Generated review sentences whose label depends on word order, and padding to equal length."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from dlcourse.validation import check_array, check_choice, check_int, check_number, check_seed

__all__ = ["make_sentiment", "pad_sequences"]


_SUBJECTS = ("the movie", "the film", "the book", "the food", "the service", "the story",
             "the hotel", "the music", "the ending", "the acting", "the game", "the show")
_VERBS = ("was", "is", "felt", "seemed")
_INTENSIFIERS = ("", "", "", "very", "really", "truly", "quite", "so", "rather")
_POSITIVE = ("good", "great", "excellent", "wonderful", "brilliant", "lovely", "fun",
             "enjoyable", "delightful", "charming", "superb", "pleasant")
_NEGATIVE = ("bad", "awful", "terrible", "boring", "dull", "poor", "horrible",
             "disappointing", "bland", "tedious", "weak", "annoying")
_NEGATIONS = ("not", "never")
_OPENERS = ("", "", "", "honestly", "overall", "i think", "to be fair", "in the end")


def _clause(rng: np.random.Generator, positive: bool, p_negation: float) -> str:
    negated = rng.random() < p_negation
    words = [rng.choice(_SUBJECTS), rng.choice(_VERBS)]
    if negated:
        words.append(rng.choice(_NEGATIONS))
    intensifier = rng.choice(_INTENSIFIERS)
    if intensifier:
        words.append(intensifier)
    # A negation flips the adjective's polarity: "not good" is negative.
    words.append(rng.choice(_POSITIVE if positive != negated else _NEGATIVE))
    return " ".join(words)


def make_sentiment(n_samples: int = 2000, p_negation: float = 0.3, p_contrast: float = 0.4,
                   seed: int = 0):
    """Short generated review sentences, each labelled positive (1) or negative (0).

    A sentence is one clause, ``[opener] subject verb [not|never] [intensifier] adjective``
    (``"the film was not very good"``), or, with probability ``p_contrast``, two clauses of
    opposite polarity joined by ``but``, whose label is the second one's
    (``"the food was bad but the service was great"`` is positive). A negation, drawn with
    probability ``p_negation`` per clause, flips the adjective's polarity. So the label depends
    on word order (``"A was bad but B was great"`` and ``"A was great but B was bad"`` hold the
    same words), which a bag of words cannot see but a recurrent network can.

    Parameters
    ----------
    n_samples : int
        Number of sentences; labels alternate before shuffling, so the classes are balanced.
    p_negation, p_contrast : float
        Probabilities in [0, 1].
    seed : int

    Returns
    -------
    sentences : list of str
        Lower case, words separated by single spaces, no punctuation.
    labels : int64 array of shape ``(n_samples,)``
        1 for positive, 0 for negative.
    """
    owner = "make_sentiment()"
    n_samples = check_int(n_samples, "n_samples", owner, minimum=1)
    p_negation = check_number(p_negation, "p_negation", owner, 0.0, 1.0)
    p_contrast = check_number(p_contrast, "p_contrast", owner, 0.0, 1.0)
    seed = check_seed(seed, owner)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_samples) % 2).astype(np.int64)
    sentences = []
    for label in labels:
        positive = bool(label)
        opener = rng.choice(_OPENERS)
        if rng.random() < p_contrast:
            text = (f"{_clause(rng, not positive, p_negation)} but "
                    f"{_clause(rng, positive, p_negation)}")
        else:
            text = _clause(rng, positive, p_negation)
        sentences.append(f"{opener} {text}" if opener else text)
    return sentences, labels


def _id_sequence(sequence, i: int, owner: str) -> np.ndarray:
    """One sequence of ids as a 1-D int64 array (floats would be truncated, so are refused)."""
    try:
        array = None if isinstance(sequence, (str, bytes)) else np.asarray(sequence)
    except (ValueError, TypeError):  # ragged nested lists
        array = None
    if array is None or array.ndim != 1:
        got = (f"{type(sequence).__name__}" if array is None
               else f"{sequence!r}; for one sequence pass [ids]" if array.ndim == 0
               else f"shape {array.shape}")
        raise ValueError(f"{owner}: sequences[{i}] must be a sequence of ids (1-D), got {got}")
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    return check_array(array, f"sequences[{i}]", owner, kind="integer").astype(np.int64)


def pad_sequences(sequences: Iterable[Sequence[int]], maxlen: int | None = None,
                  padding: str = "pre", truncating: str = "pre", value: int = 0) -> np.ndarray:
    """Equal-length int64 rows from sequences of ids, like ``keras.utils.pad_sequences``.

    Parameters
    ----------
    sequences : iterable of sequences of int
    maxlen : int, optional
        Row length; the longest sequence's length if None.
    padding : {"pre", "post"}
        Fill with ``value`` before (``"pre"``, the default, so that a recurrent network reads the
        words last) or after each sequence.
    truncating : {"pre", "post"}
        Drop the excess ids from the start (``"pre"``) or the end of longer sequences.
    value : int
        The padding id (an integer: ids are integers).

    Returns
    -------
    int64 array of shape ``(len(sequences), maxlen)``
    """
    owner = "pad_sequences()"
    padding = check_choice(padding, "padding", owner, ("pre", "post"))
    truncating = check_choice(truncating, "truncating", owner, ("pre", "post"))
    value = check_int(value, "value", owner)
    if maxlen is not None:
        maxlen = check_int(maxlen, "maxlen", owner, minimum=0)
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Iterable):
        raise TypeError(f"{owner}: sequences must be a list of sequences of ids, got "
                        f"{type(sequences).__name__}")
    sequences = [_id_sequence(s, i, owner) for i, s in enumerate(sequences)]
    if maxlen is None:
        maxlen = max((len(s) for s in sequences), default=0)
    out = np.full((len(sequences), maxlen), value, dtype=np.int64)
    for row, s in zip(out, sequences, strict=True):
        if maxlen == 0 or len(s) == 0:
            continue
        s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "pre":
            row[maxlen - len(s):] = s
        else:
            row[:len(s)] = s
    return out
