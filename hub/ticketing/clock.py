"""The ticketing clock: everything time-dependent (SLA deadlines, snooze, CSAT windows, time-based
rules) reads ``clock.now()``, so tests move time by hand instead of sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from hub.models import utcnow


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class ManualClock:
    """A clock that only moves when told to (tests, benchmarks)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, **kw: float) -> datetime:
        self.at += timedelta(**kw)
        return self.at


__all__ = ["Clock", "ManualClock", "SystemClock"]
