"""Twilio Voice: TwiML answers, voicemail with recording and transcription, missed calls."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp.test_utils import TestClient

from hub import keys

from .conftest import ACCOUNT_SID, post_signed
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
    rec = await post_signed(client, VOICE + "/recording", {"CallSid": sid, "AccountSid": ACCOUNT_SID,
                                                          "RecordingSid": url.rsplit("/", 1)[1], "RecordingUrl": url,
                                                          "RecordingDuration": "14", "RecordingStatus": "completed"})
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
    resp = await post_signed(client, VOICE + "/status", call_form(sid, CallStatus="no-answer", CallDuration="0"))
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
    assert await store["voice_calls"].count_documents({}) == 0 and await store.messages.count_documents({}) == 0
