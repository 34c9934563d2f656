"""Agent presence: online, away or offline, from the sockets every node holds.

Each socket is a document (``console_sockets``) refreshed by heartbeats; a user's status is the
best of their sockets' (online > away), offline when none is left. A sweeper removes sockets whose
node stopped heart-beating (a crashed node) so their users go offline too. A change publishes
``agent.presence`` on the hub's bus (routing can reassign an offline agent's tickets) and is sent
to every staff member.

A dropped connection is not a goodbye: when a user's last socket goes, their status is looked at
again ``grace_s`` later (``BERRY_CONSOLE_OFFLINE_GRACE_S``), so a reconnect within it (a network blip,
a laptop waking up, a reload) changes nothing — going offline hands their tickets to colleagues.

Two nodes can notice the same change at once and both publish it (FerretDB has no atomic
compare-and-set); subscribers treat ``agent.presence`` as a state, not a delta.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any, ClassVar

from hub.events import Event, EventBus
from hub.models import utcnow
from hub.store import Store, ix, register, upsert

log = logging.getLogger(__name__)

SOCKETS = "console_sockets"
PRESENCE = "console_presence"
HEARTBEAT_S = 20
STALE = timedelta(seconds=3 * HEARTBEAT_S)
RANK = {"online": 2, "away": 1, "offline": 0}

register(SOCKETS, ix(("user_id", 1)), ix(("seen_at", 1)))  # _id = "<node>:<sid>"
register(PRESENCE)  # _id = user id


async def reachable_sockets(sio: Any, namespace: str, store: Store, node: str,
                            user_id: str, session_id: str | None = None) -> AsyncIterator[str]:
    """The user's open console sockets (of one sign-in, with ``session_id``) this node can act on:
    its own that are still connected, and another node's through the Socket.IO manager when it is
    Redis's (without it, such an entry is another process's, or stale, and out of reach)."""
    from socketio.async_pubsub_manager import AsyncPubSubManager

    which = {"user_id": user_id, **({"session_id": session_id} if session_id else {})}
    async for doc in store[SOCKETS].find(which, {"_id": 1}):
        at, _, sid = str(doc["_id"]).partition(":")
        if at != node and not isinstance(sio.manager, AsyncPubSubManager):
            continue
        if at == node and not sio.manager.is_connected(sid, namespace):
            continue
        yield sid


class AgentPresenceChanged(Event):
    name: ClassVar[str] = "agent.presence"
    user_id: str
    status: str
    previous: str


Notify = Callable[[dict[str, Any]], Awaitable[None]]


class PresenceTracker:
    def __init__(self, store: Store, bus: EventBus, node: str, notify: Notify, grace_s: float = 0.0) -> None:
        self.store = store
        self.bus = bus
        self.node = node
        self.notify = notify
        self.grace_s = grace_s
        self._later: dict[asyncio.Task[None], tuple[str, str]] = {}  # refreshes waiting out a grace
        # this node's sockets per user (sid → status): a second tab of someone already online here
        # cannot change their status, so it costs no scan of every socket in the store
        self.local: dict[str, dict[str, str]] = {}

    def _online_here(self, user_id: str) -> bool:
        return "online" in self.local.get(user_id, {}).values()

    def _key(self, sid: str) -> str:
        return f"{self.node}:{sid}"

    async def connected(self, sid: str, user_id: str, name: str, session_id: str | None = None) -> None:
        already = self._online_here(user_id)
        self.local.setdefault(user_id, {})[sid] = "online"
        await self.store[SOCKETS].insert_one({"_id": self._key(sid), "user_id": user_id, "name": name,
                                              "session_id": session_id, "node": self.node, "status": "online",
                                              "seen_at": utcnow()})
        if not already:
            await self.refresh(user_id, name)

    async def heartbeat(self, sid: str, user_id: str, name: str, status: str | None = None) -> str:
        changes: dict[str, Any] = {"seen_at": utcnow()}
        if status:
            changes["status"] = status
            self.local.setdefault(user_id, {})[sid] = status
        await self.store[SOCKETS].update_one({"_id": self._key(sid)}, {"$set": changes})
        return await self.refresh(user_id, name) if status else await self.status(user_id)

    async def disconnected(self, sid: str, user_id: str, name: str) -> None:
        mine = self.local.get(user_id, {})
        mine.pop(sid, None)
        if not mine:
            self.local.pop(user_id, None)
        await self.store[SOCKETS].delete_one({"_id": self._key(sid)})
        if self._online_here(user_id):  # another tab here still online: nothing changed
            return
        if self.grace_s <= 0:
            await self.refresh(user_id, name)
            return
        task = asyncio.create_task(self._refresh_after_grace(user_id, name))
        self._later[task] = (user_id, name)
        task.add_done_callback(lambda done: self._later.pop(done, None))

    async def _refresh_after_grace(self, user_id: str, name: str) -> None:
        await asyncio.sleep(self.grace_s)
        try:
            await self.refresh(user_id, name)
        except Exception:  # the store is down: their next connect or disconnect recomputes it
            log.exception("presence refresh after a disconnect failed", extra={"user_id": user_id})

    async def close(self) -> None:
        """Shutting down: the refreshes still waiting out a grace run now (a node that stops takes its
        sockets with it; nobody else would notice that these users left)."""
        waiting = dict(self._later)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        for user_id, name in set(waiting.values()):
            try:
                await self.refresh(user_id, name)
            except Exception:
                log.exception("presence refresh at shutdown failed", extra={"user_id": user_id})

    async def status(self, user_id: str) -> str:
        doc = await self.store[PRESENCE].find_one({"_id": user_id})
        return doc["status"] if doc else "offline"

    async def refresh(self, user_id: str, name: str = "") -> str:
        """Recompute a user's status from their live sockets; publish when it changed."""
        best = "offline"
        async for doc in self.store[SOCKETS].find(
            {"user_id": user_id, "seen_at": {"$gte": utcnow() - STALE}}
        ):
            if RANK[doc["status"]] > RANK[best]:
                best = doc["status"]
        previous = await self.status(user_id)
        if best != previous:
            await upsert(self.store[PRESENCE], {"_id": user_id},
                         {"$set": {"status": best, "name": name, "updated_at": utcnow()}})
            log.info("presence", extra={"user_id": user_id, "status": best, "previous": previous})
            await self.bus.publish(AgentPresenceChanged(user_id=user_id, status=best, previous=previous))
            await self.notify({"user_id": user_id, "name": name, "status": best})
        return best

    async def sweep(self) -> int:
        """Drop sockets nobody heart-beat for (their node died) and update their users."""
        cutoff = utcnow() - STALE
        stale = [d async for d in self.store[SOCKETS].find({"seen_at": {"$lt": cutoff}}).limit(1000)]
        for doc in stale:
            await self.store[SOCKETS].delete_one({"_id": doc["_id"]})
        for user_id in {d["user_id"]: d["name"] for d in stale}.items():
            await self.refresh(*user_id)
        return len(stale)

    async def all(self) -> dict[str, str]:
        return {d["_id"]: d["status"] async for d in self.store[PRESENCE].find({})}
