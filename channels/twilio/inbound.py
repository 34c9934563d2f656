"""Inbound Twilio messages after verification: media → blobs, ingest, SMS keywords → consent.

Used by the webhook (right away) and by the spool drainer (when the store was down), so both
paths do the same thing; every step is idempotent on ``MessageSid``.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from typing import Any

import aiohttp
from pymongo.errors import DuplicateKeyError

from channels.base import ChannelError
from channels.blobs import BlobStore
from hub.contacts import Contacts
from hub.events import ContactUpdated, EventBus
from hub.identity import identity_key
from hub.inbox import Inbox, stored_message
from hub.inbox.ingest import IngestResult
from hub.models import Attachment, Channel, InboundMessage, utcnow
from hub.store import Store

from .messaging import TwilioMessagingAdapter

log = logging.getLogger(__name__)
OPT_OUT = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
OPT_IN = {"START", "YES", "UNSTOP", "OPTIN"}
HELP = {"HELP", "INFO"}


def keyword(text: str) -> str | None:
    word = text.strip().strip(".!").upper()
    if word in OPT_OUT:
        return "stop"
    if word in OPT_IN:
        return "start"
    if word in HELP:
        return "help"
    return None


class TwilioInbound:
    def __init__(self, store: Store, bus: EventBus, inbox: Inbox, contacts: Contacts, blobs: BlobStore,
                 adapters: dict[Channel, TwilioMessagingAdapter], *, media_max_bytes: int,
                 http: aiohttp.ClientSession) -> None:
        self.store, self.bus, self.inbox, self.contacts = store, bus, inbox, contacts
        self.blobs, self.adapters, self.media_max_bytes, self.http = blobs, adapters, media_max_bytes, http

    async def process(self, payload: dict[str, Any], inbound: InboundMessage | None = None) -> IngestResult:
        """``payload`` = {"channel": "sms"|"whatsapp", "form": {...}} as verified by the webhook;
        ``inbound``: the webhook's own normalization of it (the drainer passes none)."""
        adapter = self.adapters[Channel(payload["channel"])]
        inbound = inbound or adapter.normalize(payload["form"])
        if inbound.attachments and not await self._already_stored(inbound):
            inbound = inbound.model_copy(update={"attachments": [
                await self.fetch(a, adapter.account_sid, adapter.auth_token) for a in inbound.attachments]})
        word = keyword(inbound.text)
        if word:  # an opt-out keyword is for the carrier and the hub, not a question: nobody answers it
            meta = {**inbound.meta, "keyword": word, "no_auto_reply": True}
            inbound = inbound.model_copy(update={"meta": meta})
        if word in ("stop", "start") and not await self._already_stored(inbound):
            # consent first: once ingest publishes the message a worker may send, and must see the STOP
            contact, _ = await self.contacts.resolve(inbound.sender.kind, inbound.sender.value,
                                                     name=inbound.sender_name)
            await self._consent(contact.id, inbound, opted_out=word == "stop")
        return await self.inbox.ingest(inbound)

    def sender_address(self, payload: dict[str, Any]) -> str | None:
        """The normalized address (``+27…``) of a spooled payload's sender; None if unusable."""
        adapter = self.adapters.get(Channel(payload["channel"])) if payload.get("channel") in (
            Channel.sms.value, Channel.whatsapp.value) else None
        if adapter is None:
            return None
        try:
            sender = adapter.normalize(payload["form"]).sender
        except (ChannelError, KeyError, TypeError, AttributeError):
            return None
        return identity_key(sender.kind, sender.value).split(":", 1)[1]

    async def _already_stored(self, inbound: InboundMessage) -> bool:
        found = await stored_message(self.store, inbound.channel.value, inbound.external_id, {"_id": 1})
        return found is not None

    async def fetch(self, attachment: Attachment, account_sid: str, auth_token: str) -> Attachment:
        """Download one MediaUrl with the account's credentials into the blob store. A failure keeps
        the attachment with its URL and a note, so the message is never lost for its media."""
        assert attachment.url
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}  # aiohttp drops it on a redirect to another host
        try:
            async with self.http.get(
                attachment.url, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as resp:
                if resp.status != 200:
                    return attachment.model_copy(
                        update={"filename": f"{attachment.filename} (not fetched: HTTP {resp.status})"}
                    )
                data = await resp.content.read(self.media_max_bytes + 1)
                content_type = resp.headers.get("Content-Type", attachment.content_type).split(";")[0]
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("media fetch failed", extra={"url": attachment.url, "error": repr(exc)})
            return attachment.model_copy(
                update={"filename": f"{attachment.filename} (not fetched: {type(exc).__name__})"}
            )
        if len(data) > self.media_max_bytes:
            return attachment.model_copy(
                update={
                    "filename": f"{attachment.filename} (too large: over {self.media_max_bytes} bytes, "
                    "not kept)"
                }
            )
        blob_id = await self.blobs.put(data, filename=attachment.filename, content_type=content_type,
                                       meta={"source_url": attachment.url})
        return attachment.model_copy(
            update={"blob_id": blob_id, "size": len(data), "content_type": content_type}
        )

    async def _consent(self, contact_id: str, inbound: InboundMessage, *, opted_out: bool) -> None:
        """The opt-out (or back in) on the contact's ``consent.<channel>``, which the adapter checks
        before each send, and as a consent record (an insert, once per message: a merge moves it to
        the survivor and reads it there, and no concurrent write to the contact document drops it)."""
        channel, now = inbound.channel, utcnow()
        value = {"opted_out": opted_out, "at": now, "keyword": inbound.text.strip()[:20]}
        record_id = f"{channel.value}:{inbound.external_id}"
        with contextlib.suppress(DuplicateKeyError):  # a retry of the same message
            await self.store["consents"].insert_one({
                "_id": record_id, "contact_id": contact_id,
                "purpose": channel.value, "identity": identity_key(inbound.sender.kind, inbound.sender.value),
                "granted": not opted_out, "source": f"{channel.value} keyword", "note": value["keyword"],
                "recorded_by": f"contact:{contact_id}", "at": now, "state": value})
        await self.store.contacts.update_one(
            {"_id": contact_id}, {"$set": {f"consent.{channel.value}": value}}
        )
        # a contact being merged away: the survivor gets it too (the outbox asks the survivor)
        contact_id = await self.contacts.settle_consent(contact_id, channel.value, value, record_id)
        await self.bus.publish(
            ContactUpdated(contact_id=contact_id, changes={f"consent.{channel.value}": value})
        )
