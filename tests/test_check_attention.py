"""dlcourse.check.scaled_dot_product_attention: a right function passes, and each known mistake
is named by its key (``CheckFailed.mistakes``) with its diagnosis."""

import numpy as np
import pytest

from dlcourse import check
from dlcourse.check.attention import SCALED_DOT_PRODUCT_ATTENTION_SPEC


def softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def make_attention(*, scale="sqrt", axis=-1, masking="before", scores="qk", loops=False):
    """A learner's attention, right by default; each argument makes one mistake."""
    def attention(query, key, value, mask):
        d_k = query.shape[-1]
        if scores == "qk":
            a = query @ np.swapaxes(key, -1, -2)
        elif scores == "kq":
            a = key @ np.swapaxes(query, -1, -2)
        else:
            a = query @ key
        a = a * {"sqrt": 1 / np.sqrt(d_k), "none": 1.0, "d_k": 1 / d_k,
                 "times": np.sqrt(d_k)}[scale]
        if mask is not None and masking == "before":
            a = np.where(mask, a, -np.inf)  # -inf: as right as -1e9 when a row keeps a key
        elif mask is not None and masking == "inverted":
            a = np.where(mask, -1e9, a)
        elif mask is not None and masking == "zero":
            a = a * mask
        p = softmax(a, axis)
        if mask is not None and masking == "after":
            p = p * mask
        return p @ value

    def looped(query, key, value, mask):  # the same formula one query at a time
        out = np.zeros((*query.shape[:-1], value.shape[-1]))
        for b in range(query.shape[0]):
            for t in range(query.shape[1]):
                a = key[b] @ query[b, t] / np.sqrt(query.shape[-1])
                if mask is not None:
                    a = np.where(mask[b, t], a, -1e9)
                out[b, t] = softmax(a) @ value[b]
        return out

    return looped if loops else attention


@pytest.mark.parametrize("fn", [make_attention(), make_attention(loops=True),
                                lambda *a: make_attention()(*a).astype(np.float32).tolist()],
                         ids=["matrices", "loops", "float32-list"])
def test_a_correct_attention_passes(fn):
    result = check.scaled_dot_product_attention(fn)
    assert "correct on 4 test cases" in str(result)


MISTAKES = [
    (make_attention(scale="none"), "attention_missing_scale", "not scaled: divide Q Kᵀ by √d_k"),
    (make_attention(scale="d_k"), "attention_missing_scale", "divided by d_k"),
    (make_attention(scale="times"), "attention_missing_scale", "multiplied by √d_k"),
    (make_attention(axis=-2), "attention_softmax_axis", "over the wrong axis"),
    (make_attention(masking="after"), "attention_mask_after_softmax", "after the softmax"),
    (make_attention(masking="zero"), "attention_mask_after_softmax", "set to 0"),
    (make_attention(masking="inverted"), "attention_mask_inverted", "wrong way round"),
    (make_attention(masking="ignored"), "attention_mask_ignored", "the mask is ignored"),
    (make_attention(scores="kq"), "attention_key_transpose", "the scores are transposed"),
    (make_attention(scores="q@k"), "attention_key_transpose", "K is not transposed"),
]


@pytest.mark.parametrize(("wrong", "key", "phrase"), MISTAKES,
                         ids=[f"{i}-{m[1]}" for i, m in enumerate(MISTAKES)])
def test_each_mistake_is_named(wrong, key, phrase):
    with pytest.raises(check.CheckFailed) as info:
        check.scaled_dot_product_attention(wrong)
    message = str(info.value)
    assert list(info.value.mistakes) == [key], message
    assert "diagnosis: " in message and phrase in message, message


def test_every_catalogued_mistake_is_tested_and_documented():
    catalogued = {m.key for m in SCALED_DOT_PRODUCT_ATTENTION_SPEC.catalogue()}
    assert catalogued == {key for _, key, _ in MISTAKES}
    doc = check.scaled_dot_product_attention.__doc__
    for key in catalogued:
        assert f"- ``{key}``" in doc


def test_a_wrong_shape_is_reported_with_the_layout():
    with pytest.raises(check.CheckFailed, match=r"expected shape \(2, 4, 3\)") as info:
        check.scaled_dot_product_attention(lambda q, k, v, m: v[..., :1])
    assert "True where query t may attend to key s" in str(info.value)
