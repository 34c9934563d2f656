"""When people answer, for the bot's after-hours notices: the support hours of the conversation's
inbox (``channels.configure.hours_for``: the admin's inbox hours, else ``BERRY_VOICE_BUSINESS_HOURS``),
the same hours the web-chat widget and the voice greeting announce, so the bot never contradicts
them. An agent online right now counts as open whatever the clock says: someone can answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .responses import when_back

ALWAYS = "Mon-Sun 00:00-24:00"


@dataclass(frozen=True)
class Opening:
    """``hours``: a support-hours spec ("Mon-Fri 08:00-17:00; Sat 09:00-13:00") in ``timezone``;
    ``agents_online``: None when no agent console reports presence."""

    hours: str = ALWAYS
    timezone: str = "Africa/Johannesburg"
    agents_online: bool | None = None

    def open_at(self, at: datetime) -> bool:
        from channels.hours import is_open

        return bool(self.agents_online) or is_open(self.hours, self.timezone, at)

    def next_open(self, at: datetime) -> datetime | None:
        """The next time the hours open after ``at`` (a week ahead at most), None if they never do."""
        from channels.hours import parse

        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        for ahead in range(8):
            day: date = local.date() + timedelta(days=ahead)
            starts = sorted(start for days, start, end in parse(self.hours) if day.weekday() in days
                            and start < end)  # "00:00-00:00": never open
            for start in starts:
                opens = datetime.combine(day, start, tzinfo=zone)
                if opens > local:
                    return opens
        return None

    def back_at(self, at: datetime, lang: str | None = "en") -> str:
        """When people are back, in words of ``lang``: "today at 08:00", "on Monday at 08:00"."""
        opens = self.next_open(at)
        if opens is None:
            return when_back(None, 0, "", lang)
        days = (opens.date() - at.astimezone(opens.tzinfo).date()).days
        return when_back(days, opens.weekday(), opens.strftime("%H:%M"), lang)
