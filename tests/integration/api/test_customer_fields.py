"""What a portal customer gets through the REST API: what the help center shows them (status,
number, subject, channel, times; public messages' text, attachments, author type), not the staff
fields of their ticket (tags, assignee, team, SLA, bot state, priority reason, message meta)."""

from __future__ import annotations

import re
from typing import Any

from hub import keys
from hub.models import Channel, InboundMessage, Role, new_id
from hub.models.inbound import SenderIdentity

from ...conftest import Api

V1 = "/api/v1"
CONVERSATION_KEYS = {"id", "number", "contact_id", "channel", "status", "subject", "created_at", "updated_at",
                     "last_message_at", "resolved_at"}
MESSAGE_KEYS = {"id", "conversation_id", "contact_id", "direction", "author_type", "text", "attachments",
                "channel", "created_at"}
STAFF_ONLY = ["chargeback-risk", "refund_intent", "Sales VIP team", "priority raised: chargeback",
              "internal-thread", "agent-sla-policy"]


async def _ticket(api: Api, agent: dict[str, Any]) -> tuple[str, str]:
    """A customer's ticket as staff leave it: tagged, assigned, prioritized, with SLA and bot state,
    an intent on the customer's message and an agent reply; and the customer's access token."""
    result = await api.app[keys.INBOX].ingest(InboundMessage(
        channel=Channel.email, external_id=f"<{new_id()}@mail>",
        sender=SenderIdentity(kind="email", value="cust@example.com"),
        sender_name="Cust", subject="Refund please", text="I want my money back"))
    cid = result.conversation.id
    h = agent["headers"]
    resp = await api.client.patch(f"{V1}/conversations/{cid}", headers=h,
                                  json={"tags": ["chargeback-risk"], "assignee_id": agent["user"]["id"]})
    assert resp.status == 200, await resp.text()
    resp = await api.client.post(f"{V1}/conversations/{cid}/messages", headers=h, json={"text": "On it."})
    assert resp.status == 201, await resp.text()
    store = api.app[keys.STORE]
    await store.conversations.update_one({"_id": cid}, {"$set": {
        "sla": {"policy": "agent-sla-policy", "breached": True},
        "bot": {"state": "handoff", "team": "Sales VIP team"},
        "priority_reason": "priority raised: chargeback", "thread_key": "internal-thread",
        "custom_fields": {"risk": "chargeback-risk"}}})
    await store.messages.update_many({"conversation_id": cid},
                                     {"$set": {"meta": {"intent": "refund_intent"}}})
    email = f"portal-{new_id()}@example.com"
    await api.app[keys.USERS].create(email, "correct horse", Role.customer, name="Cust",
                                     contact_id=result.conversation.contact_id)
    login = await api.client.post(f"{V1}/auth/login", json={"email": email, "password": "correct horse"})
    return cid, (await login.json())["access_token"]


async def test_a_customer_gets_only_what_the_help_center_shows(api: Api) -> None:
    agent = await api.user(Role.agent)
    cid, token = await _ticket(api, agent)
    h = {"Authorization": f"Bearer {token}"}

    one = await (await api.client.get(f"{V1}/conversations/{cid}", headers=h)).json()
    assert set(one) <= CONVERSATION_KEYS and {"id", "number", "status", "subject", "channel"} <= set(one), one
    listing = await (await api.client.get(f"{V1}/conversations", headers=h)).json()
    assert [c["id"] for c in listing["items"]] == [cid]
    assert all(set(c) <= CONVERSATION_KEYS for c in listing["items"])
    messages = (await (await api.client.get(f"{V1}/conversations/{cid}/messages", headers=h)).json())["items"]
    assert [m["author_type"] for m in messages] == ["customer", "agent"]
    assert [m["text"] for m in messages] == ["I want my money back", "On it."]
    assert all(set(m) <= MESSAGE_KEYS for m in messages), messages
    single = await (await api.client.get(f"{V1}/messages/{messages[1]['id']}", headers=h)).json()
    assert set(single) <= MESSAGE_KEYS and single["text"] == "On it."

    # every GET route the customer can reach, with their ticket's ids: no staff field anywhere
    ids = {"conversation_id": cid, "message_id": messages[0]["id"]}
    seen = ""
    for router in api.app[keys.ROUTERS]:
        for r in router.routes:
            if r.method != "GET":
                continue
            url = re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), new_id()), router.prefix + r.path)
            resp = await api.client.get(url, headers=h)
            if resp.status == 200 and "json" in resp.content_type:
                seen += await resp.text()
    assert "I want my money back" in seen
    assert [s for s in STAFF_ONLY if s in seen] == []
    assert agent["user"]["id"] not in seen  # assignee and message author


async def test_staff_still_get_every_field(api: Api) -> None:
    agent = await api.user(Role.agent)
    cid, _ = await _ticket(api, agent)
    one = await (await api.client.get(f"{V1}/conversations/{cid}", headers=agent["headers"])).json()
    assert one["tags"] == ["chargeback-risk"] and one["assignee_id"] == agent["user"]["id"]
    assert one["bot"]["team"] == "Sales VIP team" and one["priority_reason"] == "priority raised: chargeback"
    assert one["sla"]["policy"] == "agent-sla-policy" and one["thread_key"] == "internal-thread"
    messages = (await (await api.client.get(f"{V1}/conversations/{cid}/messages",
                                            headers=agent["headers"])).json())["items"]
    assert messages[0]["meta"] == {"intent": "refund_intent"}
    assert messages[1]["author_id"] == agent["user"]["id"]


async def test_a_customer_whose_contact_was_merged_away_gets_the_tickets_of_the_contact_that_stayed(
        api: Api) -> None:
    """The account keeps the contact id it was given; after staff merged that contact into another,
    the REST API follows ``merged_into`` as the help center does: the list holds the moved ticket and
    the survivor's, and each opens (404 on the old code: the stored id owns nothing any more)."""
    agent = await api.user(Role.agent)
    cid, token = await _ticket(api, agent)
    h = {"Authorization": f"Bearer {token}"}
    store = api.app[keys.STORE]
    duplicate = (await store.conversations.find_one({"_id": cid}) or {})["contact_id"]
    other = await api.app[keys.INBOX].ingest(InboundMessage(
        channel=Channel.email, external_id=f"<{new_id()}@mail>",
        sender=SenderIdentity(kind="email", value="cust.work@example.com"), sender_name="Cust", text="Also"))
    await api.app[keys.CONTACTS].merge(duplicate, other.conversation.contact_id)
    listing = await (await api.client.get(f"{V1}/conversations", headers=h)).json()
    assert sorted(c["id"] for c in listing["items"]) == sorted([cid, other.conversation.id])
    for ticket in (cid, other.conversation.id):
        resp = await api.client.get(f"{V1}/conversations/{ticket}", headers=h)
        assert resp.status == 200, await resp.text()
        messages = await api.client.get(f"{V1}/conversations/{ticket}/messages", headers=h)
        assert messages.status == 200, await messages.text()
    staff = await api.user(Role.agent)  # staff are not narrowed to a contact: unchanged
    assert (await api.client.get(f"{V1}/conversations/{cid}", headers=staff["headers"])).status == 200
