"""Business hours: a weekly schedule in one IANA time zone, minus holidays, and the clock math SLAs
need (``add`` business time to an instant, business time ``between`` two instants, ``is_open``).

Instants are timezone-aware UTC; the schedule is local wall-clock time, so a DST change moves the
UTC edges of a working day but never its length (08:00–17:00 is 9 h on both sides of a change). An
interval that straddles a change (e.g. 00:00–24:00 on the day London springs forward) is measured
in real elapsed time: that day has 23 business hours. ``None`` hours mean 24/7.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_serializer, field_validator, model_validator

from hub.models import TimeZoneName, new_id, utcnow

from .context import Stored

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
MAX_SCAN_DAYS = 3 * 366  # a schedule has at least one working minute a week; this bounds every loop


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class BusinessHours(Stored):
    """``week``: day → list of ``"08:00-17:00"`` intervals; an end may be ``24:00``. Intervals are
    strings because FerretDB v1 stores no nested arrays: the API refuses ``["08:00", "17:00"]`` (an
    array in an array, hub/api/routing.py check_storable) with a 422; only code building the model
    directly may pass ``("08:00", "17:00")`` pairs."""

    id: str = Field(default_factory=new_id)
    name: str = Field(min_length=1, max_length=200)
    timezone: TimeZoneName = Field(description="IANA zone, e.g. Africa/Johannesburg")
    week: dict[str, list[tuple[str, str]]]
    holidays: list[date] = Field(default_factory=list, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)


    @field_validator("week", mode="before")
    @classmethod
    def _ranges(cls, week: Any) -> Any:
        """Also accept ``"08:00-17:00"`` (the stored form: FerretDB v1 stores no nested arrays)."""
        if not isinstance(week, dict):
            return week
        out: dict[Any, Any] = {}
        for day, intervals in week.items():
            if not isinstance(intervals, list):
                out[day] = intervals
                continue
            out[day] = [tuple(i.split("-", 1)) if isinstance(i, str) and "-" in i else i for i in intervals]
        return out

    @field_validator("week")
    @classmethod
    def _week(cls, week: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        unknown = set(week) - set(DAYS)
        if unknown:
            raise ValueError(f"unknown day(s) {sorted(unknown)}; use {', '.join(DAYS)}")
        for day, intervals in week.items():
            if len(intervals) > 10:
                raise ValueError(f"{day}: at most 10 intervals")
            last_end = -1
            for start, end in sorted(intervals):
                for value in (start, end):
                    if not HHMM.match(value):
                        raise ValueError(f"{day}: {value!r} is not HH:MM")
                if _minutes(start) >= _minutes(end):
                    raise ValueError(f"{day}: {start}–{end} ends before it starts")
                if _minutes(start) < last_end:
                    raise ValueError(f"{day}: intervals overlap")
                last_end = _minutes(end)
        if not any(week.values()):
            raise ValueError("the week has no working hours")
        return {d: sorted(week[d]) for d in DAYS if week.get(d)}

    @field_serializer("week")
    def _week_out(self, week: dict[str, list[tuple[str, str]]]) -> dict[str, list[str]]:
        return {day: [f"{a}-{b}" for a, b in intervals] for day, intervals in week.items()}

    @model_validator(mode="after")
    def _holidays_sorted(self) -> BusinessHours:
        self.holidays = sorted(set(self.holidays))
        return self

    # --- math -----------------------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of one local date, as UTC instants."""
        if day in self._holiday_set():
            return []
        out = []
        for start, end in self.week.get(DAYS[day.weekday()], []):
            out.append((self._instant(day, start), self._instant(day, end)))
        return out

    def _holiday_set(self) -> frozenset[date]:
        cached: frozenset[date] | None = self.__dict__.get("_hset")
        if cached is None:
            cached = frozenset(self.holidays)
            self.__dict__["_hset"] = cached
        return cached

    def _instant(self, day: date, hhmm: str) -> datetime:
        minutes = _minutes(hhmm)
        if minutes == 24 * 60:
            day, minutes = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        # A wall time that does not exist (spring-forward gap) maps past the gap: ZoneInfo's fold=0
        # reading followed by a UTC round trip normalizes it.
        return local.astimezone(UTC)

    def is_open(self, at: datetime) -> bool:
        local_day = at.astimezone(self.zone).date()
        for day in (local_day - timedelta(days=1), local_day):  # an interval ending at 24:00 runs into today
            for start, end in self.intervals_on(day):
                if start <= at < end:
                    return True
        return False

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant after ``seconds`` of business time counted from ``start``."""
        remaining = timedelta(seconds=seconds)
        if remaining <= timedelta(0):
            return start
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(MAX_SCAN_DAYS):
            for begin, end in self.intervals_on(day):
                begin = max(begin, start)
                if begin >= end:
                    continue
                if end - begin >= remaining:
                    return begin + remaining
                remaining -= end - begin
            day += timedelta(days=1)
        raise ValueError("business hours never reach the target")  # unreachable for a valid schedule

    def between(self, start: datetime, end: datetime) -> float:
        """Business seconds in [start, end); negative when end is before start."""
        if end < start:
            return -self.between(end, start)
        total = timedelta(0)
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        while day <= last:
            for begin, stop in self.intervals_on(day):
                lo, hi = max(begin, start), min(stop, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds()

    def to_doc(self) -> dict[str, Any]:
        doc = super().to_doc()
        doc["holidays"] = [d.isoformat() for d in self.holidays]
        return doc


class Always:
    """24/7: business time is elapsed time."""

    def add(self, start: datetime, seconds: float) -> datetime:
        return start + timedelta(seconds=max(0.0, seconds))

    def between(self, start: datetime, end: datetime) -> float:
        return (end - start).total_seconds()

    def is_open(self, at: datetime) -> bool:
        return True


ALWAYS = Always()

__all__ = ["ALWAYS", "Always", "BusinessHours", "DAYS"]
