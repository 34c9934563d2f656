"""Support hours for the channels ("Mon-Fri 08:00-17:00; Sat 09:00-13:00" in a named time zone):
voice greets or takes a voicemail, web chat offers live chat or asks for an e-mail address."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from hub.models import before_closing, closing_time

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _days(spec: str) -> set[int]:
    out: set[int] = set()
    for part in spec.lower().split(","):
        if "-" in part:
            a, b = (DAYS.index(x.strip()[:3]) for x in part.split("-"))
            out |= set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(0, b + 1))
        elif part.strip():
            out.add(DAYS.index(part.strip()[:3]))
    return out


def parse(spec: str) -> list[tuple[set[int], time, time]]:
    """``"Mon-Fri 08:00-17:00; Sat 09:00-13:00"`` → [(weekdays, start, end)]; ValueError if malformed.
    An end of ``24:00`` is the end of the day (``time.max``), as in the SLAs' business hours: "Mon-Sun
    00:00-24:00" is always open ("00:00-23:59" would close for the day's last minute)."""
    rules = []
    for chunk in filter(None, (c.strip() for c in spec.split(";"))):
        days, _, span = chunk.rpartition(" ")
        start, end = span.split("-")
        rules.append((_days(days), time.fromisoformat(start), closing_time(end)))
    return rules


def is_open(spec: str, tz: str, at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(tz))
    now = local.time()
    return any(local.weekday() in days and start <= now and before_closing(now, end)
               for days, start, end in parse(spec))
