"""Scheduled reports: the PDF report e-mailed weekly or monthly through the job queue.

A schedule is one document in ``report_schedules``. Saving it queues its first run as a keyed job
(``report-send:<schedule>:<run time>``), and each run queues the next one, so however many nodes and
workers there are, every run happens once. A run e-mails the period that just ended: the seven days
before a weekly run's date, the previous calendar month for a monthly one, in the schedule's time
zone. Addresses are validated when the schedule is saved; a deleted schedule's queued run does
nothing. Delivery is at least once: a worker that dies after sending and before finishing the job
sends that run again.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Literal
from zoneinfo import ZoneInfo

import aiosmtplib
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from hub.errors import InvalidInput
from hub.jobs import Jobs
from hub.models import TimeZoneName, new_id, utcnow
from hub.settings import Settings
from hub.store import Store, register

from . import pdf
from .query import ReportQuery, check_range
from .service import Reports

COLLECTION = "report_schedules"
JOB = "reports.scheduled"
register(COLLECTION)
SECTIONS = ("overview", "volume", "response_times", "sla", "csat", "bot", "kb", "agents", "contacts")


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    frequency: Literal["weekly", "monthly"]
    weekday: int = Field(0, ge=0, le=6, description="Weekly runs: 0 = Monday")
    day: int = Field(1, ge=1, le=28, description="Monthly runs: day of the month")
    hour: int = Field(7, ge=0, le=23, description="Local hour of the run")
    tz: TimeZoneName = Field("Africa/Johannesburg", max_length=64, description="IANA time zone")
    recipients: list[EmailStr] = Field(min_length=1, max_length=20)
    team_id: str | None = Field(None, max_length=64, description="Only this team's figures")



class Schedule(ScheduleIn):
    id: str
    created_by: str
    next_run_at: datetime


def next_run(s: ScheduleIn, after: datetime) -> datetime:
    """The first run time strictly after ``after`` (UTC), at the schedule's local hour."""
    zone = ZoneInfo(s.tz)
    local = after.astimezone(zone).date()
    for offset in range(0, 63):  # covers a week and two months of candidate days
        d = local + timedelta(days=offset)
        if (s.frequency == "weekly" and d.weekday() == s.weekday) or (
            s.frequency == "monthly" and d.day == s.day
        ):
            at = datetime(d.year, d.month, d.day, s.hour, tzinfo=zone).astimezone(ZoneInfo("UTC"))
            if at > after:
                return at
    raise AssertionError("unreachable: a matching day exists within 63 days")


def period(s: ScheduleIn, run_at: datetime) -> tuple[date, date]:
    """The inclusive local dates a run reports on: the period that ended before the run's date."""
    run_day = run_at.astimezone(ZoneInfo(s.tz)).date()
    if s.frequency == "weekly":
        return run_day - timedelta(days=7), run_day - timedelta(days=1)
    last = run_day.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


class Schedules:
    def __init__(self, store: Store, jobs: Jobs, reports: Reports, settings: Settings) -> None:
        self.store, self.jobs, self.reports, self.settings = store, jobs, reports, settings
        self.col = store[COLLECTION]

    async def create(self, body: ScheduleIn, actor: str) -> Schedule:
        if body.team_id and not await self.store["teams"].find_one({"_id": body.team_id}, {"_id": 1}):
            # an unknown team would send an empty report on every run
            raise InvalidInput(f"team {body.team_id} not found", field="team_id")
        schedule = Schedule(
            **body.model_dump(), id=new_id(), created_by=actor, next_run_at=next_run(body, utcnow())
        )
        await self.col.insert_one({**schedule.model_dump(mode="python", exclude={"id"}), "_id": schedule.id})
        await self._queue(schedule)
        return schedule

    async def get(self, schedule_id: str) -> Schedule | None:
        doc = await self.col.find_one({"_id": schedule_id})
        return self.of(doc) if doc else None

    async def delete(self, schedule_id: str) -> bool:
        return (await self.col.delete_one({"_id": schedule_id})).deleted_count == 1

    async def run(self, payload: dict[str, Any]) -> None:
        """The job: e-mail the report of one run, then queue the next run."""
        schedule = await self.get(payload["schedule_id"])
        run_at = datetime.fromisoformat(payload["run_at"])
        if schedule is None or schedule.next_run_at > run_at:  # deleted, or this run was superseded
            return
        first, last = period(schedule, run_at)
        query = ReportQuery(
            start=first.isoformat(), end=last.isoformat(), tz=schedule.tz, team_id=schedule.team_id
        )
        check_range(query)
        figures = await self.reports.report(query, SECTIONS)
        body = await asyncio.to_thread(pdf.render, figures, f"Berry support report — {schedule.name}")
        await self.send(schedule, first, last, body)
        following = schedule.model_copy(update={"next_run_at": next_run(schedule, run_at)})
        await self.col.update_one({"_id": schedule.id}, {"$set": {"next_run_at": following.next_run_at}})
        await self._queue(following)

    async def send(self, schedule: Schedule, first: date, last: date, body: bytes) -> None:
        if not self.settings.smtp_host:
            raise RuntimeError("BERRY_SMTP_HOST is not set: scheduled reports cannot be e-mailed")
        mail = EmailMessage()
        mail["From"] = self.settings.email_address
        mail["To"] = ", ".join(schedule.recipients)
        mail["Subject"] = f"{schedule.name}: support report {first:%d %b %Y} – {last:%d %b %Y}"
        mail.set_content(f"The Berry support report for {first:%d %B %Y} to {last:%d %B %Y} "
                         f"({schedule.tz}) is attached.\n")
        mail.add_attachment(body, maintype="application", subtype="pdf",
                            filename=f"berry-report_{first:%Y%m%d}-{last:%Y%m%d}.pdf")
        s = self.settings
        await aiosmtplib.send(mail, hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_user or None,
                              password=s.smtp_password.get_secret_value() or None, start_tls=s.smtp_starttls)

    async def _queue(self, schedule: Schedule) -> None:
        at = schedule.next_run_at
        await self.jobs.enqueue(JOB, {"schedule_id": schedule.id, "run_at": at.isoformat()}, at=at,
                                key=f"report-send:{schedule.id}:{at.isoformat()}")

    @staticmethod
    def of(doc: dict[str, Any]) -> Schedule:
        return Schedule(**{k: v for k, v in doc.items() if k != "_id"}, id=doc["_id"])


__all__ = ["JOB", "Schedule", "ScheduleIn", "Schedules", "next_run", "period"]
