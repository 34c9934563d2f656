"""What the bot is still answering is not the agents' queue yet: the queue (REST and the console's
Unassigned view) leaves it out until the bot hands off or an agent takes it over; a held
conversation whose customer went quiet is resolved as deflected, without a survey."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub import keys
from hub.models import (
    Channel,
    Conversation,
    IdentityKind,
    InboundMessage,
    Role,
    SenderIdentity,
    Status,
    bot_deflected,
    bot_engaged,
    new_id,
    utcnow,
)
from hub.ticketing.csat import SEND_JOB

from ..agent_console.conftest import Agent
from .conftest import whatsapp
from .test_bot_service import bot_messages, send

pytestmark = pytest.mark.integration


def email(text: str, sender: str) -> InboundMessage:
    return InboundMessage(channel=Channel.email, external_id=new_id(), subject="Question",
                          sender=SenderIdentity(kind=IdentityKind.email, value=sender), text=text)


async def test_the_queue_leaves_out_what_the_bot_is_answering_until_it_hands_off(bot_client, api) -> None:
    app = bot_client.server.app
    service, routing = app[keys.EXTENSIONS]["bot"], app[keys.EXTENSIONS]["ticketing"].routing
    answered = await send(bot_client, whatsapp("how long do refunds take?", phone="+27821110001"))
    handed = await send(bot_client, whatsapp("I want to talk to a person", phone="+27821110002"))
    mailed = await send(bot_client, email("Where is my invoice?", "held@example.com"))  # no bot on e-mail
    agent = await api.user(Role.agent)
    taken = await send(bot_client, whatsapp("hello", phone="+27821110003"))
    await app[keys.STORE].conversations.update_one({"_id": taken},
                                                   {"$set": {"assignee_id": agent["user"]["id"]}})
    assert await bot_messages(bot_client, answered)  # the bot did answer it

    queued = {c.id for c in await routing.queue()}
    assert {handed, mailed} <= queued and answered not in queued and taken not in queued
    admin = await api.user(Role.admin)
    resp = await bot_client.get("/api/v1/queue", headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    rest = {c["id"] for c in await resp.json()}
    assert {handed, mailed} <= rest and answered not in rest
    resp = await bot_client.get("/api/v1/reports/live", headers=admin["headers"])  # the supervisors' tile
    assert resp.status == 200, await resp.text()
    live = await resp.json()
    assert live["queue"] == 2 and live["open"] == 4  # handed + mailed; all four are open

    # the store filter and the Python check agree on every conversation there is
    docs = [d async for d in app[keys.STORE].conversations.find({})]
    matched = {d["_id"] async for d in app[keys.STORE].conversations.find(service.holding(), {"_id": 1})}
    assert matched == {d["_id"] for d in docs if service.holds(Conversation.from_doc(d))}
    assert answered in matched and not {handed, mailed, taken} & matched

    # the console: out of Unassigned, marked held in All; in Unassigned once the bot hands off
    console = Agent(str(bot_client.make_url("/")).rstrip("/"))
    await console.connect(admin["access_token"])
    try:
        unassigned = await console.call("list", {"view": "unassigned", "limit": 100})
        assert unassigned["ok"] and answered not in {c["id"] for c in unassigned["items"]}
        assert handed in {c["id"] for c in unassigned["items"]}
        listed = await console.call("list", {"view": "all", "limit": 100})
        everything = {c["id"]: c for c in listed["items"]}
        assert everything[answered]["held"] is True and everything[handed]["held"] is False
        await send(bot_client, whatsapp("let me speak to a human agent please", phone="+27821110001"))
        handoff = await console.wait_for(lambda: [e for e in console.events("bot.handoff")
                                                  if e["data"]["conversation_id"] == answered])
        assert handoff[0]["data"]["conversation"]["held"] is False
        unassigned = await console.call("list", {"view": "unassigned", "limit": 100})
        assert answered in {c["id"] for c in unassigned["items"]}
    finally:
        await console.close()
    assert answered in {c.id for c in await routing.queue()}


async def test_an_agent_who_answers_a_conversation_the_bot_holds_takes_it_over(bot_client, api) -> None:
    app = bot_client.server.app
    app[keys.EXTENSIONS]["ticketing"].settings.assign_on_reply = False  # taking over does not need it
    agent = await api.user(Role.agent)
    conv = await send(bot_client, whatsapp("how do I reschedule my booking?", phone="+27821110011"))
    answers = len(await bot_messages(bot_client, conv))
    resp = await bot_client.post(f"/api/v1/conversations/{conv}/messages", json={"text": "Hi, Lindiwe here."},
                                 headers=agent["headers"])
    assert resp.status == 201, await resp.text()
    await app[keys.BUS].drain()
    assert (await app[keys.CONVERSATIONS].get(conv)).assignee_id == agent["user"]["id"]
    await send(bot_client, whatsapp("thanks, can you move it to Sunday?", phone="+27821110011"))
    assert len(await bot_messages(bot_client, conv)) == answers  # the bot has let go


async def test_a_quiet_conversation_the_bot_holds_is_resolved_without_a_survey(bot_client) -> None:
    app = bot_client.server.app
    service, store = app[keys.EXTENSIONS]["bot"], app[keys.STORE]
    service.settings.resolve_idle_h = 24.0  # the tests' environment turns the sweep off
    quiet = await send(bot_client, whatsapp("how long do refunds take?", phone="+27821110021"))
    handed = await send(bot_client, whatsapp("I want to talk to a person", phone="+27821110022"))
    assert await service.resolve_idle(utcnow()) == 0  # nobody has been quiet for a day yet
    # a message delivered late, with a timestamp of two days ago, in a conversation created now
    late = await send(bot_client, whatsapp("is my booking confirmed?", phone="+27821110023"))
    two_days_ago = utcnow() - timedelta(days=2)
    await store.conversations.update_one({"_id": late}, {"$set": {"last_message_at": two_days_ago}})
    assert await service.resolve_idle(utcnow()) == 0

    later = utcnow() + timedelta(hours=25)
    assert await service.resolve_idle(later) == 2  # quiet and late: both created a day before "later"
    assert await service.resolve_idle(later) == 0  # resolved once, by one sweep
    resolved = await app[keys.CONVERSATIONS].get(quiet)
    assert resolved.status == Status.resolved and "bot-resolved" in resolved.tags
    assert (await app[keys.CONVERSATIONS].get(handed)).status == Status.open  # people have that one
    await app[keys.BUS].drain()
    assert await store["jobs"].count_documents({"kind": SEND_JOB, "payload.conversation_id": quiet}) == 0

    # the customer comes back within the reopen window: the same conversation, the bot answers again
    before = len(await bot_messages(bot_client, quiet))
    again = await send(bot_client, whatsapp("and how do I cancel a booking?", phone="+27821110021"))
    assert again == quiet and (await app[keys.CONVERSATIONS].get(quiet)).status == Status.open
    assert len(await bot_messages(bot_client, quiet)) > before


async def test_a_message_that_lands_while_the_idle_sweep_runs_keeps_the_conversation_open(
        bot_client, monkeypatch) -> None:
    app = bot_client.server.app
    service, store = app[keys.EXTENSIONS]["bot"], app[keys.STORE]
    service.settings.resolve_idle_h = 24.0
    conv = await send(bot_client, whatsapp("how long do refunds take?", phone="+27821110071"))
    claim = store.claim

    async def message_lands_first(collection: str, key: str, doc: dict) -> bool:
        if key.startswith("bot-idle:"):  # between the sweep's read and its update
            await store.conversations.update_one({"_id": conv}, {"$set": {"last_message_at": utcnow()}})
        return await claim(collection, key, doc)

    monkeypatch.setattr(store, "claim", message_lands_first)
    assert await service.resolve_idle(utcnow() + timedelta(hours=25)) == 0
    assert (await app[keys.CONVERSATIONS].get(conv)).status == Status.open


async def test_a_survey_still_follows_when_a_person_served_the_customer(bot_client, api) -> None:
    app = bot_client.server.app
    agent = await api.user(Role.agent)
    conv = await send(bot_client, whatsapp("I want to talk to a person", phone="+27821110031"))
    resp = await bot_client.post(f"/api/v1/conversations/{conv}/messages", json={"text": "Hello!"},
                                 headers=agent["headers"])
    assert resp.status == 201, await resp.text()
    resp = await bot_client.patch(f"/api/v1/conversations/{conv}", json={"status": "resolved"},
                                  headers=agent["headers"])
    assert resp.status == 200, await resp.text()
    await app[keys.BUS].drain()
    surveys = {"kind": SEND_JOB, "payload.conversation_id": conv}
    assert await app[keys.STORE]["jobs"].count_documents(surveys) == 1


async def test_sla_clocks_start_when_the_ticket_reaches_people(bot_client, api) -> None:
    app = bot_client.server.app
    admin = await api.user(Role.admin)
    targets = {"normal": {"first_response": 60, "resolution": 480}}
    policy = {"name": "std", "default": True, "targets": targets}
    resp = await bot_client.post("/api/v1/sla-policies", json=policy, headers=admin["headers"])
    assert resp.status == 201, await resp.text()
    conv = await send(bot_client, whatsapp("how long do refunds take?", phone="+27821110041"))
    assert (await app[keys.CONVERSATIONS].get(conv)).sla == {"deferred": "bot"}  # nobody owes a response yet
    await send(bot_client, whatsapp("I want to talk to a person", phone="+27821110041"))
    handed = await app[keys.CONVERSATIONS].get(conv)
    first = handed.sla["metrics"]["first_response"]
    assert first["started_at"] > handed.created_at and first["met_at"] is None
    assert handed.sla["metrics"]["resolution"]["started_at"] == first["started_at"]

    # an agent takes one over by answering it: the clock starts, and that reply meets it
    agent = await api.user(Role.agent)
    other = await send(bot_client, whatsapp("how do I reschedule my booking?", phone="+27821110042"))
    resp = await bot_client.post(f"/api/v1/conversations/{other}/messages", json={"text": "Hi, I can help."},
                                 headers=agent["headers"])
    assert resp.status == 201, await resp.text()
    await app[keys.BUS].drain()
    taken = await app[keys.CONVERSATIONS].get(other)
    assert taken.assignee_id == agent["user"]["id"]
    assert taken.sla["metrics"]["first_response"]["met_at"] is not None

    # … or by assigning it to themselves
    third = await send(bot_client, whatsapp("how do I cancel a booking?", phone="+27821110043"))
    resp = await bot_client.post(f"/api/v1/conversations/{third}/assign",
                                 json={"assignee_id": agent["user"]["id"]}, headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    assigned = await app[keys.CONVERSATIONS].get(third)
    assert assigned.sla["metrics"]["first_response"]["started_at"] > assigned.created_at

    # a conversation no bot holds (e-mail) is timed from its creation, as before
    mailed = await app[keys.CONVERSATIONS].get(await send(bot_client, email("Invoice?", "sla@example.com")))
    assert mailed.sla["metrics"]["first_response"]["started_at"] == mailed.created_at


async def test_a_conversation_an_agent_took_over_stays_with_people_when_it_goes_back_to_the_queue(
        bot_client, api) -> None:
    app = bot_client.server.app
    service, routing = app[keys.EXTENSIONS]["bot"], app[keys.EXTENSIONS]["ticketing"].routing
    admin, agent = await api.user(Role.admin), await api.user(Role.agent)
    conv = await send(bot_client, whatsapp("how do I reschedule my booking?", phone="+27821110051"))
    answers = len(await bot_messages(bot_client, conv))
    assert answers and service.holds(await app[keys.CONVERSATIONS].get(conv))
    for assignee in (agent["user"]["id"], None):  # taken over, then handed back (say the agent left)
        resp = await bot_client.post(f"/api/v1/conversations/{conv}/assign", json={"assignee_id": assignee},
                                     headers=admin["headers"])
        assert resp.status == 200, await resp.text()
    back = await app[keys.CONVERSATIONS].get(conv)
    assert back.assignee_id is None and not service.holds(back)
    assert back.bot["taken"]["by"] == agent["user"]["id"] and back.bot["turns"] == 1
    assert conv in {c.id for c in await routing.queue()}
    await send(bot_client, whatsapp("so can you move it to Sunday?", phone="+27821110051"))
    assert len(await bot_messages(bot_client, conv)) == answers  # people answer it now, not the bot
    after = await app[keys.CONVERSATIONS].get(conv)
    assert bot_engaged(after.bot) and not bot_deflected(after.bot, after.first_response_at)  # the reports'


async def test_switching_the_bot_off_and_on_for_an_inbox_loses_no_conversation(bot_client, api) -> None:
    app = bot_client.server.app
    service, routing = app[keys.EXTENSIONS]["bot"], app[keys.EXTENSIONS]["ticketing"].routing
    admin = await api.user(Role.admin)
    targets = {"normal": {"first_response": 60, "resolution": 480}}
    policy = {"name": "std", "default": True, "targets": targets}
    resp = await bot_client.post("/api/v1/sla-policies", json=policy, headers=admin["headers"])
    assert resp.status == 201, await resp.text()

    async def switch(enabled: bool) -> None:
        resp = await bot_client.put("/api/v1/bot/inboxes/whatsapp", json={"enabled": enabled},
                                    headers=admin["headers"])
        assert resp.status == 200, await resp.text()

    held = await send(bot_client, whatsapp("how long do refunds take?", phone="+27821110061"))
    assert held not in {c.id for c in await routing.queue()}
    await switch(False)  # what the bot held joins the queue; nobody owes an answer until the customer writes
    assert held in {c.id for c in await routing.queue()}
    assert (await app[keys.CONVERSATIONS].get(held)).sla == {"deferred": "bot"}
    answers = len(await bot_messages(bot_client, held))
    await send(bot_client, whatsapp("and when will I get it?", phone="+27821110061"))
    now_people = await app[keys.CONVERSATIONS].get(held)
    assert now_people.sla["metrics"]["first_response"]["started_at"] > now_people.created_at
    assert len(await bot_messages(bot_client, held)) == answers

    meanwhile = await send(bot_client, whatsapp("hello, is anyone there?", phone="+27821110062"))
    await switch(True)  # the conversations people already have stay theirs, in the queue
    assert {held, meanwhile} <= {c.id for c in await routing.queue()}
    assert await bot_messages(bot_client, meanwhile) == []
    fresh = await send(bot_client, whatsapp("how do I cancel a booking?", phone="+27821110063"))
    assert await bot_messages(bot_client, fresh) and fresh not in {c.id for c in await routing.queue()}

    # another node's switch reaches this one at its next refresh
    await app[keys.STORE]["bot_inboxes"].update_one({"_id": "whatsapp"}, {"$set": {"enabled": False}})
    assert "whatsapp" in service.inboxes
    await app[keys.STORE]["bot_inboxes"].insert_one({"_id": "voice", "enabled": True})  # older hubs took any
    await service.load_inboxes()
    assert service.inboxes == {"webchat", "sms"}

    # a hub that ran without the bot: at start-up, what the bot never answered stays with people
    fresh_doc = {"bot": {}, "created_at": utcnow() - timedelta(hours=1)}
    await app[keys.STORE].conversations.update_one({"_id": fresh}, {"$set": fresh_doc})
    service.inboxes.add("whatsapp")
    assert service.holds(await app[keys.CONVERSATIONS].get(fresh))
    await service.let_go_of_unanswered()
    assert not service.holds(await app[keys.CONVERSATIONS].get(fresh))


async def test_the_inbox_switch_names_real_inboxes_and_says_when_the_bot_is_off(bot_client, api) -> None:
    admin = await api.user(Role.admin)
    for name in ("fax", "voice"):  # not a channel; a channel nobody writes text on
        resp = await bot_client.put(f"/api/v1/bot/inboxes/{name}", json={"enabled": True},
                                    headers=admin["headers"])
        assert resp.status == 422 and "whatsapp" in (await resp.json())["detail"], name
    resp = await bot_client.get("/api/v1/bot/inboxes", headers=admin["headers"])
    assert {b["inbox"]: b["enabled"] for b in await resp.json()} == {
        "whatsapp": True, "webchat": True, "sms": True, "email": False}  # BERRY_BOT_INBOXES' default
    # the default test app runs with BERRY_BOT_ENGINE=off: no inbox has the bot, none can be switched
    resp = await api.client.get("/api/v1/bot/inboxes", headers=admin["headers"])
    assert resp.status == 200 and not any(b["enabled"] for b in await resp.json())
    resp = await api.client.put("/api/v1/bot/inboxes/whatsapp", json={"enabled": True},
                                headers=admin["headers"])
    assert resp.status == 409 and "BERRY_BOT_ENGINE=off" in (await resp.json())["detail"]
