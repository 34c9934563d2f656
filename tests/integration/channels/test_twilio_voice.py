"""Twilio Voice: TwiML answers, voicemail with recording and transcription, missed calls."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp.test_utils import TestClient

from hub import keys
from hub.models import Channel, Role

from .conftest import ACCOUNT_SID, PUBLIC, SMS_FROM, post_signed, run_jobs
from .standin import TwilioStandIn

VOICE = "/webhooks/twilio/voice"
CALLER = "+27831112222"


def call_form(sid: str, **extra: Any) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": CALLER, "To": "+27600000001",
            "CallStatus": "ringing", "Direction": "inbound", **{k: str(v) for k, v in extra.items()}}


def new_sid() -> str:
    return "CA" + secrets.token_hex(16)


async def test_answer_in_hours_and_after_hours(client: TestClient[Any, Any]) -> None:
    settings = client.server.app[keys.SETTINGS]
    resp = await post_signed(client, VOICE, call_form(new_sid()))
    twiml = await resp.text()
    assert resp.status == 200 and resp.content_type == "text/xml"
    assert "Thank you for calling Berry Events support." in twiml and '<Record' in twiml
    assert 'transcribe="true"' in twiml and "/webhooks/twilio/voice/recording" in twiml
    settings.voice_business_hours = "Sat 00:00-00:00"  # never open
    closed = await (await post_signed(client, VOICE, call_form(new_sid()))).text()
    assert "We are closed right now" in closed and "<Record" in closed
    settings.voice_business_hours = "Mon-Sun 00:00-24:00"
    settings.voice_forward_to = "+27115550000"
    sid = new_sid()
    forwarded = await (await post_signed(client, VOICE, call_form(sid))).text()
    assert "<Dial" in forwarded and "+27115550000" in forwarded and "<Record" not in forwarded
    no_answer = await post_signed(client, VOICE + "/dial", call_form(sid, DialCallStatus="no-answer"))
    assert "<Record" in await no_answer.text()


async def test_voicemail_opens_a_ticket_with_recording_and_transcription(
        client: TestClient[Any, Any], twilio_standin: TwilioStandIn) -> None:
    sid = new_sid()
    await post_signed(client, VOICE, call_form(sid))
    audio = b"ID3" + b"\x00" * 500
    url = twilio_standin.add_recording(audio)
    rec = await post_signed(
        client,
        VOICE + "/recording",
        {
            "CallSid": sid,
            "AccountSid": ACCOUNT_SID,
            "RecordingSid": url.rsplit("/", 1)[1],
            "RecordingUrl": url,
            "RecordingDuration": "14",
            "RecordingStatus": "completed",
        },
    )
    assert rec.status == 204, await rec.text()
    bus = client.server.app[keys.BUS]
    with bus.capture() as events:
        tr = await post_signed(client, VOICE + "/transcription", {
            "CallSid": sid, "AccountSid": ACCOUNT_SID, "TranscriptionStatus": "completed",
            "TranscriptionText": "Hi, please call me back about the marquee for Saturday."})
    assert tr.status == 204 and [e.name for e in events] == ["message.updated"]
    status = call_form(sid, CallStatus="completed", CallDuration="31")
    assert (await post_signed(client, VOICE + "/status", status)).status == 204
    assert (await post_signed(client, VOICE + "/status", status)).status == 204  # replayed
    store = client.server.app[keys.STORE]
    convs = [c async for c in store.conversations.find({})]
    assert len(convs) == 1 and convs[0]["channel"] == "voice"
    msgs = [m async for m in store.messages.find({}).sort("created_at", 1)]
    voicemail, log = msgs
    assert voicemail["text"] == "Voicemail: Hi, please call me back about the marquee for Saturday."
    assert voicemail["attachments"][0]["blob_id"] and voicemail["attachments"][0]["size"] == len(audio)
    assert log["text"] == "Call completed, 0 min 31 s — voicemail left" and not log["meta"]["call"]["missed"]
    assert await store.identities.find_one({"_id": f"phone:{CALLER}"})


async def test_missed_call_opens_a_ticket(client: TestClient[Any, Any]) -> None:
    sid = new_sid()
    await post_signed(client, VOICE, call_form(sid))
    resp = await post_signed(
        client, VOICE + "/status", call_form(sid, CallStatus="no-answer", CallDuration="0")
    )
    assert resp.status == 204
    store = client.server.app[keys.STORE]
    doc = await store.messages.find_one({})
    assert doc["text"] == "Missed call (no-answer)" and doc["meta"]["call"]["missed"] is True
    assert await store.conversations.count_documents({"channel": "voice"}) == 1
    # a duration that is not ASCII digits ("²": str.isdigit() says yes, int() refuses) counts as 0
    other = new_sid()
    await post_signed(client, VOICE, call_form(other))
    resp = await post_signed(client, VOICE + "/status", call_form(other, CallStatus="busy", CallDuration="²"))
    assert resp.status == 204


async def test_voice_callbacks_refuse_forgeries_and_garbage(client: TestClient[Any, Any]) -> None:
    sid = new_sid()
    forged = await post_signed(client, VOICE, call_form(sid), signature="AAAA")
    no_sid = await post_signed(client, VOICE + "/status", {"CallStatus": "completed"})
    no_url = await post_signed(client, VOICE + "/recording", {"CallSid": sid})
    statuses = (forged.status, no_sid.status, no_url.status)
    assert statuses == (403, 400, 400), statuses
    store = client.server.app[keys.STORE]
    assert (
        await store["voice_calls"].count_documents({}) == 0 and await store.messages.count_documents({}) == 0
    )


async def _record(client: TestClient[Any, Any], standin: TwilioStandIn, sid: str) -> Any:
    url = standin.add_recording(b"ID3" + b"\x00" * 100)
    return await post_signed(client, VOICE + "/recording", {
        "CallSid": sid, "AccountSid": ACCOUNT_SID, "RecordingSid": url.rsplit("/", 1)[1], "RecordingUrl": url,
        "RecordingDuration": "6", "RecordingStatus": "completed"})


async def test_withheld_callers_get_their_voicemail_and_call_log_kept(
        client: TestClient[Any, Any], twilio_standin: TwilioStandIn) -> None:
    store = client.server.app[keys.STORE]
    for caller in ("Anonymous", "Restricted", "+266696687", "+86282452253", "Unknown", ""):
        sid = new_sid()
        await post_signed(client, VOICE, call_form(sid, From=caller))
        rec = await _record(client, twilio_standin, sid)
        status = await post_signed(client, VOICE + "/status",
                                   call_form(sid, From=caller, CallStatus="completed", CallDuration="20"))
        assert (rec.status, status.status) == (204, 204), (caller, await rec.text(), await status.text())
        ids = [f"{sid}:voicemail", f"{sid}:call"]
        msgs = [m async for m in store.messages.find({"external_id": {"$in": ids}})]
        assert len(msgs) == 2 and msgs[0]["contact_id"] == msgs[1]["contact_id"], caller
        contact = await store.contacts.find_one({"_id": msgs[0]["contact_id"]})
        assert contact["name"] == "Anonymous caller", caller
        assert await store.identities.find_one({"_id": f"external:anonymous-call:{sid}"}), caller
        assert all(m["meta"]["call"]["anonymous"] for m in msgs)
    assert await store.contacts.count_documents({}) == 6  # one per call: withheld callers are not one person
    assert await store.identities.count_documents({"kind": "phone"}) == 0


async def test_status_before_recording_still_logs_a_voicemail(
        client: TestClient[Any, Any], twilio_standin: TwilioStandIn) -> None:
    sid = new_sid()
    await post_signed(client, VOICE, call_form(sid))
    status = call_form(sid, CallStatus="completed", CallDuration="8")  # Twilio's usual order: status first
    assert (await post_signed(client, VOICE + "/status", status)).status == 204
    bus = client.server.app[keys.BUS]
    with bus.capture() as events:
        assert (await _record(client, twilio_standin, sid)).status == 204
    store = client.server.app[keys.STORE]
    log = await store.messages.find_one({"external_id": f"{sid}:call"})
    assert log["text"] == "Call completed, 0 min 8 s — voicemail left", log["text"]
    assert log["meta"]["call"]["missed"] is False and log["meta"]["call"]["voicemail"] is True
    assert "message.updated" in [e.name for e in events]


async def test_voice_callbacks_check_the_account(client: TestClient[Any, Any]) -> None:
    sid = new_sid()
    resp = await post_signed(client, VOICE + "/status", {**call_form(sid, CallStatus="no-answer"),
                                                         "AccountSid": "AC" + "0" * 32})
    assert resp.status == 400 and "AccountSid" in await resp.text()
    assert await client.server.app[keys.STORE].messages.count_documents({}) == 0


async def test_a_refused_voicemail_is_kept_in_dead_letters(
        client: TestClient[Any, Any], twilio_standin: TwilioStandIn) -> None:
    sid = "CA" + "f" * 120  # too long to be an identity: the inbox refuses it
    await post_signed(client, VOICE, call_form(sid, From="Anonymous"))
    rec = await _record(client, twilio_standin, sid)
    assert rec.status == 400
    dead_letters = client.server.app[keys.STORE]["dead_letters"]
    kept = await dead_letters.find_one({"key": f"twilio:voice:{sid}:voicemail"})
    assert kept and kept["payload"]["attachments"][0]["blob_id"], kept


async def _agent(client: TestClient[Any, Any]) -> dict[str, str]:
    from tests.conftest import Api
    return (await Api(client).user(Role.agent))["headers"]


async def test_a_reply_on_a_voice_ticket_goes_to_the_caller_by_sms(
        client: TestClient[Any, Any], twilio_standin: TwilioStandIn) -> None:
    sid = new_sid()
    await post_signed(client, VOICE, call_form(sid))
    assert (await _record(client, twilio_standin, sid)).status == 204
    store = client.server.app[keys.STORE]
    conv = await store.conversations.find_one({"channel": "voice"})
    headers = await _agent(client)
    reply = await client.post(f"/api/v1/conversations/{conv['_id']}/messages",
                              json={"text": "We got your voicemail; the marquee is booked."}, headers=headers)
    assert reply.status == 201, await reply.text()
    await run_jobs(client)
    doc = await store.messages.find_one({"_id": (await reply.json())["id"]})
    sent = twilio_standin.messages[doc["external_id"]]
    assert (sent["to"], sent["from"]) == (CALLER, SMS_FROM)
    assert sent["body"].startswith("We got your voicemail")
    assert sent["status_callback"].startswith(PUBLIC + "/webhooks/twilio/status/voice")
    delivered = await post_signed(client, "/webhooks/twilio/status/voice", {
        "MessageSid": doc["external_id"], "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID})
    assert delivered.status == 204
    assert (await store.messages.find_one({"_id": doc["_id"]}))["delivery_status"] == "delivered"
    # a withheld caller has no number to text
    anon = new_sid()
    await post_signed(client, VOICE, call_form(anon, From="Anonymous"))
    await post_signed(client, VOICE + "/status", call_form(anon, From="Anonymous", CallStatus="no-answer"))
    anon_conv = (await store.messages.find_one({"external_id": f"{anon}:call"}))["conversation_id"]
    refused = await client.post(f"/api/v1/conversations/{anon_conv}/messages", json={"text": "Hello?"},
                                headers=headers)
    assert refused.status == 422 and "no phone address" in (await refused.json())["detail"]
    # no SMS inbox: nothing can reach the caller, say so
    services = client.server.app[keys.EXTENSIONS]["channels"]
    services.twilio.pop(Channel.sms)
    services.registry.remove(Channel.sms)
    no_sms = await client.post(f"/api/v1/conversations/{conv['_id']}/messages", json={"text": "Hi"},
                               headers=headers)
    assert no_sms.status == 422 and "no SMS inbox" in (await no_sms.json())["detail"]
