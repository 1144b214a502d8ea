"""dlcourse.text: the corpus, vocabularies, language-model windows, sampling and sentiment data."""

import codecs
import contextlib
import io
import re

import numpy as np
import pytest

from dlcourse import text
from dlcourse.text import (
    Vocabulary,
    generate,
    load_text,
    make_sentiment,
    next_token_windows,
    pad_sequences,
    sample_with_temperature,
    sentiment,
    tokenize,
)


# ------------------------------------------------------------------------------------ corpus
def test_zen_matches_the_this_module_and_prints_nothing():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        zen = text.zen_of_python()
    assert out.getvalue() == ""
    with contextlib.redirect_stdout(io.StringIO()):
        import this  # noqa: F401  (prints the poem, hence the redirect)
    assert zen == codecs.decode(this.s, "rot13")
    assert zen.startswith("The Zen of Python, by Tim Peters\n\nBeautiful is better than ugly.")
    assert zen.count("\n") == 20  # title, blank line, 19 aphorisms


def test_load_text_by_name():
    assert load_text("zen") == text.zen_of_python() == load_text()
    assert set(text.CORPORA) == {"zen", "python-docs"}
    with pytest.raises(ValueError, match="unknown corpus 'shakespeare'"):
        load_text("shakespeare")


def test_python_docs_is_the_help_topics_of_the_standard_library():
    from pydoc_data.topics import topics

    docs = load_text("python-docs")
    assert docs == text.python_docs()
    # Every topic, in the order of its key, separated by one blank line.
    assert docs == "\n\n".join(topics[key].strip("\n") for key in sorted(topics))
    assert docs.startswith(topics[min(topics)].strip("\n"))
    # Large enough that a small character model cannot memorise it, and mostly plain prose.
    assert len(docs) > 300_000
    assert 80 <= len(set(docs)) <= 150
    assert docs.count(" the ") > 2_000


def test_python_docs_says_what_is_missing(monkeypatch):
    import importlib

    real = importlib.import_module

    def without_pydoc_data(name, *args):
        if name.startswith("pydoc_data"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_pydoc_data)
    with pytest.raises(FileNotFoundError, match=r"python_docs\(\): this Python has no "
                                                "'pydoc_data.topics' module"):
        load_text("python-docs")


# ------------------------------------------------------------------------------------ vocabulary
def test_character_vocabulary_round_trip():
    zen = load_text()
    vocab = Vocabulary.characters(zen)
    assert vocab.tokens == sorted(set(zen))
    ids = vocab.encode(zen)
    assert ids.dtype == np.int64 and ids.shape == (len(zen),)
    assert vocab.decode(ids) == zen
    assert len(vocab) == len(set(zen))
    assert "\n" in vocab and "@" not in vocab
    with pytest.raises(KeyError, match="'@' is not in the vocabulary"):
        vocab.encode("a@")


def test_word_vocabulary_specials_order_and_unknown():
    vocab = Vocabulary.words(["b a a", "c b a"])
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b", "c"]  # by count, then alphabetically
    assert vocab.encode("A b, zebra").tolist() == [2, 3, 1]
    assert vocab.decode([2, 4]) == "a c"
    assert Vocabulary.words(["a a b"], min_count=2).tokens == ["<pad>", "<unk>", "a"]
    with pytest.raises(TypeError, match="one str"):
        Vocabulary.words("a b")


def test_vocabulary_rejects_bad_input():
    with pytest.raises(ValueError, match="appears twice"):
        Vocabulary(["a", "b", "a"])
    with pytest.raises(ValueError, match="unknown token"):
        Vocabulary(["a"], unknown="<unk>")
    with pytest.raises(ValueError, match="at least one token"):
        Vocabulary([])
    with pytest.raises(ValueError, match="empty"):
        Vocabulary.characters("")
    with pytest.raises(ValueError, match=r"integers in \[0, 2\)"):
        Vocabulary(["a", "b"]).decode([0, 2])
    assert "2 tokens" in repr(Vocabulary(["a", "b"]))


# ------------------------------------------------------------------------------------ windows
def test_next_token_windows_pairs_each_window_with_its_next_id():
    ids = np.arange(10) * 3
    x, y = next_token_windows(ids, length=4, step=2)
    assert x.shape == (3, 4) and y.shape == (3,)  # starts 0, 2, 4; start 6 has no next id
    for k in range(3):
        np.testing.assert_array_equal(x[k], ids[2 * k:2 * k + 4])
        assert y[k] == ids[2 * k + 4]
    x1, y1 = next_token_windows(ids, length=9)
    assert x1.shape == (1, 9) and y1.tolist() == [27]


def test_next_token_windows_sequence_targets_are_shifted_inputs():
    ids = np.array([5, 1, 4, 1, 5, 9, 2, 6])
    x, y = next_token_windows(ids, length=3, sequence_targets=True)
    assert x.shape == y.shape == (5, 3)
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
    np.testing.assert_array_equal(y[:, -1], next_token_windows(ids, 3)[1])


def test_next_token_windows_rejects_bad_arguments():
    with pytest.raises(ValueError, match="fewer than length"):
        next_token_windows(np.arange(3), length=3)
    with pytest.raises(ValueError, match="1-D int array"):
        next_token_windows(np.zeros(5), length=2)
    with pytest.raises(ValueError, match="step must be an integer >= 1"):
        next_token_windows(np.arange(5), length=2, step=0)


# ------------------------------------------------------------------------------------ sampling
def test_sampling_follows_the_tempered_softmax():
    logits = np.log(np.array([0.5, 0.3, 0.2]))
    rng = np.random.default_rng(0)
    n = 20000
    for temperature in (1.0, 0.5, 2.0):
        counts = np.bincount([sample_with_temperature(logits, temperature, rng)
                              for _ in range(n)], minlength=3)
        p = np.exp(logits / temperature)
        p /= p.sum()
        # 4 standard deviations of a binomial count: fails only by a bug.
        assert np.all(np.abs(counts / n - p) < 4 * np.sqrt(p * (1 - p) / n))


def test_sampling_at_zero_temperature_is_argmax_and_bad_temperature_fails():
    rng = np.random.default_rng(0)
    assert sample_with_temperature([0.1, 3.0, -1.0], 0.0, rng) == 1
    assert sample_with_temperature([1000.0, 0.0], 0.01, rng) == 0  # no overflow
    with pytest.raises(ValueError, match="temperature"):
        sample_with_temperature([0.0, 1.0], -1.0, rng)


def test_generate_feeds_back_its_samples_with_the_given_context():
    vocab = Vocabulary.characters("abc")
    seen = []

    def next_logits(ids):
        seen.append(ids.copy())
        logits = np.full(3, -1e9)
        logits[(ids[-1] + 1) % 3] = 0.0  # a -> b -> c -> a
        return logits

    out = generate(next_logits, vocab, "ab", n_tokens=4, temperature=1.0, context=2, seed=1)
    assert out == "abcabc"
    assert [s.tolist() for s in seen] == [[0, 1], [1, 2], [2, 0], [0, 1]]
    assert generate(next_logits, vocab, "c", 2, temperature=0.0) == "cab"
    with pytest.raises(ValueError, match="prompt is empty"):
        generate(next_logits, vocab, "", 2)


# ------------------------------------------------------------------------------------ sentiment
def test_sentiment_is_balanced_seeded_and_follows_its_rules():
    sentences, labels = make_sentiment(400, seed=3)
    assert len(sentences) == 400 and labels.shape == (400,) and labels.dtype == np.int64
    assert labels.sum() == 200
    again, labels_again = make_sentiment(400, seed=3)
    assert again == sentences and np.array_equal(labels, labels_again)
    assert make_sentiment(400, seed=4)[0] != sentences
    positive, negative = set(sentiment._POSITIVE), set(sentiment._NEGATIVE)
    for sentence, label in zip(sentences, labels, strict=True):
        assert sentence == " ".join(tokenize(sentence))
        last = sentence.split(" but ")[-1].split()
        # The label is the last clause's adjective, flipped by a negation in that clause.
        adjective_positive = last[-1] in positive
        assert last[-1] in positive | negative
        negated = bool({"not", "never"} & set(last))
        assert label == int(adjective_positive != negated), sentence


def test_sentiment_mixes_contrasts_and_negations():
    sentences, _ = make_sentiment(1000, seed=0)
    contrast = np.mean([" but " in s for s in sentences])
    negated = np.mean([bool({"not", "never"} & set(s.split())) for s in sentences])
    assert 0.3 < contrast < 0.5
    assert 0.3 < negated < 0.6
    assert all(" but " not in s for s in make_sentiment(200, p_contrast=0.0)[0])
    with pytest.raises(ValueError, match="p_negation"):
        make_sentiment(10, p_negation=1.5)
    with pytest.raises(ValueError, match="n_samples"):
        make_sentiment(0)


def test_tokenize():
    assert tokenize("It's GREAT, isn't it?  2 stars") == ["it's", "great", "isn't", "it", "2",
                                                         "stars"]
    assert tokenize("") == []


# ------------------------------------------------------------------------------------ padding
def test_pad_sequences_pre_and_post():
    seqs = [[1, 2, 3], [4], []]
    np.testing.assert_array_equal(pad_sequences(seqs), [[1, 2, 3], [0, 0, 4], [0, 0, 0]])
    np.testing.assert_array_equal(pad_sequences(seqs, padding="post", value=9),
                                  [[1, 2, 3], [4, 9, 9], [9, 9, 9]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2), [[2, 3], [0, 4], [0, 0]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2, truncating="post"),
                                  [[1, 2], [0, 4], [0, 0]])
    assert pad_sequences(seqs).dtype == np.int64
    assert pad_sequences(seqs, maxlen=0).shape == (3, 0)
    with pytest.raises(ValueError, match="padding must be"):
        pad_sequences(seqs, padding="middle")


def test_pad_sequences_matches_keras(keras):
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 50, size=n).tolist() for n in (0, 3, 7, 12)]
    for kwargs in ({}, {"maxlen": 5}, {"maxlen": 5, "padding": "post"},
                   {"maxlen": 5, "truncating": "post"}, {"maxlen": 15, "value": 2}):
        np.testing.assert_array_equal(pad_sequences(seqs, **kwargs),
                                      keras.utils.pad_sequences(seqs, **kwargs), str(kwargs))


# ------------------------------------------------------------------------------------ bad input
def test_tokenize_reads_any_script():
    assert tokenize("Ünïcödé Straße") == ["ünïcödé", "straße"]
    assert tokenize("Σίσυφος, 東京 and हिन्दी!") == ["σίσυφος", "東京", "and", "हिन्दी"]
    # An accent typed as a combining character gives the same word as the precomposed one.
    assert tokenize("cafe\u0301 CAFÉ") == ["café", "café"]
    assert tokenize("isn’t it") == ["isn't", "it"]
    assert tokenize("snake_case x²") == ["snake", "case", "x²"]


def test_tokenize_is_unchanged_on_ascii():
    # The words of ASCII text are the runs of [a-z0-9'] after lower-casing, as always.
    rng = np.random.default_rng(0)
    every_ascii = "".join(map(chr, range(128)))
    texts = [every_ascii, load_text(), *make_sentiment(50, seed=0)[0],
             *("".join(rng.choice(list(every_ascii), size=60)) for _ in range(200))]
    for t in texts:
        assert tokenize(t) == re.findall(r"[a-z0-9']+", t.lower()), t


def test_generate_refuses_logits_that_do_not_match_the_vocabulary():
    vocab = Vocabulary.characters("abc")

    def every_step(ids):           # (time, vocabulary): a model with return_sequences=True
        return np.zeros((len(ids), 3))

    with pytest.raises(ValueError, match=r"generate\(\): the logits from next_logits must hold "
                                         r"one value per token .*got shape \(2, 3\)"):
        generate(every_step, vocab, "ab", 5)
    with pytest.raises(ValueError, match=r"generate\(\): next_logits returned 4 logits, expected "
                                         r"one per token of the vocabulary: shape \(3,\)"):
        generate(lambda ids: np.zeros(4), vocab, "ab", 5)
    # A batch of one, (1, vocabulary), is what model.predict(ids[None]) returns: accepted.
    assert generate(lambda ids: np.eye(3)[None, (ids[-1] + 1) % 3] * 50, vocab, "a", 3,
                    temperature=0.0) == "abca"


def test_sampling_returns_an_id_of_the_vocabulary():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"logits must hold one value per token .*\(4, 3\)"):
        sample_with_temperature(np.zeros((4, 3)), 1.0, rng)
    for logits in ([0.2, 5.0, -1.0], [[0.2, 5.0, -1.0]]):
        ids = {sample_with_temperature(logits, 1.0, rng) for _ in range(200)}
        assert ids <= {0, 1, 2} and 1 in ids
    # -inf marks an id that is never drawn.
    assert {sample_with_temperature([-np.inf, 0.0, -np.inf], 5.0, rng) for _ in range(50)} == {1}


# Every public function, called with valid arguments except one: the error is raised, of the
# right type, and its message names the function and the argument.
def counting(ids):
    logits = np.full(3, -1e9)
    logits[(ids[-1] + 1) % 3] = 0.0
    return logits


ABC = Vocabulary.characters("abc")
GOOD = {  # name: (function, valid arguments, what the messages start with)
    "load_text": (load_text, {"name": "zen"}, "load_text(): "),
    "Vocabulary": (Vocabulary, {"tokens": ["a", "b"]}, "Vocabulary: "),
    "Vocabulary.characters": (Vocabulary.characters, {"text": "abc"},
                              "Vocabulary.characters(): "),
    "Vocabulary.words": (Vocabulary.words, {"texts": ["a b"]}, "Vocabulary.words(): "),
    "Vocabulary.encode": (ABC.encode, {"tokens": "ab"}, "Vocabulary.encode(): "),
    "Vocabulary.decode": (ABC.decode, {"ids": [0, 1]}, "Vocabulary.decode(): "),
    "next_token_windows": (next_token_windows, {"ids": np.arange(6), "length": 2},
                           "next_token_windows(): "),
    "sample_with_temperature": (sample_with_temperature,
                                {"logits": [0.0, 1.0], "temperature": 1.0,
                                 "rng": np.random.default_rng(0)},
                                "sample_with_temperature(): "),
    "generate": (generate, {"next_logits": counting, "vocab": ABC, "prompt": "ab",
                            "n_tokens": 2}, "generate(): "),
    "make_sentiment": (make_sentiment, {"n_samples": 4}, "make_sentiment(): "),
    "tokenize": (tokenize, {"text": "a b"}, "tokenize(): "),
    "pad_sequences": (pad_sequences, {"sequences": [[1, 2], [3]]}, "pad_sequences(): "),
}

BAD = [  # function, argument, its bad value, expected error, what the message names
    ("load_text", "name", "shakespeare", ValueError, "corpus"),
    ("load_text", "name", 5, ValueError, "corpus"),
    ("Vocabulary", "tokens", "abc", TypeError, "tokens"),
    ("Vocabulary", "tokens", 5, TypeError, "tokens"),
    ("Vocabulary", "tokens", [1, 2], TypeError, "tokens"),
    ("Vocabulary", "unknown", 3, ValueError, "unknown"),
    ("Vocabulary", "separator", None, TypeError, "separator"),
    ("Vocabulary.characters", "text", ["ab"], TypeError, "text"),
    ("Vocabulary.characters", "text", None, TypeError, "text"),
    ("Vocabulary.words", "texts", "a b", TypeError, "one str"),
    ("Vocabulary.words", "texts", 5, TypeError, "texts"),
    ("Vocabulary.words", "texts", ["a", 1], TypeError, "texts[1]"),
    ("Vocabulary.words", "min_count", 0, ValueError, "min_count"),
    ("Vocabulary.words", "min_count", 1.5, TypeError, "min_count"),
    ("Vocabulary.words", "pad", None, TypeError, "pad"),
    ("Vocabulary.words", "unknown", 5, TypeError, "unknown"),
    ("Vocabulary.encode", "tokens", [0, 1], TypeError, "tokens"),
    ("Vocabulary.encode", "tokens", 5, TypeError, "str"),
    ("Vocabulary.decode", "ids", [[0, 1], [1, 0]], ValueError, "one sequence"),
    ("Vocabulary.decode", "ids", [0.5], ValueError, "ids"),
    ("Vocabulary.decode", "ids", [3], ValueError, "ids"),
    ("Vocabulary.decode", "ids", [-1], ValueError, "ids"),
    ("next_token_windows", "ids", np.zeros((2, 3), int), ValueError, "1-D int array"),
    ("next_token_windows", "length", 0, ValueError, "length"),
    ("next_token_windows", "length", 2.0, TypeError, "length"),
    ("next_token_windows", "step", -1, ValueError, "step"),
    ("next_token_windows", "sequence_targets", "yes", TypeError, "sequence_targets"),
    *[("sample_with_temperature", "logits", v, e, "logits")
      for v, e in [(np.zeros((2, 2)), ValueError), ([], ValueError), ([np.nan, 1.0], ValueError),
                   ([np.inf, 0.0], ValueError), ([-np.inf, -np.inf], ValueError),
                   ([1j, 0], TypeError), (["a", "b"], TypeError), ([True, False], TypeError)]],
    *[(f, "temperature", v, e, "temperature") for f in ("sample_with_temperature", "generate")
      for v, e in [(-1.0, ValueError), (np.nan, ValueError), (np.inf, ValueError),
                   ("1", TypeError), (None, TypeError)]],
    ("sample_with_temperature", "rng", 0, TypeError, "rng"),
    ("sample_with_temperature", "rng", None, TypeError, "rng"),
    ("generate", "next_logits", 5, TypeError, "next_logits"),
    ("generate", "next_logits", lambda ids: np.zeros(4), ValueError, "next_logits"),
    ("generate", "next_logits", lambda ids: np.full(3, np.nan), ValueError, "next_logits"),
    ("generate", "vocab", "abc", TypeError, "vocab"),
    ("generate", "prompt", 5, TypeError, "prompt"),
    ("generate", "prompt", ["a"], TypeError, "prompt"),
    ("generate", "n_tokens", -1, ValueError, "n_tokens"),
    ("generate", "n_tokens", 2.0, TypeError, "n_tokens"),
    ("generate", "context", 0, ValueError, "context"),
    ("generate", "context", 1.5, TypeError, "context"),
    ("generate", "seed", -1, ValueError, "seed"),
    ("generate", "seed", 1.5, TypeError, "seed"),
    ("make_sentiment", "n_samples", 0, ValueError, "n_samples"),
    ("make_sentiment", "n_samples", 10.0, TypeError, "n_samples"),
    *[("make_sentiment", p, v, e, p) for p in ("p_negation", "p_contrast")
      for v, e in [(1.5, ValueError), (-0.1, ValueError), (np.nan, ValueError),
                   ("0.3", TypeError)]],
    ("make_sentiment", "seed", -1, ValueError, "seed"),
    ("make_sentiment", "seed", "x", TypeError, "seed"),
    ("tokenize", "text", None, TypeError, "text"),
    ("tokenize", "text", ["a b"], TypeError, "text"),
    ("tokenize", "text", b"a b", TypeError, "text"),
    ("pad_sequences", "sequences", [1, 2, 3], ValueError, "sequences[0]"),
    ("pad_sequences", "sequences", [[1, 2], [1.5]], TypeError, "sequences[1]"),
    ("pad_sequences", "sequences", [["a"]], TypeError, "sequences[0]"),
    ("pad_sequences", "sequences", [[[1, 2]]], ValueError, "sequences[0]"),
    ("pad_sequences", "sequences", [[[1, 2], [3]]], ValueError, "sequences[0]"),
    ("pad_sequences", "sequences", "abc", TypeError, "sequences"),
    ("pad_sequences", "sequences", 5, TypeError, "sequences"),
    ("pad_sequences", "maxlen", -1, ValueError, "maxlen"),
    ("pad_sequences", "maxlen", 2.0, TypeError, "maxlen"),
    ("pad_sequences", "padding", "middle", ValueError, "padding"),
    ("pad_sequences", "truncating", "both", ValueError, "truncating"),
    ("pad_sequences", "value", 0.5, TypeError, "value"),
]


@pytest.mark.parametrize(("func", "arg", "value", "error", "named"), BAD,
                         ids=[f"{f}-{a}-{i}" for i, (f, a, *_) in enumerate(BAD)])
def test_bad_arguments_are_refused_by_name(func, arg, value, error, named):
    function, kwargs, owner = GOOD[func]
    with pytest.raises(error) as err:
        function(**{**kwargs, arg: value})
    message = str(err.value).strip("'\"")  # a KeyError's message is quoted
    assert message.startswith(owner), message
    assert named in message, message


def test_every_public_function_has_bad_arguments_tried():
    functions = {name for name in text.__all__ if callable(getattr(text, name))
                 and name not in ("zen_of_python", "python_docs")}  # they take no arguments
    methods = {f"Vocabulary.{name}" for name, value in vars(Vocabulary).items()
               if not name.startswith("_") and callable(getattr(Vocabulary, name))}
    assert functions | methods == set(GOOD) == {func for func, *_ in BAD}
    for function, kwargs, _ in GOOD.values():   # and the valid arguments of the table are valid
        function(**kwargs)
