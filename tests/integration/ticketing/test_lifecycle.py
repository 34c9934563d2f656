"""Lifecycle against the whole app and real FerretDB: transitions, snooze, reopen window, merge,
notes with @mentions, tags, custom fields, audit."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hub import keys
from hub.auth import Principal
from hub.models import Channel, Priority, Role, Status, utcnow
from hub.ticketing.clock import ManualClock

from .conftest import Hub, Kit


async def test_invalid_transition_is_refused_with_the_reason(kit: Kit) -> None:
    agent = await kit.agent(online=False)
    result = await kit.inbound("hello")
    cid = result.conversation.id
    status, _ = await kit.call("PATCH", f"/conversations/{cid}", agent, json={"status": "resolved"})
    assert status == 200
    status, body = await kit.call("PATCH", f"/conversations/{cid}", agent, json={"status": "pending"})
    assert status == 422 and "resolved conversation cannot become pending" in body["detail"]
    assert (await kit.conversation(cid)).status == Status.resolved
    status, body = await kit.call("PATCH", f"/conversations/{cid}", agent, json={"status": "sleeping"})
    assert status == 422


async def test_a_snooze_without_a_wake_up_time_is_refused(kit: Kit) -> None:
    """A ticket snoozed with nothing to wake it would leave the queue until the customer wrote."""
    agent = await kit.agent(online=False)
    cid = (await kit.inbound("snooze me")).conversation.id
    status, body = await kit.call("PATCH", f"/conversations/{cid}", agent, json={"status": "snoozed"})
    assert status == 422 and "wake-up time" in body["detail"] and "/snooze" in body["detail"]
    assert (await kit.conversation(cid)).status == Status.open
    with_time = {"status": Status.snoozed.value, "snooze_until": utcnow() + timedelta(hours=1)}
    principal = Principal(role=Role.agent, user_id=agent["id"])
    assert (await kit.app[keys.CONVERSATIONS].update(cid, with_time, principal)).status == Status.snoozed


async def test_snooze_wakes_by_job_and_a_stale_job_does_nothing(kit: Kit) -> None:
    agent = await kit.agent(online=False)
    cid = (await kit.inbound("please call me next week")).conversation.id
    status, body = await kit.call(
        "POST",
        f"/conversations/{cid}/snooze",
        agent,
        json={"until": (utcnow() - timedelta(minutes=1)).isoformat()},
    )
    assert status == 422 and body["field"] == "until"
    until = utcnow() + timedelta(hours=2)
    status, body = await kit.call(
        "POST", f"/conversations/{cid}/snooze", agent, json={"until": until.isoformat()}
    )
    assert status == 200 and body["status"] == "snoozed"
    job = await kit.app[keys.STORE]["jobs"].find_one({"kind": "ticketing.wake"})
    assert job and job["payload"]["conversation_id"] == cid and job["next_at"] == until
    assert not await kit.t.lifecycle.wake(cid, until)  # not yet
    kit.t.ctx.clock = ManualClock(until + timedelta(seconds=1))
    assert not await kit.t.lifecycle.wake(cid, until - timedelta(hours=1))  # a stale job of an earlier snooze
    assert await kit.t.lifecycle.wake(cid, until)
    conversation = await kit.conversation(cid)
    assert conversation.status == Status.open and conversation.snooze_until is None
    assert not await kit.t.lifecycle.wake(cid, until)  # replayed job: nothing


async def test_the_wake_job_and_the_wheels_backstop_racing_wake_a_ticket_once(kit: Kit) -> None:
    agent = await kit.agent(online=False)
    cid = (await kit.inbound("wake me once")).conversation.id
    until = utcnow() + timedelta(hours=2)
    status, _ = await kit.call("POST", f"/conversations/{cid}/snooze", agent,
                               json={"until": until.isoformat()})
    assert status == 200
    kit.t.ctx.clock = ManualClock(until + timedelta(seconds=1))
    with kit.app[keys.BUS].capture() as events:
        woken = await asyncio.gather(*(kit.t.lifecycle.wake(cid, until) for _ in range(3)))
    assert sorted(woken) == [False, False, True]
    reopened = [e for e in events if e.name == "conversation.updated" and "status" in e.changes]
    assert len(reopened) == 1 and (await kit.conversation(cid)).status == Status.open


async def test_a_snooze_whose_wake_job_is_lost_is_woken_by_the_tick(kit: Kit) -> None:
    """The timer-wheel entry filed with every snooze is the backstop: no scan of snoozed tickets."""
    agent = await kit.agent(online=False)
    cid = (await kit.inbound("call me tomorrow")).conversation.id
    until = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    status, body = await kit.call(
        "POST", f"/conversations/{cid}/snooze", agent, json={"until": until.isoformat()}
    )
    assert status == 200, body
    await kit.app[keys.STORE]["jobs"].delete_many({"kind": "ticketing.wake"})  # the job is lost
    kit.t.ctx.clock = ManualClock(until - timedelta(minutes=5))
    assert (await kit.t.tick())["woken"] == 0
    kit.t.ctx.clock = ManualClock(until + timedelta(minutes=2))
    assert (await kit.t.tick())["woken"] == 1
    assert (await kit.conversation(cid)).status == Status.open
    assert (await kit.t.tick())["woken"] == 0


async def test_customer_reply_reopens_snoozed_and_pending(kit: Kit) -> None:
    agent = await kit.agent(online=False)
    cid = (await kit.inbound("hi")).conversation.id
    await kit.call(
        "POST",
        f"/conversations/{cid}/snooze",
        agent,
        json={"until": (utcnow() + timedelta(days=1)).isoformat()},
    )
    again = await kit.inbound("are you there?")
    assert again.conversation.id == cid
    conversation = await kit.conversation(cid)
    assert conversation.status == Status.open and conversation.snooze_until is None
    await kit.call("PATCH", f"/conversations/{cid}", agent, json={"status": "pending"})
    await kit.inbound("here is the invoice")
    assert (await kit.conversation(cid)).status == Status.open


async def test_reopen_window_for_resolved_tickets(kit: Kit) -> None:
    agent = await kit.agent(online=False)
    kit.t.settings.csat = False
    cid = (await kit.inbound("my booking")).conversation.id
    await kit.call("PATCH", f"/conversations/{cid}", agent, json={"status": "resolved"})
    reopened = await kit.inbound("actually one more thing")
    assert reopened.conversation.id == cid and reopened.conversation.status == Status.open
    await kit.call("PATCH", f"/conversations/{cid}", agent, json={"status": "resolved"})
    # Four days later (window: 72 h) the same customer starts a new ticket.
    await kit.app[keys.STORE].conversations.update_one(
        {"_id": cid}, {"$set": {"resolved_at": utcnow() - timedelta(days=4)}}
    )
    fresh = await kit.inbound("new question")
    assert fresh.conversation.id != cid
    assert (await kit.conversation(cid)).status == Status.resolved


async def test_merge_moves_messages_and_is_done_once(kit: Kit) -> None:
    agent = await kit.agent(online=False)
    first = await kit.inbound("about my booking", channel=kit_channel("sms"))
    second = await kit.inbound("same booking by mail", sender="x@example.com", channel=kit_channel("email"))
    # Same contact for both: attach the e-mail identity to the first contact by merging contacts.
    await kit.app[keys.CONTACTS].merge(second.contact.id, first.contact.id)
    await kit.app[keys.STORE].conversations.update_one(
        {"_id": second.conversation.id}, {"$set": {"contact_id": first.contact.id, "tags": ["mail"]}}
    )
    status, body = await kit.call(
        "POST", f"/conversations/{second.conversation.id}/merge", agent, json={"into": first.conversation.id}
    )
    assert status == 200, body
    assert "mail" in body["tags"]
    source = await kit.conversation(second.conversation.id)
    assert source.status == Status.closed and source.merged_into == first.conversation.id
    texts = [m.text for m in await kit.app[keys.CONVERSATIONS].messages(first.conversation.id)]
    assert "same booking by mail" in texts and any("was merged into this ticket" in t for t in texts)
    status, body = await kit.call(
        "POST", f"/conversations/{second.conversation.id}/merge", agent, json={"into": first.conversation.id}
    )
    assert status == 409
    for reopen in ("open", "resolved"):  # a merged ticket stays closed: its messages live on the target
        status, body = await kit.call(
            "PATCH", f"/conversations/{second.conversation.id}", agent, json={"status": reopen}
        )
        assert status == 409 and f"merged into {first.conversation.id}" in body["detail"], body
    assert (await kit.conversation(second.conversation.id)).status == Status.closed
    status, _ = await kit.call(
        "PATCH", f"/conversations/{second.conversation.id}", agent, json={"tags": ["x"]}
    )
    assert status == 200  # other edits still work
    other = await kit.inbound("someone else", sender="+27829999999")
    status, body = await kit.call(
        "POST", f"/conversations/{other.conversation.id}/merge", agent, json={"into": first.conversation.id}
    )
    assert status == 422 and "same contact" in body["detail"]
    status, _ = await kit.call(
        "POST", f"/conversations/{first.conversation.id}/merge", agent, json={"into": first.conversation.id}
    )
    assert status == 422


def kit_channel(name: str):  # noqa: ANN201 - tiny helper
    from hub.models import Channel

    return Channel(name)


async def test_private_note_mentions_notify_once(kit: Kit) -> None:
    author = await kit.agent(online=False)
    colleague = await kit.agent(online=False, name="Thandi Mokoena")
    handle = colleague["user"]["email"].split("@")[0]
    cid = (await kit.inbound("venue flooded")).conversation.id
    status, note = await kit.call(
        "POST",
        f"/conversations/{cid}/notes",
        author,
        json={"text": f"@{handle} and @thandimokoena can you check? @nobody"},
    )
    assert status == 201 and note["private"] is True
    status, page = await kit.call("GET", "/notifications?unread=1", colleague)
    items = page["items"]
    assert status == 200 and len(items) == 1  # two handles of one person: one notification
    assert items[0]["kind"] == "mention" and items[0]["conversation_id"] == cid
    status, _ = await kit.call("POST", f"/notifications/{items[0]['id']}/read", colleague)
    assert status == 204
    _, page = await kit.call("GET", "/notifications?unread=1", colleague)
    assert page["items"] == []
    status, _ = await kit.call(
        "POST", f"/notifications/{note['id']}/read", author
    )  # not a notification of theirs
    assert status == 404
    # The customer never sees the note.
    customer_view = await kit.app[keys.CONVERSATIONS].messages(cid, include_private=False)
    assert all(not m.private for m in customer_view)


async def test_tags_and_custom_fields(kit: Kit) -> None:
    agent = await kit.agent(online=False)
    cid = (await kit.inbound("catering question")).conversation.id
    status, body = await kit.call(
        "POST",
        f"/conversations/{cid}/tags",
        agent,
        json={"add": ["Catering", "catering", " vip "], "remove": []},
    )
    assert status == 200 and body["tags"] == ["catering", "vip"]
    status, body = await kit.call(
        "POST", f"/conversations/{cid}/tags", agent, json={"add": [], "remove": ["vip"]}
    )
    assert body["tags"] == ["catering"]
    status, body = await kit.call("POST", f"/conversations/{cid}/tags", agent, json={"add": ["<script>"]})
    assert status == 422
    status, body = await kit.call(
        "PATCH",
        f"/conversations/{cid}/custom-fields",
        agent,
        json={"fields": {"product_area": "catering", "guests": 120}},
    )
    assert status == 200 and body["custom_fields"] == {"product_area": "catering", "guests": 120}
    status, body = await kit.call(
        "PATCH", f"/conversations/{cid}/custom-fields", agent, json={"fields": {"guests": None, "Bad Key": 1}}
    )
    assert status == 422 and body["field"] == "Bad Key"
    status, body = await kit.call(
        "PATCH", f"/conversations/{cid}/custom-fields", agent, json={"fields": {"nested": {"a": 1}}}
    )
    assert status == 422
    assert (await kit.conversation(cid)).custom_fields == {"product_area": "catering", "guests": 120}
    status, body = await kit.call(
        "PATCH", f"/conversations/{cid}/custom-fields", agent, json={"fields": {"guests": None}}
    )
    assert body["custom_fields"] == {"product_area": "catering"}
    audit = await kit.app[keys.AUDIT].list("conversation", cid)
    assert any(a["after"] == {"tags": ["catering", "vip"]} for a in audit)
    assert all(a["actor_id"] == agent["id"] for a in audit)


async def test_portal_user_cannot_use_ticket_actions(kit: Kit) -> None:
    customer = await kit.api.user(Role.customer)
    cid = (await kit.inbound("hi")).conversation.id
    status, _ = await kit.call("POST", f"/conversations/{cid}/tags", customer, json={"add": ["x"]})
    assert status == 403


async def test_classifier_raises_priority_with_reason_but_not_over_a_manual_choice(hub: Hub) -> None:
    cid = (await hub.inbound("URGENT the DJ did not show and the party is tonight")).conversation.id
    conversation = await hub.get(cid)
    assert conversation.priority == Priority.urgent and "urgency words" in (
        conversation.priority_reason or ""
    )
    calm = (await hub.inbound("hello", sender="+27820000055")).conversation.id
    await hub.conversations.update(calm, {"priority": "low"}, Principal(role=Role.agent, user_id="agent-1"))
    assert (await hub.get(calm)).priority_reason == "manual: set to low by agent-1"
    await hub.inbound("this is unacceptable, the worst service ever!!!", sender="+27820000055")
    assert (await hub.get(calm)).priority == Priority.low  # the agent decided
    await hub.store.contacts.update_one({"_id": conversation.contact_id}, {"$set": {"vip": True}})
    vip = (await hub.inbound("hi again", channel=Channel.whatsapp)).conversation  # same contact, new ticket
    assert vip.id != cid
    after = await hub.get(vip.id)
    assert after.priority == Priority.high and after.priority_reason == "auto: VIP contact"


async def test_inbound_naming_a_merged_ticket_lands_in_the_ticket_it_was_merged_into(kit: Kit) -> None:
    """``POST /inbound`` with the ``conversation_id`` of a ticket an agent merged (twice, a chain):
    the message goes to the ticket that stayed, where agents look, not to the closed merged one."""
    agent = await kit.agent(online=False)
    admin = await kit.agent(role=Role.admin, online=False)
    first = await kit.inbound("first question")
    tickets = [first.conversation.id]
    store = kit.app[keys.STORE]
    for text in ("second question", "third question"):  # closed, so each message opens a ticket
        await store.conversations.update_one({"_id": tickets[-1]}, {"$set": {"status": "closed"}})
        tickets.append((await kit.inbound(text)).conversation.id)
    for source, target in ((tickets[0], tickets[1]), (tickets[1], tickets[2])):
        status, body = await kit.call("POST", f"/conversations/{source}/merge", agent, json={"into": target})
        assert status == 200, body
    status, body = await kit.call("POST", "/inbound", admin, json={
        "channel": "sms", "external_id": "late-reply", "conversation_id": tickets[0],
        "sender": {"kind": "phone", "value": "+27821234567"}, "text": "any news?"})
    assert status == 201, body
    assert body["conversation"]["id"] == tickets[2]
    stored = await store.messages.find_one({"external_id": "late-reply"}) or {}
    assert stored["conversation_id"] == tickets[2]
