"""Deflection on a hand-worked fixture: who searched or read, and who then opened a ticket or chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from knowledge_base.analytics import deflection, sessions_of

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H, D = timedelta(hours=1), timedelta(days=1)
NOW = T + 10 * D

ACTIVITY = {
    "A": [T, T + H / 6],  # search, then read; nothing else → deflected
    "B": [T],  # searched, contact form two hours later → escalated
    "C": [T],  # escalated 25 h after the only activity: outside the day → deflected
    "D": [
        T,
        T + 20 * H,
    ],  # one session (within a day of its start); chat 40 h in = 20 h after last → escalated
    "E": [T, T + 2 * D],  # two sessions: the first deflected, the second escalated
    "F": [NOW - 2 * H],  # its day has not passed → pending
    "H": [T],  # the ticket came *before* the search → deflected
}
ESCALATIONS = {
    "B": [T + 2 * H],
    "C": [T + D + H],
    "D": [T + 40 * H],
    "E": [T + 2 * D + H / 12],
    "G": [T],  # never searched or read: not a help-center session
    "H": [T - H],
}


def test_sessions_split_a_day_after_their_start() -> None:
    assert sessions_of([T + 2 * D, T, T + 20 * H]) == [(T, T + 20 * H), (T + 2 * D, T + 2 * D)]
    assert sessions_of([]) == []


def test_deflection_hand_worked() -> None:
    result = deflection(ACTIVITY, ESCALATIONS, NOW)
    assert (result.sessions, result.deflected, result.escalated, result.pending) == (8, 4, 3, 1)
    assert result.rate == round(4 / 7, 4)


def test_no_judged_sessions_has_no_rate() -> None:
    assert deflection({"F": [NOW - H]}, {}, NOW).rate is None
    assert deflection({}, {}, NOW).sessions == 0
