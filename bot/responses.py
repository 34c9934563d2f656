"""The bot's fixed texts, read from the Rasa domain (``bot/rasa/domain.yml``) so both engines say
the same thing; plus the few texts only the hub says (handoff notice, after hours), in English and in
the help center's other languages (Afrikaans, isiZulu)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

DOMAIN = Path(__file__).resolve().parent / "rasa" / "domain.yml"

HANDOFF = "I'm passing you to a person on our team; they can see everything you've told me."
HANDOFF_AFTER_HOURS = ("Our team is offline right now and back {back}. I've passed your message on and "
                       "someone will reply then.")
AFTER_HOURS = ("Just so you know: our team is offline right now and back {back}. I can still help with most "
               "questions.")
NO_ANSWER = "I couldn't find an answer to that, so I'm passing you to our team."

# A customer who writes in another language of the help center is handed to a person who speaks it;
# the notice they read first is in their language too. "days": "on <weekday>", Monday first.
NOTICES: dict[str, dict[str, Any]] = {
    "en": {"handoff": HANDOFF, "handoff_after_hours": HANDOFF_AFTER_HOURS, "after_hours": AFTER_HOURS,
           "today": "today at {time}", "tomorrow": "tomorrow at {time}", "on_day": "{day} at {time}",
           "soon": "soon", "days": ["on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday",
                                    "on Saturday", "on Sunday"]},
    "af": {"handoff": "Ek gee jou oor aan iemand in ons span; hulle kan alles sien wat jy vir my gesê het.",
           "handoff_after_hours": "Ons span is nou van diens af en terug {back}. Ek het jou boodskap "
                                  "aangestuur en iemand sal jou dan antwoord.",
           "after_hours": "Net sodat jy weet: ons span is nou van diens af en terug {back}. Ek kan "
                          "steeds met die meeste vrae help.",
           "today": "vandag om {time}", "tomorrow": "môre om {time}", "on_day": "{day} om {time}",
           "soon": "binnekort", "days": ["op Maandag", "op Dinsdag", "op Woensdag", "op Donderdag",
                                         "op Vrydag", "op Saterdag", "op Sondag"]},
    "zu": {"handoff": "Ngikudlulisela kumuntu wethimba lethu; uzobona konke ongitshele khona.",
           "handoff_after_hours": "Ithimba lethu alisebenzi njengamanje, lizobuya {back}. Umlayezo wakho "
                                  "ngiwudlulisile, uzophendulwa ngaleso sikhathi.",
           "after_hours": "Ukuze wazi: ithimba lethu alisebenzi njengamanje, lizobuya {back}. Ngisengakusiza "
                          "ngemibuzo eminingi.",
           "today": "namuhla ngo-{time}", "tomorrow": "kusasa ngo-{time}", "on_day": "{day} ngo-{time}",
           "soon": "maduze", "days": ["ngoMsombuluko", "ngoLwesibili", "ngoLwesithathu", "ngoLwesine",
                                      "ngoLwesihlanu", "ngoMgqibelo", "ngeSonto"]},
}


def notice(name: str, lang: str | None, **values: str) -> str:
    """One of the hub's own texts (``handoff``, ``handoff_after_hours``, ``after_hours``) in ``lang``,
    English when there is no translation."""
    texts = NOTICES.get(lang or "en", NOTICES["en"])
    return str(texts.get(name, NOTICES["en"][name])).format(**values)


def when_back(days_ahead: int | None, weekday: int, at: str, lang: str | None) -> str:
    """"today at 08:00", "tomorrow at 08:00", "on Monday at 08:00" (or "soon": ``days_ahead`` None)."""
    texts = NOTICES.get(lang or "en", NOTICES["en"])
    if days_ahead is None:
        return str(texts["soon"])
    if days_ahead <= 1:
        return str(texts["today" if days_ahead == 0 else "tomorrow"]).format(time=at)
    return str(texts["on_day"]).format(day=texts["days"][weekday], time=at)


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
