"""Vocabularies (tokens to integer ids and back) and a tokenizer for words in any script."""

from __future__ import annotations

import itertools
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from dlcourse.validation import check_int

__all__ = ["Vocabulary", "tokenize"]


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

