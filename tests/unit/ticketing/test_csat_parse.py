"""CSAT answers: numbers, words, emoji; anything else is a message, not a score."""

from __future__ import annotations

import pytest

from hub.ticketing.csat import parse_score


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("5", 5),
        ("5 ⭐", 5),
        (" 4 ", 4),
        ("3/5", 3),
        ("2 out of 5", 2),
        ("1 star", 1),
        ("4 stars!", 4),
        ("Rating: 5", 5),
        ("excellent", 5),
        ("Great!", 5),
        ("good", 4),
        ("ok", 3),
        ("very bad", 1),
        ("poor.", 2),
        ("😍", 5),
        ("👍", 4),
        ("👍🏽", 4),
        ("😡😡", 1),
        ("😐", 3),
        ("⭐⭐⭐⭐", 4),
        ("❤️", 5),
    ],
)
def test_answers(text: str, score: int) -> None:
    assert parse_score(text) == score


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "6",
        "0",
        "10",
        "12345",
        "I had 2 problems with the DJ",
        "😍😡",
        "4 or 5",
        "great but the venue was cold",
        "5" * 100,
        "call me at 0821234567",
        "⭐" * 6,
        "hello",
    ],
)
def test_not_answers(text: str) -> None:
    assert parse_score(text) is None
