"""Rule-based entity extraction for the embedded engine: booking reference, e-mail, date phrases.
(The Rasa project extracts the same entities with RegexEntityExtractor + DIET.)"""

from __future__ import annotations

import re
from typing import Any

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("booking_ref", re.compile(r"\bBE-?\d{5}\b", re.IGNORECASE)),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("date", re.compile(
        rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?|"
        rf"(?:the\s)?\d{{1,2}}(?:st|nd|rd|th)?\s(?:of\s)?(?:{_MONTHS})|(?:{_MONTHS})\s\d{{1,2}}(?:st|nd|rd|th)?|"
        rf"(?:next|last|this)\s(?:{_DAYS}|week|month|weekend)|today|tomorrow|tonight|yesterday|{_DAYS})\b",
        re.IGNORECASE)),
]


def extract(text: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name, pattern in PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(0)
            if name == "booking_ref":
                digits = re.sub(r"\D", "", value)
                value = f"BE-{digits}"
            found.append({"entity": name, "value": value, "start": match.start(), "end": match.end()})
    return found
