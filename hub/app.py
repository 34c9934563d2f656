"""The composition root: ``create_app(settings)`` builds the aiohttp application, attaches the
Socket.IO server and wires every package. Nothing else in the code base wires components.

Each long-lived resource has its own cleanup context, in start-up order: the embedded FerretDB
(only when ``BERRY_MONGODB_URL`` is unset), the store, the services, then each package's own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from hub import keys
from hub.api import openapi
from hub.api.contact_import import router as contact_import_router
from hub.api.health import install_health
from hub.api.middleware import authenticate, problems, request_context
from hub.api.v1 import router as v1_router
from hub.audit import Audit
from hub.auth import ApiKeys, Tokens, Users
from hub.auth.passwords import Passwords
from hub.contacts import Contacts
from hub.conversations import Conversations
from hub.events import EventBus, MessageCreated
from hub.inbox import Inbox
from hub.jobs import Jobs, Worker
from hub.metrics import Metrics
from hub.models import Direction
from hub.realtime import LocalManager, RedisManager, websocket_deflate
from hub.settings import Settings
from hub.store import Store, open_store

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"  # browser code shared by the hub's web apps
FAVICON = STATIC / "img" / "favicon.png"  # the console's app icon, kept here so the hub needs no app's files


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings()
    app = web.Application(middlewares=[request_context, problems, authenticate],
                          client_max_size=settings.max_body_bytes)
    app[keys.SETTINGS] = settings
    app[keys.BUS] = EventBus()
    app[keys.METRICS] = Metrics()
    app[keys.EXTENSIONS] = {}
    app[keys.JOB_HANDLERS] = {}
    app[keys.ROUTERS] = [v1_router, contact_import_router]

    manager = RedisManager(settings.redis_url) if settings.redis_url else LocalManager()
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager, cors_allowed_origins=[])
    sio.attach(app)
    websocket_deflate(sio, settings.ws_deflate)
    app[keys.SIO] = sio

    app.cleanup_ctx.append(_store_ctx)
    install_health(app)
    openapi.install_docs(app, lambda: openapi.build_openapi(
        app[keys.ROUTERS], title="Berry Support Hub API", version="1", server_url=settings.base_url))
    app.router.add_get("/", _home)
    app.router.add_get("/favicon.ico", _favicon)  # browsers ask every page's origin for it
    app.router.add_static("/static/", STATIC, follow_symlinks=False, append_version=False)
    _wire_packages(app)
    for router in app[keys.ROUTERS]:
        router.install(app)
    if settings.inline_worker:
        app.cleanup_ctx.append(_inline_worker_ctx)
    return app


def _wire_packages(app: web.Application) -> None:
    """Each package adds its routes, subscribers and cleanup contexts here, in this order."""
    import agent_console
    import bot
    import channels
    import knowledge_base
    from hub import platform, reports, ticketing

    for package in (ticketing, platform, channels, knowledge_base, bot, agent_console, reports):
        package.setup(app)


async def _home(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.app[keys.EXTENSIONS].get("home", "/api/docs"))


async def _favicon(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(FAVICON, headers={"Cache-Control": "public, max-age=86400"})  # .png: image/png


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    async with open_store(app[keys.SETTINGS]) as store:
        _services(app, store)
        yield
        await app[keys.BUS].drain()


def _services(app: web.Application, store: Store) -> None:
    settings = app[keys.SETTINGS]
    bus = app[keys.BUS]
    app[keys.STORE] = store
    app[keys.AUDIT] = Audit(store)
    app[keys.USERS] = Users(store, Passwords(settings.argon2_time_cost, settings.argon2_memory_kib))
    app[keys.TOKENS] = Tokens(store, settings.jwt_secret.get_secret_value(), settings.access_token_ttl_s,
                              settings.refresh_token_ttl_s, bus)
    app[keys.API_KEYS] = ApiKeys(store)
    app[keys.CONTACTS] = Contacts(store, bus)
    app[keys.CONVERSATIONS] = Conversations(store, bus, app[keys.AUDIT])
    app[keys.INBOX] = Inbox(store, bus, app[keys.CONTACTS], app[keys.AUDIT])
    app[keys.JOBS] = Jobs(store)

    metrics = app[keys.METRICS]

    async def count_inbound(event: Any) -> None:
        if event.message.direction == Direction.inbound:
            metrics.ingested.labels(event.message.channel.value).inc()

    bus.subscribe(MessageCreated, count_inbound)


async def _inline_worker_ctx(app: web.Application) -> AsyncIterator[None]:
    """Single-process mode: the web node also runs the job worker (``BERRY_INLINE_WORKER``)."""
    worker = Worker(app[keys.JOBS], app[keys.JOB_HANDLERS])
    task = asyncio.create_task(worker.run())
    yield
    worker.stop()
    await task
