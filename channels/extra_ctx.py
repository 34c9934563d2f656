"""Per-channel resources started inside the channels context: e-mail (adapter, IMAP poller,
SMTP listener), web chat, voice. Each is started only when configured."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from hub import keys
from hub.models import utcnow

from .base import ChannelError
from .email.imap import ImapPoller
from .email.inbound import EmailInbound
from .email.smtp_in import start_listener

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def start(app: web.Application, services: Any) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    store = app[keys.STORE]
    email_inbound = EmailInbound(store, app[keys.INBOX], services.blobs, max_bytes=settings.email_max_bytes)
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
    tasks: list[asyncio.Task[None]] = []
    poller = None
    if settings.imap_host:
        poller = ImapPoller(store, ingest_mail, host=settings.imap_host, port=settings.imap_port,
                            user=settings.imap_user, password=settings.imap_password.get_secret_value(),
                            mailbox=settings.imap_mailbox, poll_s=settings.imap_poll_s,
                            max_bytes=settings.email_max_bytes)
        services.extra["imap_poller"] = poller
        tasks.append(asyncio.create_task(poller.run()))
    listener = None
    if settings.smtp_listen_port:
        domain = settings.email_address.rsplit("@", 1)[-1].lower()
        listener = await start_listener(lambda raw: email_inbound.process(raw, source="smtp"), host=settings.host,
                                        port=settings.smtp_listen_port, max_bytes=settings.email_max_bytes,
                                        accept_domains={domain})
    from .webchat import namespace as chat
    await chat.start(app, services)
    try:
        yield
    finally:
        if poller:
            poller.stop()
        for task in tasks:
            try:
                await asyncio.wait_for(task, 10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        if listener:
            listener.close()
            await listener.wait_closed()
        await chat.stop(app, services)
