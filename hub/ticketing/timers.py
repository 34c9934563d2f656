"""A timer wheel made of one small collection per minute: nothing ever scans a big collection.

Why: on FerretDB every filter other than ``_id`` equality is a scan of the whole collection (and
stock v1.24 on SQLite scanned even ``_id`` look-ups: 460–570 ms per ``find_one`` at 100,000
documents, until the ``berry1`` build patch). A collection holding one minute's timers is read whole
with one ``find({})``, emptied by one ``drop()`` (~3 ms; creating one costs ~10 ms), and a cancel
is a ``delete_many`` that scans only that minute: no index, no retention job, no growth. So a timer
is an insert into the collection of the minute it fires::

    wheel.<name>.<YYYYmmddHHMM>         the timers of that minute (payload + ``at``)
    wheel-claims.<name>.<YYYYmmddHH>    once-only claims of the sweeps that read that hour's minutes

A sweep lists the wheel's collections (one metadata call), reads every minute that ended at least
``GRACE`` ago with one ``find({})``, processes it and drops it. A timer is filed no earlier than
``GRACE`` from now, so a minute is complete when it is read; one filed late anyway (a stalled node)
recreates its minute's collection and the next sweep finds it: nothing is lost. Cancelling a timer
(the ticket was answered, paused, re-timed) deletes it from its minute — a scan of that minute only.
Retention: a minute is gone once swept; claims go by the hour, hours after the oldest unswept minute.
The same layout works on FerretDB's PostgreSQL backend and on MongoDB (collections are tables there).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import OperationFailure

from hub.models import new_id

from .context import Ctx

log = logging.getLogger(__name__)
GRACE = timedelta(minutes=1)
MAX_ATTEMPTS = 4
CLAIM_RETENTION = timedelta(hours=6)  # far longer than any sweep takes: racing sweeps see the claims


def minute_key(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%d%H%M")


def parse_minute(key: str) -> datetime:
    return datetime.strptime(key, "%Y%m%d%H%M").replace(tzinfo=UTC)


class TimerWheel:
    def __init__(self, ctx: Ctx, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self._bucket = re.compile(rf"^wheel\.{re.escape(name)}\.(\d{{12}})$")
        self._claims = re.compile(rf"^wheel-claims\.{re.escape(name)}\.(\d{{10}})$")

    def _col(self, minute: str) -> Any:
        return self.ctx.store[f"wheel.{self.name}.{minute}"]

    async def add(self, at: datetime, payload: dict[str, Any]) -> str:
        """File a timer; returns its minute (keep it to cancel the timer)."""
        minute = minute_key(max(at, self.ctx.clock.now() + GRACE))
        await self._col(minute).insert_one({"_id": new_id(), "at": at, **payload})
        return minute

    async def cancel(self, minute: str, match: dict[str, Any]) -> int:
        result = await self._col(minute).delete_many(match)
        return int(result.deleted_count)

    async def _names(self, pattern: re.Pattern[str]) -> list[str]:
        prefix = pattern.pattern.split("(")[0]
        names = await self.ctx.store.db.list_collection_names(filter={"name": {"$regex": prefix}})
        return sorted(m.group(1) for n in names if (m := pattern.match(n)))

    async def due(self, now: datetime) -> list[str]:
        """The minutes that ended at least ``GRACE`` ago and still hold timers, oldest first."""
        last = minute_key(now - GRACE)
        return [m for m in await self._names(self._bucket) if m <= last]

    async def pending(self) -> list[str]:
        return await self._names(self._bucket)

    async def read(self, minute: str) -> list[dict[str, Any]]:
        try:
            return [d async for d in self._col(minute).find({})]
        except OperationFailure as exc:
            # FerretDB (SQLite) fails a read racing the drop of its collection, where MongoDB answers
            # nothing: another node's sweep handled this minute and dropped it meanwhile
            if "no such table" in str(exc):
                return []
            raise

    async def done(self, minute: str) -> None:
        await self._col(minute).drop()

    async def claim(self, minute: str, key: str) -> bool:
        """True for the one sweep that gets to act on ``key`` of this minute (racing sweeps)."""
        return await self.ctx.store.claim(f"wheel-claims.{self.name}.{minute[:10]}", key)

    async def prune(self, now: datetime) -> int:
        """Drop claim collections of hours long swept; returns how many."""
        pending = await self.pending()
        horizon = min([now, *(parse_minute(m) for m in pending[:1])]) - CLAIM_RETENTION
        old = [h for h in await self._names(self._claims) if h < minute_key(horizon)[:10]]
        for hour in old:
            await self.ctx.store[f"wheel-claims.{self.name}.{hour}"].drop()
        return len(old)

    async def sweep(self, now: datetime, fire: Any, limit: int = 100_000) -> int:
        """Read every due minute, ``await fire(minute, timer)`` each timer, drop the minute; returns
        the number of timers read. A minute is dropped only after all its timers were handled, so a
        sweep that dies half-way leaves it for the next one (the claims keep actions once-only). A
        timer whose handler fails is filed again a few minutes on, ``MAX_ATTEMPTS`` times at most,
        so one bad timer (a deleted team, an outage) neither blocks its minute nor vanishes silently."""
        read = 0
        for minute in await self.due(now):
            timers = await self.read(minute)
            for timer in sorted(timers, key=lambda t: (t["at"], t["_id"])):
                try:
                    await fire(minute, timer)
                except Exception:
                    await self._retry(timer, now)
            read += len(timers)
            await self.done(minute)
            if read >= limit:
                break
        return read

    async def _retry(self, timer: dict[str, Any], now: datetime) -> None:
        attempts = int(timer.get("attempts", 0)) + 1
        if attempts >= MAX_ATTEMPTS:
            log.exception(
                "timer failed %d times; dropped", attempts, extra={"wheel": self.name, "timer": timer}
            )
            return
        log.warning(
            "timer failed; filed again", exc_info=True, extra={"wheel": self.name, "attempt": attempts}
        )
        payload = {k: v for k, v in timer.items() if k not in ("_id", "at", "attempts")}
        await self._col(minute_key(now + GRACE * 2**attempts)).insert_one(
            {"_id": new_id(), "at": timer["at"], "attempts": attempts, **payload}
        )


__all__ = ["GRACE", "TimerWheel", "minute_key", "parse_minute"]
