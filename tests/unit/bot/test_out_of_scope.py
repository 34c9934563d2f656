"""Out of scope = unlike every in-scope training example (nearest-neighbour similarity), not merely
a low classifier confidence: a softmax over a few intents is confident about anything."""

from __future__ import annotations

import numpy as np
import pytest

from bot.embedded.classifier import NEW_WORDS_KNOWN, IntentClassifier
from bot.nlu_data import Example

INTENTS = {
    "refund": [
        "i want my money back",
        "refund my deposit please",
        "how do i get a refund",
        "can i have a refund",
        "refund the booking",
        "give me my money back",
        "when will my refund arrive",
        "is my refund processed",
    ],
    "booking_status": [
        "where is my booking",
        "has my booking been confirmed",
        "status of my booking",
        "is my booking confirmed",
        "booking status please",
        "check my booking for saturday",
        "did the provider accept my booking",
        "what is happening with my booking",
    ],
    "provider_payout": [
        "when do providers get paid",
        "my payout is late",
        "where is my payout",
        "how are payouts calculated",
        "payout to my bank account",
        "i did the event but was not paid",
        "when will i receive my earnings",
        "change my payout bank details",
    ],
    "greet": [
        "hi",
        "hello",
        "hey there",
        "good morning",
        "hi berry",
        "hello, anyone there?",
        "hey",
        "good evening",
    ],
}


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier.train([Example(t, intent) for intent, texts in INTENTS.items() for t in texts])


@pytest.mark.parametrize(
    "text",
    [
        "what is the capital of france",
        "recommend a good lasagne recipe",
        "who won the football world cup in 1998",
        "explain quantum entanglement to me",
    ],
)
def test_messages_unlike_any_intent_are_out_of_scope(classifier: IntentClassifier, text: str) -> None:
    parse = classifier.parse(text)
    assert parse.out_of_scope and parse.similarity < classifier.threshold


@pytest.mark.parametrize(("text", "intent"), [("i would like a refund for my cancelled party", "refund"),
                                              ("has the dj confirmed my booking yet", "booking_status"),
                                              ("when is my payout coming", "provider_payout"),
                                              ("hello!", "greet")])
def test_new_phrasings_of_an_intent_are_in_scope(
    classifier: IntentClassifier, text: str, intent: str
) -> None:
    parse = classifier.parse(text)
    assert parse.intent == intent and parse.similarity >= classifier.threshold


def test_parsing_no_messages_is_no_parses(classifier: IntentClassifier) -> None:
    assert classifier.parse_many([]) == []  # was a ValueError from the similarity's empty concatenation


def test_the_threshold_is_a_similarity_calibrated_on_held_out_examples(classifier: IntentClassifier) -> None:
    # 5 folds of held-out in-scope examples: about 5 % of the right ones fall below it
    assert 0.2 < classifier.threshold < 0.9
    assert classifier.support.shape == (32, classifier.featurizer.encoder.dim)  # 8 per intent: all kept


def test_large_intents_are_condensed_to_centroids_within_the_budget() -> None:
    from bot.embedded.classifier import condense

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    intents = ["big"] * 200 + ["mid"] * 90 + ["small"] * 10
    support = condense(vectors, intents, budget=60, most=32)
    assert support.shape == (20 + 20 + 10, 16)  # a share of 60 // 3 = 20 each; "small" keeps its 10
    assert np.allclose(np.linalg.norm(support, axis=1), 1.0, atol=1e-5)
    assert np.allclose(support[-10:], vectors[-10:])  # kept as they are
    # each centroid stands for its own intent's examples: nearer to them than to the other intents'
    big = support[:20] @ vectors[:200].T
    assert (big.max(axis=1) > (support[:20] @ vectors[200:].T).max(axis=1)).mean() > 0.8
    assert condense(np.zeros((0, 16), dtype=np.float32), []).shape == (0, 16)



def test_new_words_close_to_a_training_example_are_understood_but_mashing_is_not() -> None:
    # "certainly", "yup", "totally": no word and few character n-grams in common with the training
    # data (the keyboard-mashing check alone rejects them), but sentence vectors next to "sure"'s
    affirm = ["yes", "yes please", "yeah sure", "ok", "okay", "sure", "that's right", "correct", "absolutely",
              "yep"]
    data = {**INTENTS, "affirm": affirm}
    classifier = IntentClassifier.train([Example(t, intent) for intent, texts in data.items() for t in texts])
    for word in ("certainly", "yup", "totally"):
        parse = classifier.parse(word)
        assert classifier.featurizer.unseen(word)
        assert parse.intent == "affirm" and parse.similarity >= NEW_WORDS_KNOWN, (word, parse)
        assert not parse.unseen
    for mash in ("zxq vlorp mmmph", "asdfgh", "qwerty uiop", "jjjjj kkkk"):
        parse = classifier.parse(mash)
        assert parse.out_of_scope and parse.unseen and parse.similarity < NEW_WORDS_KNOWN, (mash, parse)
