import pytest

from bot.engine import OutMessage, Reply
from bot.handoff import HandoffPolicy
from bot.language import detect
from bot.sentiment import negativity

POLICY = HandoffPolicy()
OK = [OutMessage("here is an answer")]


def decide(text, reply, streak=0, lang=None):
    return POLICY.decide(text, reply, unclear_streak=streak, language=lang)


@pytest.mark.parametrize("text", ["I want to talk to a person", "can I speak to someone please",
                                  "HUMAN", "live agent", "put me through to a consultant"])
def test_explicit_request_even_when_the_classifier_misses(text):
    assert decide(text, Reply(messages=OK, intent="booking_status")) == "explicit_request"


def test_two_unclear_turns_in_a_row():
    unclear = Reply(messages=[OutMessage("say again?")], intent="nlu_fallback", unclear=True)
    assert decide("qwerty", unclear, streak=0) is None
    assert decide("asdf", unclear, streak=1) == "unclear_twice"


def test_human_only_intents_and_refund_limit():
    assert decide("the dj was late", Reply(messages=OK, intent="complaint")) == "human_only:complaint"
    assert (
        decide("refund my R 5 000 deposit", Reply(messages=OK, intent="refund_request"))
        == "refund_over_limit"
    )
    assert decide("refund my R500 deposit", Reply(messages=OK, intent="refund_request")) is None


def test_negative_sentiment():
    assert decide("This is RIDICULOUS, worst service ever!!", Reply(messages=OK, intent="booking_status")) \
        == "negative_sentiment"
    assert decide("not bad, where is my booking", Reply(messages=OK, intent="booking_status")) is None


def test_bot_errors_and_silence_hand_off():
    assert decide("hello", Reply(handoff="bot_error")) == "bot_error"
    assert decide("hello", Reply(messages=[], intent="greet")) == "no_reply"
    assert decide("hello", Reply(messages=OK, handoff="ticket_collected")) == "ticket_collected"


def test_other_languages_go_to_people():
    assert decide("ek wil asseblief my bespreking kanselleer", Reply(messages=OK, intent="cancel_booking"),
                  lang="af") == "language:af"


def test_a_refund_requested_earlier_counts_with_an_amount_named_later_and_the_other_way_round():
    inform = Reply(messages=OK, intent="inform")
    assert decide("refund my R5k deposit", Reply(messages=OK, intent="refund_request")) == "refund_over_limit"
    assert POLICY.decide("it was R5k", inform, unclear_streak=0) is None  # no refund asked for
    assert POLICY.decide("it was R5k", inform, unclear_streak=0, refund_requested=True) == "refund_over_limit"
    assert POLICY.decide("it was 1,500 rand", inform, unclear_streak=0, refund_requested=True) is None
    refund = Reply(messages=OK, intent="refund_request")
    assert POLICY.decide("I want my money back", refund, unclear_streak=0,
                         amount=5000.0) == "refund_over_limit"
    assert POLICY.decide("I want my money back", refund, unclear_streak=0, amount=500.0) is None


@pytest.mark.parametrize(("text", "lang"), [
    ("where is my booking please", "en"),
    ("ek wil asseblief my bespreking kanselleer", "af"),
    ("ngicela ukuthi ningisize ngifuna imali yami", "zu"),
    ("где мой заказ", "ru"),
    ("我的预订在哪里", "zh"),
    ("أين حجزي", "ar"),
    ("dankie", None),
    ("👍👍", None),
    ("", None),
])
def test_language_detection(text, lang):
    assert detect(text) == lang


def test_negativity_is_bounded():
    assert negativity("") == 0.0
    assert 0.0 <= negativity("terrible " * 5000) <= 1.0
