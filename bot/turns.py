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
  an earlier one has queued), the ``_id`` claim cannot. The lock is a ``Store.lease`` (``token``,
  ``lease_until``): renewed with ``Store.renew`` and given back with ``Store.release``, both only
  while the holder's token is still the lock's. A node that dies mid-turn stops renewing; after the
  lease its entry is ignored and the lock is taken over (``Store.take_over``: one taker per expired
  lease, the take-over is itself a claim, see ``Store.claim``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from hub.models import utcnow
from hub.periodic import raise_if_cancelling
from hub.store import Store, register

log = logging.getLogger(__name__)
# Entries and locks are renewed while alive: anything an hour past its lease is a dead node's.
register("bot_queue", expire=("until", timedelta(hours=1)))
# A lock's take-over claims (``<conversation>:takeover:<lease_until>``) carry ``lease_until`` too.
register("bot_locks", expire=("lease_until", timedelta(hours=1)))


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
                token = await self._lock(conversation_id)
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

    async def _lock(self, conversation_id: str) -> str | None:
        """The conversation's lock (a token to renew and release it), or None while another holds it."""
        won, held = await self.store.lease("bot_locks", conversation_id, self.lease)
        if won:
            return str(held["token"])
        if "lease_until" not in held and "until" in held:  # written before the lock was a Store lease
            held = {**held, "lease_until": held["until"]}
        taken = await self.store.take_over("bot_locks", held, self.lease)
        if taken is None:
            return None  # still held, or another node took this expired lease over
        log.warning("bot turn lock taken over", extra={"conversation_id": conversation_id})
        return str(taken["token"])

    async def _renew(self, conversation_id: str, entry: str, token: str) -> None:
        while True:
            # the turn's end waits for this task: a cancel a renewal swallowed must not keep the
            # lock renewed (and the conversation's turns waiting on every node) for ever
            raise_if_cancelling()
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self._extend(conversation_id, entry, token)
            except Exception:  # the next renewal may get through; the lease covers two misses
                log.exception("bot turn lease renewal failed", extra={"conversation_id": conversation_id})

    async def _extend(self, conversation_id: str, entry: str, token: str) -> None:
        """One renewal: the lock (while it is still this turn's) and the queue entry live one more lease."""
        if not await self.store.renew("bot_locks", conversation_id, token, self.lease):
            # stalled past the lease and taken over: the taker's lease is not ours to extend
            log.warning("bot turn lock lost while the turn runs", extra={"conversation_id": conversation_id})
        await self.store["bot_queue"].update_one({"_id": entry}, {"$set": {"until": utcnow() + self.lease}})

    async def _unlock(self, conversation_id: str, token: str) -> None:
        await self.store.release("bot_locks", conversation_id, token)  # not if taken over after a stall
