"""Files on SMS/MMS, WhatsApp and web chat: an agent's file goes to Twilio as a MediaUrl that is a
signed, expiring hub link (fetched here the way Twilio would, without signing in), within each
channel's documented limits; a web-chat visitor gets a link too, and uploads with sanitised names."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient

from agent_console.payloads import Reply
from channels.media_links import LIMITS
from hub import keys
from hub.errors import InvalidInput
from hub.models import Attachment, Channel, Role, new_id
from tests.conftest import altered

from .conftest import PUBLIC, post_signed, run_jobs, sms_form
from .standin import TwilioStandIn
from .test_webchat import Visitor, visitor  # noqa: F401 (fixture)

JPEG = b"\xff\xd8\xff\xe0" + b"venue floor plan" * 64
MB = 1024 * 1024
SMS = "/webhooks/twilio/sms"


async def _staff(client: TestClient[Any, Any]) -> tuple[dict[str, str], Any]:
    from tests.conftest import Api

    user = await Api(client).user(Role.agent)
    principal = client.server.app[keys.TOKENS].verify_access(user["headers"]["Authorization"].split()[1])
    return user["headers"], principal


async def _upload(
    client: TestClient[Any, Any], headers: dict[str, str], data: bytes, name: str, kind: str
) -> str:
    resp = await client.post(
        f"/api/v1/console/attachments?filename={name}", data=data, headers={**headers, "Content-Type": kind}
    )
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["blob_id"])


async def _reply(
    client: TestClient[Any, Any],
    principal: Any,
    conversation_id: str,
    blob_ids: list[str],
    text: str = "Here is the floor plan",
) -> dict[str, Any]:
    replies = client.server.app[keys.EXTENSIONS]["agent_console"]["replies"]
    conversation = await client.server.app[keys.CONVERSATIONS].get(conversation_id)
    message, _ = await replies.send(
        principal,
        Reply(conversation_id=conversation_id, client_id=new_id(), text=text, attachments=blob_ids),
        conversation,
    )
    return message


async def _sms_conversation(client: TestClient[Any, Any], path: str = SMS, **form: Any) -> str:
    resp = await post_signed(client, path, sms_form(**form))
    assert resp.status == 200, await resp.text()
    doc = await client.server.app[keys.STORE].conversations.find_one({"channel": path.rsplit("/", 1)[-1]})
    return str(doc["_id"])


async def test_an_sms_reply_carries_the_file_as_a_signed_expiring_media_url(
    client: TestClient[Any, Any], twilio_standin: TwilioStandIn
) -> None:
    headers, principal = await _staff(client)
    conversation_id = await _sms_conversation(client)
    blob_id = await _upload(client, headers, JPEG, "plan.jpg", "image/jpeg")
    message = await _reply(client, principal, conversation_id, [blob_id])
    assert await run_jobs(client) == 1
    [media_url] = twilio_standin.requests[-1]["MediaUrl"]
    assert media_url.startswith(f"{PUBLIC}/media/{blob_id}?") and twilio_standin.requests[-1]["Body"] == [
        "Here is the floor plan"
    ]
    doc = await client.server.app[keys.STORE].messages.find_one({"_id": message["id"]})
    assert doc["delivery_status"] == "queued" and doc["external_id"] in twilio_standin.messages

    # Twilio fetches it without credentials: the signed link is enough, and only for that file
    link = urlsplit(media_url)
    resp = await client.get(f"{link.path}?{link.query}")
    assert resp.status == 200 and await resp.read() == JPEG
    assert (
        resp.headers["Content-Type"] == "image/jpeg" and resp.headers["X-Content-Type-Options"] == "nosniff"
    )
    assert "plan.jpg" in resp.headers["Content-Disposition"]
    other = await _upload(client, headers, b"%PDF secret", "other.pdf", "application/pdf")
    links = client.server.app[keys.EXTENSIONS]["channels"].media_links
    expired = urlsplit(links.url(blob_id, -60))
    for bad in (
        f"{link.path}?{altered(link.query)}",
        f"/media/{other}?{link.query}",
        link.path,
        f"{expired.path}?{expired.query}",
        f"{link.path}?e=99999999999999999&s={'a' * 40}",
        f"{link.path}?e=%C2%B2&s={'a' * 40}",  # "²": str.isdigit() says yes, int() refuses (was a 500)
        f"/media/..%2F..%2Fetc?{link.query}",
    ):
        assert (await client.get(bad)).status == 404, bad


async def test_files_outside_a_channels_limits_are_refused_before_sending(
    client: TestClient[Any, Any], twilio_standin: TwilioStandIn
) -> None:
    headers, principal = await _staff(client)
    sms = await _sms_conversation(client)
    whatsapp = await _sms_conversation(
        client, "/webhooks/twilio/whatsapp", From="whatsapp:+27829990000", MessageSid="SM" + "9" * 32
    )
    jpeg = await _upload(client, headers, JPEG, "a.jpg", "image/jpeg")
    pdf = await _upload(client, headers, b"%PDF-1.4 quote", "quote.pdf", "application/pdf")
    zipped = await _upload(client, headers, b"PK\x03\x04", "all.zip", "application/zip")
    big = await _upload(client, headers, b"\xff\xd8" + b"x" * (3 * MB), "big.jpg", "image/jpeg")
    stored = await client.server.app[keys.STORE]["blobs.files"].find_one({"filename": "big.jpg"})
    assert stored["length"] == 3 * MB + 2  # a large body is read to its end
    big2 = await _upload(client, headers, b"\xff\xd8" + b"y" * (3 * MB), "big2.jpg", "image/jpeg")
    sent_before = len(twilio_standin.requests)
    for conversation_id, files, why in (
        (whatsapp, [jpeg, pdf], "at most 1 file"),  # WhatsApp: one media per message
        (sms, [zipped], "cannot be sent here"),  # not a type Twilio takes for MMS
        (sms, [big, big2], "5 MB per message"),  # MMS: 5 MB in all
    ):
        try:
            await _reply(client, principal, conversation_id, files)
        except InvalidInput as exc:
            assert why in exc.detail and exc.field == "attachments", exc.detail
        else:
            raise AssertionError(f"{files} accepted on {conversation_id}")
    assert await run_jobs(client) == 0 and len(twilio_standin.requests) == sent_before  # nothing went out
    await _reply(client, principal, whatsapp, [pdf], text="")  # one PDF on WhatsApp is fine
    assert await run_jobs(client) == 1
    assert len(twilio_standin.requests[-1]["MediaUrl"]) == 1
    # the adapter checks again at send time (a message stored by another path)
    too_many = [
        Attachment(filename=f"{i}.jpg", content_type="image/jpeg", size=10, blob_id=jpeg) for i in range(11)
    ]
    assert LIMITS[Channel.sms].problem(too_many) == "at most 10 files per message"
    assert (
        LIMITS[Channel.whatsapp].problem(
            [Attachment(filename="p.png", content_type="image/png", size=6 * MB)]
        )
        == "p.png: image files are limited to 5 MB"
    )


async def test_web_chat_files_both_ways(client: TestClient[Any, Any], visitor: Visitor) -> None:  # noqa: F811
    session = await visitor.connect()
    token = session["token"]
    # the visitor uploads: hostile names are cleaned, wrong types and sizes refused
    up = await client.post(
        "/chat/attachments",
        data=b"%PDF-1.4 guest list",
        headers={
            "Content-Type": "application/pdf",
            "X-Visitor-Token": token,
            "X-Filename": "..%2F..%2Fetc%2F%E2%80%AEguests%00%22%3Cb%3E.pdf",
        },
    )
    assert up.status == 201, await up.text()
    blob = await up.json()
    assert blob["filename"] == "guestsb.pdf", blob
    for data, kind, status in (
        (b"<svg onload=alert(1)>", "image/svg+xml", 415),
        (b"MZ", "application/x-msdownload", 415),
        (b"x" * (10 * MB + 1), "image/png", 413),
        (b"", "image/png", 415),
    ):
        resp = await client.post(
            "/chat/attachments", data=data, headers={"Content-Type": kind, "X-Visitor-Token": token}
        )
        assert resp.status == status, (kind, resp.status)
    ack = await visitor.call("message", {"text": "", "client_id": "f1", "attachments": [blob]})
    assert ack["ok"], ack
    store = client.server.app[keys.STORE]
    stored = await store.messages.find_one({"_id": ack["id"]})
    assert stored["attachments"][0]["blob_id"] == blob["blob_id"]

    # an agent replies with a file: the visitor gets a link that opens without signing in
    headers, principal = await _staff(client)
    pdf = await _upload(client, headers, b"%PDF-1.4 quote R12 000", "quote.pdf", "application/pdf")
    await _reply(client, principal, ack["conversation_id"], [pdf], text="Your quote")
    assert await run_jobs(client) == 1
    pushed = await visitor.inbox.get()
    [attachment] = pushed["attachments"]
    assert attachment["filename"] == "quote.pdf" and "blob_id" not in attachment
    link = urlsplit(attachment["url"])
    assert link.path == f"/media/{pdf}"
    resp = await client.get(f"{link.path}?{link.query}")
    assert resp.status == 200 and await resp.read() == b"%PDF-1.4 quote R12 000"
    assert (await client.get(f"/api/v1/blobs/{pdf}")).status == 401  # the staff URL stays closed
    history = await visitor.call("history", {})
    urls = [a["url"] for m in history["messages"] for a in m["attachments"]]
    assert len(urls) == 2 and all(urlsplit(u).path.startswith("/media/") for u in urls)
