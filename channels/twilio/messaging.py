"""Twilio Programmable Messaging (SMS and WhatsApp): one adapter class, one instance per channel.

Inbound: a signed form POST (``MessageSid``, ``From``, ``Body``, ``NumMedia``/``MediaUrlN``…).
Outbound: ``messages.create_async`` through the SDK's async HTTP client; the status callback URL
is passed with each message so delivery moves queued → sent → delivered/read | failed/undelivered.
WhatsApp free text is only allowed within 24 hours of the customer's last message; outside it
the agent must pick an approved template (Content SID).
"""

from __future__ import annotations

import json
import logging
import math
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
from multidict import MultiDict
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from channels.base import DeliveryUpdate, MalformedInbound, RawInbound
from channels.media_links import LIMITS, TWILIO_TTL_S
from hub.errors import InvalidInput
from hub.identity import identity_key
from hub.models import Attachment, Channel, DeliveryStatus, IdentityKind, InboundMessage, utcnow
from hub.outbox import OutboundMessage, PermanentSendError, SendResult, TransientSendError

from .client import describe_code, make_client, translate
from .signature import verify_signature

log = logging.getLogger(__name__)
WHATSAPP_WINDOW = timedelta(hours=24)
MAX_MEDIA = 10  # Twilio sends at most 10 media per message
MAX_BODY = 1600  # Twilio refuses a longer Body (error 21617); it splits shorter SMS into segments itself
STATUS = {
    "accepted": DeliveryStatus.queued, "scheduled": DeliveryStatus.queued, "queued": DeliveryStatus.queued,
    "sending": DeliveryStatus.queued, "sent": DeliveryStatus.sent, "delivered": DeliveryStatus.delivered,
    "read": DeliveryStatus.read, "undelivered": DeliveryStatus.undelivered, "failed": DeliveryStatus.failed,
    "canceled": DeliveryStatus.failed,
}
# mimetypes knows most; these are what phones send that it names oddly or not at all
EXTENSIONS = {"audio/ogg": ".ogg", "audio/amr": ".amr", "application/octet-stream": ""}


def media_filename(index: int, content_type: str) -> str:
    """``media0.jpg``: Twilio gives no file name, the content type gives the extension."""
    kind = content_type.split(";")[0].strip().lower()
    extension = EXTENSIONS.get(kind, mimetypes.guess_extension(kind) or "")
    return f"media{index}{extension}"


def location(form: Mapping[str, str]) -> tuple[str, dict[str, Any]] | None:
    """A WhatsApp location share (``Latitude``, ``Longitude``, optional ``Address``, ``Label``) as
    text with a map link, and ``meta.location``; None when the form carries no usable position."""
    try:
        lat, lon = float(form.get("Latitude") or "nan"), float(form.get("Longitude") or "nan")
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    label, address = (form.get("Label") or "").strip()[:200], (form.get("Address") or "").strip()[:500]
    link = "https://www.openstreetmap.org/?" + urlencode({"mlat": lat, "mlon": lon, "zoom": 17})
    place = " — ".join(p for p in (label, address) if p)
    text = f"Location shared: {place}\n{link}" if place else f"Location shared: {lat}, {lon}\n{link}"
    return text, {"latitude": lat, "longitude": lon, "label": label, "address": address, "map_url": link}


@dataclass
class TwilioMessagingAdapter:
    channel: Channel
    account_sid: str
    auth_token: str
    from_number: str
    status_callback: str = ""
    overrides: str = ""
    api_base: str = ""
    client: Client | None = field(default=None, repr=False)
    # channels.media_links.MediaLinks: files the hub stores
    media_links: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.channel not in (Channel.sms, Channel.whatsapp):
            raise ValueError("TwilioMessagingAdapter handles sms and whatsapp")
        self.client = self.client or make_client(self.account_sid, self.auth_token, self.api_base)

    # --- inbound ---
    def verify(self, raw: RawInbound) -> None:
        urls = [raw.url, f"{raw.url}#{self.overrides}"] if self.overrides else [raw.url]
        verify_signature(self.auth_token, urls, MultiDict(raw.form), raw.headers, raw.body)

    async def parse_inbound(self, raw: RawInbound) -> list[InboundMessage]:
        self.verify(raw)
        return [self.normalize(raw.form)]

    def normalize(self, form: Mapping[str, str]) -> InboundMessage:
        """A verified Twilio form → InboundMessage (``MalformedInbound`` if it is not one)."""
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        sender = form.get("From", "")
        if not sid or not sender:
            raise MalformedInbound(
                "MessageSid and From are required", field="MessageSid" if not sid else "From"
            )
        if form.get("AccountSid") and form["AccountSid"] != self.account_sid:
            raise MalformedInbound("AccountSid is not this account's", field="AccountSid")
        try:
            num_media = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
        except ValueError as exc:
            raise MalformedInbound("NumMedia is not a number", field="NumMedia") from exc
        attachments = [Attachment(url=form[f"MediaUrl{i}"], content_type=form.get(f"MediaContentType{i}", "")
                                  or "application/octet-stream",
                                  filename=media_filename(i, form.get(f"MediaContentType{i}", "")))
                       for i in range(num_media) if form.get(f"MediaUrl{i}")]
        kind = IdentityKind.whatsapp if self.channel == Channel.whatsapp else IdentityKind.phone
        try:
            identity_key(kind, sender)
        except InvalidInput as exc:
            raise MalformedInbound(exc.detail, field="From") from exc
        text = form.get("Body", "")
        meta: dict[str, Any] = {"to": form.get("To", ""), "twilio": {
            k: form[k] for k in ("FromCity", "FromCountry", "WaId") if form.get(k)}}
        if (shared := location(form)) is not None:
            text = f"{text}\n{shared[0]}" if text.strip() else shared[0]
            meta["location"] = shared[1]
        try:
            inbound = InboundMessage(
                channel=self.channel, external_id=sid, sender={"kind": kind, "value": sender},
                sender_name=(form.get("ProfileName") or "")[:200], text=text,
                attachments=attachments, meta=meta)
        except ValueError as exc:
            raise MalformedInbound(f"invalid Twilio message: {exc}".splitlines()[0]) from exc
        return inbound

    def parse_status(self, raw: RawInbound) -> DeliveryUpdate | None:
        self.verify(raw)
        sid, status = raw.form.get("MessageSid", ""), raw.form.get("MessageStatus", "")
        if not sid or not status:
            raise MalformedInbound("MessageSid and MessageStatus are required")
        mapped = STATUS.get(status)
        if mapped is None or status == "received":
            return None
        code = raw.form.get("ErrorCode")
        error = describe_code(code, raw.form.get("ErrorMessage", "")) + f" (code {code})" if code else None
        return DeliveryUpdate(external_id=sid, status=mapped, error=error)

    # --- outbound ---
    def _address(self, number: str) -> str:
        number = number.removeprefix("whatsapp:")
        return f"whatsapp:{number}" if self.channel == Channel.whatsapp else number

    def check_sendable(self, message: OutboundMessage) -> None:
        """Refuse what Twilio would refuse anyway, with the reason the agent needs."""
        consent = message.contact_consent.get(self.channel.value) or {}
        if consent.get("opted_out"):
            raise PermanentSendError(describe_code(21610), code=21610)
        if self.channel == Channel.whatsapp and not message.template:
            last = message.last_inbound_at
            if last is None or utcnow() - last > WHATSAPP_WINDOW:
                raise PermanentSendError(
                    describe_code(63016) + "; pick one of the WhatsApp templates", code=63016
                )
        if not message.template and len(message.text) > MAX_BODY:
            raise PermanentSendError(describe_code(21617) + f" ({len(message.text)} characters)", code=21617)
        if not self.from_number:
            raise PermanentSendError(f"no Twilio {self.channel.value} sender number is configured")
        if message.attachments and (why := self.check_media(message.attachments)):
            raise PermanentSendError(why)

    def check_media(self, files: list[Attachment]) -> str | None:
        """Why Twilio would refuse these files on this channel (None: it takes them)."""
        if any(f.blob_id for f in files) and self.media_links is None:
            return "stored files cannot be linked for Twilio (no media links)"
        return LIMITS[self.channel].problem(files)

    def media_urls(self, files: list[Attachment]) -> list[str]:
        """``MediaUrl``: a signed, expiring hub link for a stored file (Twilio fetches it once,
        without signing in), or the file's own public URL."""
        urls: list[str] = []
        for f in files:
            if f.blob_id and self.media_links is not None:
                urls.append(self.media_links.url(f.blob_id, TWILIO_TTL_S))
            elif f.url and f.url.startswith(("https://", "http://")):
                urls.append(f.url)
        return urls

    async def send(self, message: OutboundMessage, *, status_callback: str | None = None) -> SendResult:
        """``status_callback``: where Twilio reports delivery when not this channel's own URL."""
        self.check_sendable(message)
        kwargs: dict[str, object] = {
            "to": self._address(message.to),
            "from_": self._address(self.from_number),
        }
        if message.template:
            kwargs["content_sid"] = message.template["content_sid"]
            if message.template.get("variables"):
                kwargs["content_variables"] = json.dumps(message.template["variables"])
        else:
            kwargs["body"] = message.text
        media = self.media_urls(message.attachments)
        if media:
            kwargs["media_url"] = media
        if status_callback or self.status_callback:
            kwargs["status_callback"] = status_callback or self.status_callback
        assert self.client is not None
        try:
            created = await self.client.messages.create_async(**kwargs)  # type: ignore[arg-type]
        except TwilioRestException as exc:
            raise translate(exc) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise TransientSendError(f"cannot reach Twilio: {exc!r}") from exc
        status = STATUS.get(created.status or "queued", DeliveryStatus.queued)
        if status in (DeliveryStatus.failed, DeliveryStatus.undelivered):
            raise PermanentSendError(describe_code(created.error_code, created.error_message or "failed"),
                                     code=created.error_code)
        return SendResult(provider_id=str(created.sid), status=status)

    async def close(self) -> None:
        http = getattr(self.client, "http_client", None)
        if http is not None and getattr(http, "session", None) is not None:
            await http.close()
