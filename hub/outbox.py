"""The outbox: every reply (agent, bot, automation, CSAT survey) leaves through here.

    message.created (direction out, not private)  →  job ``outbox.send`` (keyed per message+attempt)
    job: load message → build OutboundMessage → sender.send() → external id + delivery "sent"
         TransientSendError → a new job for the next attempt, ``backoff(attempt)`` later
         PermanentSendError / attempts exhausted / no sender → delivery "failed" + ``error``
    every delivery change → ``message.updated`` (the console shows it next to the message)

The hub knows no provider: senders are registered by channel (``channels`` registers its
adapters). A job runs once per attempt (job leases are claims) and a message that already has a
provider id is never sent again, so a re-run job cannot send twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, Field

from hub.events import EventBus, MessageCreated, MessageUpdated
from hub.jobs import Jobs, backoff
from hub.models import (
    Attachment,
    AuthorType,
    Channel,
    DeliveryStatus,
    Direction,
    IdentityKind,
    Message,
    utcnow,
)
from hub.store import Store, register, upsert

log = logging.getLogger(__name__)
# _id = "<channel>:<provider id>": a status callback that beat the send. A send's response comes within
# seconds; a record whose send never shows up (a send that failed after Twilio queued it, another
# account's callback) is useless after a day and expires (MongoDB TTL index; Store.expire() in the
# hourly retention job on FerretDB, which has no TTL indexes)
EARLY_STATUS_KEEP = timedelta(days=1)
register("early_statuses", expire=("at", EARLY_STATUS_KEEP))
register("provider_ids")  # _id = "<channel>:<provider id>" → message_id: status callbacks read by lone _id
JOB_KIND = "outbox.send"
RECIPIENT_KIND: dict[Channel, IdentityKind] = {
    Channel.sms: IdentityKind.phone,
    Channel.voice: IdentityKind.phone,
    Channel.whatsapp: IdentityKind.whatsapp,
    Channel.email: IdentityKind.email,
    Channel.webchat: IdentityKind.chat,
}
# Delivery progresses one way; a late "sent" callback never hides "delivered".
# A provider's final statuses (Twilio's: delivered, read, undelivered, failed): a callback arriving late
# (an "undelivered" after "delivered") changes nothing; only WhatsApp's "read" follows "delivered".
PROVIDER_FINAL = {DeliveryStatus.delivered, DeliveryStatus.read, DeliveryStatus.undelivered,
                  DeliveryStatus.failed}
RANK = {
    DeliveryStatus.received: 0,
    DeliveryStatus.queued: 1,
    DeliveryStatus.sent: 2,
    DeliveryStatus.delivered: 3,
    DeliveryStatus.read: 4,
    DeliveryStatus.undelivered: 5,
    DeliveryStatus.failed: 5,
}


class OutboundMessage(BaseModel):
    """What a channel adapter is asked to deliver; provider-neutral."""

    message_id: str
    conversation_id: str
    contact_id: str
    channel: Channel
    to: str = Field(description="Recipient address on this channel (E.164 number, e-mail, visitor id)")
    text: str = ""
    html: str | None = None
    subject: str | None = None
    cc: list[str] = Field(default_factory=list, description="E-mail: Cc recipients")
    attachments: list[Attachment] = Field(default_factory=list)
    template: dict[str, Any] | None = Field(None, description="Approved template: {content_sid, variables}")
    choices: list[str] = Field(default_factory=list, description=(
        "Answers offered with the message (the bot's buttons): buttons where the channel has them, each "
        "sending its text back; elsewhere they are already numbered in the text"))
    thread: dict[str, Any] = Field(
        default_factory=dict, description="Channel threading context of the ticket"
    )
    last_inbound_at: datetime | None = None
    contact_consent: dict[str, Any] = Field(default_factory=dict)
    automatic: bool = Field(False, description="Bot, rule or survey, no person: e-mail says Auto-Submitted")


def choices(meta: dict[str, Any]) -> list[str]:
    """The titles of the buttons stored with a message (``meta.buttons``: ``[{title, payload}]``)."""
    return [str(b["title"]) for b in meta.get("buttons") or [] if isinstance(b, dict) and b.get("title")]


class SendResult(BaseModel):
    provider_id: str
    status: DeliveryStatus = DeliveryStatus.sent
    meta: dict[str, Any] = Field(default_factory=dict)


class SendError(Exception):
    """A provider refused or failed a send; ``code`` is the provider's error code, if any."""

    permanent = True

    def __init__(self, detail: str, *, code: str | int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = None if code is None else str(code)

    def describe(self) -> str:
        return f"{self.detail} (code {self.code})" if self.code else self.detail


class PermanentSendError(SendError):
    permanent = True


class TransientSendError(SendError):
    permanent = False


class Sender(Protocol):
    async def send(self, message: OutboundMessage) -> SendResult: ...


class Outbox:
    def __init__(self, store: Store, bus: EventBus, jobs: Jobs, senders: Mapping[Channel, Sender], *,
                 max_attempts: int = 5) -> None:
        self.store = store
        self.bus = bus
        self.jobs = jobs
        self.senders = senders
        self.max_attempts = max_attempts

    async def on_message_created(self, event: MessageCreated) -> None:
        message = event.message
        if message.direction != Direction.outbound or message.private or message.channel == Channel.api:
            return
        await self.enqueue(message.id, attempt=1)

    async def enqueue(self, message_id: str, *, attempt: int, at: datetime | None = None) -> None:
        await self.jobs.enqueue(JOB_KIND, {"message_id": message_id, "attempt": attempt}, at=at,
                                key=f"outbox:{message_id}:{attempt}")

    async def run_job(self, payload: dict[str, Any]) -> None:
        doc = await self.store.messages.find_one({"_id": payload["message_id"]})
        if doc is None:
            log.warning("outbox: message vanished", extra={"message_id": payload["message_id"]})
            return
        message = Message.from_doc(doc)
        if message.external_id or message.delivery_status in (
            DeliveryStatus.failed,
            DeliveryStatus.undelivered,
        ):
            return  # already sent (a re-run job) or already given up
        attempt = int(payload.get("attempt", 1))
        sender = self.senders.get(message.channel)
        if sender is None:
            await self.set_delivery(
                message.id, DeliveryStatus.failed, error=f"no {message.channel.value} channel is configured"
            )
            return
        try:
            outbound = await self.build(message)
            result = await sender.send(outbound)
        except SendError as exc:
            if exc.permanent or attempt >= self.max_attempts:
                suffix = "" if exc.permanent else f" after {attempt} attempts"
                await self.set_delivery(message.id, DeliveryStatus.failed, error=exc.describe() + suffix,
                                        meta={"error_code": exc.code, "send_attempts": attempt})
            else:
                log.info(
                    "outbox: retrying",
                    extra={"message_id": message.id, "attempt": attempt, "error": exc.describe()},
                )
                await self.store.messages.update_one({"_id": message.id}, {"$set": {
                    "meta.send_attempts": attempt, "meta.last_send_error": exc.describe()}})
                await self.enqueue(message.id, attempt=attempt + 1, at=utcnow() + backoff(attempt))
            return
        if result.provider_id:
            await upsert(self.store["provider_ids"], {"_id": f"{message.channel.value}:{result.provider_id}"},
                         {"$set": {"message_id": message.id}})
        await self.set_delivery(message.id, result.status, external_id=result.provider_id,
                                meta={"send_attempts": attempt, **result.meta})
        await self._apply_early_status(message, result.provider_id)

    async def build(self, message: Message) -> OutboundMessage:
        """The recipient and threading context for a stored outgoing message."""
        last_in = await self.store.messages.find_one(
            {"conversation_id": message.conversation_id, "direction": Direction.inbound.value},
            sort=[("created_at", -1)])
        conversation = await self.store.conversations.find_one(
            {"_id": message.conversation_id}, {"number": 1, "subject": 1, "thread_key": 1}) or {}
        identity = await self._recipient(message, last_in, conversation)
        contact = await self.store.contacts.find_one({"_id": message.contact_id}, {"consent": 1}) or {}
        thread = dict((last_in or {}).get("meta", {}).get("thread", {}))
        thread.update(
            {"ticket_number": conversation.get("number"), "ticket_subject": conversation.get("subject")}
        )
        return OutboundMessage(
            message_id=message.id, conversation_id=message.conversation_id, contact_id=message.contact_id,
            channel=message.channel, to=identity["value"], text=message.text, html=message.html,
            subject=message.subject, cc=list(message.meta.get("cc") or []), attachments=message.attachments,
            template=message.meta.get("template"), choices=choices(message.meta),
            thread=thread, last_inbound_at=(last_in or {}).get("created_at"),
            contact_consent=contact.get("consent", {}),
            automatic=message.author_type in (AuthorType.bot, AuthorType.system),
        )

    async def _recipient(self, message: Message, last_in: dict[str, Any] | None,
                         conversation: dict[str, Any]) -> dict[str, Any]:
        """The identity to answer: of the ticket's own customer addresses of the channel's kind, the one
        the customer last wrote from, then the thread's (an SMS/WhatsApp ticket is threaded on the
        number, also one an agent opened), then any other it got messages from, the first the contact
        still owns. A ticket that never had a customer address of the kind (an e-mail ticket an agent
        opened, nobody answered yet) goes to the contact's oldest address of the kind.

        When the ticket had addresses and none is the contact's any more (removed, or given back to
        another contact by an unmerge): e-mail is refused (a permanent error), since the contact's
        other address may be another person's and an e-mail carries the whole answer and its
        attachments; SMS, WhatsApp and chat keep going to the contact's other address of the kind
        (a removed number is the contact's old or mistyped one; after an unmerge a ticket holding
        only the restored contact's numbers moves back with it, so this never crosses people there)."""
        kind = RECIPIENT_KIND.get(message.channel)
        if kind is None:
            raise PermanentSendError(f"the contact has no {message.channel.value} address")
        prefix = f"{kind.value}:"
        own: list[str] = []

        async def owned(keys: list[Any]) -> dict[str, Any] | None:
            for key in keys:
                if isinstance(key, str) and key.startswith(prefix) and key not in own:
                    own.append(key)
                    found = await self.store.identities.find_one({"_id": key})  # lone _id, then the owner
                    if found is not None and found.get("contact_id") == message.contact_id:
                        return found
            return None

        first = await owned([(last_in or {}).get("meta", {}).get("sender"), conversation.get("thread_key")])
        if first is not None:
            return first
        if conversation.get("_id"):  # the ticket's other senders, newest first (read only when needed)
            others = [(d.get("meta") or {}).get("sender") async for d in self.store.messages.find(
                {"conversation_id": conversation["_id"], "direction": Direction.inbound.value},
                {"meta.sender": 1}).sort([("created_at", -1), ("_id", -1)]).limit(500)]
            other = await owned(others)
            if other is not None:
                return other
        if own and kind == IdentityKind.email:
            raise PermanentSendError(
                f"none of this ticket's e-mail addresses ({', '.join(k[len(prefix):] for k in own[:3])}) "
                "belongs to the contact any more: not sent to the contact's other address, which may be "
                "another person's; add the address back to the contact or write from a new ticket")
        oldest = await self.store.identities.find_one({"contact_id": message.contact_id, "kind": kind.value},
                                                      sort=[("created_at", 1), ("_id", 1)])
        if oldest is None:
            raise PermanentSendError(f"the contact has no {kind.value} address")
        return oldest

    async def set_delivery(self, message_id: str, status: DeliveryStatus, *, error: str | None = None,
                           external_id: str | None = None, meta: dict[str, Any] | None = None,
                           provider: bool = False) -> Message | None:
        """Move a message's delivery status forward (never back), then publish ``message.updated``.
        ``provider``: a provider's callback, which cannot leave a final status (``PROVIDER_FINAL``)."""
        doc = await self.store.messages.find_one({"_id": message_id})
        if doc is None:
            return None
        current = DeliveryStatus(doc.get("delivery_status", "queued"))
        if RANK[status] < RANK[current] or (status == current and error is None and external_id is None):
            return None
        if provider and current in PROVIDER_FINAL and status != current and (
                current, status) != (DeliveryStatus.delivered, DeliveryStatus.read):
            return None
        changes: dict[str, Any] = {"delivery_status": status.value}
        if error is not None:
            changes["error"] = error[:1000]
        if external_id is not None:
            changes["external_id"] = external_id
        update = {**changes, **{f"meta.{k}": v for k, v in (meta or {}).items() if v is not None},
                  "delivery_updated_at": utcnow()}
        await self.store.messages.update_one({"_id": message_id}, {"$set": update})
        message = Message.from_doc({**doc, **changes, "meta": {**doc.get("meta", {}), **(meta or {})}})
        await self.bus.publish(MessageUpdated(message=message, changes=changes))
        return message

    async def on_provider_status(self, channel: Channel, external_id: str, status: DeliveryStatus,
                                 error: str | None = None) -> Message | None:
        """A delivery-status callback from a provider (e.g. Twilio's StatusCallback): several per
        message, so found by lone ``_id`` (any other filter scans ``messages`` on FerretDB); the scan
        remains only for a send from before ``provider_ids`` existed or a callback beating the send."""
        ref = await self.store["provider_ids"].find_one({"_id": f"{channel.value}:{external_id}"})
        doc = (
            {"_id": ref["message_id"]}
            if ref
            else await self.store.messages.find_one(
                {"external_id": external_id, "channel": channel.value, "direction": Direction.outbound.value},
                {"_id": 1},
            )
        )
        if doc is None:  # the callback beat the send's response: apply it once the id is stored
            await upsert(self.store["early_statuses"], {"_id": f"{channel.value}:{external_id}"},
                         {"$set": {"status": status.value, "error": error, "at": utcnow()}})
            return None
        return await self.set_delivery(doc["_id"], status, error=error, provider=True)

    async def _apply_early_status(self, message: Message, external_id: str) -> None:
        key = f"{message.channel.value}:{external_id}"
        early = await self.store["early_statuses"].find_one({"_id": key})
        if early:
            await self.set_delivery(message.id, DeliveryStatus(early["status"]), error=early.get("error"),
                                    provider=True)
            await self.store["early_statuses"].delete_one({"_id": key})


__all__ = ["JOB_KIND", "OutboundMessage", "Outbox", "PermanentSendError", "SendError", "SendResult", "Sender",
           "TransientSendError"]
