"""A small lexicon scorer for negative sentiment (0 … 1): enough to notice an angry customer.

It is deliberately conservative (a false alarm only hands the chat to a person early); negations
("not bad") and South African expressions ("eish", "nonsense") are covered.
"""

from __future__ import annotations

import re

STRONG = {
    "furious", "disgusted", "disgusting", "disgrace", "unacceptable", "worst", "pathetic", "useless",
    "ridiculous", "scam", "scammers", "fraud", "rubbish", "hopeless", "appalling", "horrible", "terrible",
    "awful", "livid", "outraged", "shocking", "incompetent", "joke", "nonsense", "lawyer", "ombudsman",
    "sue", "hate", "angry", "pissed", "crap", "shit", "rude", "ruined",
}
MILD = {"bad", "disappointed", "unhappy", "annoyed", "frustrated", "upset", "late", "wrong", "poor", "eish",
        "waiting", "again", "still", "never", "worse", "fed", "sick", "tired"}
NEGATIONS = {"not", "no", "never", "isn't", "wasn't", "ain't", "nothing"}
_WORD = re.compile(r"[a-z']+")


def negativity(text: str) -> float:
    words = _WORD.findall(text.lower())
    if not words:
        return 0.0
    score = 0.0
    for i, word in enumerate(words):
        negated = i > 0 and words[i - 1] in NEGATIONS and word in MILD | STRONG
        if word in STRONG and not negated:
            score += 0.6
        elif word in MILD and not negated:
            score += 0.15
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        score += 0.3  # SHOUTING
    score += min(0.3, 0.1 * text.count("!!"))
    return min(1.0, score)
