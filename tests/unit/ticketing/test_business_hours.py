"""Business-hours math, with every expected instant worked out by hand (see the comments)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from hub.ticketing.business_hours import ALWAYS, BusinessHours

WEEKDAYS = {d: [("08:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}


def jhb(**kw: object) -> BusinessHours:
    return BusinessHours(name="JHB", timezone="Africa/Johannesburg", week=WEEKDAYS, **kw)  # type: ignore[arg-type]


def london(**kw: object) -> BusinessHours:
    return BusinessHours(name="LDN", timezone="Europe/London", week=WEEKDAYS, **kw)  # type: ignore[arg-type]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_friday_1655_johannesburg_plus_one_hour_is_monday_0855() -> None:
    # Fri 2026-11-27 16:55 SAST = 14:55Z. 5 min left on Friday, 55 min on Monday from 08:00 SAST:
    # Mon 2026-11-30 08:55 SAST = 06:55Z.
    assert jhb().add(utc(2026, 11, 27, 14, 55), 3600) == utc(2026, 11, 30, 6, 55)


def test_start_outside_hours_counts_from_next_opening() -> None:
    # Sat 10:00 SAST: nothing until Mon 08:00 SAST (06:00Z); +30 min = 06:30Z.
    assert jhb().add(utc(2026, 11, 28, 8, 0), 1800) == utc(2026, 11, 30, 6, 30)
    # Tue 05:00 SAST (03:00Z) before opening: +1 h = Tue 09:00 SAST = 07:00Z.
    assert jhb().add(utc(2026, 12, 1, 3, 0), 3600) == utc(2026, 12, 1, 7, 0)


def test_holiday_is_skipped() -> None:
    # Day of Reconciliation, Wed 2026-12-16. Tue 15 Dec 16:30 SAST (14:30Z) + 2 h:
    # 30 min on Tuesday, Wednesday is a holiday, 90 min on Thursday → Thu 09:30 SAST = 07:30Z.
    hours = jhb(holidays=[date(2026, 12, 16)])
    assert hours.add(utc(2026, 12, 15, 14, 30), 7200) == utc(2026, 12, 17, 7, 30)
    assert jhb().add(utc(2026, 12, 15, 14, 30), 7200) == utc(2026, 12, 16, 7, 30)  # no holiday: Wed 09:30
    assert not hours.is_open(utc(2026, 12, 16, 10, 0))


def test_london_spring_forward_moves_the_utc_edges() -> None:
    # Fri 2026-03-27 16:00 GMT (=16:00Z) + 2 h: 1 h on Friday, then Mon 30 Mar, now BST (UTC+1):
    # opening 08:00 BST = 07:00Z, +1 h = 08:00Z (in winter it would have been 09:00Z).
    assert london().add(utc(2026, 3, 27, 16, 0), 7200) == utc(2026, 3, 30, 8, 0)
    # Business time from Fri 16:00Z to Mon 08:00Z is exactly those 2 h.
    assert london().between(utc(2026, 3, 27, 16, 0), utc(2026, 3, 30, 8, 0)) == 7200


def test_london_fall_back() -> None:
    # Fri 2026-10-23 16:00 BST (=15:00Z) + 2 h: 1 h Friday; Mon 26 Oct is GMT:
    # 08:00 GMT = 08:00Z, +1 h = 09:00Z.
    assert london().add(utc(2026, 10, 23, 15, 0), 7200) == utc(2026, 10, 26, 9, 0)


def test_round_the_clock_day_of_a_dst_change_has_23_hours() -> None:
    all_day = BusinessHours(
        name="24x7 local",
        timezone="Europe/London",
        week={d: [("00:00", "24:00")] for d in ("sat", "sun", "mon")},
    )
    sunday_only = BusinessHours(name="sun", timezone="Europe/London", week={"sun": [("00:00", "24:00")]})
    # Sunday 2026-03-29 runs from 00:00 GMT (00:00Z) to 24:00 BST (23:00Z): 23 real hours.
    assert sunday_only.between(utc(2026, 3, 27, 0, 0), utc(2026, 3, 31, 0, 0)) == 23 * 3600
    # ... and Sunday 2026-10-25 (fall back) has 25.
    assert sunday_only.between(utc(2026, 10, 23, 0, 0), utc(2026, 10, 27, 0, 0)) == 25 * 3600
    # Sat 12:00Z + 24 h of business time = Sun 12:00Z (13:00 BST): elapsed time, not wall time.
    assert all_day.add(utc(2026, 3, 28, 12, 0), 24 * 3600) == utc(2026, 3, 29, 12, 0)
    assert all_day.is_open(utc(2026, 3, 29, 1, 30))


def test_between_is_inverse_of_add() -> None:
    hours = jhb(holidays=[date(2026, 12, 16)])
    start = utc(2026, 12, 11, 13, 17)
    for seconds in (60, 3600, 9 * 3600, 40 * 3600):
        assert hours.between(start, hours.add(start, seconds)) == seconds


def test_is_open_edges() -> None:
    hours = jhb()
    assert hours.is_open(utc(2026, 11, 27, 6, 0))  # Fri 08:00 SAST
    assert not hours.is_open(utc(2026, 11, 27, 15, 0))  # Fri 17:00 SAST: closed (end exclusive)
    assert not hours.is_open(utc(2026, 11, 28, 10, 0))  # Saturday


def test_always_is_elapsed_time() -> None:
    assert ALWAYS.add(utc(2026, 1, 1), 90) == utc(2026, 1, 1, 0, 1, 30)
    assert ALWAYS.between(utc(2026, 1, 1), utc(2026, 1, 2)) == 86400


@pytest.mark.parametrize(
    "bad",
    [
        {"timezone": "Mars/Olympus"},
        {"week": {"mon": [("17:00", "08:00")]}},
        {"week": {"mon": [("8am", "5pm")]}},
        {"week": {"mon": [("08:00", "12:00"), ("11:00", "13:00")]}},
        {"week": {"funday": [("08:00", "17:00")]}},
        {"week": {}},
        {"week": {"mon": [("08:00", "24:01")]}},
    ],
)
def test_definitions_that_do_not_parse_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        BusinessHours.model_validate({"name": "x", "timezone": "Europe/London", "week": WEEKDAYS, **bad})


def test_document_round_trip() -> None:
    hours = jhb(holidays=[date(2026, 12, 16), date(2026, 12, 16), date(2026, 12, 25)])
    again = BusinessHours.from_doc(hours.to_doc())
    assert again.holidays == [date(2026, 12, 16), date(2026, 12, 25)]
    assert again.add(utc(2026, 12, 15, 14, 30), 7200) == hours.add(utc(2026, 12, 15, 14, 30), 7200)
