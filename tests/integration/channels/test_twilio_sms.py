"""Twilio SMS/WhatsApp webhooks and outbound through the real SDK against the stand-in."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient

from hub import keys
from hub.models import Contact, IdentityKind, Role, utcnow

from .conftest import AUTH_TOKEN, PUBLIC, SMS_FROM, TEMPLATE_SID, post_signed, run_jobs, sign, sms_form
from .standin import TwilioStandIn

SMS = "/webhooks/twilio/sms"


async def _count(
    client: TestClient[Any, Any], collection: str = "messages", flt: dict[str, Any] | None = None
) -> int:
    return await client.server.app[keys.STORE][collection].count_documents(flt or {})


async def test_signed_sms_is_ingested_once(client: TestClient[Any, Any]) -> None:
    form = sms_form()
    resp = await post_signed(client, SMS, form)
    assert resp.status == 200, await resp.text()
    assert "<Response/>" in await resp.text() and resp.content_type == "text/xml"
    replay = await post_signed(client, SMS, form)  # Twilio retry / replayed webhook
    assert replay.status == 200
    store = client.server.app[keys.STORE]
    docs = [d async for d in store.messages.find({})]
    assert len(docs) == 1 and docs[0]["external_id"] == form["MessageSid"] and docs[0]["channel"] == "sms"
    assert docs[0]["text"] == form["Body"]
    assert await store.identities.find_one({"_id": "phone:+27821234567"})


async def test_signature_with_connection_override_fragment_passes(client: TestClient[Any, Any]) -> None:
    resp = await post_signed(client, SMS, sms_form(), fragment="rc=5&rp=all")
    assert resp.status == 200, await resp.text()
    assert await _count(client) == 1


async def test_bad_signatures_are_403_and_store_nothing(client: TestClient[Any, Any]) -> None:
    form = sms_form()
    cases = [
        await post_signed(client, SMS, form, signature=""),                               # unsigned
        await post_signed(client, SMS, form, signature=sign(PUBLIC + SMS, form, "x" * 32)),  # wrong token
        await post_signed(client, SMS, form, signed_url="https://evil.test" + SMS),        # another URL
        await post_signed(client, SMS, form, signed_url=PUBLIC + "/webhooks/twilio/whatsapp"),
    ]
    tampered = dict(form, Body="send me the refund")  # replay of a real signature with another body
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(PUBLIC + SMS, form),
    }
    cases.append(await client.post(SMS, data=urlencode(tampered), headers=headers))
    assert [r.status for r in cases] == [403] * 5
    body = await cases[-1].json()
    assert body["status"] == 403 and "does not match" in body["detail"]
    assert await _count(client) == 0 and await _count(client, "inbound_keys") == 0


async def test_malformed_and_oversized_bodies(client: TestClient[Any, Any]) -> None:
    no_sid = {k: v for k, v in sms_form().items() if k != "MessageSid"}
    r1 = await post_signed(client, SMS, no_sid)
    bad_media = sms_form(NumMedia="lots")
    r2 = await post_signed(client, SMS, bad_media)
    bad_from = sms_form(From="not a number")
    r3 = await post_signed(client, SMS, bad_from)
    r4 = await client.post(SMS, data=b'{"MessageSid": "SM1"}', headers={"Content-Type": "application/json",
                                                                         "X-Twilio-Signature": "x"})
    r5 = await client.post(SMS, data=b"Body=%ff%fe&MessageSid=SM1", headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    r6 = await client.post(SMS, data=b"Body=" + b"a" * 70_000, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})

    async def chunks():  # no Content-Length: the limit holds on what is actually sent
        for _ in range(20):
            yield b"a" * 4096

    r7 = await client.post(SMS, data=chunks(), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    statuses = [r.status for r in (r1, r2, r3, r4, r5, r6, r7)]
    assert statuses == [400, 400, 400, 400, 400, 413, 413], statuses
    for too_big in (r6, r7):
        assert too_big.content_type == "application/problem+json"
        assert (await too_big.json())["detail"] == "body larger than 65536 bytes"
    assert (await r1.json())["field"] == "MessageSid"
    assert await _count(client) == 0
    # the three signed-but-unusable ones are kept for an admin; the unsigned ones are not
    admin = await _agent(client, Role.admin)
    letters = (await (await client.get("/api/v1/channels/dead-letters", headers=admin)).json())["items"]
    assert len(letters) == 3 and {d["source"] for d in letters} == {"twilio"}
    assert any(
        "not a possible phone number" in d["error"] or "not a phone number" in d["error"] for d in letters
    )
    assert (await client.get("/api/v1/channels/dead-letters", headers=await _agent(client))).status == 403


async def test_media_is_fetched_with_account_credentials(client: TestClient[Any, Any],
                                                         twilio_standin: TwilioStandIn) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"berry" * 100
    url = twilio_standin.add_media(jpeg, "image/jpeg")
    missing = twilio_standin.url + "/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME404"
    form = sms_form(NumMedia=2, MediaUrl0=url, MediaContentType0="image/jpeg", MediaUrl1=missing,
                    MediaContentType1="image/png", Body="")
    resp = await post_signed(client, SMS, form)
    assert resp.status == 200, await resp.text()
    doc = await client.server.app[keys.STORE].messages.find_one({})
    first, second = doc["attachments"]
    assert first["blob_id"] and first["size"] == len(jpeg) and first["content_type"] == "image/jpeg"
    assert second["blob_id"] is None and "not fetched" in second["filename"]  # kept, with a note
    api_user = await _agent(client)
    blob = await client.get(f"/api/v1/blobs/{first['blob_id']}", headers=api_user)
    assert blob.status == 200 and await blob.read() == jpeg
    assert (await client.get(f"/api/v1/blobs/{first['blob_id']}")).status == 401


async def _agent(client: TestClient[Any, Any], role: Role = Role.agent) -> dict[str, str]:
    from tests.conftest import Api
    return (await Api(client).user(role))["headers"]


async def _inbound_then_reply(
    client: TestClient[Any, Any], text: str, **form: Any
) -> tuple[dict[str, Any], str]:
    path = "/webhooks/twilio/whatsapp" if str(form.get("From", "")).startswith("whatsapp:") else SMS
    resp = await post_signed(client, path, sms_form(**form))
    assert resp.status == 200, await resp.text()
    store = client.server.app[keys.STORE]
    conv = await store.conversations.find_one({})
    headers = await _agent(client)
    reply = await client.post(
        f"/api/v1/conversations/{conv['_id']}/messages", json={"text": text}, headers=headers
    )
    assert reply.status == 201, await reply.text()
    return conv, (await reply.json())["id"]


async def test_reply_goes_out_through_the_sdk_and_status_callbacks_move_it(
        client: TestClient[Any, Any], twilio_standin: TwilioStandIn) -> None:
    conv, message_id = await _inbound_then_reply(client, "Yes, Saturday is free.")
    assert await run_jobs(client) == 1
    store = client.server.app[keys.STORE]
    doc = await store.messages.find_one({"_id": message_id})
    sid = doc["external_id"]
    sent = twilio_standin.messages[sid]
    assert (
        sent["to"] == "+27821234567" and sent["from"] == SMS_FROM and sent["body"] == "Yes, Saturday is free."
    )
    assert sent["status_callback"] == PUBLIC + "/webhooks/twilio/status/sms#rc=5&rp=all"
    assert doc["delivery_status"] == "queued"
    # callbacks find the message by lone _id (provider_ids), not by a scan of messages
    assert (await store["provider_ids"].find_one({"_id": f"sms:{sid}"}))["message_id"] == message_id
    bus = client.server.app[keys.BUS]
    status_path = "/webhooks/twilio/status/sms"
    with bus.capture() as events:
        for status in ("sent", "delivered", "sent"):  # the late "sent" must not hide "delivered"
            r = await post_signed(
                client,
                status_path,
                {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "1" * 32},
                fragment="rc=5&rp=all",
            )
            assert r.status == 204
    assert (await store.messages.find_one({"_id": message_id}))["delivery_status"] == "delivered"
    assert [(e.name, e.message.delivery_status.value) for e in events] == [
        ("message.updated", "sent"), ("message.updated", "delivered")]
    assert await run_jobs(client) == 0  # nothing is sent twice
    forged = await post_signed(client, status_path, {"MessageSid": sid, "MessageStatus": "failed"},
                               signature="forged")
    assert forged.status == 403
    assert (await store.messages.find_one({"_id": message_id}))["delivery_status"] == "delivered"


async def test_carrier_failure_callback_shows_the_reason(client: TestClient[Any, Any]) -> None:
    _, message_id = await _inbound_then_reply(client, "Your booking is confirmed.")
    await run_jobs(client)
    store = client.server.app[keys.STORE]
    sid = (await store.messages.find_one({"_id": message_id}))["external_id"]
    r = await post_signed(
        client,
        "/webhooks/twilio/status/sms",
        {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30007"},
    )
    assert r.status == 204
    doc = await store.messages.find_one({"_id": message_id})
    assert doc["delivery_status"] == "undelivered" and "spam" in doc["error"] and "30007" in doc["error"]
    # a message sent before provider_ids existed is still found (by the old scan)
    await store["provider_ids"].delete_one({"_id": f"sms:{sid}"})
    r = await post_signed(client, "/webhooks/twilio/status/sms",
                          {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"})
    assert r.status == 204 and "unreachable" in (await store.messages.find_one({"_id": message_id}))["error"]


async def test_final_statuses_hold_against_late_callbacks(client: TestClient[Any, Any]) -> None:
    """Twilio's delivered/undelivered/failed/read are final and callbacks may come out of order;
    only WhatsApp's "read" follows "delivered"."""
    _, message_id = await _inbound_then_reply(client, "See you Saturday.")
    await run_jobs(client)
    store = client.server.app[keys.STORE]
    sid = (await store.messages.find_one({"_id": message_id}))["external_id"]
    for status, expected in (("delivered", "delivered"), ("undelivered", "delivered"),
                             ("failed", "delivered"), ("read", "read"), ("undelivered", "read")):
        code = {"ErrorCode": "30003"} if status in ("undelivered", "failed") else {}
        r = await post_signed(client, "/webhooks/twilio/status/sms",
                              {"MessageSid": sid, "MessageStatus": status, **code})
        assert r.status == 204
        doc = await store.messages.find_one({"_id": message_id})
        assert doc["delivery_status"] == expected, (status, doc["delivery_status"])
    assert "error" not in doc or not doc["error"]


async def test_a_status_whose_send_never_shows_up_expires_after_a_day(client: TestClient[Any, Any]) -> None:
    """A callback for a sid we never recorded is parked in early_statuses; the hourly retention job drops
    it a day after its last callback, a fresh one stays (it may still meet its send)."""
    store = client.server.app[keys.STORE]
    old, fresh = "SM" + "e" * 32, "SM" + "f" * 32
    for sid in (old, fresh):
        r = await post_signed(client, "/webhooks/twilio/status/sms",
                              {"MessageSid": sid, "MessageStatus": "sent"})
        assert r.status == 204
    await store["early_statuses"].update_one({"_id": f"sms:{old}"},
                                             {"$set": {"at": utcnow() - timedelta(hours=25)}})
    await store["jobs"].delete_many({"kind": {"$ne": "privacy.retention"}})
    assert await store["jobs"].count_documents({"kind": "privacy.retention", "state": "ready"}) == 1
    await run_jobs(client, all_kinds=True)
    assert [d["_id"] async for d in store["early_statuses"].find({})] == [f"sms:{fresh}"]


async def test_twilio_errors_become_clear_failures(client: TestClient[Any, Any]) -> None:
    _, message_id = await _inbound_then_reply(client, "Hello", From="+15005550001")
    bus = client.server.app[keys.BUS]
    with bus.capture() as events:
        await run_jobs(client)
    doc = await client.server.app[keys.STORE].messages.find_one({"_id": message_id})
    assert doc["delivery_status"] == "failed" and doc["error"] == "invalid 'To' phone number (code 21211)"
    assert doc["external_id"] is None
    assert [e.name for e in events] == ["message.updated"] and events[0].changes[
        "delivery_status"
    ] == "failed"


async def test_outage_is_retried_with_backoff_then_sent(client: TestClient[Any, Any],
                                                        twilio_standin: TwilioStandIn) -> None:
    _, message_id = await _inbound_then_reply(client, "We are on it")
    twilio_standin.fail_next(2)
    store = client.server.app[keys.STORE]
    before = utcnow()
    await run_jobs(client, force_due=False)  # attempt 1 fails; attempt 2 is scheduled later
    job = await store["jobs"].find_one({"_id": f"outbox:{message_id}:2"})
    assert job and job["state"] == "ready" and job["next_at"] > before + timedelta(seconds=1)
    doc = await store.messages.find_one({"_id": message_id})
    assert doc["delivery_status"] == "queued" and "503" in doc["meta"]["last_send_error"]
    await run_jobs(client)
    doc = await store.messages.find_one({"_id": message_id})
    assert doc["delivery_status"] == "queued" and doc["external_id"] and doc["meta"]["send_attempts"] == 3


async def test_outage_that_outlasts_the_retries_fails_visibly(client: TestClient[Any, Any],
                                                              twilio_standin: TwilioStandIn) -> None:
    _, message_id = await _inbound_then_reply(client, "Still there?")
    twilio_standin.fail_next(5)
    await run_jobs(client)
    doc = await client.server.app[keys.STORE].messages.find_one({"_id": message_id})
    assert doc["delivery_status"] == "failed" and "after 5 attempts" in doc["error"]


async def test_stop_and_start_update_consent_and_block_sends(client: TestClient[Any, Any],
                                                             twilio_standin: TwilioStandIn) -> None:
    store = client.server.app[keys.STORE]
    await post_signed(client, SMS, sms_form(Body="Hi"))
    assert (await post_signed(client, SMS, sms_form(Body=" stop "))).status == 200
    contact = await store.contacts.find_one({})
    assert contact["consent"]["sms"]["opted_out"] is True
    conv = await store.conversations.find_one({})
    before = len(twilio_standin.requests)
    reply = await client.post(f"/api/v1/conversations/{conv['_id']}/messages", json={"text": "Any news?"},
                              headers=await _agent(client))
    assert reply.status == 422 and "unsubscribed" in (await reply.json())["detail"]  # refused up front
    await run_jobs(client)
    assert await _count(client, flt={"direction": "out"}) == 0
    assert len(twilio_standin.requests) == before  # refused before calling Twilio
    await post_signed(client, SMS, sms_form(Body="START"))
    assert (await store.contacts.find_one({}))["consent"]["sms"]["opted_out"] is False
    keywords = [d["meta"].get("keyword") async for d in store.messages.find({"direction": "in"})]
    assert sorted(filter(None, keywords)) == ["start", "stop"]


async def test_consent_is_written_before_the_keyword_message_is_published(
        client: TestClient[Any, Any]) -> None:
    """A fast worker reacting to message.created must already see the STOP (and the START)."""
    store = client.server.app[keys.STORE]
    inbound = client.server.app[keys.EXTENSIONS]["channels"].twilio_inbound
    seen: list[Any] = []
    ingest = inbound.inbox.ingest

    async def ingest_seeing_consent(message: Any) -> Any:
        contact = await store.contacts.find_one({})
        seen.append((contact or {}).get("consent", {}).get("sms", {}).get("opted_out"))
        return await ingest(message)

    inbound.inbox = type("SpyInbox", (), {"ingest": staticmethod(ingest_seeing_consent)})()
    for body in ("Hi", "STOP", "START"):
        assert (await post_signed(client, SMS, sms_form(Body=body))).status == 200
    assert seen == [None, True, False], seen
    stop = await store.messages.find_one({"meta.keyword": "stop"})
    assert stop and stop["meta"]["no_auto_reply"] is True  # nobody (bot, rules, CSAT) answers it


async def test_replies_twilio_can_only_refuse_are_422_and_nothing_is_queued(
        client: TestClient[Any, Any], twilio_standin: TwilioStandIn) -> None:
    store = client.server.app[keys.STORE]
    headers = await _agent(client)
    await post_signed(client, SMS, sms_form(Body="Hi"))
    sms = await store.conversations.find_one({"channel": "sms"})
    too_long = await client.post(f"/api/v1/conversations/{sms['_id']}/messages", json={"text": "x" * 1601},
                                 headers=headers)
    assert too_long.status == 422 and "1,600" in (await too_long.json())["detail"]
    fits = await client.post(f"/api/v1/conversations/{sms['_id']}/messages", json={"text": "x" * 1600},
                             headers=headers)
    assert fits.status == 201  # Twilio splits it into segments itself
    # WhatsApp: Twilio does not enforce a STOP there, the hub does
    wa = "/webhooks/twilio/whatsapp"
    await post_signed(client, wa, sms_form(From="whatsapp:+27829990001", Body="Hi"))
    await post_signed(client, wa, sms_form(From="whatsapp:+27829990001", Body="STOP"))
    conv = await store.conversations.find_one({"channel": "whatsapp"})
    refused = await client.post(f"/api/v1/conversations/{conv['_id']}/messages",
                                json={"text": "Still there?"}, headers=headers)
    assert refused.status == 422 and "21610" in (await refused.json())["detail"]
    note = await client.post(f"/api/v1/conversations/{conv['_id']}/messages",
                             json={"text": "x" * 1601, "private": True}, headers=headers)
    assert note.status == 201  # notes are not sent anywhere
    before = len(twilio_standin.requests)
    await run_jobs(client)
    assert len(twilio_standin.requests) == before + 1  # only the 1,600-character SMS
    assert await _count(client, flt={"direction": "out", "private": False}) == 1


async def test_an_opt_out_is_kept_in_the_thread_without_reopening_it(client: TestClient[Any, Any]) -> None:
    store = client.server.app[keys.STORE]
    await post_signed(client, SMS, sms_form(Body="Hi"))
    conv = await store.conversations.find_one({})
    resp = await client.patch(f"/api/v1/conversations/{conv['_id']}", json={"status": "resolved"},
                              headers=await _agent(client))
    assert resp.status == 200, await resp.text()
    assert (await post_signed(client, SMS, sms_form(Body="STOP"))).status == 200
    stop = await store.messages.find_one({"meta.keyword": "stop"})
    assert stop["conversation_id"] == conv["_id"] and await store.conversations.count_documents({}) == 1
    assert (await store.conversations.find_one({"_id": conv["_id"]}))["status"] == "resolved"


async def test_a_keyword_on_an_open_ticket_is_not_the_customer_writing(client: TestClient[Any, Any]) -> None:
    """STOP (``no_auto_reply``) joins the open ticket but moves no SLA clock and runs no rule; a person's
    message does both."""
    store, admin = client.server.app[keys.STORE], await _agent(client, Role.admin)
    resp = await client.post("/api/v1/sla-policies", headers=admin, json={
        "name": "standard", "default": True,
        "targets": {"normal": {"first_response": 30, "next_response": 60, "resolution": 240}}})
    assert resp.status == 201, await resp.text()
    resp = await client.post("/api/v1/automation-rules", headers=admin, json={
        "name": "saw stop", "trigger": {"type": "message.created"},
        "conditions": [{"field": "text", "op": "contains", "value": "STOP"}],
        "actions": [{"type": "add_tag", "params": {"tag": "saw-stop"}}]})
    assert resp.status == 201, await resp.text()
    conv, _ = await _inbound_then_reply(client, "Saturday is free.")
    before = await store.conversations.find_one({"_id": conv["_id"]})
    metrics = before["sla"]["metrics"]
    assert metrics["first_response"]["met_at"] and "next_response" not in metrics
    assert (await post_signed(client, SMS, sms_form(Body="STOP"))).status == 200
    await client.server.app[keys.BUS].drain()
    after = await store.conversations.find_one({"_id": conv["_id"]})
    assert await store.messages.find_one({"conversation_id": conv["_id"], "meta.keyword": "stop"})
    assert after["status"] == "open" and after["sla"]["metrics"] == before["sla"]["metrics"]
    assert "saw-stop" not in after["tags"]
    assert (await post_signed(client, SMS, sms_form(Body="Please STOP the DJ booking"))).status == 200
    await client.server.app[keys.BUS].drain()
    person = await store.conversations.find_one({"_id": conv["_id"]})
    assert person["sla"]["metrics"]["next_response"]["met_at"] is None and "saw-stop" in person["tags"]


async def test_whatsapp_24h_window_and_templates(
    client: TestClient[Any, Any], twilio_standin: TwilioStandIn
) -> None:
    conv, in_window = await _inbound_then_reply(
        client, "Thanks!", From="whatsapp:+27829990000", ProfileName="Thandi"
    )
    await run_jobs(client)
    store = client.server.app[keys.STORE]
    sid = (await store.messages.find_one({"_id": in_window}))["external_id"]
    assert twilio_standin.messages[sid]["to"] == "whatsapp:+27829990000"
    assert twilio_standin.messages[sid]["from"] == "whatsapp:+27600000002"
    # two days later: free text is refused before Twilio; a template goes out
    await store.messages.update_many(
        {"direction": "in"}, {"$set": {"created_at": utcnow() - timedelta(days=2)}}
    )
    headers = await _agent(client)
    late = await client.post(f"/api/v1/conversations/{conv['_id']}/messages", json={"text": "Hello again"},
                             headers=headers)
    detail = (await late.json())["detail"]
    assert late.status == 422 and "24-hour window" in detail and "63016" in detail and "template" in detail
    assert await _count(client, flt={"direction": "out"}) == 1  # the in-window reply only
    templates = await (await client.get("/api/v1/channels/whatsapp/templates", headers=headers)).json()
    assert templates[0]["content_sid"] == TEMPLATE_SID
    resp = await client.post(
        f"/api/v1/conversations/{conv['_id']}/whatsapp-template",
        json={"content_sid": TEMPLATE_SID, "variables": {"1": "Thandi"}},
        headers=headers,
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["text"] == "Hi Thandi, we have an update on your booking."
    bad = await client.post(f"/api/v1/conversations/{conv['_id']}/whatsapp-template",
                            json={"content_sid": "HX" + "b" * 32}, headers=headers)
    assert bad.status == 422
    await run_jobs(client)
    doc = await store.messages.find_one({"_id": (await resp.json())["id"]})
    assert doc["external_id"], doc
    assert twilio_standin.messages[doc["external_id"]]["content_sid"] == TEMPLATE_SID


async def test_channel_listing_hands_out_override_urls_without_secrets(client: TestClient[Any, Any]) -> None:
    admin = await _agent(client, Role.admin)
    resp = await client.get("/api/v1/channels", headers=admin)
    assert resp.status == 200
    text = await resp.text()
    assert AUTH_TOKEN not in text
    sms = next(c for c in await resp.json() if c["channel"] == "sms")
    assert sms["webhooks"]["inbound"] == PUBLIC + "/webhooks/twilio/sms#rc=5&rp=all"
    assert (await client.get("/api/v1/channels", headers=await _agent(client))).status == 403


async def test_json_body_signed_with_body_sha256(client: TestClient[Any, Any]) -> None:
    """Twilio's variant for JSON bodies: ``?bodySHA256=<hex>`` on the URL, the signature over the URL only."""
    import hashlib
    import json

    from twilio.request_validator import RequestValidator

    def signed(
        body: bytes, *, digest: str | None = None, signed_body: bytes | None = None
    ) -> tuple[str, dict[str, str]]:
        path = f"{SMS}?bodySHA256={digest or hashlib.sha256(signed_body or body).hexdigest()}"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            f"{PUBLIC}{SMS}?bodySHA256={hashlib.sha256(signed_body or body).hexdigest()}", {})
        return path, {"Content-Type": "application/json", "X-Twilio-Signature": signature}

    form = sms_form(Body="JSON webhook: is the marquee free?")
    body = json.dumps(form).encode()
    path, headers = signed(body)
    ok = await client.post(path, data=body, headers=headers)
    assert ok.status == 200, await ok.text()
    replay = await client.post(path, data=body, headers=headers)
    assert replay.status == 200
    # tampered body under the original URL and signature: the hash no longer matches
    tampered = json.dumps({**form, "Body": "send me the admin password"}).encode()
    cases = [await client.post(path, data=tampered, headers=headers)]
    # tampered body whose new hash is put in the URL: the signature (over the old URL) fails
    cases.append(await client.post(f"{SMS}?bodySHA256={hashlib.sha256(tampered).hexdigest()}", data=tampered,
                                   headers=headers))
    # a form-signature forged for the JSON body (URL + params, no hash check) is refused too
    forged = {"Content-Type": "application/json", "X-Twilio-Signature": sign(PUBLIC + path, form)}
    cases.append(await client.post(path, data=body, headers=forged))
    assert [r.status for r in cases] == [403, 403, 403]
    # malformed: not JSON, not an object, nested values, a form body on a bodySHA256 URL
    bad = [b"{not json", b"[1, 2]", json.dumps({**form, "Body": {"$gt": ""}}).encode()]
    statuses = []
    for raw in bad:
        p, h = signed(raw)
        statuses.append((await client.post(p, data=raw, headers=h)).status)
    p, h = signed(body)
    statuses.append((await client.post(p, data=urlencode(form), headers={**h, "Content-Type":
                                                                           "application/x-www-form-urlencoded"})).status)
    assert statuses == [400, 400, 400, 400]
    docs = [d async for d in client.server.app[keys.STORE].messages.find({})]
    assert [d["text"] for d in docs] == ["JSON webhook: is the marquee free?"]


async def test_a_stop_sent_while_its_contact_is_merged_away_opts_out_the_survivor(
        client: TestClient[Any, Any]) -> None:
    """The SMS opt-out lives on the contact (``consent.sms``). A STOP from the duplicate's number,
    resolved to the duplicate while a merge folds it into the survivor, must end on the survivor,
    whom the outbox asks before every send: never text someone who said STOP."""
    store, contacts = client.server.app[keys.STORE], client.server.app[keys.CONTACTS]

    async def stop_after(delay: float, number: str) -> int:
        await asyncio.sleep(delay)
        return int((await post_signed(client, SMS, sms_form(From=number, Body="STOP"))).status)

    for run in range(8):  # the STOP lands at another point of the merge each run
        number = f"+2782555{run:04d}"
        survivor = await contacts.create(Contact(name=f"Thandi {run}"),
                                         [(IdentityKind.email, f"t{run}@example.com")])
        duplicate = await contacts.create(Contact(name=f"Sipho {run}"), [(IdentityKind.phone, number)])
        merged, status = await asyncio.gather(contacts.merge(duplicate.id, survivor.id),
                                              stop_after(run * 0.004, number))
        assert merged.id == survivor.id and status == 200
        consent = (await store.contacts.find_one({"_id": survivor.id}) or {}).get("consent", {})
        assert consent.get("sms", {}).get("opted_out") is True, (run, consent)
        assert await store.messages.count_documents({"contact_id": survivor.id, "meta.keyword": "stop"}) == 1


async def test_an_unmerged_contact_keeps_the_stop_its_number_sent_while_or_after_it_was_merged(
        client: TestClient[Any, Any]) -> None:
    """Unmerge restores the duplicate's own fields as they were before the merge; a STOP its number
    sent during the merge or after it (on the survivor then) must not be lost by that: whoever owns
    the number after the unmerge (the duplicate) has it in ``consent.sms``, the outbox's check."""
    store, contacts = client.server.app[keys.STORE], client.server.app[keys.CONTACTS]

    async def stop_after(delay: float, number: str) -> None:
        await asyncio.sleep(delay)
        assert (await post_signed(client, SMS, sms_form(From=number, Body="STOP"))).status == 200

    for run in range(4):  # 0: the STOP after the merge; 1-3: at some point of it
        number = f"+2782556{run:04d}"
        survivor = await contacts.create(Contact(name=f"Lerato {run}"),
                                         [(IdentityKind.email, f"l{run}@example.com")])
        duplicate = await contacts.create(Contact(name=f"Musa {run}"), [(IdentityKind.phone, number)])
        if run == 0:
            await contacts.merge(duplicate.id, survivor.id)
            await stop_after(0, number)
        else:
            await asyncio.gather(contacts.merge(duplicate.id, survivor.id), stop_after(run * 0.005, number))
        await contacts.unmerge(duplicate.id)
        owner = (await store.identities.find_one({"_id": f"phone:{number}"}) or {})["contact_id"]
        if run == 0:
            assert owner == duplicate.id
        consent = (await store.contacts.find_one({"_id": owner}) or {}).get("consent", {})
        assert consent.get("sms", {}).get("opted_out") is True, (run, owner == duplicate.id, consent)
        assert await store["consents"].count_documents({"contact_id": owner, "purpose": "sms"}) == 1
