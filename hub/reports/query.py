"""What a report is asked for: a bounded date range, a time zone and filters. ``check_scope``
narrows an agent to their own figures. Validation only; nothing here reads or writes the store.

Dates: ``start``/``end`` are ISO dates (``end`` inclusive: the whole day, in ``tz``) or ISO datetimes
(``end`` exclusive; without an offset they are read in ``tz``). Reports are kept per quarter hour
(``stats.SLOT_S``), so the range must fall on whole quarter hours: whole days and hours do in every
zone whose offset is a whole number of quarter hours (all of them since 1979; Asia/Kolkata +05:30 too).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from hub.api.pages import BadQuery
from hub.auth import Principal
from hub.errors import Forbidden
from hub.models import Channel, ContactType, Priority, Role, TimeZoneName

from .stats import SLOT_S

MAX_RANGE = timedelta(days=731)  # two years (one of them a leap year)
DAY = timedelta(days=1)


class ReportQuery(BaseModel):
    """Query string of every ``/api/v1/reports/...`` endpoint; an unknown parameter is a 400."""

    model_config = ConfigDict(extra="forbid")

    start: str | None = Field(None, max_length=40, description="Start: ISO date or datetime")
    end: str | None = Field(
        None, max_length=40, description="End: ISO date (inclusive) or datetime (exclusive)"
    )
    tz: TimeZoneName = Field("UTC", max_length=64, description="IANA time zone for days, hours and weekdays")
    team_id: str | None = Field(None, max_length=64)
    channel: Channel | None = None
    agent_id: str | None = Field(None, max_length=64)
    contact_type: ContactType | None = None
    priority: Priority | None = None
    source: Literal["rollup", "live"] = Field(
        "rollup", description="Roll-up buckets or computed from tickets"
    )


    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def filters(self) -> dict[str, str]:
        """The dimension filters set on this query (group field → value)."""
        out = {"team_id": self.team_id, "channel": self.channel, "agent_id": self.agent_id,
               "contact_type": self.contact_type, "priority": self.priority}
        return {k: str(v) for k, v in out.items() if v is not None}


class Range(BaseModel):
    start: datetime
    end: datetime

    @property
    def previous(self) -> Range:
        return Range(start=self.start - (self.end - self.start), end=self.start)


def _instant(raw: str, field: str, zone: ZoneInfo, *, is_end: bool) -> datetime:
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if is_end:
                day += DAY
            return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadQuery(f"{field}: {raw!r} is not an ISO date or datetime", field=field) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def check_range(query: ReportQuery) -> Range:
    """The UTC range of a query, or BadQuery (400, like every bad query parameter) naming the wrong field."""
    if not query.start or not query.end:
        missing = "start" if not query.start else "end"
        raise BadQuery(f"{missing} is required: reports need a bounded date range", field=missing)
    start = _instant(query.start, "start", query.zone, is_end=False)
    end = _instant(query.end, "end", query.zone, is_end=True)
    if end <= start:
        raise BadQuery("the range ends before it starts (end must be after start)", field="end")
    if end - start > MAX_RANGE:
        raise BadQuery("the range is longer than two years; ask for a shorter one", field="end")
    for name, value in (("start", start), ("end", end)):
        if value.timestamp() % SLOT_S:
            raise BadQuery(f"{name} must fall on a quarter hour (reports are kept per 15 minutes)",
                           field=name)
    return Range(start=start, end=end)


def check_scope(query: ReportQuery, principal: Principal) -> ReportQuery:
    """Supervisors and admins see everything (``reports:read``); an agent sees only their own
    figures; everyone else is refused."""
    if principal.can("reports:read"):
        return query
    if principal.role == Role.agent and principal.user_id:
        if query.agent_id and query.agent_id != principal.user_id:
            raise Forbidden("agents see only their own figures")
        return query.model_copy(update={"agent_id": principal.user_id})
    raise Forbidden(f"role {principal.role.value} may not read reports")


__all__ = ["MAX_RANGE", "Range", "ReportQuery", "check_range", "check_scope"]
