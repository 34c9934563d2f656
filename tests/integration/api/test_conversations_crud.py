"""Opening an outbound ticket (POST /conversations) and deleting one (DELETE, admins): the first
message leaves through the outbox, the contact's answer threads into the new ticket, one ticket
per active thread (409, also under concurrency), and a delete removes messages, attachments and
the thread slot, leaving an audit record without personal data."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub import keys
from hub.models import Channel, InboundMessage, Role, SenderIdentity, new_id

from ...conftest import Api

V1 = "/api/v1"


async def _contact(api: Api, headers: dict[str, str], **identities: str) -> str:
    resp = await api.client.post(
        f"{V1}/contacts",
        headers=headers,
        json={"name": "Thandi", "identities": [{"kind": k, "value": v} for k, v in identities.items()]},
    )
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]  # type: ignore[no-any-return]


def _phone() -> str:
    return "+2782" + str(int(new_id()[-8:], 16) % 10_000_000).zfill(7)


@pytest.fixture
async def agent(api: Api) -> dict[str, Any]:
    return await api.user(Role.agent)


async def test_outbound_ticket_with_a_first_message_and_the_answer_threads_into_it(
    api: Api, agent: dict[str, Any]
) -> None:
    phone = _phone()
    contact = await _contact(api, agent["headers"], phone=phone)
    with api.app[keys.BUS].capture() as events:
        resp = await api.client.post(
            f"{V1}/conversations",
            headers=agent["headers"],
            json={
                "contact_id": contact,
                "channel": "sms",
                "subject": "Your booking",
                "text": "Hi, your venue is confirmed",
            },
        )
    assert resp.status == 201, await resp.text()
    ticket = await resp.json()
    assert (
        ticket["assignee_id"] == agent["user"]["id"]
        and ticket["channel"] == "sms"
        and ticket["status"] == "open"
    )
    assert [e.name for e in events][:2] == ["conversation.created", "message.created"]
    store = api.app[keys.STORE]
    sent = await store.messages.find_one({"conversation_id": ticket["id"]})
    assert sent["direction"] == "out" and sent["text"] == "Hi, your venue is confirmed"
    assert (
        await store["jobs"].find_one({"kind": "outbox.send", "payload.message_id": sent["_id"]}) is not None
    )
    answer = await api.app[keys.INBOX].ingest(
        InboundMessage(
            channel=Channel.sms,
            external_id=new_id(),
            text="Thanks!",
            sender=SenderIdentity(kind="phone", value=phone),
        )
    )
    assert answer.conversation.id == ticket["id"]
    audit = await store.audit_log.find_one({"action": "conversation.create", "target_id": ticket["id"]})
    assert audit["after"]["outbound"] is True


async def test_one_ticket_per_active_thread_and_email_gets_its_own(api: Api, agent: dict[str, Any]) -> None:
    contact = await _contact(api, agent["headers"], phone=_phone(), email=f"{new_id()}@example.com")
    first = await api.client.post(
        f"{V1}/conversations", headers=agent["headers"], json={"contact_id": contact, "channel": "sms"}
    )
    assert first.status == 201
    again = await api.client.post(
        f"{V1}/conversations", headers=agent["headers"], json={"contact_id": contact, "channel": "sms"}
    )
    assert again.status == 409 and (await first.json())["id"] in (await again.json())["detail"]
    resolve = await api.client.patch(
        f"{V1}/conversations/{(await first.json())['id']}",
        headers=agent["headers"],
        json={"status": "resolved"},
    )
    assert resolve.status == 200
    after = await api.client.post(
        f"{V1}/conversations", headers=agent["headers"], json={"contact_id": contact, "channel": "sms"}
    )
    assert after.status == 201
    mails = [
        await api.client.post(
            f"{V1}/conversations",
            headers=agent["headers"],
            json={"contact_id": contact, "channel": "email", "subject": f"Quote {i}"},
        )
        for i in range(2)
    ]
    assert [m.status for m in mails] == [201, 201]


async def test_concurrent_opens_of_one_thread_have_one_winner(api: Api, agent: dict[str, Any]) -> None:
    contact = await _contact(api, agent["headers"], whatsapp=_phone())
    responses = await asyncio.gather(
        *(
            api.client.post(
                f"{V1}/conversations",
                headers=agent["headers"],
                json={"contact_id": contact, "channel": "whatsapp"},
            )
            for _ in range(6)
        )
    )
    assert sorted(r.status for r in responses) == [201] + [409] * 5
    assert await api.app[keys.STORE].conversations.count_documents({"contact_id": contact}) == 1


async def test_bad_input_is_refused_and_nothing_stored(api: Api, agent: dict[str, Any]) -> None:
    h = agent["headers"]
    contact = await _contact(api, h, email=f"{new_id()}@example.com")
    cases: list[tuple[Any, int]] = [
        ({"contact_id": "nope", "channel": "email"}, 404),
        ({"contact_id": contact, "channel": "sms"}, 422),  # no phone
        ({"contact_id": contact, "channel": "voice"}, 422),
        ({"contact_id": contact, "channel": "api"}, 422),
        ({"contact_id": contact, "channel": "email", "status": "resolved"}, 422),
        ({"contact_id": contact, "channel": "email", "team_id": "ghost"}, 422),
        ({"contact_id": contact, "channel": "email", "assignee_id": "ghost"}, 422),
        ({"contact_id": contact, "channel": "email", "text": "x" * 50_001}, 422),
        ({"contact_id": contact, "channel": "email", "text": ""}, 422),
        ({"contact_id": {"$ne": None}, "channel": "email"}, 422),
        ({"contact_id": contact, "channel": "email", "owner": "me"}, 422),
        ({"contact_id": contact, "channel": "email", "tags": [["x"]]}, 422),
        ([{"contact_id": contact}], 422),
    ]
    for body, status in cases:
        resp = await api.client.post(f"{V1}/conversations", headers=h, json=body)
        assert resp.status == status, (body, resp.status, await resp.text())
    store = api.app[keys.STORE]
    assert (
        await store.conversations.count_documents({}) == 0 and await store.messages.count_documents({}) == 0
    )
    customer = (await api.user(Role.customer))["headers"]
    assert (
        await api.client.post(
            f"{V1}/conversations", headers=customer, json={"contact_id": contact, "channel": "email"}
        )
    ).status == 403


async def test_a_replayed_create_opens_one_ticket(api: Api, agent: dict[str, Any]) -> None:
    contact = await _contact(api, agent["headers"], email=f"{new_id()}@example.com")
    headers = {**agent["headers"], "Idempotency-Key": new_id()}
    body = {"contact_id": contact, "channel": "email", "subject": "Invoice", "text": "Attached"}
    first = await api.client.post(f"{V1}/conversations", headers=headers, json=body)
    replay = await api.client.post(f"{V1}/conversations", headers=headers, json=body)
    assert first.status == replay.status == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert (await first.json())["id"] == (await replay.json())["id"]
    store = api.app[keys.STORE]
    assert (
        await store.conversations.count_documents({}) == 1 and await store.messages.count_documents({}) == 1
    )


async def test_admins_delete_a_ticket_with_its_messages(api: Api, agent: dict[str, Any]) -> None:
    phone = _phone()
    contact = await _contact(api, agent["headers"], phone=phone)
    ticket = await (
        await api.client.post(
            f"{V1}/conversations",
            headers=agent["headers"],
            json={"contact_id": contact, "channel": "sms", "text": "private words"},
        )
    ).json()
    cid = ticket["id"]
    url = f"{V1}/conversations/{cid}"
    assert (await api.client.delete(url, headers=agent["headers"])).status == 403
    supervisor = (await api.user(Role.supervisor))["headers"]
    assert (await api.client.delete(url, headers=supervisor)).status == 403
    admin = (await api.user(Role.admin))["headers"]
    assert (await api.client.delete(url, headers={**admin, "If-Match": '"stale"'})).status == 412
    with api.app[keys.BUS].capture() as events:
        resp = await api.client.delete(url, headers=admin)
    assert resp.status == 204, await resp.text()
    store = api.app[keys.STORE]
    assert await store.conversations.find_one({"_id": cid}) is None
    assert await store.messages.count_documents({"conversation_id": cid}) == 0
    assert await store["conversation_threads"].find_one({"_id": f"sms|phone:{phone}"}) is None
    assert [e.name for e in events] == ["conversation.deleted"]
    audit = await store.audit_log.find_one({"action": "conversation.delete", "target_id": cid})
    assert audit["after"]["counts"]["messages"] == 1 and "private words" not in str(audit)
    assert (await api.client.get(url, headers=admin)).status == 404
    assert (await api.client.delete(url, headers=admin)).status == 404
    # the contact's next message opens a new ticket (the thread slot went with the old one)
    answer = await api.app[keys.INBOX].ingest(
        InboundMessage(
            channel=Channel.sms,
            external_id=new_id(),
            text="hello?",
            sender=SenderIdentity(kind="phone", value=phone),
        )
    )
    assert answer.conversation.id != cid
