"""dlcourse.text: the corpus, vocabularies, language-model windows, sampling and sentiment data."""

import codecs
import contextlib
import io

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
    assert set(text.CORPORA) == {"zen"}
    with pytest.raises(ValueError, match="unknown corpus 'shakespeare'"):
        load_text("shakespeare")


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
    with pytest.raises(ValueError, match="step must be a positive int"):
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
    positive, negative = set(text._POSITIVE), set(text._NEGATIVE)
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


def test_pad_sequences_matches_keras():
    keras = pytest.importorskip("tensorflow").keras
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 50, size=n).tolist() for n in (0, 3, 7, 12)]
    for kwargs in ({}, {"maxlen": 5}, {"maxlen": 5, "padding": "post"},
                   {"maxlen": 5, "truncating": "post"}, {"maxlen": 15, "value": 2}):
        np.testing.assert_array_equal(pad_sequences(seqs, **kwargs),
                                      keras.utils.pad_sequences(seqs, **kwargs), str(kwargs))
