"""Text data for the recurrence chapter: corpora, vocabularies, windows, sampling and sentiment.

Everything here is offline and NumPy only, one concern per module:

- :mod:`~dlcourse.text.corpus`: :func:`load_text` returns a corpus that ships with Python itself,
  ``"zen"`` (*The Zen of Python*, about 850 characters) or ``"python-docs"`` (the Python
  reference's help topics from ``pydoc_data.topics``, about 465,000 characters); no file is
  bundled with dlcourse.
- :mod:`~dlcourse.text.vocabulary`: :class:`Vocabulary` maps characters or words to integer ids
  and back (:meth:`Vocabulary.characters`, :meth:`Vocabulary.words`); :func:`tokenize` splits
  words in any script.
- :mod:`~dlcourse.text.language_model`: :func:`next_token_windows` cuts an id sequence into
  (window, next id) training pairs for a language model, and :func:`sample_with_temperature` /
  :func:`generate` sample text from one.
- :mod:`~dlcourse.text.sentiment`: :func:`make_sentiment` generates short English review
  sentences with a positive (1) or negative (0) label, including negations ("not good") and
  contrasts ("bad but fun") whose label depends on word order; :func:`pad_sequences` turns id
  sequences into equal-length rows (padding as ``keras.utils.pad_sequences`` does).

Every random function takes a ``seed`` and returns the same result for the same arguments.
"""

from dlcourse.text.corpus import CORPORA, load_text, python_docs, zen_of_python
from dlcourse.text.language_model import generate, next_token_windows, sample_with_temperature
from dlcourse.text.sentiment import make_sentiment, pad_sequences
from dlcourse.text.vocabulary import Vocabulary, tokenize

__all__ = [
    "CORPORA",
    "Vocabulary",
    "generate",
    "load_text",
    "make_sentiment",
    "next_token_windows",
    "pad_sequences",
    "python_docs",
    "sample_with_temperature",
    "tokenize",
    "zen_of_python",
]
