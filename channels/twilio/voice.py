"""Twilio Voice: TwiML answers and call callbacks → a call log in the caller's conversation.

    POST /webhooks/twilio/voice               incoming call → TwiML: greeting + forward (in hours,
                                              when a number is set) or voicemail <Record> with
                                              transcription (after hours / no answer)
    POST /webhooks/twilio/voice/dial          the forward ended: answered → done, else voicemail
    POST /webhooks/twilio/voice/status        call ended → call-log message (missed call → ticket)
    POST /webhooks/twilio/voice/recording     voicemail recorded → message with the recording
    POST /webhooks/twilio/voice/transcription transcription ready → the voicemail's text
Every callback is signed (X-Twilio-Signature) and carries this account's AccountSid, like the
messaging webhooks. A withheld caller id (Anonymous, Restricted, Twilio's +266696687…, anything that
is not a phone number) gets a contact of its own per call (``external`` identity
``anonymous-call:<CallSid>``, named "Anonymous caller"): calls without a number cannot be told apart.
A callback the inbox refuses is kept in ``dead_letters`` (recording blob included) before the 400.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from multidict import MultiDict
from pymongo.errors import PyMongoError
from twilio.twiml.voice_response import VoiceResponse

from channels.base import ChannelError, MalformedInbound
from channels.configure import greeting_for, hours_for, twilio_credentials
from channels.hours import is_open
from channels.http import channel_problem, first_values, read_form
from hub import keys
from hub.api.problem import problem
from hub.errors import HubError
from hub.events import MessageUpdated
from hub.identity import normalize_phone
from hub.inbox import stored_message
from hub.models import Attachment, Channel, IdentityKind, InboundMessage, Message, is_digits, utcnow
from hub.store import register, upsert

from .signature import verify_signature

log = logging.getLogger(__name__)
register("voice_calls")  # _id = CallSid: caller, times, recording/transcription state
MISSED = {"no-answer", "busy", "failed", "canceled"}
# caller ids Twilio sends for a withheld number (besides words like "Anonymous" that are no number)
WITHHELD_NUMBERS = {"+266696687", "+86282452253", "+7378742833", "+2562533", "+8656696"}


def _twiml(response: VoiceResponse) -> web.Response:
    return web.Response(text=str(response), content_type="text/xml")


async def _verified(request: web.Request) -> tuple[Any, dict[str, str]]:
    services = request.app[keys.EXTENSIONS]["channels"]
    settings = services.settings
    sid, token = twilio_credentials(services, Channel.voice)
    if not sid or services.inbox_docs.get(Channel.voice, {}).get("enabled") is False:
        raise ChannelError("Twilio Voice is not configured")
    raw = await read_form(request, settings.public_url)
    overrides = settings.twilio_webhook_overrides
    urls = [raw.url, f"{raw.url}#{overrides}"] if overrides else [raw.url]
    verify_signature(token, urls, MultiDict(raw.form), raw.headers, raw.body)
    form = first_values(raw.form)
    if not form.get("CallSid"):
        raise MalformedInbound("CallSid is required", field="CallSid")
    if form.get("AccountSid") and form["AccountSid"] != sid:
        raise MalformedInbound("AccountSid is not this account's", field="AccountSid")
    return services, form


def caller_identity(caller: str, call_sid: str) -> tuple[dict[str, str], str]:
    """(sender, sender name) of a call: the caller's phone, or a per-call anonymous identity."""
    try:
        number = normalize_phone(caller)
    except HubError:
        number = ""
    if number and number not in WITHHELD_NUMBERS:
        return {"kind": IdentityKind.phone.value, "value": caller}, ""
    return {"kind": IdentityKind.external.value, "value": f"anonymous-call:{call_sid}"}, "Anonymous caller"


def _voicemail(response: VoiceResponse, base: str, prompt: str) -> VoiceResponse:
    response.say(prompt)
    response.record(max_length=120, play_beep=True, timeout=5, transcribe=True,
                    transcribe_callback=f"{base}/webhooks/twilio/voice/transcription",
                    recording_status_callback=f"{base}/webhooks/twilio/voice/recording",
                    recording_status_callback_event="completed")
    response.say("We did not get a message. Goodbye.")
    return response


async def incoming_call(request: web.Request) -> web.StreamResponse:
    try:
        services, form = await _verified(request)
    except ChannelError as exc:
        return channel_problem(exc)
    settings = services.settings
    store = request.app[keys.STORE]
    try:
        await upsert(store["voice_calls"], {"_id": form["CallSid"]}, {"$setOnInsert": {
            "from": form.get("From", ""), "to": form.get("To", ""), "started_at": utcnow()}})
    except PyMongoError:
        # answer the caller anyway
        log.warning("voice: store down at call start", extra={"call": form["CallSid"]})
    base = settings.base_url
    response = VoiceResponse()
    if is_open(*hours_for(services, Channel.voice), utcnow()):
        response.say(greeting_for(services, Channel.voice, "Thank you for calling Berry Events support."))
        if settings.voice_forward_to:
            dial = response.dial(action=f"{base}/webhooks/twilio/voice/dial", timeout=20)
            dial.number(settings.voice_forward_to)
            return _twiml(response)
        return _twiml(
            _voicemail(response, base, "All our agents are busy. Please leave a message after the tone.")
        )
    return _twiml(
        _voicemail(
            response,
            base,
            "Thank you for calling Berry Events. We are closed right now. "
            "Please leave a message after the tone and we will call you back.",
        )
    )


async def dial_finished(request: web.Request) -> web.StreamResponse:
    try:
        services, form = await _verified(request)
    except ChannelError as exc:
        return channel_problem(exc)
    if form.get("DialCallStatus") == "completed":
        await upsert(
            request.app[keys.STORE]["voice_calls"], {"_id": form["CallSid"]}, {"$set": {"answered": True}}
        )
        return _twiml(VoiceResponse())
    return _twiml(_voicemail(VoiceResponse(), services.settings.base_url,
                             "Sorry, nobody could take your call. Please leave a message after the tone."))


async def _ingest(
    request: web.Request,
    call: dict[str, Any],
    inbound_id: str,
    text: str,
    attachments: list[Attachment] | None = None,
    meta: dict[str, Any] | None = None,
) -> web.StreamResponse:
    sender, name = caller_identity(call.get("from", ""), str(call["_id"]))
    meta = {**(meta or {}), **({"anonymous": True} if name else {})}
    try:
        inbound = InboundMessage(channel=Channel.voice, external_id=inbound_id, sender=sender,
                                 sender_name=name, text=text, attachments=attachments or [],
                                 meta={"call": meta})
        await request.app[keys.INBOX].ingest(inbound)
    except (ValueError, HubError) as exc:
        if isinstance(exc, HubError) and exc.status >= 500:
            raise
        reason = f"cannot record this call: {exc}".splitlines()[0]
        kept = {"call": {k: v for k, v in call.items() if k != "_id"}, "call_sid": call["_id"], "text": text,
                "attachments": [a.model_dump(mode="json") for a in attachments or []], "meta": meta}
        await request.app[keys.EXTENSIONS]["channels"].dead_letter(f"twilio:voice:{inbound_id}", kept, reason)
        return problem(400, "Malformed webhook", reason)
    return web.Response(status=204)


def _log_text(status: str, duration: int, *, missed: bool, voicemail: bool) -> str:
    if missed:
        return f"Missed call ({status})"
    minutes, seconds = divmod(duration, 60)
    return f"Call {status}, {minutes} min {seconds} s" + (" — voicemail left" if voicemail else "")


async def _voicemail_in_call_log(request: web.Request, call_sid: str) -> None:
    """Twilio usually posts the call status before the recording: the call log written then said
    "Missed call" (or no voicemail); now that the voicemail is stored the log says so."""
    store = request.app[keys.STORE]
    doc = await stored_message(store, Channel.voice.value, f"{call_sid}:call")
    if doc is None or (doc.get("meta") or {}).get("call", {}).get("voicemail"):
        return  # no log yet (it will see the recording), or already says voicemail
    info = doc["meta"]["call"]
    text = _log_text(info.get("status", "completed"), int(info.get("duration_s") or 0),
                     missed=False, voicemail=True)
    await store.messages.update_one({"_id": doc["_id"]}, {"$set": {
        "text": text, "meta.call.missed": False, "meta.call.voicemail": True}})
    message = Message.from_doc({**doc, "text": text, "meta": {**doc["meta"], "call": {
        **info, "missed": False, "voicemail": True}}})
    await request.app[keys.BUS].publish(MessageUpdated(message=message, changes={"text": text}))


async def _call(request: web.Request, form: dict[str, str]) -> dict[str, Any]:
    call = await request.app[keys.STORE]["voice_calls"].find_one({"_id": form["CallSid"]})
    return call or {"_id": form["CallSid"], "from": form.get("From", ""), "to": form.get("To", "")}


async def call_status(request: web.Request) -> web.StreamResponse:
    try:
        _, form = await _verified(request)
        call = await _call(request, form)
    except ChannelError as exc:
        return channel_problem(exc)
    status = form.get("CallStatus", "")
    if status not in MISSED | {"completed"}:
        return web.Response(status=204)  # ringing / in-progress: nothing to log yet
    duration = int(form.get("CallDuration") or 0) if is_digits(form.get("CallDuration") or "0") else 0
    recorded = bool(call.get("recording_sid"))
    missed = status in MISSED or (
        not recorded
        and not call.get("answered")
        and form.get("DialCallStatus") != "completed"
        and duration < 10
    )
    text = _log_text(status, duration, missed=missed, voicemail=recorded)
    return await _ingest(request, {**call, "from": call.get("from") or form.get("From", "")},
                         f"{form['CallSid']}:call", text,
                         meta={"call_sid": form["CallSid"], "status": status, "duration_s": duration,
                               "missed": missed, "voicemail": recorded,
                               "direction": form.get("Direction", "inbound")})


async def recording(request: web.Request) -> web.StreamResponse:
    try:
        services, form = await _verified(request)
        call = await _call(request, form)
    except ChannelError as exc:
        return channel_problem(exc)
    url = form.get("RecordingUrl", "")
    if not url or not form.get("RecordingSid"):
        return channel_problem(
            MalformedInbound("RecordingUrl and RecordingSid are required", field="RecordingUrl")
        )
    store = request.app[keys.STORE]
    await upsert(
        store["voice_calls"], {"_id": form["CallSid"]}, {"$set": {"recording_sid": form["RecordingSid"]}}
    )
    sid, token = twilio_credentials(services, Channel.voice)
    attachment = Attachment(
        url=url + ".mp3", content_type="audio/mpeg", filename=f"voicemail-{form['RecordingSid']}.mp3"
    )
    if services.twilio_inbound is not None:
        attachment = await services.twilio_inbound.fetch(attachment, sid, token)
    seconds = form.get("RecordingDuration", "?")
    text = call.get("transcription") or f"Voicemail ({seconds} s) — transcription pending"
    answer = await _ingest(request, call, f"{form['CallSid']}:voicemail", text, [attachment],
                           meta={"call_sid": form["CallSid"], "recording_sid": form["RecordingSid"],
                                 "duration_s": seconds, "voicemail": True})
    if answer.status == 204:
        await _voicemail_in_call_log(request, form["CallSid"])
    return answer


async def transcription(request: web.Request) -> web.StreamResponse:
    try:
        _, form = await _verified(request)
    except ChannelError as exc:
        return channel_problem(exc)
    store = request.app[keys.STORE]
    if form.get("TranscriptionStatus", "completed") != "completed":
        text = "Voicemail (transcription failed: listen to the recording)"
    else:
        text = "Voicemail: " + form.get("TranscriptionText", "").strip()[:5000]
    await upsert(store["voice_calls"], {"_id": form["CallSid"]}, {"$set": {"transcription": text}})
    doc = await stored_message(store, Channel.voice.value, f"{form['CallSid']}:voicemail")
    if doc is not None:  # else the recording callback will use it when it lands
        await store.messages.update_one(
            {"_id": doc["_id"]}, {"$set": {"text": text, "meta.call.transcribed": True}}
        )
        message = Message.from_doc({**doc, "text": text})
        await request.app[keys.BUS].publish(MessageUpdated(message=message, changes={"text": text}))
    return web.Response(status=204)


def install(app: web.Application) -> None:
    app.router.add_post("/webhooks/twilio/voice", incoming_call)
    app.router.add_post("/webhooks/twilio/voice/dial", dial_finished)
    app.router.add_post("/webhooks/twilio/voice/status", call_status)
    app.router.add_post("/webhooks/twilio/voice/recording", recording)
    app.router.add_post("/webhooks/twilio/voice/transcription", transcription)
