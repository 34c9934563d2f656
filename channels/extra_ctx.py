"""Per-channel resources started inside the channels context: e-mail (adapter, IMAP poller,
SMTP listener), web chat, voice. Each is started only when configured."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from hub import keys
from hub.models import DeliveryStatus, utcnow

from . import configure
from .base import ChannelError
from .email.dsn import Bounce
from .email.inbound import EmailInbound
from .email.mailbox import MailboxSupervisor
from .email.smtp_in import SmtpListener

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def start(app: web.Application, services: Any) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    store = app[keys.STORE]

    async def on_bounce(bounce: Bounce) -> bool:
        """A DSN for a reply we sent (by e-mail, or a web-chat reply continued by e-mail): found by
        lone _id through the outbox's provider_ids; the scan only for sends from before them."""
        doc = None
        for channel in ("email", "webchat"):
            ref = await store["provider_ids"].find_one({"_id": f"{channel}:{bounce.original_message_id}"})
            if ref and (doc := await store.messages.find_one({"_id": ref["message_id"]},
                                                             {"_id": 1, "delivery_status": 1})):
                break
        doc = doc or await store.messages.find_one(
            {"external_id": bounce.original_message_id, "direction": "out"}, {"_id": 1, "delivery_status": 1}
        )
        if doc is None:
            return False
        if doc.get("delivery_status") != DeliveryStatus.failed.value:  # a repeated bounce changes nothing
            await services.outbox.set_delivery(doc["_id"], DeliveryStatus.failed, error=bounce.reason)
            log.info("e-mail bounce applied", extra={"message_id": doc["_id"], "status": bounce.status})
        return True

    email_inbound = EmailInbound(store, app[keys.INBOX], services.blobs, max_bytes=settings.email_max_bytes,
                                 on_bounce=on_bounce, authserv_id=settings.email_authserv_id,
                                 support_address=lambda: configure.support_address(services))
    services.extra["email_inbound"] = email_inbound

    async def ingest_mail(raw: bytes, size: int | None = None) -> None:
        try:
            await email_inbound.process(raw, size)
        except ChannelError as exc:  # unusable mail (no sender…): keep it for an admin, move on
            blob_id = await services.blobs.put(raw, filename="rejected.eml", content_type="message/rfc822")
            await store["dead_letters"].insert_one({"source": "email", "key": f"email:{blob_id}",
                                                    "payload": {"raw_blob_id": blob_id}, "error": exc.detail,
                                                    "created_at": utcnow()})

    services.extra["ingest_mail"] = ingest_mail
    mailbox = MailboxSupervisor(
        store,
        ingest_mail,
        poll_s=settings.imap_poll_s,
        max_bytes=settings.email_max_bytes,
        lease_s=settings.imap_lease_s,
    )
    services.extra["mailbox"] = mailbox  # (re)started by configure.reload whenever an admin edits the inbox
    await mailbox.apply(configure.mailbox_config(services))
    listener = SmtpListener(lambda raw: email_inbound.process(raw, source="smtp"), host=settings.host,
                            max_bytes=settings.email_max_bytes)
    services.extra["smtp_listener"] = listener  # moved by configure.reload when an admin edits the inbox
    await listener.apply(*configure.listener_config(services))
    from .webchat import namespace as chat
    await chat.start(app, services)
    try:
        yield
    finally:
        await mailbox.stop()
        await listener.stop()
        await chat.stop(app, services)
