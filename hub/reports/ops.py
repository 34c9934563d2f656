"""Live operations: the queue, agents online and tickets at SLA risk, pushed to supervisors' dashboards
in real time over the hub's Socket.IO server.

Figures come from the backlog rows (``live.backlog_rows``) and the console's presence documents. After
an event that can change them (a ticket created/updated/assigned, an SLA warning/breach, a presence
change) one refresh runs ``DEBOUNCE_S`` later — events in between fold into it, and at most one
refresh is in flight — which also renews the backlog snapshot, then emits ``ops`` to the agent
console's ``all`` room (supervisors and admins) in its ``/agents`` namespace: the dashboard connects
there with the same token as the console.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

import numpy as np

from hub import keys
from hub.models import Channel, Conversation
from hub.periodic import raise_if_cancelling
from hub.store import Store

from . import live

log = logging.getLogger(__name__)

NAMESPACE = "/agents"  # agent_console.namespace.NAMESPACE
ROOM = "all"  # agent_console.access.ALL: supervisors and admins
PRESENCE = "console_presence"  # agent_console.presence.PRESENCE: _id = user id, status
EVENTS = ("conversation.created", "conversation.updated", "ticket.assigned", "ticket.merged", "sla.warning",
          "sla.breached", "agent.presence", "bot.handoff")  # a bot's answer changes nothing here
DEBOUNCE_S = 0.5


def ops_figures(rows: dict[str, Any], agents_online: int, as_of: datetime) -> dict[str, Any]:
    """The queue: open, unassigned, and not being answered by the bot (``rows["held"]``)."""
    vocab = rows["vocab"]

    def code(col: str, value: str) -> int:
        return vocab[col].index(value) if value in vocab[col] else -1

    unassigned = rows["agent_id"] == code("agent_id", "")
    is_open = rows["status"] == code("status", "open")
    queue = int(np.count_nonzero(unassigned & is_open & ~rows["held"]))
    return {"queue": queue, "open": int(rows["created"].size),
            "agents_online": agents_online,
            "at_risk": int(np.count_nonzero(rows["sla_risk"] == code("sla_risk", "warned"))),
            "breached": int(np.count_nonzero(rows["sla_risk"] == code("sla_risk", "breached"))),
            "as_of": as_of.isoformat()}


def held_check(app: Any) -> Callable[[dict[str, Any]], bool] | None:
    """Whether the bot is still answering a stored ticket (``Routing.held`` on the backlog scan's
    documents; None without ticketing or a bot)."""
    routing = getattr(app[keys.EXTENSIONS].get("ticketing"), "routing", None)
    if routing is None or not routing.held_by:
        return None

    def held(doc: dict[str, Any]) -> bool:
        try:
            channel = Channel(str(doc.get("channel")))
        except ValueError:
            return False
        # the fields ``Holder.holds`` reads, as a plain object: a model (even ``model_construct``, which
        # runs every default factory) cost ~0.3 ms per ticket, 1.8 s for 6,000 (bench/queue_filter.py)
        fields = SimpleNamespace(channel=channel, assignee_id=doc.get("assignee_id"),
                                 bot=doc.get("bot") or {})
        return routing.held(cast(Conversation, fields))

    return held


async def agents_online(store: Store) -> int:
    return await store[PRESENCE].count_documents({"status": "online"})


async def current(store: Store, held: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """The figures now (renews the backlog snapshot). ``held`` (``held_check``): the tickets the bot
    is answering are left out of the queue, as the console's Unassigned view leaves them out."""
    rows = await live.snapshot(store, held)
    return ops_figures(rows, await agents_online(store), rows["at"])


class OpsBroadcaster:
    def __init__(self, store: Store, sio: Any, debounce_s: float = DEBOUNCE_S,
                 held: Callable[[], Callable[[dict[str, Any]], bool] | None] = lambda: None) -> None:
        self.store = store
        self.held = held
        self.sio = sio
        self.debounce_s = debounce_s
        self._pending: asyncio.Task[None] | None = None
        self._again = False

    async def on_event(self, event: Any) -> None:
        if event.name not in EVENTS:
            return
        if self._pending is not None and not self._pending.done():
            self._again = True  # one more refresh after the one running: it may have read too early
            return
        self._pending = asyncio.create_task(self._refresh())

    async def _refresh(self) -> None:
        while True:
            raise_if_cancelling()  # close() waits for this task: a cancel the refresh swallowed ends it
            await asyncio.sleep(self.debounce_s)
            self._again = False
            try:
                figures = await current(self.store, self.held())
                await self.sio.emit("ops", figures, to=ROOM, namespace=NAMESPACE)
            except Exception:
                log.exception("live operations refresh failed")
            if not self._again:
                return

    async def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pending


__all__ = ["OpsBroadcaster", "agents_online", "current", "ops_figures"]
