"""SLA clocks with a controllable clock, on real FerretDB: business hours, pauses, priority changes,
the indexed sweep (warnings and breaches reported once, even by racing sweeps), escalation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from hub.errors import Conflict, InvalidInput
from hub.events import ConversationUpdated
from hub.models import Priority, Role
from hub.ticketing.business_hours import BusinessHours
from hub.ticketing.context import SYSTEM
from hub.ticketing.events import SlaBreached, SlaWarning
from hub.ticketing.sla import Escalation, SlaPolicy, Targets
from hub.ticketing.teams import Member, Team

from .conftest import Hub

WEEKDAYS = {d: [("08:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


async def policy(hub: Hub, hours: BusinessHours | None, **targets: Targets) -> SlaPolicy:
    if hours:
        await hub.store["business_hours"].insert_one(hours.to_doc())
    p = SlaPolicy(
        name="standard",
        business_hours_id=hours.id if hours else None,
        default=True,
        targets={Priority(k): v for k, v in targets.items()},
        escalation=Escalation(raise_priority=True, to_supervisor=False, notify=True),
    )
    await hub.store["sla_policies"].insert_one(p.to_doc())
    return p


async def test_friday_1655_johannesburg_breaches_monday_0855(hub: Hub) -> None:
    hours = BusinessHours(name="JHB office", timezone="Africa/Johannesburg", week=WEEKDAYS)
    await policy(
        hub,
        hours,
        normal=Targets(first_response=60, resolution=9 * 60),
        high=Targets(first_response=30, resolution=4 * 60),
    )
    boss, agent = await hub.agent("Boss", role=Role.supervisor), await hub.agent("Ann")
    await hub.t.teams.create(
        Team(name="jhb", members=[Member(user_id=agent)], supervisor_id=boss, default=True)
    )
    conversation = (await hub.inbound("Is my venue booking confirmed?")).conversation
    friday = utc(2026, 11, 27, 14, 55)  # Fri 16:55 SAST
    await hub.t.sla.start(conversation.model_copy(update={"created_at": friday}))
    sla = (await hub.get(conversation.id)).sla["metrics"]
    assert sla["first_response"]["due_at"] == utc(2026, 11, 30, 6, 55)  # Mon 08:55 SAST
    assert sla["first_response"]["warn_at"] == utc(2026, 11, 30, 6, 43)  # 20 % (12 min) before
    assert sla["resolution"]["due_at"] == utc(2026, 11, 30, 14, 55)  # 5 min Fri + 8 h 55 Mon → 16:55 SAST

    hub.clock.set(utc(2026, 11, 30, 6, 40))
    assert (await hub.t.sla.sweep())["checked"] == 0  # no timer has come due
    hub.clock.set(utc(2026, 11, 30, 6, 50))
    with hub.bus.capture() as events:
        counts = await hub.t.sla.sweep()
    assert (counts["checked"], counts["warnings"], counts["breaches"]) == (1, 1, 0)
    assert [(type(e), e.metric) for e in events if isinstance(e, SlaWarning | SlaBreached)] == [
        (SlaWarning, "first_response")
    ]
    hub.clock.set(utc(2026, 11, 30, 6, 56))
    with hub.bus.capture() as events:
        await asyncio.gather(hub.t.sla.sweep(), hub.t.sla.sweep())  # two workers racing
    breaches = [e for e in events if isinstance(e, SlaBreached)]
    assert [(e.metric, e.due_at) for e in breaches] == [("first_response", utc(2026, 11, 30, 6, 55))]
    # Escalation: priority raised one step, with the reason, and the supervisor notified.
    after = await hub.get(conversation.id)
    assert after.priority == Priority.high and "first_response SLA breached" in (after.priority_reason or "")
    notes = await hub.t.notifications.list(boss)
    assert [n["kind"] for n in notes] == ["escalation"]
    # A breached metric stays breached (the higher priority does not re-time it); resolution re-timed to high.
    metrics = after.sla["metrics"]
    assert metrics["first_response"]["breached"] and metrics["first_response"]["due_at"] == utc(
        2026, 11, 30, 6, 55
    )
    assert metrics["resolution"]["due_at"] == utc(
        2026, 11, 30, 9, 55
    )  # 4 h: 5 min Fri + 3 h 55 Mon = 11:55 SAST
    hub.clock.set(utc(2026, 11, 30, 7, 30))
    assert (await hub.t.sla.sweep())["breaches"] == 0  # reported once


async def test_pending_pauses_the_clock(hub: Hub) -> None:
    await policy(hub, None, normal=Targets(first_response=60, next_response=30, resolution=240))
    conversation = (await hub.inbound("hello")).conversation
    start = conversation.created_at
    due = (await hub.get(conversation.id)).sla["metrics"]["resolution"]["due_at"]
    assert due == start + timedelta(minutes=240)
    hub.clock.set(start + timedelta(minutes=10))
    await hub.conversations.reply(conversation.id, SYSTEM, "Could you send the invoice number?")
    await hub.conversations.update(conversation.id, {"status": "pending"}, SYSTEM)
    doc = await hub.store.conversations.find_one({"_id": conversation.id})
    assert doc["sla_next_at"] is None and doc["sla"]["paused_at"] == start + timedelta(minutes=10)
    assert doc["sla"]["metrics"]["first_response"]["met_at"] == start + timedelta(minutes=10)
    hub.clock.set(start + timedelta(minutes=70))  # an hour waiting on the customer
    await hub.inbound("INV-2291")  # reopens the ticket; the clock resumes
    sla = (await hub.get(conversation.id)).sla
    assert sla["paused_at"] is None
    assert sla["metrics"]["resolution"]["due_at"] == start + timedelta(minutes=300)
    assert sla["metrics"]["next_response"]["due_at"] == start + timedelta(minutes=100)


async def test_london_dst_and_priority_change(hub: Hub) -> None:
    hours = BusinessHours(name="London", timezone="Europe/London", week=WEEKDAYS)
    await policy(hub, hours, normal=Targets(first_response=120), urgent=Targets(first_response=30))
    conversation = (await hub.inbound("hello from the UK", sender="+447700900123")).conversation
    await hub.t.sla.start(conversation.model_copy(update={"created_at": utc(2026, 3, 27, 16, 0)}))
    sla = (await hub.get(conversation.id)).sla
    assert sla["metrics"]["first_response"]["due_at"] == utc(2026, 3, 30, 8, 0)  # Mon 09:00 BST
    with hub.bus.capture() as events:
        await hub.conversations.update(conversation.id, {"priority": "urgent"}, SYSTEM)
    assert any(isinstance(e, ConversationUpdated) for e in events)
    sla = (await hub.get(conversation.id)).sla
    assert sla["metrics"]["first_response"]["due_at"] == utc(2026, 3, 27, 16, 30)


async def test_agent_reply_stops_first_response_clock(hub: Hub) -> None:
    await policy(hub, None, normal=Targets(first_response=60))
    conversation = (await hub.inbound("hi")).conversation
    assert (await hub.store.conversations.find_one({"_id": conversation.id}))["sla_next_at"] is not None
    await hub.conversations.reply(conversation.id, SYSTEM, "Hello! How can we help?")
    doc = await hub.store.conversations.find_one({"_id": conversation.id})
    assert doc["sla"]["metrics"]["first_response"]["met_at"] is not None and doc["sla_next_at"] is None
    hub.clock.set(conversation.created_at + timedelta(hours=5))
    assert (await hub.t.sla.sweep())["checked"] == 0


async def test_team_policy_then_priority_then_default(hub: Hub) -> None:
    """A ticket takes its team's policy (targets by priority), else the default; a transfer switches."""
    await policy(hub, None, normal=Targets(first_response=60, resolution=480))
    agent = await hub.agent("Vera")
    vip = await hub.t.teams.create(Team(name="vip", members=[Member(user_id=agent)]))
    fast = SlaPolicy(
        name="vip desk",
        team_ids=[vip.id],
        targets={Priority.normal: Targets(first_response=15), Priority.urgent: Targets(first_response=5)},
    )
    await hub.t.sla.check_policy(fast)
    await hub.store["sla_policies"].insert_one(fast.to_doc())
    clash = SlaPolicy(name="other", team_ids=[vip.id], targets={Priority.normal: Targets(first_response=1)})
    with pytest.raises(Conflict, match="vip desk"):
        await hub.t.sla.check_policy(clash)
    with pytest.raises(InvalidInput, match="not found"):
        await hub.t.sla.check_policy(SlaPolicy(name="x", team_ids=["ghost"], targets=clash.targets))

    plain = (await hub.inbound("hello")).conversation
    start = plain.created_at
    metrics = (await hub.get(plain.id)).sla["metrics"]
    assert metrics["first_response"]["due_at"] == start + timedelta(minutes=60)  # the default policy
    hub.clock.set(start + timedelta(minutes=2))
    await hub.conversations.update(plain.id, {"team_id": vip.id}, SYSTEM)  # transferred to the VIP desk
    sla = (await hub.get(plain.id)).sla
    assert sla["policy_id"] == fast.id
    assert sla["metrics"]["first_response"]["due_at"] == start + timedelta(minutes=15)  # from the start
    assert sla["metrics"]["resolution"]["due_at"] is None  # the VIP policy has no resolution target
    await hub.conversations.update(plain.id, {"priority": "urgent"}, SYSTEM)
    sla = (await hub.get(plain.id)).sla
    assert sla["metrics"]["first_response"]["due_at"] == start + timedelta(minutes=5)
    hub.clock.set(start + timedelta(minutes=7))
    with hub.bus.capture() as events:
        await hub.t.sla.sweep()
    assert [(type(e), e.due_at) for e in events if isinstance(e, SlaWarning | SlaBreached)] == [
        (SlaWarning, start + timedelta(minutes=5)),
        (SlaBreached, start + timedelta(minutes=5)),
    ]  # only the urgent target's timers: the replaced ones (60, 15 min) were cancelled
    hub.clock.set(start + timedelta(minutes=70))
    with hub.bus.capture() as events:
        await hub.t.sla.sweep()
    assert [e for e in events if isinstance(e, SlaWarning | SlaBreached)] == []


async def test_a_merged_ticket_stops_its_clock_and_timers(hub: Hub) -> None:
    await policy(hub, None, normal=Targets(first_response=30, resolution=240))
    hub.settings.auto_assign = False
    target = (await hub.inbound("my booking")).conversation
    source = (await hub.inbound("same booking", sender="+27820000999")).conversation
    await hub.store.conversations.update_one({"_id": source.id}, {"$set": {"contact_id": target.contact_id}})
    await hub.t.lifecycle.merge(source.id, target.id, SYSTEM)
    sla = (await hub.get(source.id)).sla
    assert sla["paused_at"] is not None and sla["metrics"]["resolution"]["met_at"] is not None
    hub.clock.set(hub.clock.now() + timedelta(hours=5))
    with hub.bus.capture() as events:
        await hub.t.sla.sweep()
    assert {e.conversation_id for e in events if isinstance(e, SlaWarning | SlaBreached)} == {target.id}
