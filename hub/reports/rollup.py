"""Roll-ups: hourly groups (team × channel × agent × contact type × priority), stored one document
per UTC day in ``report_buckets`` (``_id`` = ``YYYY-MM-DD``), so a dashboard reads a few dozen small
documents instead of every ticket.

The groups of a day are stored as one zlib-compressed JSON blob (``groups_z``), not as nested
documents: FerretDB v1 keeps documents as JSON in SQLite and decodes every scanned document, so a
day of a few thousand nested groups cost seconds to read; one binary field costs milliseconds.
``n`` (tickets that day) stays a plain field for people looking at the collection.

A bucket is never incremented: recomputing a day reads that day's tickets and ``replace_one``-s the
whole document (FerretDB v1 loses concurrent ``$inc``; a recompute is idempotent and a late event —
a reopen, a CSAT answer, an SLA breach, a contact merge — simply recomputes the day again). Any event
that touches a ticket queues ``reports.rollup`` for the ticket's creation day, coalesced per day and
per ``debounce_s`` slot through the job key.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bson import Binary

from hub.models import utcnow
from hub.store import COLLECTIONS, Store, ix, register

from .source import Calendars, conversations_created, groups_of

log = logging.getLogger(__name__)
register("report_buckets", ix(("day", 1)))
# Reports read tickets by creation time (a range scan on MongoDB; FerretDB v1 scans anyway).
register("conversations", *COLLECTIONS["conversations"].indexes, ix(("created_at", 1)))

JOB = "reports.rollup"


def day_of(at: datetime) -> date:
    return at.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def days(start: datetime, end: datetime) -> Iterator[date]:
    """The UTC days that overlap [start, end)."""
    day = day_of(start)
    while day_start(day) < end:
        yield day
        day += timedelta(days=1)


class Rollups:
    def __init__(self, store: Store, jobs: Any = None, debounce_s: float = 60.0) -> None:
        self.store = store
        self.col = store["report_buckets"]
        self.jobs = jobs
        self.debounce_s = debounce_s
        self._queued: dict[str, float] = {}

    # --- computing ------------------------------------------------------------------------------

    async def compute_days(self, first: date, last: date, calendars: Calendars | None = None) -> dict[date, list[dict[str, Any]]]:
        """Fresh groups for each UTC day in [first, last] from one bounded query."""
        convs = await conversations_created(self.store, day_start(first), day_start(last + timedelta(days=1)))
        groups = await groups_of(self.store, convs, calendars)
        out: dict[date, list[dict[str, Any]]] = {}
        for g in groups:
            out.setdefault(day_of(g["hour"]), []).append(g)
        return out

    async def recompute(self, day: date) -> bool:
        """Recompute one day's bucket from the tickets; True if it changed."""
        fresh = (await self.compute_days(day, day)).get(day, [])
        return await self.save(day, fresh)

    async def save(self, day: date, groups: list[dict[str, Any]], stored: dict[str, Any] | None = None) -> bool:
        key = day.isoformat()
        if stored is None:
            stored = await self.col.find_one({"_id": key})
        if stored is None and not groups:
            return False
        changed = stored is None or normalize(decode(stored)) != normalize(groups)
        if changed:
            await self.col.replace_one({"_id": key}, {"day": day_start(day), "n": sum(g["n"] for g in groups),
                                                      "groups_z": encode(groups), "computed_at": utcnow()},
                                       upsert=True)
        return changed

    # --- reading --------------------------------------------------------------------------------

    async def groups(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        keys = [d.isoformat() for d in days(start, end)]
        out: list[dict[str, Any]] = []
        async for doc in self.col.find({"_id": {"$in": keys}}, {"groups_z": 1}):
            out.extend(g for g in decode(doc) if start <= g["hour"] < end)
        return out

    async def stored(self, first: date, last: date) -> dict[date, dict[str, Any]]:
        keys = [d.isoformat() for d in days(day_start(first), day_start(last + timedelta(days=1)))]
        return {date.fromisoformat(d["_id"]): d async for d in self.col.find({"_id": {"$in": keys}})}

    # --- keeping current ------------------------------------------------------------------------

    async def touch(self, created_at: datetime) -> None:
        """Queue a recompute of the day of a ticket created at ``created_at`` (coalesced)."""
        if self.jobs is None:
            return
        day = day_of(created_at).isoformat()
        slot = int(time.time() // self.debounce_s) if self.debounce_s > 0 else time.time_ns()
        key = f"{JOB}:{day}:{slot}"
        if key in self._queued:
            return
        if len(self._queued) > 10_000:
            self._queued.clear()
        self._queued[key] = time.time()
        at = datetime.fromtimestamp((slot + 1) * self.debounce_s + 2, UTC) if self.debounce_s > 0 else None
        await self.jobs.enqueue(JOB, {"day": day}, at=at, key=key)

    async def on_event(self, event: Any) -> None:
        """Bus subscriber for every event: find the tickets it touched and queue their days."""
        created: list[datetime] = []
        conversation = getattr(event, "conversation", None)
        if conversation is not None and getattr(conversation, "created_at", None):
            created.append(conversation.created_at)
        ids = [getattr(event, "conversation_id", None)]
        if event.name == "ticket.merged":
            ids += [event.source_id, event.target_id]
        for cid in {i for i in ids if isinstance(i, str)}:
            doc = await self.store.conversations.find_one({"_id": cid}, {"created_at": 1})
            if doc:
                created.append(doc["created_at"])
        if event.name == "contact.merged":  # the tickets moved to the target contact
            async for doc in self.store.conversations.find({"contact_id": {"$in": [event.source_id, event.target_id]}},
                                                           {"created_at": 1}).limit(10_000):
                created.append(doc["created_at"])
        for day in sorted({day_of(c) for c in created}):
            await self.touch(day_start(day))


def encode(groups: list[dict[str, Any]]) -> Binary:
    rows = [{**g, "hour": int(g["hour"].timestamp())} for g in groups]
    return Binary(zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 6))


def decode(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The groups of a stored bucket document."""
    blob = doc.get("groups_z")
    if not blob:
        return []
    hours: dict[int, datetime] = {}
    rows = json.loads(zlib.decompress(bytes(blob)))
    for g in rows:
        h = g["hour"]
        g["hour"] = hours.get(h) or hours.setdefault(h, datetime.fromtimestamp(h, UTC))
    return rows


def normalize(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups as comparable plain values (stored datetimes come back tz-aware from the store)."""
    out = []
    for g in groups:
        g = dict(g)
        g["hour"] = g["hour"].astimezone(UTC).isoformat()
        out.append(g)
    return out


__all__ = ["JOB", "Rollups", "day_of", "day_start", "days", "decode", "encode", "normalize"]
