"""CSAT answers: numbers, words, emoji; anything else is a message, not a score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.ticketing.csat import is_remark, parse_score, split_answer, survey_reply


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


@pytest.mark.parametrize(
    ("text", "remark"),
    [
        ("the DJ was late but ok", True),
        ("Thanks, all sorted 👍", True),
        ("service was slow", True),
        ("😊", True),
        ("the photographer never arrived actually", False),  # a problem still open: not a remark
        ("great, can you send me the invoice?", False),
        ("when does the DJ arrive", False),
        ("please call me back, it was ok", False),
        ("my booking reference is BE-1234567", False),  # nothing that judges: unclear
        ("good " * 200, False),  # too long for a remark
        ("", False),
    ],
)
def test_remarks(text: str, remark: bool) -> None:
    assert is_remark(text) is remark


def test_survey_reply_only_while_the_survey_is_open() -> None:
    sent = datetime(2026, 11, 1, 12, tzinfo=UTC)
    csat = {"sent_at": sent, "comments": []}
    window = timedelta(hours=72)
    assert survey_reply(csat, "5", sent + timedelta(hours=1), window) == "score"
    assert survey_reply(csat, "5", sent + timedelta(hours=80), window) == "score"  # kept as a late answer
    assert survey_reply(csat, "the DJ was late but ok", sent + timedelta(hours=1), window) == "comment"
    assert survey_reply(csat, "the DJ was late but ok", sent + timedelta(hours=80), window) is None
    assert survey_reply(None, "the DJ was late but ok", sent, window) is None
    full = {"sent_at": sent, "comments": [{"text": "ok"}] * 5}
    assert survey_reply(full, "the DJ was late but ok", sent, window) is None  # a conversation now


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("5", (5, "")),
        ("4 - the DJ was late but ok", (4, "the DJ was late but ok")),
        ("4/5 the DJ was late but ok", (4, "the DJ was late but ok")),
        ("loved it, 5/5", (5, "loved it")),
        ("1 star - rude DJ", (1, "rude DJ")),
        ("2 guests cancelled", (None, "")),  # a number, not a score
        ("5 people are coming, can I change?", (None, "")),
        ("4 - can you send the invoice?", (None, "")),  # a question: it reopens
    ],
)
def test_a_score_with_a_remark(text: str, answer: tuple) -> None:
    assert split_answer(text) == answer
