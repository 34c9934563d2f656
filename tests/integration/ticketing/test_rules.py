"""Automation rules on real FerretDB: triggers, conditions, actions, order, loop protection, the
execution log, time-based rules, canned replies with variables."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub.events import MessageCreated
from hub.models import AuthorType, Direction, Priority, Status
from hub.ticketing.business_hours import BusinessHours
from hub.ticketing.canned import CannedResponse
from hub.ticketing.context import SYSTEM
from hub.ticketing.rules import Rule

from .conftest import Hub


async def add_rule(hub: Hub, **kw: Any) -> Rule:
    rule = Rule.model_validate({"name": kw.pop("name", "rule"), **kw})
    await hub.store["automation_rules"].insert_one(rule.to_doc())
    hub.t.rules.invalidate()
    return rule


async def test_refund_rule_tags_prioritises_and_replies_with_variables(hub: Hub) -> None:
    canned = CannedResponse(
        shortcut="refund",
        title="Refunds",
        text="Hi {{contact.first_name|there}}, we got your refund request on #{{conversation.number}}.",
    )
    await hub.store["canned_responses"].insert_one({**canned.model_dump(exclude={"id"}), "_id": canned.id})
    rule = await add_rule(
        hub,
        name="refunds",
        trigger={"type": "message.created"},
        conditions=[
            {"field": "direction", "op": "eq", "value": "in"},
            {"field": "text", "op": "regex", "value": r"\brefund"},
        ],
        actions=[
            {"type": "add_tag", "params": {"tag": "billing"}},
            {"type": "set_priority", "params": {"priority": "high", "reason": "refunds are high"}},
            {"type": "canned_reply", "params": {"canned_id": canned.id}},
        ],
    )
    result = await hub.inbound("I would like a refund please", sender_name="Zanele Dube")
    conversation = await hub.get(result.conversation.id)
    assert conversation.tags == ["billing"] and conversation.priority == Priority.high
    assert conversation.priority_reason == "refunds are high"
    replies = [
        m for m in await hub.conversations.messages(conversation.id) if m.direction == Direction.outbound
    ]
    assert [m.text for m in replies] == [f"Hi Zanele, we got your refund request on #{conversation.number}."]
    assert replies[0].author_type == AuthorType.system and replies[0].meta["rule_id"] == rule.id
    log = await hub.t.rules.executions(rule_id=rule.id)
    assert len(log) == 1 and [a["type"] for a in log[0]["actions"]] == [
        "add_tag",
        "set_priority",
        "canned_reply",
    ]
    assert all(a["ok"] for a in log[0]["actions"])
    await hub.inbound("thanks, that is all")  # no match: nothing runs, nothing logged
    assert len(await hub.t.rules.executions(rule_id=rule.id)) == 1


async def test_rules_that_trigger_each_other_stop(hub: Hub) -> None:
    a = await add_rule(
        hub,
        name="a",
        order=1,
        trigger={"type": "ticket.updated"},
        actions=[{"type": "add_tag", "params": {"tag": "a"}}],
    )
    b = await add_rule(
        hub,
        name="b",
        order=2,
        trigger={"type": "ticket.updated"},
        actions=[{"type": "remove_tag", "params": {"tag": "a"}}, {"type": "add_tag", "params": {"tag": "b"}}],
    )
    cid = (await hub.inbound("hello")).conversation.id
    await hub.conversations.update(cid, {"subject": "changed"}, SYSTEM)  # sets the ping-pong going
    runs = await hub.t.rules.executions(conversation_id=cid, limit=500)
    skipped = [r for r in runs if r["skipped"]]
    assert skipped and {r["skipped"] for r in skipped} <= {"loop", "depth"}
    assert len(runs) < 50  # it stopped
    ran = [r for r in runs if not r["skipped"]]
    assert {r["rule_id"] for r in ran} == {a.id, b.id}
    assert all(len(r["chain"]) < 5 for r in runs)


async def test_order_and_stop_processing(hub: Hub) -> None:
    await add_rule(
        hub,
        name="second",
        order=20,
        trigger={"type": "ticket.created"},
        actions=[{"type": "add_tag", "params": {"tag": "second"}}],
    )
    await add_rule(
        hub,
        name="first",
        order=10,
        trigger={"type": "ticket.created"},
        stop_processing=True,
        conditions=[{"field": "channel", "op": "eq", "value": "sms"}],
        actions=[{"type": "add_tag", "params": {"tag": "first"}}],
    )
    sms = (await hub.inbound("hi")).conversation.id
    assert (await hub.get(sms)).tags == ["first"]
    mail = (await hub.inbound("hi", sender="a@example.com", channel="email")).conversation.id
    assert (await hub.get(mail)).tags == ["second"]


async def test_time_rule_pending_for_48h_fires_once(hub: Hub) -> None:
    hub.settings.csat = False
    hub.t.csat.enabled = False
    rule = await add_rule(
        hub,
        name="close stale",
        trigger={"type": "time", "status": "pending", "after_minutes": 2880},
        actions=[
            {"type": "private_note", "params": {"text": "No answer in 48 h; resolving."}},
            {"type": "resolve"},
        ],
    )
    cid = (await hub.inbound("hello")).conversation.id
    other = (await hub.inbound("hi", sender="+27820000077")).conversation.id
    await hub.conversations.update(cid, {"status": "pending"}, SYSTEM)
    hub.clock.set(hub.clock.now() + timedelta(hours=47))
    assert await hub.t.rules.run_time_rules() == 0
    hub.clock.set(hub.clock.now() + timedelta(hours=2))
    assert await hub.t.rules.run_time_rules() == 1
    assert (await hub.get(cid)).status == Status.resolved
    assert (await hub.get(other)).status == Status.open
    assert await hub.t.rules.run_time_rules() == 0
    notes = [m.text for m in await hub.conversations.messages(cid) if m.private]
    assert notes == ["No answer in 48 h; resolving."]
    assert len(await hub.t.rules.executions(rule_id=rule.id)) == 1
    assert await hub.t.rules.wheel.pending() == []  # fired timers are gone (no retention growth)


async def test_time_rule_counts_from_the_latest_entry_and_backfills_when_saved(hub: Hub) -> None:
    hub.t.csat.enabled = False
    cid = (await hub.inbound("hello")).conversation.id
    waiting = (await hub.inbound("hi", sender="+27820000078")).conversation.id
    await hub.conversations.update(cid, {"status": "pending"}, SYSTEM)
    await hub.conversations.update(waiting, {"status": "pending"}, SYSTEM)
    start = hub.clock.now()
    # The rule is saved after both tickets became pending: saving files their timers (one scan).
    rule = await add_rule(
        hub,
        name="nudge",
        trigger={"type": "time", "status": "pending", "after_minutes": 60},
        actions=[{"type": "add_tag", "params": {"tag": "nudged"}}],
    )
    assert await hub.t.rules.rule_saved(rule) == 2
    hub.clock.set(start + timedelta(minutes=30))
    await hub.conversations.update(cid, {"status": "open"}, SYSTEM)  # left pending…
    await hub.conversations.update(cid, {"status": "pending"}, SYSTEM)  # …and came back at +30 min
    hub.clock.set(start + timedelta(minutes=62))
    assert await hub.t.rules.run_time_rules() == 1  # only `waiting`: cid's first stay was cut short
    assert "nudged" in (await hub.get(waiting)).tags and "nudged" not in (await hub.get(cid)).tags
    hub.clock.set(start + timedelta(minutes=92))
    assert await hub.t.rules.run_time_rules() == 1  # 60 min after cid's second entry
    assert "nudged" in (await hub.get(cid)).tags
    assert await hub.t.rules.rule_saved(rule) == 2  # saved again: timers re-filed…
    hub.clock.set(start + timedelta(minutes=95))
    assert await hub.t.rules.run_time_rules() == 0  # …but a stay fires a rule once


async def test_business_hours_condition_and_snooze_action(hub: Hub) -> None:
    from datetime import UTC, datetime

    hours = BusinessHours(
        name="office",
        timezone="Africa/Johannesburg",
        week={d: [("08:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")},
    )
    await hub.store["business_hours"].insert_one(hours.to_doc())
    await add_rule(
        hub,
        name="after hours",
        trigger={"type": "ticket.created"},
        conditions=[
            {"field": "in_business_hours", "op": "eq", "value": False, "business_hours_id": hours.id}
        ],
        actions=[
            {"type": "add_tag", "params": {"tag": "after-hours"}},
            {"type": "snooze", "params": {"minutes": 600}},
        ],
    )
    hub.clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))  # Wed 12:00 SAST: open
    day = (await hub.inbound("hello")).conversation.id
    assert (await hub.get(day)).tags == []
    hub.clock.set(datetime(2026, 11, 25, 19, 0, tzinfo=UTC))  # Wed 21:00 SAST: closed
    night = await hub.get((await hub.inbound("hello", sender="+27820000088")).conversation.id)
    assert night.tags == ["after-hours"] and night.status == Status.snoozed
    assert night.snooze_until == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


async def test_failing_action_is_logged_and_others_still_run(hub: Hub) -> None:
    rule = await add_rule(
        hub,
        name="broken canned",
        trigger={"type": "ticket.created"},
        actions=[
            {"type": "canned_reply", "params": {"canned_id": "gone"}},
            {"type": "add_tag", "params": {"tag": "still"}},
        ],
    )
    cid = (await hub.inbound("hello")).conversation.id
    assert (await hub.get(cid)).tags == ["still"]
    [run] = await hub.t.rules.executions(rule_id=rule.id)
    assert [(a["type"], a["ok"]) for a in run["actions"]] == [("canned_reply", False), ("add_tag", True)]
    assert "not found" in run["actions"][0]["error"]


async def test_sla_breach_rule_transfers_to_team(hub: Hub) -> None:
    from hub.ticketing.sla import Escalation, SlaPolicy, Targets
    from hub.ticketing.teams import Member, Team

    escalations = await hub.t.teams.create(
        Team(name="escalations", members=[Member(user_id=await hub.agent("Eve"))])
    )
    policy = SlaPolicy(
        name="p",
        default=True,
        targets={Priority.normal: Targets(first_response=10)},
        escalation=Escalation(raise_priority=False, notify=False),
    )
    await hub.store["sla_policies"].insert_one(policy.to_doc())
    await add_rule(
        hub,
        name="breach → escalations",
        trigger={"type": "sla.breached"},
        conditions=[{"field": "sla.metric", "op": "eq", "value": "first_response"}],
        actions=[{"type": "assign", "params": {"team_id": escalations.id}}],
    )
    conversation = (await hub.inbound("hello")).conversation
    hub.clock.set(conversation.created_at + timedelta(minutes=11))
    assert (await hub.t.sla.sweep())["breaches"] == 1
    after = await hub.get(conversation.id)
    assert after.team_id == escalations.id and after.assignee_id == escalations.members[0].user_id


async def add_canned(hub: Hub, text: str) -> CannedResponse:
    canned = CannedResponse(shortcut=f"c{abs(hash(text)) % 10**8}", title="t", text=text)
    await hub.store["canned_responses"].insert_one({**canned.model_dump(exclude={"id"}), "_id": canned.id})
    return canned


async def rule_replies(hub: Hub, cid: str) -> list[str]:
    return [m.text for m in await hub.conversations.messages(cid) if m.meta.get("rule_id")]


async def test_a_rule_reply_is_signed_by_the_assigned_agent_or_else_the_team(hub: Hub) -> None:
    signed = await add_canned(hub, "Refunds take 5-7 days. — {{agent.first_name}} ({{agent.name}})")
    fallback = await add_canned(hub, "Noted. — {{agent.first_name|Berry support}}")
    sipho = await hub.agent("Sipho Ndlovu", online=False)
    await add_rule(
        hub, name="unassigned", trigger={"type": "message.created"},
        conditions=[{"field": "direction", "op": "eq", "value": "in"},
                    {"field": "text", "op": "contains", "value": "refund"}],
        actions=[{"type": "canned_reply", "params": {"canned_id": signed.id}},
                 {"type": "canned_reply", "params": {"canned_id": fallback.id}}],
    )
    cid = (await hub.inbound("how long does a refund take", sender="+27820000101")).conversation.id
    assert (await hub.get(cid)).assignee_id is None
    assert await rule_replies(hub, cid) == [
        "Refunds take 5-7 days. — The Berry Events team (The Berry Events team)",
        "Noted. — Berry support",  # the template's own fallback wins over the signature
    ]
    # Assigned by an earlier action of the same rule: the reply is signed by that agent.
    await add_rule(
        hub, name="vip", trigger={"type": "message.created"},
        conditions=[{"field": "direction", "op": "eq", "value": "in"},
                    {"field": "text", "op": "contains", "value": "vip"}],
        actions=[{"type": "assign", "params": {"assignee_id": sipho}},
                 {"type": "canned_reply", "params": {"canned_id": signed.id}}],
    )
    vip = (await hub.inbound("vip booking question", sender="+27820000102")).conversation.id
    assert await rule_replies(hub, vip) == ["Refunds take 5-7 days. — Sipho (Sipho Ndlovu)"]


async def test_a_rule_reply_answers_the_message_so_the_bot_does_not(hub: Hub) -> None:
    from bot.engine import OutMessage, Reply
    from bot.service import BotService
    from bot.settings import BotSettings

    class Engine:
        name = "fake"

        async def respond(self, turn: Any) -> Reply:
            return Reply(messages=[OutMessage(text="bot answer")], intent="greet", confidence=0.99)

    async def engine() -> Any:
        return Engine()

    settings = BotSettings(_env_file=None, inboxes=["sms"])  # type: ignore[call-arg]
    bot = BotService(hub.store, hub.bus, hub.conversations, settings, engine)
    hub.t.routing.held_by.append(bot)
    hub.bus.subscribe(MessageCreated, bot.on_message, background=True)
    ack = await add_canned(hub, "We have your refund request. — {{agent.first_name}}")
    await add_rule(
        hub, name="refund ack", trigger={"type": "message.created"},
        conditions=[{"field": "direction", "op": "eq", "value": "in"},
                    {"field": "text", "op": "contains", "value": "refund"}],
        actions=[{"type": "canned_reply", "params": {"canned_id": ack.id}}],
    )
    cid = (await hub.inbound("I want a refund", sender="+27820000103")).conversation.id
    await hub.bus.drain()
    out = [(m.author_type, m.text) for m in await hub.conversations.messages(cid)
           if m.direction == Direction.outbound]
    assert out == [(AuthorType.system, "We have your refund request. — The Berry Events team")]
    await hub.inbound("hello again", sender="+27820000103")  # no rule answers this one: the bot does
    await hub.bus.drain()
    out = [m.text for m in await hub.conversations.messages(cid) if m.direction == Direction.outbound]
    assert out[1:] == ["bot answer"]
    # A ticket.created rule's acknowledgement answers the message that opened the ticket.
    welcome = await add_canned(hub, "Welcome! — {{agent.first_name}}")
    await add_rule(hub, name="welcome", trigger={"type": "ticket.created"},
                   actions=[{"type": "canned_reply", "params": {"canned_id": welcome.id}}])
    new = (await hub.inbound("hi there", sender="+27820000104")).conversation.id
    await hub.bus.drain()
    out = [m.text for m in await hub.conversations.messages(new) if m.direction == Direction.outbound]
    assert out == ["Welcome! — The Berry Events team"]


async def test_rules_send_no_canned_reply_to_an_automatic_message(hub: Hub) -> None:
    """An acknowledgement rule answering an out-of-office or a newsletter would start a mail loop."""
    canned = CannedResponse(shortcut="ack", title="Ack", text="Thanks, we got your message.")
    await hub.store["canned_responses"].insert_one({**canned.model_dump(exclude={"id"}), "_id": canned.id})
    for trigger in ("ticket.created", "message.created"):
        await add_rule(hub, name=f"ack on {trigger}", trigger={"type": trigger},
                       actions=[{"type": "canned_reply", "params": {"canned_id": canned.id}}])

    async def acks(cid: str) -> int:
        return sum(m.direction == Direction.outbound for m in await hub.conversations.messages(cid))
    cid = (await hub.inbound("hello", sender="+27820000001")).conversation.id
    answered = await acks(cid)
    assert answered > 0  # a person wrote: the rules answer
    await hub.conversations.update(cid, {"status": "pending"}, SYSTEM)
    await hub.inbound("I am out of the office", sender="+27820000001", meta={"no_auto_reply": True})
    assert await acks(cid) == answered
    assert (await hub.get(cid)).status == Status.pending  # the out-of-office did not wake it either
    opened_by_machine = (await hub.inbound("Newsletter", sender="+27820000002",
                                           meta={"no_auto_reply": True, "bulk": True})).conversation.id
    assert await acks(opened_by_machine) == 0
    ticket = await hub.get(opened_by_machine)
    assert ticket.status == Status.closed and ticket.tags == ["bulk"] and not ticket.sla


@pytest.mark.parametrize("status", ["pending", "snoozed", "resolved"])
async def test_a_customer_reopening_a_ticket_fires_ticket_updated_rules_once(hub: Hub, status: str) -> None:
    """"When the status changes to open, tag it": the customer's reopen fires it once (as an agent's
    reopen does), after routing; the tag's own update does not fire it again; message.created rules
    still run once per message; a message on an open ticket changes no status and fires nothing."""
    reopened = await add_rule(hub, name="reopened", trigger={"type": "ticket.updated"},
                              conditions=[{"field": "changed", "op": "contains", "value": "status"},
                                          {"field": "status", "op": "eq", "value": "open"}],
                              actions=[{"type": "add_tag", "params": {"tag": "reopened"}}])
    wrote = await add_rule(hub, name="wrote", trigger={"type": "message.created"},
                           conditions=[{"field": "direction", "op": "eq", "value": "in"}],
                           actions=[{"type": "set_priority", "params": {"priority": "high"}}])
    hub.settings.csat = False
    cid = (await hub.inbound("my tent?", sender="+27820000011")).conversation.id
    changes: dict[str, Any] = {"status": status}
    if status == "snoozed":
        changes["snooze_until"] = hub.clock.now() + timedelta(days=1)
    await hub.conversations.update(cid, changes, SYSTEM)  # to that status: no match
    assert not await hub.t.rules.executions(rule_id=reopened.id)
    again = await hub.inbound("any news about my tent?", sender="+27820000011")
    assert again.conversation.id == cid and (await hub.get(cid)).status == Status.open
    runs = await hub.t.rules.executions(rule_id=reopened.id)
    assert [(r["trigger"], r["skipped"]) for r in runs] == [("ticket.updated", None)]
    assert (await hub.get(cid)).tags == ["reopened"]
    await hub.inbound("hello?", sender="+27820000011")  # already open: no status change
    assert len(await hub.t.rules.executions(rule_id=reopened.id)) == 1
    assert len(await hub.t.rules.executions(rule_id=wrote.id)) == 3  # one per message, as before
    await hub.conversations.update(cid, {"status": "pending"}, SYSTEM)
    await hub.conversations.update(cid, {"status": "open"}, SYSTEM)  # an agent's reopen: once too
    assert len(await hub.t.rules.executions(rule_id=reopened.id)) == 2


async def test_previous_status_lets_a_rule_fire_only_on_a_reopen_from_resolved(hub: Hub) -> None:
    """"Reopened from resolved → tag it": fact ``previous.status`` is the status before the change,
    for a customer's reopen (from the ingest) as for an agent's; a reopen from pending and a change
    that leaves the status alone do not match."""
    rule = await add_rule(hub, name="back", trigger={"type": "ticket.updated"},
                          conditions=[{"field": "previous.status", "op": "eq", "value": "resolved"},
                                      {"field": "status", "op": "eq", "value": "open"}],
                          actions=[{"type": "add_tag", "params": {"tag": "came-back"}}])
    hub.settings.csat = False
    cid = (await hub.inbound("my tent?", sender="+27820000012")).conversation.id
    await hub.conversations.update(cid, {"status": "pending"}, SYSTEM)
    await hub.inbound("any news?", sender="+27820000012")  # the customer reopens it from pending
    assert (await hub.get(cid)).status == Status.open and "came-back" not in (await hub.get(cid)).tags
    await hub.conversations.update(cid, {"status": "resolved"}, SYSTEM)
    await hub.inbound("one more thing", sender="+27820000012")  # ... and from resolved
    assert "came-back" in (await hub.get(cid)).tags
    await hub.conversations.update(cid, {"status": "resolved"}, SYSTEM)
    await hub.conversations.update(cid, {"status": "open"}, SYSTEM)  # an agent's reopen from resolved
    await hub.conversations.update(cid, {"priority": "high"}, SYSTEM)  # status unchanged: no previous.status
    assert [r["trigger"] for r in await hub.t.rules.executions(rule_id=rule.id)] == ["ticket.updated"] * 2
