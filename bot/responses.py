"""The bot's fixed texts, read from the Rasa domain (``bot/rasa/domain.yml``) so both engines say
the same thing; plus the few texts only the hub says (handoff notice, after hours)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

DOMAIN = Path(__file__).resolve().parent / "rasa" / "domain.yml"

HANDOFF = "I'm passing you to a person on our team; they can see everything you've told me."
HANDOFF_AFTER_HOURS = ("Our team is offline right now and back {back}. I've passed your message on and "
                       "someone will reply then.")
AFTER_HOURS = "Just so you know: our team is offline until {back}. I can still help with most questions."
NO_ANSWER = "I couldn't find an answer to that, so I'm passing you to our team."


@cache
def domain_responses() -> dict[str, str]:
    doc = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    return {name: variants[0]["text"] for name, variants in (doc.get("responses") or {}).items()
            if variants and "text" in variants[0]}


def text(name: str) -> str:
    return domain_responses()[name]


def topic(intent: str) -> str | None:
    """How a customer would name an intent (``utter_topic_<intent>``): the title of its "did you
    mean…" button, and the search query when that button is pressed. None: not offered."""
    return domain_responses().get(f"utter_topic_{intent}")
