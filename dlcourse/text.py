"""Small text data for the recurrence chapter: a corpus, vocabularies, windows and sentiment.

Everything here is offline and NumPy only:

- :func:`load_text` returns a small corpus that ships with Python itself: ``"zen"``, *The Zen of
  Python* by Tim Peters, stored ROT13-encoded in the standard library's ``this`` module and
  decoded here (without importing ``this``, which would print it). It is part of CPython and
  distributed under the Python Software Foundation License; no file is bundled with dlcourse.
- :class:`Vocabulary` maps characters or words to integer ids and back
  (:meth:`Vocabulary.characters`, :meth:`Vocabulary.words`).
- :func:`next_token_windows` cuts an id sequence into (window, next id) training pairs for a
  language model, and :func:`sample_with_temperature` / :func:`generate` sample text from one.
- :func:`make_sentiment` generates short English review sentences with a positive (1) or
  negative (0) label, including negations ("not good") and contrasts ("bad but fun") whose label
  depends on word order; :func:`tokenize` and :func:`pad_sequences` turn them into equal-length
  id arrays (padding as ``keras.utils.pad_sequences`` does).

Every random function takes a ``seed`` and returns the same result for the same arguments.
"""

from __future__ import annotations

import ast
import codecs
import importlib.util
import itertools
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from dlcourse.validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_seed,
)

__all__ = [
    "CORPORA",
    "Vocabulary",
    "generate",
    "load_text",
    "make_sentiment",
    "next_token_windows",
    "pad_sequences",
    "sample_with_temperature",
    "tokenize",
    "zen_of_python",
]

#: The corpora :func:`load_text` knows, with where each comes from.
CORPORA = {
    "zen": "The Zen of Python by Tim Peters (PEP 20), from CPython's `this` module (PSF License)",
}


# ------------------------------------------------------------------------------------ corpus
def zen_of_python() -> str:
    """*The Zen of Python* (PEP 20) as plain text, decoded from the standard library.

    CPython keeps the poem ROT13-encoded in the string ``s`` of the module ``this``, which prints
    it when imported. This reads ``s`` from the module's source without importing it (so nothing
    is printed) and decodes it.

    Returns
    -------
    str
        The title line, a blank line, then the 19 aphorisms, one per line (about 850 characters,
        no trailing newline).
    """
    spec = importlib.util.find_spec("this")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("zen_of_python(): this Python has no 'this' module")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "s"
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return codecs.decode(node.value.value, "rot13")
    raise ValueError(f"zen_of_python(): no string 's' found in {spec.origin}")


def load_text(name: str = "zen") -> str:
    """A small text corpus by name, offline.

    Parameters
    ----------
    name : {"zen"}
        ``"zen"``: *The Zen of Python* (see :func:`zen_of_python`). :data:`CORPORA` lists the
        names with their sources and licences.

    Returns
    -------
    str
    """
    if name == "zen":
        return zen_of_python()
    raise ValueError(f"load_text(): unknown corpus {name!r}; choose one of {sorted(CORPORA)}")


# ------------------------------------------------------------------------------------ vocabulary
class Vocabulary:
    """A two-way mapping between tokens (characters or words) and integer ids ``0..n−1``.

    Parameters
    ----------
    tokens : sequence of str
        The tokens in id order; each must be unique.
    unknown : str or None
        A token (one of ``tokens``) that :meth:`encode` uses for tokens not in the vocabulary;
        None makes an unknown token an error.
    separator : str
        Joins tokens in :meth:`decode`: ``""`` for characters, ``" "`` for words.

    Examples
    --------
    >>> vocab = Vocabulary.characters("hello")
    >>> vocab.tokens
    ['e', 'h', 'l', 'o']
    >>> vocab.encode("hell").tolist()
    [1, 0, 2, 2]
    >>> vocab.decode([2, 3])
    'lo'
    """

    def __init__(self, tokens: Sequence[str], unknown: str | None = None, separator: str = ""):
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
            raise TypeError(f"Vocabulary: tokens must be a list of str (use "
                            f"Vocabulary.characters(text) for the characters of a text), got "
                            f"{type(tokens).__name__}")
        tokens = list(tokens)
        if not tokens:
            raise ValueError("Vocabulary: needs at least one token")
        index = {}
        for i, token in enumerate(tokens):
            if not isinstance(token, str):
                raise TypeError(f"Vocabulary: tokens must be str, got {token!r} at id {i}")
            if token in index:
                raise ValueError(f"Vocabulary: token {token!r} appears twice (ids {index[token]} "
                                 f"and {i})")
            index[token] = i
        if unknown is not None and (not isinstance(unknown, str) or unknown not in index):
            raise ValueError(f"Vocabulary: the unknown token {unknown!r} is not among the tokens")
        if not isinstance(separator, str):
            raise TypeError(f"Vocabulary: separator must be a str, got {separator!r}")
        self.tokens = tokens
        self.index = index
        self.unknown = unknown
        self.separator = separator

    @classmethod
    def characters(cls, text: str) -> Vocabulary:
        """The sorted set of characters of ``text``, joined back without a separator."""
        _check_text(text, "text", "Vocabulary.characters()")
        if not text:
            raise ValueError("Vocabulary.characters(): the text is empty")
        return cls(sorted(set(text)), separator="")

    @classmethod
    def words(cls, texts: Iterable[str], min_count: int = 1, pad: str = "<pad>",
              unknown: str = "<unk>") -> Vocabulary:
        """Words of ``texts`` (see :func:`tokenize`), most frequent first, after two specials.

        Id 0 is ``pad`` (what :func:`pad_sequences` fills with, so an ``Embedding`` with
        ``mask_zero=True`` ignores it) and id 1 is ``unknown``; then every word seen at least
        ``min_count`` times, by decreasing count and alphabetically among equal counts.
        """
        owner = "Vocabulary.words()"
        if isinstance(texts, str):
            raise TypeError(f"{owner}: expected a list of texts, got one str")
        if not isinstance(texts, Iterable):
            raise TypeError(f"{owner}: texts must be a list of str, got {type(texts).__name__}")
        min_count = check_int(min_count, "min_count", owner, minimum=1)
        _check_text(pad, "pad", owner)
        _check_text(unknown, "unknown", owner)
        texts = [_check_text(t, f"texts[{i}]", owner) for i, t in enumerate(texts)]
        counts = Counter(word for text in texts for word in tokenize(text))
        kept = sorted((w for w, c in counts.items() if c >= min_count),
                      key=lambda w: (-counts[w], w))
        return cls([pad, unknown, *kept], unknown=unknown, separator=" ")

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token) -> bool:
        return token in self.index

    def __repr__(self) -> str:
        shown = ", ".join(repr(t) for t in self.tokens[:8])
        more = ", ..." if len(self) > 8 else ""
        return f"Vocabulary({len(self)} tokens: {shown}{more})"

    def encode(self, tokens: str | Iterable[str]) -> np.ndarray:
        """The ids of ``tokens``, an int64 array.

        A ``str`` is split into characters when the separator is ``""`` and into words
        (:func:`tokenize`) otherwise; any other iterable is taken as the tokens themselves.
        """
        if isinstance(tokens, str):
            tokens = list(tokens) if self.separator == "" else tokenize(tokens)
        elif not isinstance(tokens, Iterable):
            raise TypeError(f"Vocabulary.encode(): expected a str or a list of str tokens, got "
                            f"{type(tokens).__name__}")
        ids = []
        for token in tokens:
            if not isinstance(token, str):
                # An int would only be "unknown": ids are decoded, not encoded.
                raise TypeError(f"Vocabulary.encode(): tokens must be str, got {token!r}")
            i = self.index.get(token)
            if i is None:
                if self.unknown is None:
                    raise KeyError(f"Vocabulary.encode(): {token!r} is not in the vocabulary")
                i = self.index[self.unknown]
            ids.append(i)
        return np.array(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        """The tokens of ``ids`` (one sequence, 1-D) joined by the separator."""
        ids = np.asarray(ids)
        if ids.ndim > 1:
            raise ValueError(f"Vocabulary.decode(): expected one sequence of ids (1-D), got shape "
                             f"{ids.shape}; decode each row: [vocab.decode(row) for row in ids]")
        ids = ids.ravel()
        if ids.size and (not np.issubdtype(ids.dtype, np.integer)
                         or ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"Vocabulary.decode(): ids must be integers in [0, {len(self)}), "
                             f"got {ids[:10].tolist()}...")
        return self.separator.join(self.tokens[i] for i in ids)


# ---------------------------------------------------------------------------- language model
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


# ------------------------------------------------------------------------------------ sentiment
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


def _check_text(text, name: str, owner: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{owner}: {name} must be a str, got {type(text).__name__}")
    return text


#: The typographic apostrophe (as in "isn’t"), read as the ASCII one.
_APOSTROPHES = str.maketrans({"\u2019": "'"})


def _is_word_character(character: str) -> bool:
    # Letters, digits and combining marks (the accents and vowel signs of many scripts, which
    # are part of the word they sit on), in any script; and the apostrophe.
    return character == "'" or unicodedata.category(character)[0] in "LNM"


def tokenize(text: str) -> list[str]:
    """Lower-case words: runs of letters, digits and apostrophes; everything else separates.

    Any script: letters, digits and combining marks are Unicode's (``"Ünïcödé Straße"`` gives
    ``["ünïcödé", "straße"]``). The text is put in NFC form first, so an accent typed as a
    separate combining character gives the same word as the precomposed one, and ’ is read as
    an apostrophe. On ASCII text the words are the runs of ``[a-z0-9']`` after lower-casing.
    """
    text = _check_text(text, "text", "tokenize()")
    text = unicodedata.normalize("NFC", text.lower()).translate(_APOSTROPHES)
    return ["".join(run) for is_word, run in itertools.groupby(text, _is_word_character)
            if is_word]


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
