"""Rule-based entity extraction for the embedded engine: booking reference, e-mail, date phrases; and
rand amounts for both engines (the handoff policy's refund limit, the agent's summary).
(The Rasa project extracts the first three with RegexEntityExtractor + DIET.)"""

from __future__ import annotations

import re
from typing import Any

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("booking_ref", re.compile(r"\bBE[-\s]?\d{5,10}\b", re.IGNORECASE)),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("date", re.compile(
        rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?|"
        rf"(?:the\s)?\d{{1,2}}(?:st|nd|rd|th)?\s(?:of\s)?(?:{_MONTHS})|(?:{_MONTHS})\s\d{{1,2}}(?:st|nd|rd|th)?|"
        rf"(?:next|last|this)\s(?:{_DAYS}|week|month|weekend)|today|tomorrow|tonight|yesterday|{_DAYS})\b",
        re.IGNORECASE)),
]


_SEP = "[ ,\u00a0\u202f]"  # thousands: "5 000", "5,000", and the no-break spaces phones type
_NUMBER = rf"(\d{{1,3}}(?:{_SEP}\d{{3}})+|\d+)(?:[.,](\d{{1,2}}))?(?:\s?(k)\b)?"
_AMOUNT = re.compile(rf"\b(?:r|zar)\s?{_NUMBER}(?![\d-])|\b{_NUMBER}\s?(?:rand|zar)\b", re.IGNORECASE)


def amounts(text: str) -> list[float]:
    """Rand amounts in a message: R5000, R 5 000, R5k, R2.5k, 5,000 rand, ZAR 1200.50 (1200.5).
    A bare number is none: it may be a date, a count or part of a reference."""
    found = []
    for match in _AMOUNT.finditer(text[:2000]):
        whole, cents, thousands = match.group(1, 2, 3) if match.group(1) else match.group(4, 5, 6)
        value = float(re.sub(r"\D", "", whole) + (f".{cents}" if cents else ""))
        found.append(value * 1000 if thousands else value)
    return found


def rand(amount: float) -> str:
    """How an agent reads an amount: "R 5 000", "R 1 200.50"."""
    text = f"{amount:,.2f}".replace(",", " ").removesuffix(".00")
    return f"R {text}"


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
