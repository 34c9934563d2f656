"""The embedded engine's ticket form: what a ticket needs (e-mail, booking reference, what went
wrong), asked one at a time like the Rasa project's ``ticket_form`` (same slots, same questions from
bot/rasa/domain.yml, same validation as its ``validate_ticket_form`` action).

The form lives in the conversation's bot state (``state["form"]``): ``{"slots": {...},
"requested": <slot>}``. Slots already known (entities from earlier turns) are not
asked again. A value that does not validate is asked again with a hint and counts as an unclear
turn, so the shared handoff policy hands off after two in a row; "cancel" leaves the form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot import responses

SLOTS = ("email", "booking_ref", "issue_summary")
BOOKING_REF = re.compile(
    r"^\s*(?:booking\s*(?:ref(?:erence)?|number)?\s*(?:is\s*)?[:#]?\s*)?BE[-\s]?(\d{5,10})\s*\.?\s*$",
    re.IGNORECASE)  # as bot.entities reads them
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
NONE = frozenset({"none", "no", "n/a", "na", "-", "nope", "i don't have one", "don't have one",
                  "no reference", "i dont have one", "dont have one"})
CANCEL = frozenset({"cancel", "stop", "never mind", "nevermind", "forget it", "quit"})
HINTS = {"email": "That doesn't look like an e-mail address (like name@example.co.za).",
         "booking_ref": "Booking references look like BE-12345.",
         "issue_summary": "Could you tell me a little more (a sentence or two)?"}
MAX_SUMMARY = 500


@dataclass
class Step:
    """What one form turn produced: the form state after it (None when it ended), what to say,
    whether the answer was unusable, and the collected ticket when the form completed."""

    form: dict[str, Any] | None
    say: list[str] = field(default_factory=list)
    unclear: bool = False
    ticket: dict[str, str] | None = None
    cancelled: bool = False


def start(known: dict[str, Any], channel: str = "webchat") -> Step:
    """Open the form, pre-filled with what the conversation already told us. ``channel``: where the
    conversation is, which says how the team's answer reaches the customer."""
    slots = {name: str(known[name]) for name in SLOTS if name != "issue_summary" and known.get(name)}
    return _next({"slots": slots, "requested": None, "channel": channel})


def step(form: dict[str, Any], text: str) -> Step:
    answer = " ".join(text.split())
    if answer.lower().rstrip(".!") in CANCEL:
        return Step(None, ["No problem, I won't log anything. What else can I help with?"], cancelled=True)
    requested = form.get("requested") or SLOTS[0]
    value = validate(requested, answer)
    if value is None:
        return Step(form, [HINTS[requested], responses.text(f"utter_ask_{requested}")], unclear=True)
    return _next({**form, "slots": {**form.get("slots", {}), requested: value}})


def validate(slot: str, answer: str) -> str | None:
    if slot == "email":
        match = EMAIL.search(answer)
        return match.group(0).lower() if match and len(match.group(0)) <= 254 else None
    if slot == "booking_ref":
        match = BOOKING_REF.match(answer)
        if match:
            return f"BE-{match.group(1)}"
        return "none" if answer.lower().rstrip(".!") in NONE else None
    words = re.findall(r"[^\W\d_]+", answer)
    return answer[:MAX_SUMMARY] if len(words) >= 2 else None


def _reply_by(form: dict[str, Any]) -> str:
    """How the answer reaches them: the hub adds the address to the contact (bot.service), so web chat
    continues by e-mail once they have left it; other channels answer where they wrote."""
    email = form["slots"]["email"]
    if form.get("channel", "webchat") == "webchat":
        return f"Someone will get back to you here, or by e-mail at {email} once you've left the chat."
    return f"Someone will get back to you here; we've noted {email} on your details too."


def _next(form: dict[str, Any]) -> Step:
    missing = [name for name in SLOTS if not form["slots"].get(name)]
    if not missing:
        return Step(None, [f"Thanks, I've logged this for the team. {_reply_by(form)}"],
                    ticket=dict(form["slots"]))
    form = {**form, "requested": missing[0]}
    return Step(form, [responses.text(f"utter_ask_{missing[0]}")])
