"""Who is on line, across every node: web-chat visitors' sockets and the agents.

Visitors: one document per socket (``chat_sockets``, ``_id = "<node>:<sid>"``); each node refreshes
its own sockets' ``seen_at`` every ``HEARTBEAT_S`` and a socket not refreshed for ``STALE`` (its node
died) no longer counts. The outbox, on whichever node it runs, thus knows whether a visitor is
connected anywhere (reply over the socket, which the Socket.IO manager fans out to every node) or
gone (continue by e-mail).

Agents: the agent console's presence (``agent.presence``, kept in the store by every node); the
widget says "online" only when an agent is, in business hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from datetime import timedelta
from typing import Any

from hub.models import utcnow
from hub.periodic import every
from hub.store import Store, ix, register, upsert

SOCKETS = "chat_sockets"
HEARTBEAT_S = 20.0
STALE = timedelta(seconds=3 * HEARTBEAT_S)
register(SOCKETS, ix(("visitor", 1)), ix(("node", 1)))


class VisitorPresence:
    def __init__(self, store: Store, node: str | None = None) -> None:
        self.col = store[SOCKETS]
        self.node = node or secrets.token_hex(6)
        self._task: asyncio.Task[None] | None = None

    async def connected(self, sid: str, visitor: str) -> None:
        await upsert(self.col, {"_id": f"{self.node}:{sid}"},
                     {"visitor": visitor, "node": self.node, "seen_at": utcnow()}, replace=True)

    async def disconnected(self, sid: str) -> None:
        await self.col.delete_one({"_id": f"{self.node}:{sid}"})

    async def online(self, visitor: str) -> bool:
        doc = await self.col.find_one({"visitor": visitor, "seen_at": {"$gte": utcnow() - STALE}}, {"_id": 1})
        return doc is not None

    async def heartbeat(self) -> None:
        await self.col.update_many({"node": self.node}, {"$set": {"seen_at": utcnow()}})
        await self.col.delete_many({"seen_at": {"$lt": utcnow() - 2 * STALE}})  # dead nodes' leftovers

    def start(self) -> None:
        self._task = asyncio.create_task(every(HEARTBEAT_S, self.heartbeat, "chat presence heartbeat"))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):  # a clean shutdown: this node's visitors are gone
            await self.col.delete_many({"node": self.node})


async def agents_online(app_extensions: dict[str, Any]) -> bool | None:
    """True/False from the agent console's presence (shared by every node); None without a console."""
    console = app_extensions.get("agent_console") or {}
    presence = console.get("presence")
    if presence is None:
        return None
    return any(status == "online" for status in (await presence.all()).values())
