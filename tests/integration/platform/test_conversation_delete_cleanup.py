"""Deleting a ticket that still has work pending (SLA warning and breach timers, a snooze with its
wake job and wheel timer, an assignment holding the agent's load, a mention notification, webhook
deliveries, console replay-log events): every holder drops its copy or skips cleanly. Proven
like the erasure test: time moves past every timer, the jobs and ticks run without an error, and
a scan of every collection finds neither the ticket's id nor its text (the audit entry keeps the
id, by design)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from hub import keys
from hub.models import Channel, InboundMessage, Role, SenderIdentity, utcnow
from hub.ticketing.clock import ManualClock

from ...conftest import Api
from .conftest import Receiver, run_jobs

SECRET = "the gate code is 4711-9023"


def _notice(name: str, doc: dict[str, Any]) -> bool:
    """Where the deleted id stays by design: the audit entry and the conversation.deleted notice
    itself (its webhook delivery, its console replay-log entry), which tell holders to drop copies."""
    deletion = "conversation.deleted"
    return name == "audit_log" or (name == "webhook_deliveries" and doc.get("event") == deletion) \
        or (name == "console_events" and doc.get("name") == deletion)


async def _scan(api: Api, needles: list[str], notices: bool = False) -> dict[str, list[str]]:
    db = api.app[keys.STORE].db
    found: dict[str, list[str]] = {}
    for name in await db.list_collection_names():
        async for doc in db[name].find():
            if notices and _notice(name, doc):
                continue
            text = json.dumps(doc, default=str)
            for needle in needles:
                if needle in text:
                    found.setdefault(name, []).append(needle)
    return found


async def test_deleting_a_ticket_with_pending_timers_leaves_nothing_and_no_errors(
        api: Api, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    app = api.app
    ticketing = app[keys.EXTENSIONS]["ticketing"]
    admin = await api.user(Role.admin)
    agent = await api.user(Role.agent)
    h = admin["headers"]
    assert (await api.client.post("/api/v1/webhooks", headers=h,
                                  json={"url": receiver.url, "events": ["*"]})).status == 201
    resp = await api.client.post("/api/v1/sla-policies", headers=h, json={
        "name": "standard", "default": True,
        "targets": {"normal": {"first_response": 30, "next_response": 60, "resolution": 240}}})
    assert resp.status == 201, await resp.text()
    result = await app[keys.INBOX].ingest(InboundMessage(
        channel=Channel.sms, external_id="sms-del-1",
        sender=SenderIdentity(kind="phone", value="+27825550777"),
        sender_name="Lerato", text=SECRET))
    cid = result.conversation.id
    # an assignment (the agent's load), a mention (a notification), a snooze (wake job + wheel timer)
    resp = await api.client.patch(f"/api/v1/conversations/{cid}", headers=h,
                                  json={"assignee_id": agent["user"]["id"]})
    assert resp.status == 200, await resp.text()
    until = utcnow() + timedelta(hours=2)
    resp = await api.client.post(f"/api/v1/conversations/{cid}/snooze", headers=agent["headers"],
                                 json={"until": until.isoformat()})
    assert resp.status == 200, await resp.text()
    store = app[keys.STORE]
    doc = await store.conversations.find_one({"_id": cid})
    assert doc["sla"]["filed"], "the SLA timers are filed"
    assert await store["jobs"].count_documents({"kind": "ticketing.wake", "state": "ready"}) == 1
    await run_jobs(app)
    await app[keys.BUS].drain()
    await app[keys.EXTENSIONS]["agent_console"]["forwarder"].drain()
    message_ids = [m["_id"] async for m in store.messages.find({"conversation_id": cid}, {"_id": 1})]
    before = await _scan(api, [cid, SECRET])
    expected = {"conversations", "messages", "jobs", "console_events", "webhook_deliveries"}
    assert expected <= set(before), before

    resp = await api.client.delete(f"/api/v1/conversations/{cid}", headers=h)
    assert resp.status == 204, await resp.text()
    await app[keys.BUS].drain()
    await app[keys.EXTENSIONS]["agent_console"]["forwarder"].drain()

    # time passes every timer: warning, breach, wake
    caplog.set_level(logging.WARNING)
    ticketing.ctx.clock = ManualClock(utcnow() + timedelta(days=2))
    counts = await ticketing.tick()
    assert counts["warnings"] == 0 and counts["breaches"] == 0 and counts["woken"] == 0, counts
    await run_jobs(app)
    await app[keys.BUS].drain()
    assert await store["jobs"].count_documents({"state": "dead"}) == 0
    problems = [r for r in caplog.records
                if r.levelno >= logging.WARNING and r.name.startswith(("hub", "bot"))]
    assert problems == [], [r.getMessage() for r in problems]
    leftovers = await _scan(api, [cid, SECRET, *message_ids], notices=True)
    assert leftovers == {}, leftovers
    [entry] = [e async for e in store.audit_log.find({"action": "conversation.delete", "target_id": cid})]
    assert SECRET not in json.dumps(entry, default=str)


async def test_a_timer_or_job_of_a_deleted_ticket_is_skipped_cleanly(api: Api) -> None:
    """A holder that missed the event (a wake job already leased, a timer filed in a race) meets a
    missing ticket: it does nothing and raises nothing."""
    app = api.app
    ticketing = app[keys.EXTENSIONS]["ticketing"]
    assert await ticketing.lifecycle.wake("no-such-ticket", utcnow()) is False
    await ticketing.lifecycle.file_wake("no-such-ticket", utcnow() + timedelta(minutes=5))
    ticketing.ctx.clock = ManualClock(utcnow() + timedelta(hours=1))
    assert (await ticketing.tick())["woken"] == 0
    names: list[Any] = await app[keys.STORE].db.list_collection_names()
    assert not [n for n in names if n.startswith("wheel.wake.")]  # swept, not refiled as failed
