"""Builds the configured adapters, the outbox and the background tasks from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web

from hub import keys
from hub.events import MessageCreated
from hub.models import Channel, utcnow
from hub.outbox import JOB_KIND, Outbox
from hub.periodic import every
from hub.platform.events import ContactErased
from hub.settings import Settings

from . import configure, media_links
from .base import Registry
from .blob_access import BlobAccess
from .blobs import GridFSBlobStore
from .inboxes import Inboxes
from .media_links import MediaLinks
from .privacy import ChannelEraser, ErasedIdentities
from .reply_check import ReplyCheck
from .spool import Spool
from .twilio import voice as twilio_voice
from .twilio import webhooks as twilio_webhooks
from .twilio.inbound import TwilioInbound
from .twilio.messaging import TwilioMessagingAdapter
from .twilio.voice_replies import VoiceRepliesBySms

log = logging.getLogger(__name__)
INBOX_REFRESH_S = 15.0


@dataclass
class ChannelServices:
    settings: Settings
    registry: Registry
    outbox: Outbox
    blobs: GridFSBlobStore
    spool: Spool
    http: aiohttp.ClientSession
    twilio: dict[Channel, TwilioMessagingAdapter] = field(default_factory=dict)
    twilio_inbound: TwilioInbound | None = None
    dead_letter: Any = None  # async (key, payload, error): keep what cannot be ingested, for admins
    inboxes: Inboxes | None = None
    blob_access: BlobAccess | None = None
    erased: ErasedIdentities | None = None
    inbox_docs: dict[Channel, dict[str, Any]] = field(default_factory=dict)
    media_links: MediaLinks | None = None  # signed, expiring file links (Twilio MediaUrl, web chat)
    extra: dict[str, Any] = field(default_factory=dict)


def webhook_url(settings: Settings, path: str) -> str:
    """A URL to hand to Twilio: public base + path + the connection-override fragment."""
    url = settings.base_url + path
    return f"{url}#{settings.twilio_webhook_overrides}" if settings.twilio_webhook_overrides else url


def install_routes(app: web.Application) -> None:
    from .api import router
    from .webchat import namespace as chat_namespace
    from .webchat import routes as chat_routes
    twilio_webhooks.install(app)
    twilio_voice.install(app)
    chat_routes.install(app)
    chat_namespace.install(app)
    media_links.install(app)
    app[keys.ROUTERS].append(router)

    async def run_outbox_job(payload: dict[str, Any]) -> None:
        await app[keys.EXTENSIONS]["channels"].outbox.run_job(payload)

    app[keys.JOB_HANDLERS][JOB_KIND] = run_outbox_job


async def channels_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    store, bus = app[keys.STORE], app[keys.BUS]
    registry = Registry()
    twilio: dict[Channel, TwilioMessagingAdapter] = {}
    outbox = Outbox(store, bus, app[keys.JOBS], registry)
    blobs = GridFSBlobStore(store)
    http = aiohttp.ClientSession()

    async def dead_letter(key: str, payload: dict[str, Any], error: str) -> None:
        await store["dead_letters"].insert_one({"source": key.split(":")[0], "key": key, "payload": payload,
                                                "error": error[:2000], "created_at": utcnow()})

    services = ChannelServices(settings=settings, registry=registry, outbox=outbox, blobs=blobs,
                               spool=Spool(settings.var_dir / "spool" / "inbound", dead_letter), http=http,
                               twilio=twilio, dead_letter=dead_letter)
    services.twilio_inbound = TwilioInbound(store, bus, app[keys.INBOX], app[keys.CONTACTS], blobs, twilio,
                                            media_max_bytes=settings.twilio_media_max_bytes, http=http)
    services.media_links = media_links.MediaLinks(settings.jwt_secret.get_secret_value(), settings.base_url)
    box = app[keys.EXTENSIONS].get("secrets")
    services.inboxes = Inboxes(store, box)
    if box is not None:
        app[keys.EXTENSIONS].setdefault("secret_rotators", {})["channel_inboxes"] = services.inboxes.reencrypt
    await configure.reload(services)
    app[keys.EXTENSIONS]["channels"] = services
    services.blob_access = BlobAccess(store, app[keys.CONVERSATIONS])
    app[keys.CONVERSATIONS].reply_check = ReplyCheck(outbox, registry)  # 422 for what can only fail
    registry.add(VoiceRepliesBySms(twilio, webhook_url(settings, "/webhooks/twilio/status/voice")))
    bus.subscribe(MessageCreated, services.blob_access.on_message_created)  # before the console forwards it
    bus.subscribe("ticket.merged", services.blob_access.on_ticket_merged)
    bus.subscribe(MessageCreated, outbox.on_message_created)
    services.erased = ErasedIdentities(store, settings.jwt_secret.get_secret_value())
    bus.subscribe(ContactErased, ChannelEraser(store, services.spool, services.erased).on_contact_erased)
    tasks = [asyncio.create_task(every(services.settings.spool_retry_s, lambda: _drain_spool(services),
                                       "spool drain", at_start=True)),
             asyncio.create_task(every(INBOX_REFRESH_S, lambda: _refresh_inboxes(services), "inbox refresh"))]
    from . import extra_ctx  # e-mail, web chat, voice: each adds its own pieces
    async with extra_ctx.start(app, services):
        yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for adapter in list(twilio.values()):
        await adapter.close()
    await http.close()


async def _refresh_inboxes(services: ChannelServices) -> None:
    """An admin's inbox edit is applied at once on the node that took it; every other node sees it
    within ``INBOX_REFRESH_S`` (the documents are few and small; nothing is rebuilt unless changed)."""
    if services.inboxes is not None and await services.inboxes.all() != services.inbox_docs:
        await configure.reload(services)


async def drain_spooled(services: ChannelServices, payload: dict[str, Any]) -> None:
    """The drainer's ingest of one spooled webhook: dropped instead if its sender was erased (on any
    node) after it arrived — another node's erasure cannot reach this node's spool directly."""
    assert services.twilio_inbound is not None and services.erased is not None
    sender = services.twilio_inbound.sender_address(payload)  # malformed: process() dead-letters it
    if sender is not None and await services.erased.covers(sender, received_at(payload)):
        log.info("spooled webhook of an erased contact dropped", extra={"channel": payload.get("channel")})
        return
    await services.twilio_inbound.process(payload)


def received_at(payload: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(payload["received_at"])
    except (KeyError, TypeError, ValueError):  # spooled before the field existed: assume the earliest
        return None


async def _drain_spool(services: ChannelServices) -> None:
    assert services.twilio_inbound is not None

    async def process(payload: dict[str, Any]) -> None:
        await drain_spooled(services, payload)

    # entries younger than two rounds may still be in their own request's hands
    await services.spool.drain(process, min_age_s=2 * services.settings.spool_retry_s)
