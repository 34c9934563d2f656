"""Scheduled report e-mails: validated on save, run through the job queue, delivered over real SMTP
(an aiosmtpd server), the next run queued, a deleted schedule's queued run a no-op."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from hub import keys
from hub.jobs import Worker
from hub.models import Role
from hub.reports.schedules import JOB, ScheduleIn, next_run, period
from hub.settings import Settings
from hub.store import free_port

from ..channels.mailservers import Collector

V1 = "/api/v1/reports/schedules"
WEEKLY = {"name": "Weekly ops", "frequency": "weekly", "weekday": 0, "hour": 7, "tz": "Africa/Johannesburg",
          "recipients": ["ops@berry.events", "ceo@berry.events"]}


@pytest.fixture
async def sink() -> AsyncIterator[tuple[int, Collector]]:
    from aiosmtpd.smtp import SMTP

    collector, port = Collector(), free_port()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(collector, hostname="sink"), "127.0.0.1", port
    )
    yield port, collector
    server.close()
    await server.wait_closed()


@pytest.fixture
def settings(settings: Settings, sink: tuple[int, Collector]) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": sink[0]})


def test_run_times_and_periods_in_the_schedule_zone() -> None:
    weekly = ScheduleIn(**WEEKLY)
    # Wednesday 26 Nov 2026 10:00 UTC → next Monday 07:00 Johannesburg = 05:00 UTC
    assert next_run(weekly, datetime(2026, 11, 26, 10, tzinfo=UTC)) == datetime(2026, 11, 30, 5, tzinfo=UTC)
    assert [d.isoformat() for d in period(weekly, datetime(2026, 11, 30, 5, tzinfo=UTC))] == [
        "2026-11-23",
        "2026-11-29",
    ]
    monthly = ScheduleIn(**{**WEEKLY, "frequency": "monthly", "day": 1, "tz": "Europe/London", "hour": 0})
    at = next_run(monthly, datetime(2026, 3, 15, tzinfo=UTC))
    assert at == datetime(2026, 4, 1, 0, tzinfo=UTC) - (
        datetime(2026, 4, 1, 1, tzinfo=UTC) - datetime(2026, 4, 1, tzinfo=UTC)
    )
    # BST: 23:00 UTC the day before
    assert [d.isoformat() for d in period(monthly, at)] == ["2026-03-01", "2026-03-31"]


async def test_bad_schedules_are_refused_when_saved(client: Any, api: Any) -> None:
    boss, agent = await api.user(Role.supervisor), await api.user(Role.agent)
    for bad, field in (
        (["not-an-address"], "recipients"),
        ([], "recipients"),
        (["a@b.c"] * 21, "recipients"),
    ):
        resp = await client.post(V1, json={**WEEKLY, "recipients": bad}, headers=boss["headers"])
        assert resp.status == 422 and field in (await resp.json())["field"], await resp.text()
    for extra in (
        {"tz": "Mars/Olympus"},
        {"frequency": "daily"},
        {"day": 31, "frequency": "monthly"},
        {"cc": []},
        {"team_id": "nope"},
    ):  # an unknown team: an empty report every run (was accepted)
        resp = await client.post(V1, json={**WEEKLY, **extra}, headers=boss["headers"])
        assert resp.status == 422, extra
    assert (await client.post(V1, json=WEEKLY, headers=agent["headers"])).status == 403
    assert await client.server.app[keys.STORE]["report_schedules"].count_documents({}) == 0


async def test_a_due_run_emails_the_pdf_and_queues_the_next(
    client: Any, api: Any, sink: tuple[int, Collector]
) -> None:
    boss = await api.user(Role.supervisor)
    app, (_, collector) = client.server.app, sink
    resp = await client.post(V1, json=WEEKLY, headers=boss["headers"])
    assert resp.status == 201
    created = await resp.json()
    listed = (await (await client.get(V1, headers=boss["headers"])).json())["items"]
    assert [s["id"] for s in listed] == [created["id"]]

    store = app[keys.STORE]
    await store["job_queue"].update_many({}, {"$set": {"next_at": datetime(2000, 1, 1, tzinfo=UTC)}})
    worker = Worker(app[keys.JOBS], {JOB: app[keys.JOB_HANDLERS][JOB]})
    assert await worker.run_once()

    [(sender, rcpts, raw)] = collector.mails
    mail = email.message_from_bytes(raw)
    assert sorted(rcpts) == ["ceo@berry.events", "ops@berry.events"] and "Weekly ops" in mail["Subject"]
    [attachment] = [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
    assert attachment.get_payload(decode=True).startswith(b"%PDF")
    after = await (await client.get(f"{V1}/{created['id']}", headers=boss["headers"])).json()
    assert after["next_run_at"] > created["next_run_at"]  # the next run is queued, a week on
    assert await store["job_queue"].count_documents({"kind": JOB}) == 1

    # deleted: its queued run sends nothing
    assert (await client.delete(f"{V1}/{created['id']}", headers=boss["headers"])).status == 204
    await store["job_queue"].update_many({}, {"$set": {"next_at": datetime(2000, 1, 1, tzinfo=UTC)}})
    assert await worker.run_once()
    assert len(collector.mails) == 1
    assert (await client.get(f"{V1}/{created['id']}", headers=boss["headers"])).status == 404
