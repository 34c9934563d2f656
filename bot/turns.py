"""One bot turn at a time per conversation, across hub nodes, in message-time order.

Any node may receive any message's event (one bus per node), so a node-local lock is not enough:
two nodes answering a customer's two quick messages at once would both read the same bot state
and one would overwrite the other's. A claimed turn (``bot_turns``, see service.py) therefore
queues here first:

- ``bot_queue`` holds the turns waiting or running right now (one document each, deleted when the
  turn ends), so it stays small and the scan by conversation FerretDB does is cheap. A turn runs
  when it is the earliest live entry of its conversation (message time, then id): turns that wait
  are served first in, first out by message time, whichever node received them first.
- ``bot_locks`` (``_id`` = conversation) is the lock the head of the queue takes, with a lease
  the holder renews while it runs: the head test alone can race (a later message may start before
  an earlier one has queued), the ``_id`` claim cannot. A node that dies mid-turn stops renewing;
  after the lease its entry is ignored and the lock is taken over (one taker per expired lease:
  the take-over is itself a claim, see ``Store.claim``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from hub.models import new_id, utcnow
from hub.periodic import raise_if_cancelling
from hub.store import Store, register

log = logging.getLogger(__name__)
# Entries and locks are renewed while alive: anything an hour past its lease is a dead node's.
register("bot_queue", expire=("until", timedelta(hours=1)))
register("bot_locks", expire=("until", timedelta(hours=1)))


class TurnQueue:
    def __init__(self, store: Store, *, lease_s: float = 15.0, poll_s: float = 0.02,
                 max_poll_s: float = 0.25) -> None:
        self.store = store
        self.lease = timedelta(seconds=lease_s)
        self.poll_s = poll_s
        self.max_poll_s = max_poll_s

    @contextlib.asynccontextmanager
    async def turn(self, conversation_id: str, message_id: str, at: datetime) -> AsyncIterator[None]:
        """Wait for this message's turn in its conversation, hold it for the ``async with`` body."""
        entry = f"{conversation_id}:{message_id}"
        queue = self.store["bot_queue"]
        await queue.insert_one({"_id": entry, "conversation_id": conversation_id, "at": at,
                                "until": utcnow() + self.lease})
        try:
            token = await self._wait(conversation_id, entry)
            renew = asyncio.create_task(self._renew(conversation_id, entry, token))
            try:
                yield
            finally:
                renew.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renew
                await self._unlock(conversation_id, token)
        finally:
            await queue.delete_one({"_id": entry})

    async def _wait(self, conversation_id: str, entry: str) -> str:
        delay = self.poll_s
        while True:
            now = utcnow()
            if await self._is_head(conversation_id, entry, now):
                token = await self._lock(conversation_id, now)
                if token:
                    return token
            # still waiting: keep our place (a dead node's entries stop being renewed)
            await self.store["bot_queue"].update_one({"_id": entry}, {"$set": {"until": now + self.lease}})
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, self.max_poll_s)

    async def _is_head(self, conversation_id: str, entry: str, now: datetime) -> bool:
        live = [d async for d in self.store["bot_queue"].find({"conversation_id": conversation_id},
                                                               {"at": 1, "until": 1})
                if d["_id"] == entry or d["until"] > now]
        return min(live, key=lambda d: (d["at"], d["_id"]))["_id"] == entry

    async def _lock(self, conversation_id: str, now: datetime) -> str | None:
        """The conversation's lock (a token to renew and release it), or None while another holds it."""
        token = new_id()
        until = now + self.lease
        if await self.store.claim("bot_locks", conversation_id, {"owner": token, "until": until}):
            return token
        held: dict[str, Any] | None = await self.store["bot_locks"].find_one({"_id": conversation_id})
        if held is None or held["until"] > now:
            return None  # released meanwhile (the next poll claims it) or still held
        if not await self.store.claim("bot_locks", f"{conversation_id}:takeover:{held['until'].isoformat()}",
                                      {"until": until}):
            return None
        log.warning("bot turn lock taken over", extra={"conversation_id": conversation_id})
        await self.store["bot_locks"].update_one({"_id": conversation_id},
                                                 {"$set": {"owner": token, "until": until}})
        return token

    async def _renew(self, conversation_id: str, entry: str, token: str) -> None:
        while True:
            # the turn's end waits for this task: a cancel a renewal swallowed must not keep the
            # lock renewed (and the conversation's turns waiting on every node) for ever
            raise_if_cancelling()
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self._extend(conversation_id, entry)
            except Exception:  # the next renewal may get through; the lease covers two misses
                log.exception("bot turn lease renewal failed", extra={"conversation_id": conversation_id})

    async def _extend(self, conversation_id: str, entry: str) -> None:
        """One renewal: the lock and the queue entry live one more lease."""
        until = utcnow() + self.lease
        await self.store["bot_locks"].update_one({"_id": conversation_id}, {"$set": {"until": until}})
        await self.store["bot_queue"].update_one({"_id": entry}, {"$set": {"until": until}})

    async def _unlock(self, conversation_id: str, token: str) -> None:
        held = await self.store["bot_locks"].find_one({"_id": conversation_id}, {"owner": 1})
        if held is not None and held.get("owner") == token:  # not if taken over after a stall
            await self.store["bot_locks"].delete_one({"_id": conversation_id})
