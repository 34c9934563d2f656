"""The Socket.IO ``/chat`` namespace: one visitor per signed token, messages both ways.

    connect  auth {token?, name?, user_id?, user_hash?, email?}  → "session" {visitor_id, token, open,
             agents_online, greeting}  (open: in business hours and an agent online on any node;
             greeting: the admin's chat welcome, shown by the widget before the first message)
             a token that fails its HMAC (e.g. edited to another visitor) is refused
    message  {text, client_id, attachments?}  → ack {ok, id, duplicate} | {ok: false, error, field, status,
             retry_after?}  (ingest; status as HTTP would give it: 429 with retry_after seconds when
             the visitor sends too fast, 5xx when the hub failed: the widget retries those, the
             same client_id keeping one copy; any other refusal, e.g. 413 too long, is final)
    history  {}                               → ack {messages: [...]}  (after a reconnect)
    email    {email}                          → ack {ok}  (offline: continue by e-mail)
    typing   {typing}                         → ack {ok}  (published for the console)
Agent replies reach the visitor through the outbox → ``WebchatAdapter.send`` → "message" {id, text,
from, attachments, buttons} (buttons: the titles of the bot's choices; the widget shows the latest
message's as buttons and sends a pressed one's title as the visitor's message).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import socketio
from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from channels.base import ChannelError, InboundTooLarge
from channels.configure import greeting_for, hours_for
from channels.hours import is_open
from hub import keys
from hub.contacts import Contacts
from hub.errors import Conflict, HubError, InvalidInput
from hub.models import Attachment, Channel, IdentityKind, utcnow
from hub.outbox import OutboundMessage, PermanentSendError, SendResult, choices
from hub.platform.appkeys import RATE_LIMITER
from hub.platform.ratelimit import client_ip
from hub.platform.settings import PLATFORM_SETTINGS
from hub.store import Store

from . import tokens
from .adapter import NAMESPACE, WebchatAdapter, room
from .presence import VisitorPresence, agents_online

log = logging.getLogger(__name__)
RATE = (10, 10.0)  # messages per seconds, per visitor (on this node: a new connection does not reset it)
# Per client IP, shared by the nodes (the platform's limiter): a visitor without a token is a new
# visitor on each connection, so these bound what one address can make of the public widget
CONNECTS_PER_IP = (30, 60)  # new connections per seconds
MESSAGES_PER_IP = (120, 60)  # messages per seconds (an office behind one address has many visitors)


class SlowDown(ChannelError):
    status = 429

    def __init__(self, retry_after: float) -> None:
        super().__init__("slow down")
        self.retry_after = retry_after


class Typing(BaseModel):
    typing: bool


class EmailIn(BaseModel):
    email: str = Field(max_length=320)


class ChatNamespace(socketio.AsyncNamespace):
    def __init__(self, app: web.Application) -> None:
        super().__init__(NAMESPACE)
        self.app = app
        self.sent: dict[str, list[float]] = {}  # visitor -> when their messages of the window came

    async def _over(self, key: str, limit: tuple[int, int]) -> int:
        """Seconds to wait when ``key`` (an IP's counter) is over ``limit``, else 0 (and counted)."""
        limiter = self.app.get(RATE_LIMITER)
        if limiter is None or not self.app[PLATFORM_SETTINGS].ratelimit_enabled:
            return 0
        decision = await limiter.hit(f"chat:{key}", *limit)
        return 0 if decision.allowed else max(1, decision.retry_after_s)

    @property
    def services(self) -> Any:
        return self.app[keys.EXTENSIONS]["channels"]

    @property
    def adapter(self) -> WebchatAdapter:
        return self.services.registry[Channel.webchat]

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        settings = self.app[keys.SETTINGS]
        secret = settings.chat_secret.get_secret_value()
        auth = auth if isinstance(auth, dict) else {}
        request = environ.get("aiohttp.request")
        ip = client_ip(request) if request is not None else "unknown"
        if wait := await self._over(f"connect:{ip}", CONNECTS_PER_IP):
            raise socketio.exceptions.ConnectionRefusedError(f"too many connections; retry in {wait} s")
        token = auth.get("token")
        if token:
            visitor = tokens.verify(secret, token)
            if visitor is None:
                raise socketio.exceptions.ConnectionRefusedError("invalid visitor token")
        else:
            visitor = tokens.new_visitor_id()
            token = tokens.issue(secret, visitor)
        verified_email = None
        identity_secret = settings.chat_identity_secret.get_secret_value()
        email = str(auth.get("email") or "")
        if tokens.verify_identity(
            identity_secret, str(auth.get("user_id") or ""), email, str(auth.get("user_hash", ""))
        ):
            verified_email = email
        await self.save_session(sid, {"visitor": visitor, "name": str(auth.get("name", ""))[:200],
                                      "verified_email": verified_email, "ip": ip})
        await self.enter_room(sid, room(visitor))
        await self.services.extra["chat_presence"].connected(sid, visitor)
        agents = await agents_online(self.app[keys.EXTENSIONS])  # None: no agent console to ask
        is_open_now = is_open(*hours_for(self.services, Channel.webchat), utcnow()) and agents is not False
        await self.emit("session", {"visitor_id": visitor, "token": token, "open": is_open_now,
                                    "agents_online": agents, "verified": verified_email is not None,
                                    "greeting": greeting_for(self.services, Channel.webchat, "")}, to=sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await self.services.extra["chat_presence"].disconnected(sid)

    async def _session(self, sid: str) -> dict[str, Any]:
        session = await self.get_session(sid)
        now = time.monotonic()
        if len(self.sent) > 10_000:  # forget the visitors whose window is over
            self.sent = {v: ts for v, ts in self.sent.items() if ts and now - ts[-1] < RATE[1]}
        window = [t for t in self.sent.get(session["visitor"], []) if now - t < RATE[1]]
        if len(window) >= RATE[0]:  # a slot frees when the oldest of the window's messages leaves it
            raise SlowDown(retry_after=max(0.1, round(RATE[1] - (now - window[0]), 1)))
        if wait := await self._over(f"messages:{session['ip']}", MESSAGES_PER_IP):
            raise SlowDown(retry_after=wait)
        self.sent[session["visitor"]] = [*window, now]
        return session

    async def on_message(self, sid: str, data: Any = None) -> dict[str, Any]:
        try:
            session = await self._session(sid)
            if not isinstance(data, dict):
                raise ChannelError("expected an object")
            attachments = await self._attachments(session["visitor"], data.get("attachments"))
            inbound = self.adapter.normalize(
                session["visitor"], {**data, "name": session["name"]}, attachments
            )
            await self._link_identity(session)
            result = await self.app[keys.INBOX].ingest(inbound)
        except SlowDown as exc:
            return {"ok": False, "error": exc.detail, "field": None, "status": exc.status,
                    "retry_after": exc.retry_after}
        except (ChannelError, HubError) as exc:
            return {"ok": False, "error": exc.detail, "field": exc.field, "status": exc.status,
                    **self._why(exc)}
        # the visitor's own files come back as signed links, so the widget shows them at once
        return {"ok": True, "id": result.message.id, "conversation_id": result.conversation.id,
                "duplicate": result.duplicate, "attachments": self.adapter.links(result.message.attachments)}

    def _why(self, exc: ChannelError | HubError) -> dict[str, Any]:
        """A ``code`` for the refusals a visitor can cause, which the widget says in the visitor's
        language; it shows ``error`` (the hub's English) only for one it has no sentence for."""
        if isinstance(exc, InboundTooLarge):
            return {"code": "too_long", "limit": self.adapter.max_chars}
        return {"code": {"text": "empty", "attachments": "attachment"}[exc.field]} \
            if exc.field in ("text", "attachments") else {}

    async def _attachments(self, visitor: str, raw: Any) -> list[Attachment]:
        if not raw:
            return []
        if not isinstance(raw, list) or len(raw) > 10:
            raise ChannelError("attachments: a list of at most 10 uploads", field="attachments")
        out = []
        for item in raw:
            blob_id = item.get("blob_id") if isinstance(item, dict) else None
            found = await self.services.blobs.get(str(blob_id)) if blob_id else None
            if found is None or found[1].get("visitor") != visitor:  # only the visitor's own uploads
                raise ChannelError("unknown attachment", field="attachments")
            data, meta = found
            out.append(
                Attachment(
                    filename=meta.get("filename", "file"),
                    content_type=meta.get("content_type", ""),
                    size=len(data),
                    blob_id=str(blob_id),
                )
            )
        return out

    async def _link_identity(self, session: dict[str, Any]) -> str | None:
        """A host-verified visitor: the chat identity joins the contact that owns the e-mail."""
        if not session.get("verified_email") or session.get("linked"):
            return None
        contacts = self.app[keys.CONTACTS]
        try:
            contact, _ = await contacts.resolve(
                IdentityKind.email, session["verified_email"], name=session["name"]
            )
            await contacts.add_identity(contact.id, IdentityKind.chat, session["visitor"])
        except Conflict:
            pass  # the visitor already has a contact of its own (chatted before verifying)
        except InvalidInput:
            return None
        session["linked"] = True
        return contact.id

    async def on_history(self, sid: str, data: Any = None) -> dict[str, Any]:
        session = await self.get_session(sid)
        slot = await self.app[keys.STORE]["conversation_threads"].find_one(
            {"_id": f"webchat|chat:{session['visitor']}"})
        if slot is None:
            return {"messages": []}
        docs = (
            self.app[keys.STORE]
            .messages.find({"conversation_id": slot["conversation_id"], "private": False})
            .sort([("created_at", -1)])
            .limit(100)
        )
        items = []
        async for d in docs:
            item = {
                "id": d["_id"],
                "text": d.get("text", ""),
                "from": "visitor" if d["direction"] == "in" else "agent",
                "at": d["created_at"].isoformat(),
                "attachments": self.adapter.links(d.get("attachments", [])),
            }
            if titles := choices(d.get("meta") or {}):
                item["buttons"] = titles  # the widget offers the latest message's
            items.append(item)
        return {"messages": items[::-1]}

    async def on_email(self, sid: str, data: Any = None) -> dict[str, Any]:
        session = await self.get_session(sid)
        try:
            body = EmailIn.model_validate(data)
            contacts = self.app[keys.CONTACTS]
            contact, _ = await contacts.resolve(IdentityKind.chat, session["visitor"], name=session["name"])
            await continue_by_email(contacts, self.app[keys.STORE], contact.id, body.email)
        except ValidationError:
            return {"ok": False, "error": "email: required", "field": "email", "code": "email"}
        except InvalidInput as exc:
            return {"ok": False, "error": exc.detail, "field": "email", "code": "email"}
        return {"ok": True}

    async def on_typing(self, sid: str, data: Any = None) -> dict[str, Any]:
        session = await self.get_session(sid)
        try:
            body = Typing.model_validate(data)
        except ValidationError:
            return {"ok": False, "error": "typing: a boolean", "field": "typing"}
        for hook in self.services.extra.get("chat_typing_hooks", []):
            await hook(session["visitor"], body.typing)
        return {"ok": True}


async def continue_by_email(contacts: Contacts, store: Store, contact_id: str, email: str) -> None:
    """Replies to this contact go by e-mail once they have left the chat (``WebchatAdapter.send``
    looks the address up): the address joins the contact. InvalidInput: not an e-mail address."""
    try:
        await contacts.add_identity(contact_id, IdentityKind.email, email)
    except Conflict:  # the address belongs to a known contact: remember it for replies anyway
        await store.contacts.update_one({"_id": contact_id}, {"$set": {"custom_fields.chat_email": email}})


async def agent_typing(app: web.Application, visitor_id: str, typing: bool) -> None:
    """For the agent console: show "agent is typing" in the visitor's widget."""
    await app[keys.SIO].emit("typing", {"typing": typing}, room=room(visitor_id), namespace=NAMESPACE)


async def start(app: web.Application, services: Any) -> None:
    settings = app[keys.SETTINGS]
    store = app[keys.STORE]

    async def email_of(contact_id: str) -> str | None:
        doc = await store.identities.find_one({"contact_id": contact_id, "kind": "email"})
        if doc:
            return str(doc["value"])
        contact = await store.contacts.find_one({"_id": contact_id}, {"custom_fields": 1}) or {}
        return contact.get("custom_fields", {}).get("chat_email")

    class EmailViaRegistry:  # the e-mail adapter may be rebuilt when an admin edits the inbox
        async def send(self, message: OutboundMessage) -> SendResult:
            adapter = services.registry.get(Channel.email)
            if adapter is None:
                raise PermanentSendError("the visitor is offline and no e-mail channel is configured")
            return await adapter.send(message)

    presence = services.extra["chat_presence"] = VisitorPresence(store)
    presence.start()
    services.registry.add(
        WebchatAdapter(
            sio=app[keys.SIO],
            secret=settings.chat_secret.get_secret_value(),
            max_chars=settings.chat_max_chars,
            email=EmailViaRegistry(),
            email_lookup=email_of,
            presence=presence,
            media_links=services.media_links,
        )
    )


async def stop(app: web.Application, services: Any) -> None:
    await services.extra["chat_presence"].stop()


def install(app: web.Application) -> None:
    app[keys.SIO].register_namespace(ChatNamespace(app))
