"""Priority: set by hand, by rules, or by the automatic classifier below, always with the reason.

The classifier is deliberately transparent (a reason an agent can read beats a score): urgency words
(English and a few Afrikaans/Zulu ones our customers use), negative sentiment from a small lexicon
with negation handling, and who the contact is (VIP, or a provider whose event is at stake). It only
ever *raises* the priority, and never overrides one an agent or a rule set by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.models import Contact, ContactType, Priority

ORDER = [Priority.low, Priority.normal, Priority.high, Priority.urgent]

URGENT = re.compile(
    r"\b(urgent(ly)?|asap|emergency|immediately|right now|as soon as possible|dringend|ngokushesha|"
    r"(wedding|event|function|party) (is )?(today|tonight|tomorrow)|"
    # someone else cancelled what the customer counts on (not a customer asking to cancel: "how do I
    # cancel my booking" is an ordinary request)
    r"cancell?ed (my|our|the) (event|booking|wedding)|"
    r"(event|booking|wedding) (was|has been|got|is) cancell?ed|"
    r"no[- ]show|didn'?t (show|arrive|turn up)|stranded|fraud|scam|chargeback|legal action|lawyer)\b",
    re.I,
)
NEGATIVE = {
    "angry",
    "furious",
    "terrible",
    "awful",
    "horrible",
    "worst",
    "disgusting",
    "unacceptable",
    "ridiculous",
    "useless",
    "disappointed",
    "disappointing",
    "pathetic",
    "rude",
    "scam",
    "refund",
    "complaint",
    "ruined",
    "hate",
    "never",
    "broken",
    "waste",
    "shocking",
    "appalling",
    "incompetent",
    "frustrated",
    "upset",
}
NEGATIONS = {"not", "no", "never", "isn't", "wasn't", "don't", "didn't"}
WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class Verdict:
    priority: Priority
    reason: str


def raise_to(current: Priority, wanted: Priority) -> Priority:
    return wanted if ORDER.index(wanted) > ORDER.index(current) else current


def step_up(current: Priority) -> Priority:
    return ORDER[min(ORDER.index(current) + 1, len(ORDER) - 1)]


def negativity(text: str) -> int:
    """Negative words not directly negated ("not bad" is not negative); shouting counts once."""
    words = WORD.findall(text.lower())
    hits = sum(1 for i, w in enumerate(words) if w in NEGATIVE and not (i and words[i - 1] in NEGATIONS))
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        hits += 1
    return hits + (1 if text.count("!") >= 3 else 0)


def classify(text: str, contact: Contact | None) -> Verdict | None:
    """The priority this message calls for, or None when it is an ordinary message."""
    reasons: list[str] = []
    level = Priority.normal
    sample = text[:5000]
    if m := URGENT.search(sample):
        level = Priority.urgent
        reasons.append(f"urgency words: {m.group(0)!r}")
    score = negativity(sample)
    if score >= 2:
        level = raise_to(level, Priority.high)
        reasons.append(f"negative sentiment ({score} signals)")
    if contact is not None and contact.vip:
        level = raise_to(level, Priority.high)
        reasons.append("VIP contact")
    if contact is not None and contact.type == ContactType.provider:
        level = raise_to(level, Priority.high)
        reasons.append("provider contact")
    if level == Priority.normal:
        return None
    return Verdict(level, "auto: " + "; ".join(reasons))


__all__ = ["ORDER", "Verdict", "classify", "negativity", "raise_to", "step_up"]
