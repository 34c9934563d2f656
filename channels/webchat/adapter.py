"""The web-chat ``ChannelAdapter``: inbound is a visitor's Socket.IO message (already tied to a
verified visitor token), outbound is an emit to the visitor's room. A visitor who is offline and
left an e-mail address gets the reply by e-mail instead (the chat continues by e-mail)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import socketio

from channels.base import DeliveryUpdate, InboundTooLarge, MalformedInbound, RawInbound, SignatureInvalid
from channels.media_links import CHAT_TTL_S, LIMITS
from hub.models import Attachment, Channel, DeliveryStatus, IdentityKind, InboundMessage
from hub.outbox import OutboundMessage, PermanentSendError, Sender, SendResult

from . import tokens

NAMESPACE = "/chat"


def room(visitor_id: str) -> str:
    return f"visitor:{visitor_id}"


@dataclass
class WebchatAdapter:
    sio: socketio.AsyncServer
    secret: str
    max_chars: int = 4000
    email: Sender | None = None  # fallback for offline visitors who left an address
    email_lookup: Any = None  # async (contact_id) -> e-mail address | None
    presence: Any = None  # presence.VisitorPresence: connected on any node (else: this node only)
    media_links: Any = None  # channels.media_links.MediaLinks: the visitor opens files without signing in
    channel: Channel = Channel.webchat

    async def parse_inbound(self, raw: RawInbound) -> list[InboundMessage]:
        """``raw.body`` is the JSON event ``{"text", "client_id"}``; ``X-Visitor-Token`` proves who sent
        it."""
        visitor = tokens.verify(self.secret, raw.headers.get("X-Visitor-Token", ""))
        if visitor is None:
            raise SignatureInvalid("invalid or expired visitor token")
        try:
            data = json.loads(raw.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedInbound("not JSON", field="body") from exc
        if not isinstance(data, dict):
            raise MalformedInbound("expected an object", field="body")
        return [self.normalize(visitor, data)]

    def normalize(
        self, visitor: str, data: dict[str, Any], attachments: list[Any] | None = None
    ) -> InboundMessage:
        text, client_id = data.get("text", ""), data.get("client_id", "")
        if not isinstance(text, str) or not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
            raise MalformedInbound("text and client_id (1-64 chars) are required", field="client_id")
        if len(text) > self.max_chars:
            raise InboundTooLarge(f"message longer than {self.max_chars} characters", field="text")
        if not text.strip() and not attachments:
            raise MalformedInbound("empty message", field="text")
        return InboundMessage(channel=Channel.webchat, external_id=f"{visitor}:{client_id}",
                              sender={"kind": IdentityKind.chat, "value": visitor}, text=text,
                              sender_name=str(data.get("name", ""))[:200], thread_key=f"chat:{visitor}",
                              attachments=attachments or [], meta={"page": str(data.get("page", ""))[:500]})

    def parse_status(self, raw: RawInbound) -> DeliveryUpdate | None:
        return None

    async def online(self, visitor_id: str) -> bool:
        if self.presence is not None:
            return bool(await self.presence.online(visitor_id))
        participants = self.sio.manager.get_participants(NAMESPACE, room(visitor_id))
        return any(True for _ in participants)

    def check_media(self, files: list[Attachment]) -> str | None:
        if any(f.blob_id for f in files) and self.media_links is None:
            return "stored files cannot be linked for the visitor (no media links)"
        return LIMITS[self.channel].problem(files)

    def links(self, attachments: list[Any]) -> list[dict[str, Any]]:
        """Attachments as the visitor gets them: a signed link per stored file (never the staff URL)."""
        out = []
        for item in attachments:
            a = item if isinstance(item, Attachment) else Attachment.model_validate(item)
            if a.blob_id and self.media_links is not None:
                a = self.media_links.signed(a, CHAT_TTL_S)
            elif a.blob_id:
                a = a.model_copy(update={"url": None})
            out.append(a.model_dump(mode="json", include={"filename", "content_type", "size", "url"}))
        return out

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.attachments and (why := self.check_media(message.attachments)):
            raise PermanentSendError(why)
        payload = {"id": message.message_id, "text": message.text, "from": "agent",
                   "attachments": self.links(message.attachments)}
        if message.choices:
            payload["buttons"] = message.choices
        if await self.online(message.to):
            await self.sio.emit("message", payload, room=room(message.to), namespace=NAMESPACE)
            return SendResult(provider_id=message.message_id, status=DeliveryStatus.delivered)
        address = await self.email_lookup(message.contact_id) if self.email_lookup else None
        if address and self.email is not None:  # the visitor left: continue by e-mail
            emailed = await self.email.send(
                message.model_copy(update={"channel": Channel.email, "to": address})
            )
            return SendResult(provider_id=emailed.provider_id, status=emailed.status, meta={"via": "email"})
        if not message.to:
            raise PermanentSendError("no visitor to send to")
        # offline, no address: kept, and shown in the history when the visitor comes back
        return SendResult(provider_id=message.message_id, status=DeliveryStatus.sent, meta={"via": "history"})
