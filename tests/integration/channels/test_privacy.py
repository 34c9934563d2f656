"""GDPR erasure across every channel: a person who used SMS, WhatsApp, voice, e-mail and web chat
is erased, and queries on every collection (GridFS included) and this node's spool find nothing."""

from __future__ import annotations

import asyncio
import os
import time
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any

from aiohttp.test_utils import TestClient

from channels.webchat import tokens
from hub import keys
from hub.models import Role, new_id

from ..platform.test_privacy import _scan as scan_database
from .conftest import ACCOUNT_SID, post_signed, sms_form
from .standin import TwilioStandIn
from .test_webchat import Visitor

NAME = "Ayanda Qwabe-Erasure"
PHONE = "+27825550177"
EMAIL = "ayanda.erasure@example.org"
VOICEMAIL = b"ID3 voicemail of Ayanda saying her ID number"
SCAN = b"%PDF scan of Ayanda's passport"
UPLOAD = b"photo of Ayanda's invitation"


def _needles(visitor_id: str) -> list[str]:
    return [
        NAME,
        "Ayanda",
        PHONE,
        PHONE.lstrip("+"),
        EMAIL,
        visitor_id,
        "8001015009087",
        "passport",
        "invitation",
        "voicemail of Ayanda",
    ]


async def _scan(client: TestClient[Any, Any], needles: list[str]) -> dict[str, list[str]]:
    """Every document of every collection (the platform test's scan: GridFS chunks decoded as bytes)
    and every file of this node's spool, searched for every needle."""
    found = await scan_database(SimpleNamespace(app=client.server.app), needles)
    spool = client.server.app[keys.EXTENSIONS]["channels"].spool
    for path in spool.directory.glob("*"):
        hits = [n for n in needles if n.lower() in path.read_text("utf-8", "replace").lower()]
        if hits:
            found.setdefault("spool", []).extend(hits)
    return found


async def test_erasing_a_contact_who_used_every_channel_leaves_nothing(
        client: TestClient[Any, Any], twilio_standin: TwilioStandIn) -> None:
    from tests.conftest import Api
    app = client.server.app
    services = app[keys.EXTENSIONS]["channels"]
    admin = (await Api(client).user(Role.admin))["headers"]
    resp = await client.post("/api/v1/contacts", headers=admin, json={"name": NAME})
    cid = (await resp.json())["id"]
    for kind, value in (("phone", PHONE), ("whatsapp", PHONE), ("email", EMAIL)):
        r = await client.post(
            f"/api/v1/contacts/{cid}/identities", headers=admin, json={"kind": kind, "value": value}
        )
        assert r.status == 201, await r.text()
    # SMS with a photo, WhatsApp
    media = twilio_standin.add_media(SCAN, "application/pdf")
    assert (await post_signed(client, "/webhooks/twilio/sms", sms_form(
        From=PHONE, Body="my ID number is 8001015009087", NumMedia=1, MediaUrl0=media,
        MediaContentType0="application/pdf"))).status == 200
    assert (await post_signed(client, "/webhooks/twilio/whatsapp", sms_form(
        From=f"whatsapp:{PHONE}", ProfileName=NAME, Body="Hi, Ayanda here"))).status == 200
    # a call with a voicemail and its transcription
    call = {"CallSid": "CA" + new_id()[:30], "AccountSid": ACCOUNT_SID, "From": PHONE, "To": "+27600000001"}
    assert (await post_signed(client, "/webhooks/twilio/voice", call)).status == 200
    rec = twilio_standin.add_recording(VOICEMAIL)
    assert (
        await post_signed(
            client,
            "/webhooks/twilio/voice/transcription",
            {**call, "TranscriptionText": "This is Ayanda, call me back", "TranscriptionStatus": "completed"},
        )
    ).status == 204
    assert (
        await post_signed(
            client,
            "/webhooks/twilio/voice/recording",
            {**call, "RecordingSid": rec.rsplit("/", 1)[1], "RecordingUrl": rec, "RecordingDuration": "9"},
        )
    ).status == 204
    # an e-mail with an attachment (raw message kept in GridFS)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"{NAME} <{EMAIL}>", "support@berry.test", "My passport"
    mail["Message-ID"] = f"<{new_id()}@example.org>"
    mail.set_content("Passport attached.\n-- \nAyanda Qwabe-Erasure, +27 82 555 0177")
    mail.add_attachment(SCAN, maintype="application", subtype="pdf", filename="passport.pdf")
    await services.extra["ingest_mail"](mail.as_bytes())
    # web chat, identity verified by the host site; one upload sent, one left unsent
    visitor = Visitor(client)
    try:
        session = await visitor.connect(
            name=NAME,
            user_id="u-ayanda",
            email=EMAIL,
            user_hash=tokens.identity_hash("host-site-secret", "u-ayanda", EMAIL),
        )
        headers = {
            "X-Visitor-Token": session["token"],
            "Content-Type": "image/png",
            "X-Filename": "invitation.png",
        }
        sent = await (await client.post("/chat/attachments", data=UPLOAD, headers=headers)).json()
        await client.post("/chat/attachments", data=UPLOAD, headers=headers)  # uploaded, never sent
        ack = await visitor.call("message", {"text": "Any news, Ayanda here?", "client_id": "c1",
                                             "attachments": [{"blob_id": sent["blob_id"]}]})
        assert ack["ok"], ack
    finally:
        await visitor.close()
    visitor_id = session["visitor_id"]
    # a webhook stuck in the spool (store was down) and a dead letter naming the visitor
    path = await services.spool.hold(
        "twilio:sms:SMstuck", {"channel": "sms", "form": sms_form(From=PHONE, Body="stuck")}
    )
    # "in its request's hands": the drainer leaves it
    os.utime(path, (time.time() + 3600, time.time() + 3600))
    await app[keys.STORE]["dead_letters"].insert_one({"source": "webchat", "key": f"webchat:{visitor_id}",
                                                      "payload": {"visitor": visitor_id}, "error": "x"})
    store = app[keys.STORE]
    assert await store.messages.count_documents({"contact_id": cid}) >= 5
    assert {d["channel"] async for d in store.messages.find({"contact_id": cid})} == {
        "sms", "whatsapp", "voice", "email", "webchat"}
    needles = _needles(visitor_id)
    before = await _scan(client, needles)
    assert {"voice_calls", "blobs.files", "blobs.chunks", "messages", "spool", "dead_letters"} <= set(before)

    resp = await client.post(f"/api/v1/contacts/{cid}/erase", headers=admin, json={"confirm": cid})
    assert resp.status == 200, await resp.text()
    await app[keys.BUS].drain()
    assert await _scan(client, needles) == {}
    # channel collections queried directly, too
    assert await store["voice_calls"].count_documents({}) == 0
    assert (
        await store.db["blobs.files"].count_documents({}) == 0
        and await store.db["blobs.chunks"].count_documents({}) == 0
    )
    assert services.spool.pending() == []
    assert await store.inbound_keys.count_documents({"_id": {"$regex": visitor_id}}) == 0
    # idempotent: a second erasure finds nothing more and fails nowhere
    resp = await client.post(f"/api/v1/contacts/{cid}/erase", headers=admin, json={"confirm": cid})
    assert resp.status == 200


async def test_another_nodes_spool_drops_what_was_spooled_before_the_erasure(client: TestClient[Any, Any],
                                                                             tmp_path: Any) -> None:
    """Node 2 took webhooks while its store connection was down; node 1 erases the person. Node 2's
    drainer drops theirs (received before the erasure), ingests everybody else's and theirs sent
    after it, and the store keeps no address for this (keyed hashes only)."""
    from datetime import timedelta

    from hub.app import create_app
    from hub.models import utcnow
    from tests.conftest import Api, running
    app, store = client.server.app, client.server.app[keys.STORE]
    admin = (await Api(client).user(Role.admin))["headers"]
    assert (
        await post_signed(client, "/webhooks/twilio/sms", sms_form(From=PHONE, Body="first contact"))
    ).status == 200
    cid = (await store.messages.find_one({"text": "first contact"}))["contact_id"]
    node2_settings = app[keys.SETTINGS].model_copy(update={"var_dir": tmp_path / "node2"})
    async with running(create_app(node2_settings)) as node2:
        services2 = node2.server.app[keys.EXTENSIONS]["channels"]
        assert services2.spool.directory != app[keys.EXTENSIONS]["channels"].spool.directory
        resp = await client.post(f"/api/v1/contacts/{cid}/erase", headers=admin, json={"confirm": cid})
        assert resp.status == 200, await resp.text()
        await app[keys.BUS].drain()
        # node 1's eraser could not see node 2's spool: these wait there (their store call failed)
        before, after = (
            (utcnow() - timedelta(minutes=5)).isoformat(),
            (utcnow() + timedelta(minutes=5)).isoformat(),
        )
        spooled = {
            "theirs, before": {
                "channel": "sms",
                "form": sms_form(From=PHONE, Body="theirs before"),
                "received_at": before,
            },
            "theirs, WhatsApp": {
                "channel": "whatsapp",
                "form": sms_form(From=f"whatsapp:{PHONE}", Body="wa before"),
                "received_at": before,
            },
            "theirs, no time": {"channel": "sms", "form": sms_form(From=PHONE, Body="theirs legacy")},
            "theirs, bad time": {
                "channel": "sms",
                "form": sms_form(From=PHONE, Body="theirs bad"),
                "received_at": "x",
            },
            "theirs, after": {
                "channel": "sms",
                "form": sms_form(From=PHONE, Body="theirs after"),
                "received_at": after,
            },
            "someone else": {
                "channel": "sms",
                "form": sms_form(From="+27825550999", Body="other before"),
                "received_at": before,
            },
            "no sender": {
                "channel": "sms",
                "form": {"MessageSid": "SMnosender", "Body": "x"},
                "received_at": before,
            },
        }
        for payload in spooled.values():
            await services2.spool.hold(
                f"twilio:{payload['channel']}:{payload['form']['MessageSid']}", payload
            )
            services2.spool.release(f"twilio:{payload['channel']}:{payload['form']['MessageSid']}")

        # node 2's own drainer (drain_spooled, every BERRY_SPOOL_RETRY_S) takes them: one drainer, as
        # in production (a second one here could dead-letter the same entry twice)
        deadline = asyncio.get_running_loop().time() + 60
        while services2.spool.pending():
            assert asyncio.get_running_loop().time() < deadline, "node 2's drainer did not empty its spool"
            await asyncio.sleep(0.1)
        texts = {d["text"] async for d in store.messages.find({}, {"text": 1})}
        assert "theirs before" not in texts and "wa before" not in texts and "theirs legacy" not in texts
        assert "theirs bad" not in texts
        assert {"theirs after", "other before"} <= texts  # a new message after the erasure is a new contact
        assert await store["dead_letters"].count_documents({"key": "twilio:sms:SMnosender"}) == 1
        assert services2.spool.pending() == []
        # the record is keyed hashes: no address in it
        docs = [d async for d in store["erased_identities"].find({})]
        assert docs and not any(PHONE.lstrip("+") in str(d) for d in docs)
