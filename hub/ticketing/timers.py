"""A timer wheel that needs nothing but inserts and ``_id`` look-ups.

Why not "find tickets with ``sla_next_at <= now``": FerretDB v1's SQLite backend pushes down only
``_id`` equality, so that query is a full collection scan (measured: ~3 s over 100,000 tiny
documents on the shared 2-core box), and so is every update/delete with a filter (measured:
~150 ms per ``update_one`` by ``_id`` at 50,000 documents). Inserts and ``find_one({"_id": …})``
stay at a few ms whatever the size. So:

    timers        _id = "<wheel>:<YYYYmmddHHMM>:<n>"   n = 1, 2, 3… without gaps (insert claims)
    timer_hours   _id = "<wheel>:<YYYYmmddHH>"          "this hour has timers" (lets a sweep skip hours)
    timer_cursor  _id = "<wheel>"                       the last minute fully swept

A timer is filed in the minute it fires, never earlier than one minute from now, and a sweep only
reads minutes that ended at least a minute ago, so a minute is complete when it is read. A sweep
reads ``…:1``, ``…:2`` … until the first miss. Timers are never updated: a stale one (the ticket
was answered, paused, re-timed) is recognised by its reader and ignored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from hub.store import register

from .context import Ctx

register("timers")
register("timer_hours")
register("timer_cursor")

GRACE = timedelta(minutes=1)
MAX_BACKLOG = timedelta(days=14)  # a sweep that was down longer starts here (older timers are moot)


def minute_key(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%d%H%M")


def parse_minute(key: str) -> datetime:
    return datetime.strptime(key, "%Y%m%d%H%M").replace(tzinfo=UTC)


class TimerWheel:
    def __init__(self, ctx: Ctx, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self._next_slot: dict[str, int] = {}
        self._hours: set[str] = set()
        self._cursor_ready = False

    async def add(self, at: datetime, payload: dict[str, Any]) -> str:
        now = self.ctx.clock.now()
        if not self._cursor_ready:  # the first timer ever starts the cursor at "now": nothing is missed
            await self.ctx.store.claim("timer_cursor", self.name, {"minute": minute_key(now - GRACE)})
            self._cursor_ready = True
        minute = minute_key(max(at, now + GRACE))
        hour = f"{self.name}:{minute[:10]}"
        if hour not in self._hours:
            await self.ctx.store.claim("timer_hours", hour)
            self._hours.add(hour)
        n = self._next_slot.get(minute, 1)
        col = self.ctx.store["timers"]
        while True:
            try:
                await col.insert_one({"_id": f"{self.name}:{minute}:{n}", "at": at, **payload})
                break
            except DuplicateKeyError:
                n += 1
        self._next_slot[minute] = n + 1
        if len(self._next_slot) > 10_000:
            self._next_slot.clear()
        return f"{self.name}:{minute}:{n}"

    async def due(self, now: datetime) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
        """Yield (minute, timers) for every complete minute after the cursor, oldest first."""
        cursor = await self.ctx.store["timer_cursor"].find_one({"_id": self.name})
        if cursor is None:
            return
        start = max(parse_minute(cursor["minute"]) + timedelta(minutes=1), now - MAX_BACKLOG)
        last = parse_minute(minute_key(now - GRACE))
        hours = self.ctx.store["timer_hours"]
        col = self.ctx.store["timers"]
        at = start.replace(second=0, microsecond=0)
        while at <= last:
            key = minute_key(at)
            if not await hours.find_one({"_id": f"{self.name}:{key[:10]}"}, {"_id": 1}):
                at = (at + timedelta(hours=1)).replace(minute=0)
                continue
            timers = []
            n = 1
            while (doc := await col.find_one({"_id": f"{self.name}:{key}:{n}"})) is not None:
                timers.append(doc)
                n += 1
            yield key, timers
            at += timedelta(minutes=1)

    async def advance(self, minute: str) -> None:
        await self.ctx.store["timer_cursor"].update_one({"_id": self.name}, {"$max": {"minute": minute}})


__all__ = ["TimerWheel", "minute_key"]
