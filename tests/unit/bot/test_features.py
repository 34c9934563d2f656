"""The classifier's "nothing like the training data" check: keyboard mashing is out of scope,
typos and short known words are not."""

from __future__ import annotations

import numpy as np
import pytest

from bot.embedded.features import Featurizer, sentence
from knowledge_base.search.encoder import DIMENSIONS

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


def test_one_text_tfidf_is_the_vectorizers_row(featurizer: Featurizer) -> None:
    for text in ["Cancel my booking BE-12345 please!", "cancle cancle my bokking", "zzz", ""]:
        (wi, wv), (ci, cv) = featurizer.tfidf(*featurizer.ngrams(text))
        for (idx, values), vectorizer in (((wi, wv), featurizer.words), ((ci, cv), featurizer.chars)):
            row = vectorizer.transform([text]).toarray()[0]
            mine = np.zeros_like(row)
            mine[idx] = values
            assert np.allclose(mine, row)


def test_the_one_message_parse_path_gives_predict_probas_probabilities(featurizer: Featurizer) -> None:
    from sklearn.linear_model import LogisticRegression

    from bot.embedded.classifier import Head, IntentClassifier

    intents = ["cancel", "cancel", "refund", "refund", "greet", "greet", "inform", "payment", "human",
               "thanks"] * 2
    # the encoder's wide rows: eight unit-length parts of DIMENSIONS
    parts = np.random.default_rng(1).normal(size=(len(TRAINING), 8, DIMENSIONS)).astype(np.float32)
    wide = (parts / np.linalg.norm(parts, axis=2, keepdims=True)).reshape(len(TRAINING), -1)
    model = LogisticRegression(C=10.0, max_iter=2000).fit(featurizer.transform(TRAINING, wide), intents)
    unit = sentence(wide)
    assert np.allclose(np.linalg.norm(unit, axis=1), 1.0)
    clf = IntentClassifier([Head(featurizer, model)], list(model.classes_), threshold=-1.0, support=unit)
    for i, text in enumerate(["cancel the booking please", "my refnd?", "zxq vlorp", "hi"]):
        row = wide[i:i + 1]
        [fast] = clf.parse_embedded([text], [row])
        [slow] = clf.parse_embedded([text, text], [np.vstack([row, row])])[:1]  # predict_proba's path
        expected = model.predict_proba(featurizer.transform([text], row))[0]
        assert fast.ranking[0][0] == model.classes_[expected.argmax()]
        assert [c for _, c in fast.ranking] == pytest.approx([c for _, c in slow.ranking], abs=1e-4)
        assert fast.intent == slow.intent
        assert fast.similarity == slow.similarity == pytest.approx(1.0, abs=1e-4)  # a training example itself
