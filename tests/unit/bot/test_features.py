"""The classifier's "nothing like the training data" check: keyboard mashing is out of scope,
typos and short known words are not."""

from __future__ import annotations

import pytest

from bot.embedded.features import Featurizer

TRAINING = ["I want to cancel my booking", "cancel the booking please", "where is my refund",
            "when will my refund arrive", "hello there", "hi", "my booking reference is BE-12345",
            "the payment failed on my card", "talk to a person please", "thanks a lot"] * 2


@pytest.fixture(scope="module")
def featurizer() -> Featurizer:
    feats = Featurizer(encoder=None)  # type: ignore[arg-type]  # n-grams only; no sentence encoder needed
    feats.fit(TRAINING)
    return feats


@pytest.mark.parametrize("text", ["zxq vlorp mmmph krrt", "xqzv blorp fnargle", "lorem ipsum dolor sit"])
def test_keyboard_mashing_is_unseen(featurizer: Featurizer, text: str) -> None:
    assert featurizer.unseen(text)


@pytest.mark.parametrize("text", ["cancle my bokking", "wher is my refnd", "hi", "BE-12345", "🙃", "",
                                  "refundd pls"])
def test_typos_known_words_and_empty_text_are_not(featurizer: Featurizer, text: str) -> None:
    assert not featurizer.unseen(text)
