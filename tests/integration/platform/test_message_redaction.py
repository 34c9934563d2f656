"""Redacting a message through the real app (``hub/platform/messages.py``): spans and attachments
(PATCH) or all of it (DELETE) leave the message, its attachment bytes, the console's replay log,
webhook delivery bodies and notifications; the audit entry and ``message.redacted`` carry no
content; If-Match works as on every update; bad input changes nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from bson import ObjectId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

from hub import keys
from hub.models import Attachment, Channel, InboundMessage, Role, SenderIdentity
from hub.platform.events import MessageRedacted
from hub.platform.messages import MARKER

from ...conftest import Api
from .conftest import Receiver, run_jobs

CARD = "4111 1111 1111 1111"
ADDRESS = "12 Jacaranda Street, Pretoria"
TEXT = f"Please charge {CARD} and deliver to {ADDRESS}. Thanks!"


async def _message(api: Api, external_id: str = "wa-red-1", text: str = TEXT) -> dict[str, Any]:
    bucket = AsyncGridFSBucket(api.app[keys.STORE].db, bucket_name="blobs")
    scan = str(await bucket.upload_from_stream("id.pdf", b"%PDF id document"))
    photo = str(await bucket.upload_from_stream("card.jpg", b"JPEG card photo"))
    result = await api.app[keys.INBOX].ingest(InboundMessage(
        channel=Channel.whatsapp, external_id=external_id,
        sender=SenderIdentity(kind="whatsapp", value="+27825550123"), sender_name="Thabo", text=text,
        attachments=[Attachment(filename="id.pdf", content_type="application/pdf", size=16, blob_id=scan),
                     Attachment(filename="card.jpg", content_type="image/jpeg", size=15, blob_id=photo)]))
    return {"id": result.message.id, "conversation_id": result.conversation.id, "scan": scan, "photo": photo}


async def _blob_exists(api: Api, blob_id: str) -> bool:
    bucket = AsyncGridFSBucket(api.app[keys.STORE].db, bucket_name="blobs")
    try:
        await (await bucket.open_download_stream(ObjectId(blob_id))).read()
        return True
    except NoFile:
        return False


async def _copies_of(api: Api, needle: str) -> list[str]:
    """Collections (other than the audit log's before/after, checked apart) holding ``needle``."""
    db = api.app[keys.STORE].db
    found = []
    for name in await db.list_collection_names():
        async for doc in db[name].find():
            if needle in json.dumps(doc, default=str):
                found.append(name)
                break
    return found


async def test_span_redaction_reaches_every_copy_and_keeps_the_rest(api: Api, receiver: Receiver) -> None:
    admin = await api.user(Role.admin)
    sup = await api.user(Role.supervisor)
    resp = await api.client.post("/api/v1/webhooks", headers=admin["headers"],
                                 json={"url": receiver.url, "events": ["*"]})
    assert resp.status == 201
    msg = await _message(api)
    await run_jobs(api.app)  # webhook deliveries now hold the text
    await api.app[keys.BUS].drain()
    await api.app[keys.EXTENSIONS]["agent_console"]["forwarder"].drain()
    before = await _copies_of(api, CARD)
    assert {"messages", "console_events", "webhook_deliveries"} <= set(before), before

    url = f"/api/v1/messages/{msg['id']}"
    etag = (await api.client.get(url, headers=sup["headers"])).headers["ETag"]
    bus = api.app[keys.BUS]
    with bus.capture() as events:
        resp = await api.client.patch(url, headers={**sup["headers"], "If-Match": etag}, json={
            "spans": [CARD], "attachments": [msg["photo"]], "reason": "payment_data"})
        assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["text"] == f"Please charge {MARKER} and deliver to {ADDRESS}. Thanks!"
    assert [a["filename"] for a in body["attachments"]] == ["id.pdf"]
    assert body["meta"]["redactions"][0]["reason"] == "payment_data"
    assert resp.headers["ETag"] != etag
    # the same If-Match again (a replay) is stale now: nothing changes
    replay = await api.client.patch(url, headers={**sup["headers"], "If-Match": etag},
                                    json={"spans": [ADDRESS]})
    assert replay.status == 412
    assert (await (await api.client.get(url, headers=sup["headers"])).json())["text"] == body["text"]

    assert not await _blob_exists(api, msg["photo"]) and await _blob_exists(api, msg["scan"])
    await bus.drain()
    assert await _copies_of(api, CARD) == []  # message, replay log, webhook bodies, audit: all clean
    [event] = [e for e in events if isinstance(e, MessageRedacted)]
    assert event.message.id == msg["id"] and CARD not in event.model_dump_json() and not event.whole
    [entry] = await api.app[keys.AUDIT].list("conversation", msg["conversation_id"], limit=1)
    assert entry["action"] == "message.redact" and entry["after"]["spans"] == 1
    assert entry["after"]["attachments"] == 1 and entry["actor_id"] == sup["user"]["id"]
    # the event reaches integrations (webhook), without the removed content
    await run_jobs(api.app)
    sent = [json.loads(r["body"]) for r in receiver.requests]
    redacted = [s for s in sent if s.get("type") == "message.redacted"]
    assert redacted and CARD not in json.dumps(redacted)


async def test_whole_redaction_removes_text_and_every_attachment(api: Api) -> None:
    sup = await api.user(Role.supervisor)
    msg = await _message(api, "wa-red-2")
    resp = await api.client.delete(f"/api/v1/messages/{msg['id']}?reason=abuse", headers=sup["headers"])
    assert resp.status == 204, await resp.text()
    doc = await api.app[keys.STORE].messages.find_one({"_id": msg["id"]})
    assert doc["text"] == MARKER and doc["attachments"] == [] and doc["html"] is None
    assert doc["meta"]["redactions"][0]["whole"] is True
    assert not await _blob_exists(api, msg["scan"]) and not await _blob_exists(api, msg["photo"])
    # the message keeps its place in the thread
    page = await (await api.client.get(f"/api/v1/conversations/{msg['conversation_id']}/messages",
                                       headers=sup["headers"])).json()
    assert [m["text"] for m in page["items"]] == [MARKER]
    # again: still fine (nothing left to remove), the text stays the marker
    assert (await api.client.delete(f"/api/v1/messages/{msg['id']}", headers=sup["headers"])).status == 204


@pytest.mark.parametrize("body,field", [
    ({"spans": ["not in the text"]}, "spans"),
    ({"spans": ["   "]}, "spans"),
    ({"spans": ["x" * 6000]}, "spans"),
    ({"spans": [CARD] * 21}, "spans"),
    ({"spans": []}, "spans"),
    ({"spans": [{"$ne": None}]}, "spans"),
    ({"spans": CARD}, "spans"),
    ({"attachments": ["000000000000000000000000"]}, "attachments"),
    ({"attachments": ["x" * 200]}, "attachments"),
    ({"spans": [CARD], "reason": "because"}, "reason"),
    ({"spans": [CARD], "text": "rewritten"}, "text"),
    ({}, "body"),
])
async def test_bad_redactions_are_refused_and_change_nothing(api: Api, body: dict[str, Any],
                                                             field: str) -> None:
    sup = await api.user(Role.supervisor)
    msg = await _message(api, "wa-red-3")
    resp = await api.client.patch(f"/api/v1/messages/{msg['id']}", headers=sup["headers"], json=body)
    assert resp.status == 422, await resp.text()
    assert (await resp.json())["field"].startswith(field) or field == "body"
    doc = await api.app[keys.STORE].messages.find_one({"_id": msg["id"]})
    assert doc["text"] == TEXT and len(doc["attachments"]) == 2 and "redactions" not in doc.get("meta", {})
    assert await _blob_exists(api, msg["photo"])


async def test_who_may_redact_and_hostile_requests(api: Api) -> None:
    msg = await _message(api, "wa-red-4")
    url = f"/api/v1/messages/{msg['id']}"
    for role in (Role.agent, Role.customer, Role.provider):
        user = await api.user(role)
        assert (await api.client.delete(url, headers=user["headers"])).status == 403, role
        assert (await api.client.patch(url, headers=user["headers"], json={"spans": [CARD]})).status == 403
    admin = await api.user(Role.admin)
    assert (await api.client.delete("/api/v1/messages/nope", headers=admin["headers"])).status == 404
    assert (await api.client.delete(f"{url}?reason=$where", headers=admin["headers"])).status == 400
    assert (await api.client.delete(url, headers={**admin["headers"], "If-Match": '"forged"'})).status == 412
    resp = await api.client.patch(url, headers={**admin["headers"], "Content-Type": "text/plain"},
                                  data=json.dumps({"spans": [CARD]}))
    assert resp.status == 422
    doc = await api.app[keys.STORE].messages.find_one({"_id": msg["id"]})
    assert doc["text"] == TEXT


async def test_concurrent_redactions_never_bring_a_span_back(api: Api) -> None:
    """Two redactions of one message at once: each either wins its version or gets 409, and no
    span that a 200 removed is in the final text (a lost update would restore it)."""
    sup = await api.user(Role.supervisor)
    msg = await _message(api, "wa-red-5")
    url = f"/api/v1/messages/{msg['id']}"
    spans = [CARD, ADDRESS, "Thanks!"]
    results = await asyncio.gather(*(api.client.patch(url, headers=sup["headers"], json={"spans": [s]})
                                     for s in spans))
    statuses = [r.status for r in results]
    assert set(statuses) <= {200, 409} and 200 in statuses, statuses
    text = (await api.app[keys.STORE].messages.find_one({"_id": msg["id"]}))["text"]
    for span, status in zip(spans, statuses, strict=True):
        if status == 200:
            assert span not in text, (span, text)
