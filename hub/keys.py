"""Typed application keys: everything long-lived lives on the aiohttp app under one of these."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    import socketio

    from hub.api.routing import ApiRouter
    from hub.audit import Audit
    from hub.auth import ApiKeys, Tokens, Users
    from hub.contacts import Contacts
    from hub.conversations import Conversations
    from hub.events import EventBus
    from hub.inbox import Inbox
    from hub.metrics import Metrics
    from hub.settings import Settings
    from hub.store import Store

SETTINGS: web.AppKey[Settings] = web.AppKey("settings_obj")
STORE: web.AppKey[Store] = web.AppKey("store")
BUS: web.AppKey[EventBus] = web.AppKey("bus")
SIO: web.AppKey[socketio.AsyncServer] = web.AppKey("sio")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
USERS: web.AppKey[Users] = web.AppKey("users")
TOKENS: web.AppKey[Tokens] = web.AppKey("tokens")
API_KEYS: web.AppKey[ApiKeys] = web.AppKey("api_keys")
CONTACTS: web.AppKey[Contacts] = web.AppKey("contacts")
CONVERSATIONS: web.AppKey[Conversations] = web.AppKey("conversations")
INBOX: web.AppKey[Inbox] = web.AppKey("inbox")
AUDIT: web.AppKey[Audit] = web.AppKey("audit")
# Extension registry for the other packages (channels, bot, knowledge_base, agent_console):
# each puts its own services here under its package name.
EXTENSIONS: web.AppKey[dict[str, Any]] = web.AppKey("extensions")
JOBS: web.AppKey[Any] = web.AppKey("jobs")
# Job handlers by kind; packages add theirs in setup(), workers run them.
JOB_HANDLERS: web.AppKey[dict[str, Any]] = web.AppKey("job_handlers")
# API routers whose routes are installed under /api/v1 and described in the OpenAPI document.
ROUTERS: web.AppKey[list[ApiRouter]] = web.AppKey("routers")
# Per-request: who is calling (set by the authenticate middleware; absent when anonymous).
PRINCIPAL: web.RequestKey[Any] = web.RequestKey("principal")
