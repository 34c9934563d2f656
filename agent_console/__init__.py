"""Package ``agent_console``: the live agent workspace.

    access      who may join which room, see which conversation (reads only)
    payloads    the shapes a client may send
    namespace   the Socket.IO ``/agents`` namespace (thin handlers)
    forwarder   hub events → event log → rooms
    eventlog    ids, storage and catch-up after a reconnect
    membership  sockets join/leave team rooms when team membership changes
    signout     a user signed out everywhere loses their open sockets on every node
    presence    online/away/offline from heartbeats; publishes ``agent.presence``
    replies     idempotent socket replies (client ids): Cc, templates, attachments
    uploads     POST /api/v1/console/attachments: files for a reply
    push        Web Push notifications from the hub (VAPID, subscriptions, the send job)
    team        staff with presence and load (supervisor view)
    pages       /console: the single-page app, PWA manifest, service worker

``setup(app)`` is called by hub/app.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator

from aiohttp import web

from hub import keys
from hub.periodic import every

from . import holding, pages, push, uploads
from .eventlog import EventLog
from .forwarder import Forwarder
from .membership import TeamRooms
from .namespace import NAMESPACE, AgentsNamespace
from .presence import PresenceTracker
from .replies import Replies
from .signout import SignOut
from .team import TeamView

log = logging.getLogger(__name__)
SWEEP_S = 15


def setup(app: web.Application) -> None:
    """Wire this package into the hub: routes, event subscribers, cleanup contexts."""
    node = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    app[keys.EXTENSIONS]["home"] = "/console"
    app[keys.EXTENSIONS]["agent_console"] = {"node": node}
    app[keys.SIO].register_namespace(AgentsNamespace(app, node))
    pages.install(app)
    app[keys.ROUTERS].append(uploads.router)
    app[keys.ROUTERS].append(push.router)
    app.cleanup_ctx.append(_console_ctx)


async def _console_ctx(app: web.Application) -> AsyncIterator[None]:
    store, sio, ext = app[keys.STORE], app[keys.SIO], app[keys.EXTENSIONS]["agent_console"]

    async def notify_presence(data: dict) -> None:
        await sio.emit("presence", data, to="staff", namespace=NAMESPACE)
        await _report_to_ticketing(app, data["user_id"], data["status"])

    ext["log"] = event_log = EventLog(store)
    ext["presence"] = presence = PresenceTracker(store, app[keys.BUS], ext["node"], notify_presence,
                                                 grace_s=app[keys.SETTINGS].console_offline_grace_s)
    ext["replies"] = Replies(store, app[keys.CONVERSATIONS], app[keys.SETTINGS].whatsapp_templates,
                             adapters=lambda: getattr(app[keys.EXTENSIONS].get("channels"), "registry", {}))
    ext["team"] = TeamView(store, presence)
    ext["forwarder"] = forwarder = Forwarder(sio, NAMESPACE, event_log, app[keys.CONVERSATIONS],
                                             window_s=app[keys.SETTINGS].console_flush_ms / 1000,
                                             item=lambda c: holding.item(app, c))
    app[keys.BUS].subscribe("*", forwarder.on_event)
    app[keys.BUS].subscribe("contact.erased", forwarder.on_contact_erased)
    app[keys.BUS].subscribe(
        "team.membership_changed", TeamRooms(sio, NAMESPACE, store, ext["node"]).on_changed
    )
    app[keys.BUS].subscribe("user.signed_out", SignOut(sio, NAMESPACE, store, ext["node"]).on_signed_out)
    tasks = [asyncio.create_task(forwarder.run()),
             asyncio.create_task(every(SWEEP_S, lambda: _sweep(presence, event_log), "console sweep"))]
    async with push.running(app, ext):
        yield
    await forwarder.drain()
    await presence.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _report_to_ticketing(app: web.Application, user_id: str, status: str) -> None:
    """Routing owns agent status (``hub.ticketing``: offline hands tickets to colleagues); the
    console is where presence is observed, so it reports every change there when ticketing runs."""
    statuses = getattr(app[keys.EXTENSIONS].get("ticketing"), "statuses", None)
    if statuses is None:
        return
    try:
        from hub.ticketing.teams import Presence

        await statuses.set(user_id, Presence(status))
    except Exception:
        log.exception("could not report presence to ticketing", extra={"user_id": user_id, "status": status})


async def _sweep(presence: PresenceTracker, event_log: EventLog) -> None:
    await presence.sweep()
    await event_log.trim()


__all__ = ["NAMESPACE", "setup"]
