"""Agents are credited with the work they did (first response, replies, resolution), through the
real services: a ticket handed back to the queue stays with the agent who worked it, and a ticket
another agent finished is credited to each for their part (it was all the current assignee's)."""

from __future__ import annotations

from typing import Any

import pytest

from hub import keys
from hub.auth import Principal
from hub.models import Channel, IdentityKind, InboundMessage, Role, SenderIdentity, Status
from hub.reports import Reports, Rollups
from hub.reports.cli import rebuild
from hub.reports.query import ReportQuery


async def _customer_writes(app: Any, phone: str, external_id: str) -> str:
    await app[keys.INBOX].ingest(InboundMessage(channel=Channel.sms, external_id=external_id, text="help",
                                                sender=SenderIdentity(kind=IdentityKind.phone, value=phone)))
    await app[keys.BUS].drain()
    docs = [d async for d in app[keys.STORE].conversations.find({}, {"_id": 1, "created_at": 1})]
    return str(max(docs, key=lambda d: d["created_at"])["_id"])


@pytest.mark.parametrize("source", ["rollup", "live"])
async def test_agent_figures_follow_who_did_the_work(client: Any, api: Any, source: str) -> None:
    app = client.server.app
    conversations = app[keys.CONVERSATIONS]
    ann_id, ben_id = (await api.user(Role.agent))["user"]["id"], (await api.user(Role.agent))["user"]["id"]
    ann, ben = Principal(role=Role.agent, user_id=ann_id), Principal(role=Role.agent, user_id=ben_id)
    sup = Principal(role=Role.supervisor, user_id="sup")

    # 1: Ann answers, then the ticket goes back to the queue, still open
    queued = await _customer_writes(app, "+27820000001", "SM-q1")
    await conversations.update(queued, {"assignee_id": ann_id}, sup)
    await conversations.reply(queued, ann, "on it")
    await conversations.update(queued, {"assignee_id": None}, sup)

    # 2: Ann answers first; the customer writes again; Ben (now the assignee) answers and resolves
    shared = await _customer_writes(app, "+27820000002", "SM-s1")
    await conversations.update(shared, {"assignee_id": ann_id}, sup)
    await conversations.reply(shared, ann, "first")
    await _customer_writes(app, "+27820000002", "SM-s2")
    await conversations.update(shared, {"assignee_id": ben_id}, sup)
    await conversations.reply(shared, ben, "next")
    await conversations.update(shared, {"assignee_id": ann_id}, sup)  # back to Ann; Ben resolves it
    resolved = await conversations.update(shared, {"status": Status.resolved.value}, ben)
    assert resolved.resolved_by == ben_id
    await app[keys.BUS].drain()

    store = app[keys.STORE]
    day = resolved.created_at.date().isoformat()
    if source == "rollup":
        await rebuild(store, None, None, progress=False)
    report = await Reports(store, Rollups(store)).report(
        ReportQuery(start=day, end=day, source=source), ("agents", "response_times", "overview"))
    rows = {r["agent_id"]: r for r in report["agents"]}
    assert None not in rows  # nothing left as "(unassigned)": both tickets were worked
    assert (rows[ann_id]["handled"], rows[ann_id]["resolved"]) == (1, 0)  # the queued one; 2 is Ben's
    assert (rows[ben_id]["handled"], rows[ben_id]["resolved"]) == (1, 1)
    assert rows[ann_id]["first_response_median_h"] is not None  # two first responses, both Ann's
    assert rows[ben_id]["first_response_median_h"] is None
    assert rows[ben_id]["next_response_median_h"] is not None
    assert rows[ann_id]["next_response_median_h"] is None
    assert rows[ben_id]["resolution_median_h"] is not None and rows[ann_id]["resolution_median_h"] is None
    totals = report["response_times"]
    assert totals["first_response"]["calendar"]["n"] == 2 and totals["next_response"]["calendar"]["n"] == 1
    assert report["overview"]["kpis"]["conversations"]["value"] == 2  # each ticket once

    mine = await Reports(store, Rollups(store)).report(
        ReportQuery(start=day, end=day, source=source, agent_id=ann_id), ("response_times", "overview"))
    assert mine["response_times"]["first_response"]["calendar"]["n"] == 2  # Ann's own first responses
    assert mine["overview"]["kpis"]["conversations"]["value"] == 1
