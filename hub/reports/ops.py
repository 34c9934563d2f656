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
from typing import Any

import numpy as np

from hub import keys
from hub.store import Store

from . import live

log = logging.getLogger(__name__)

NAMESPACE = "/agents"  # agent_console.namespace.NAMESPACE
ROOM = "all"  # agent_console.access.ALL: supervisors and admins
PRESENCE = "console_presence"  # agent_console.presence.PRESENCE: _id = user id, status
EVENTS = ("conversation.created", "conversation.updated", "ticket.assigned", "ticket.merged", "sla.warning",
          "sla.breached", "agent.presence", "bot.handoff")  # a bot's answer changes nothing here
DEBOUNCE_S = 0.5


def ops_figures(rows: dict[str, Any], agents_online: int, as_of: datetime, held: int = 0) -> dict[str, Any]:
    """``held``: open tickets the bot is still answering (unassigned, but not the agents' queue)."""
    vocab = rows["vocab"]

    def code(col: str, value: str) -> int:
        return vocab[col].index(value) if value in vocab[col] else -1

    unassigned = rows["agent_id"] == code("agent_id", "")
    is_open = rows["status"] == code("status", "open")
    queue = max(0, int(np.count_nonzero(unassigned & is_open)) - held)
    return {"queue": queue, "open": int(rows["created"].size),
            "agents_online": agents_online,
            "at_risk": int(np.count_nonzero(rows["sla_risk"] == code("sla_risk", "warned"))),
            "breached": int(np.count_nonzero(rows["sla_risk"] == code("sla_risk", "breached"))),
            "as_of": as_of.isoformat()}


def held_filter(app: Any) -> dict[str, Any] | None:
    """Ticketing routing's filter of what the bot holds (None without ticketing or a bot)."""
    routing = getattr(app[keys.EXTENSIONS].get("ticketing"), "routing", None)
    return routing.holding() if routing is not None else None


async def agents_online(store: Store) -> int:
    return await store[PRESENCE].count_documents({"status": "online"})


async def current(store: Store, held: dict[str, Any] | None = None) -> dict[str, Any]:
    """The figures now (renews the backlog snapshot). ``held``: the store filter of the tickets the
    bot is answering (``Routing.holding``), left out of the queue as the console's Unassigned view
    leaves them out."""
    rows = await live.snapshot(store)
    # a find of ids, not count_documents: FerretDB pushes a find's filter down, not an aggregation's
    n_held = len([d async for d in store.conversations.find({**held, "status": "open", "merged_into": None},
                                                             {"_id": 1})]) if held else 0
    return ops_figures(rows, await agents_online(store), rows["at"], held=n_held)


class OpsBroadcaster:
    def __init__(self, store: Store, sio: Any, debounce_s: float = DEBOUNCE_S,
                 held: Callable[[], dict[str, Any] | None] = lambda: None) -> None:
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
