"""The priority classifier: urgency words, sentiment (with negation), VIP and provider contacts."""

from __future__ import annotations

import pytest

from hub.models import Contact, ContactType, Priority
from hub.ticketing.priority import classify, negativity, step_up


@pytest.mark.parametrize(
    ("text", "priority", "why"),
    [
        ("URGENT: the DJ did not show", Priority.urgent, "urgency words"),
        ("my wedding is tomorrow and the caterer cancelled", Priority.urgent, "urgency words"),
        ("This is unacceptable, the worst service, I want a refund", Priority.high, "negative sentiment"),
        ("Can I change the date of my booking?", None, None),
        ("how do I cancel my booking", None, None),  # a routine request, not an emergency
        ("I need to cancel the booking for March", None, None),
        ("the photographer cancelled our wedding shoot", Priority.urgent, "urgency words"),
        ("they cancelled my booking without telling me", Priority.urgent, "urgency words"),
        ("my booking was cancelled and nobody called", Priority.urgent, "urgency words"),
        ("not bad at all, thanks", None, None),
    ],
)
def test_text_signals(text: str, priority: Priority | None, why: str | None) -> None:
    verdict = classify(text, None)
    if priority is None:
        assert verdict is None
    else:
        assert verdict is not None and verdict.priority == priority and why in verdict.reason


def test_contacts_raise_to_high_with_the_reason() -> None:
    vip = classify("hello", Contact(name="Zanele", vip=True))
    assert vip is not None and vip.priority == Priority.high and "VIP" in vip.reason
    provider = classify("invoice question", Contact(name="Lens & Light", type=ContactType.provider))
    assert provider is not None and provider.priority == Priority.high and "provider" in provider.reason
    both = classify("emergency!", Contact(name="x", vip=True))
    assert both is not None and both.priority == Priority.urgent and "VIP" in both.reason


def test_negation_and_shouting() -> None:
    assert negativity("not terrible") == 0
    assert negativity("THIS IS RIDICULOUS AND I AM UPSET") >= 2
    assert step_up(Priority.urgent) == Priority.urgent and step_up(Priority.low) == Priority.normal
