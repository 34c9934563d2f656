"""Roll-ups, two layers kept by the job queue:

- ``report_buckets``: quarter-hour groups (team × channel × agent × contact type × priority; ``stats.py``
  says why a quarter hour), one document
  per UTC day (``_id`` = ``YYYY-MM-DD``) — the exact source for partial days (a range in another
  time zone) and for queries filtering on two dimensions at once;
- ``report_views``: the same day pre-merged per scope (``_id`` = ``day:YYYY-MM-DD:all`` or
  ``day:YYYY-MM-DD:team_id:T`` …, see ``views.py``), and aligned blocks of 2, 4 … 32 days merged from
  them (``b<level>:<epoch day >> level>:<scope>``). What the dashboard reads: a range of whole days
  splits into at most ~2·log2(days) blocks, each one ``find_one`` by ``_id``, concurrently (FerretDB
  v1's SQLite backend pushes down ``_id`` equality and nothing else: ``$in`` or a range would scan).
  Views stay small at any volume (``views.Dist`` / ``Distinct`` are bounded), so a 30-day range is
  ~8 small reads, plus ~8 for the previous period's trend.

A day's blocks are re-merged from their two children after its views are written; two workers
recomputing neighbouring days at the same instant can leave a block one step stale until either day
is recomputed again — ``rebuild`` checks and repairs every view and block.

The groups of a day are stored as one zlib-compressed JSON blob (``groups_z``), not as nested
documents: FerretDB v1 keeps documents as JSON in SQLite and decodes every scanned document, so a
day of a few thousand nested groups cost seconds to read; one binary field costs milliseconds.
``n`` (tickets that day) stays a plain field for people looking at the collection.

A bucket is never incremented: recomputing a day reads that day's tickets and ``replace_one``-s the
whole document (FerretDB v1 loses concurrent ``$inc``; a recompute is idempotent and a late event —
a reopen, a CSAT answer, an SLA breach, a contact merge — simply recomputes the day again).

Keeping current: an event that touches a ticket marks the ticket's creation day in ``report_dirty``
(``_id`` = ``<day>:<slot>``, an idempotent upsert) and queues one ``reports.rollup`` job per
``debounce_s`` slot (job key ``reports.rollup:<slot>``). The job recomputes every marked day together
— one read of their tickets and one of their messages, however many days changed — then deletes the
marks it read (a day marked again meanwhile has a newer mark, in a later slot, and runs again). On
FerretDB v1 each of those reads scans its collection (only ``_id`` equality is pushed down), so the
cost is bounded by one scan of tickets and messages per slot instead of one per changed day. Folding
only the changed tickets would need their messages by ``conversation_id`` without a scan, which
FerretDB v1 cannot do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections.abc import Awaitable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bson import Binary

from hub.models import utcnow
from hub.store import COLLECTIONS, Store, ix, register, upsert

from . import views
from .figures import select
from .source import Calendars, conversations_created, groups_of
from .views import DIMS_SCOPED, View

log = logging.getLogger(__name__)
register("report_buckets", ix(("day", 1)))
register("report_views")  # _id = "day:<YYYY-MM-DD>:<scope>"; read by _id only
# _id = "<YYYY-MM-DD>:<slot>": days waiting for the roll-up job (a handful of documents)
register("report_dirty")
MAX_MARKS = 5_000  # marks one job takes (more wait for the next job)
CONCURRENCY = 8  # find_one / replace_one in flight at once (more only queues inside FerretDB)
LEVELS = 5  # blocks of 2 … 32 days
EPOCH = date(1970, 1, 1)
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
        self.views = store["report_views"]
        self.dirty = store["report_dirty"]
        self.jobs = jobs
        self.debounce_s = debounce_s
        self._queued: dict[str, float] = {}

    # --- computing ------------------------------------------------------------------------------

    async def compute_days(self, first: date, last: date, calendars: Calendars | None = None,
                           only: set[date] | None = None) -> dict[date, list[dict[str, Any]]]:
        """Fresh groups for each UTC day in [first, last] (or only the days ``only``) from one query."""
        extra = None
        # scattered days: the server drops the rest
        if only is not None and len(only) < (last - first).days + 1:
            extra = {"$or": [{"created_at": {"$gte": day_start(d), "$lt": day_start(d + timedelta(days=1))}}
                             for d in sorted(only)]}
        convs = await conversations_created(
            self.store, day_start(first), day_start(last + timedelta(days=1)), extra
        )
        groups = await groups_of(self.store, convs, calendars)
        out: dict[date, list[dict[str, Any]]] = {}
        for g in groups:
            out.setdefault(day_of(g["hour"]), []).append(g)
        return out

    async def recompute_range(self, first: date, last: date) -> int:
        """Recompute every day in [first, last], then their blocks once (cheaper than day by day)."""
        return await self.recompute_days([first + timedelta(days=i) for i in range((last - first).days + 1)])

    async def recompute_days(self, wanted: list[date]) -> int:
        """Recompute these days from one read of their tickets (and messages), then the blocks of the
        days that changed, once (an unchanged day's blocks are left alone, as ``recompute`` does)."""
        if not wanted:
            return 0
        wanted = sorted(set(wanted))
        fresh = await self.compute_days(wanted[0], wanted[-1], only=set(wanted))
        stored = await self.stored_days(wanted)
        touched = {}
        for d in wanted:
            groups = fresh.get(d, [])
            if await self.save(d, groups, stored.get(d), blocks=False):
                touched[d] = set(scoped(groups)) | set(stored.get(d, {}).get("scopes", []))
        await self.rebuild_blocks(touched)
        return len(touched)

    async def run_pending(self) -> list[date]:
        """The job: recompute every day marked since the last run together; the days it recomputed."""
        marks = [m async for m in self.dirty.find({}, {"day": 1}).limit(MAX_MARKS)]
        wanted = sorted({date.fromisoformat(m["day"]) for m in marks})
        await self.recompute_days(wanted)
        # only the marks read: a day touched during the recompute has a newer mark (a later slot)
        await bounded([self.dirty.delete_one({"_id": m["_id"]}) for m in marks])
        return wanted

    async def recompute(self, day: date) -> bool:
        """Recompute one day's bucket from the tickets; True if it changed."""
        fresh = (await self.compute_days(day, day)).get(day, [])
        return await self.save(day, fresh)

    async def save(self, day: date, groups: list[dict[str, Any]], stored: dict[str, Any] | None = None,
                   force: bool = False, blocks: bool = True) -> bool:
        key = day.isoformat()
        if stored is None:
            stored = await self.col.find_one({"_id": key})
        if stored is None and not groups:
            return False
        changed = force or stored is None or normalize(decode(stored)) != normalize(groups)
        if changed:
            scopes = scoped(groups)
            await self.write_views(day, scopes, (stored or {}).get("scopes", []), blocks=blocks)
            await upsert(self.col, {"_id": key}, {"day": day_start(day), "n": sum(g["n"] for g in groups),
                                                  "groups_z": encode(groups), "scopes": sorted(scopes),
                                                  "computed_at": utcnow()}, replace=True)
        return changed

    async def write_views(self, day: date, scopes: dict[str, list[dict[str, Any]]], before: list[str],
                          blocks: bool = True) -> None:
        """Replace a day's views (written before the bucket, so a crash in between is redone)."""
        at = day_start(day)
        # each group is in ~6 scopes: build once
        one = {id(g): views.view_of([g]) for g in scopes.get("all", [])}
        ops: list[Awaitable[object]] = [
            self.views.replace_one({"_id": view_id(day, s)}, {"day": at, "scope": s, "z": Binary(views.pack(
                views.merge(one[id(g)] if id(g) in one else views.view_of([g]) for g in gs)))}, upsert=True)
            for s, gs in scopes.items()]
        ops += [self.views.delete_one({"_id": view_id(day, s)}) for s in set(before) - set(scopes)]
        await bounded(ops)
        if blocks:
            await self.write_blocks(day, set(scopes) | set(before))

    async def write_blocks(self, day: date, scopes: set[str]) -> None:
        """Re-merge the blocks containing ``day`` from their children, level by level."""
        index = (day - EPOCH).days
        for level in range(1, LEVELS + 1):
            index >>= 1
            await bounded([self._block(level, index, scope) for scope in scopes])

    async def _block(self, level: int, index: int, scope: str) -> None:
        kids = await asyncio.gather(
            *(
                self.views.find_one({"_id": vid}, {"z": 1})
                for vid in (block_id(level - 1, 2 * index, scope), block_id(level - 1, 2 * index + 1, scope))
            )
        )
        present = [views.unpack(bytes(k["z"])) for k in kids if k]
        bid = block_id(level, index, scope)
        if not present:
            await self.views.delete_one({"_id": bid})
            return
        z = Binary(views.pack(present[0] if len(present) == 1 else views.merge(present)))
        await upsert(self.views, {"_id": bid}, {"level": level, "scope": scope, "z": z}, replace=True)

    async def views_differ(self, day: date, groups: list[dict[str, Any]]) -> bool:
        fresh = {s: views.pack(views.view_of(gs)) for s, gs in scoped(groups).items()}
        return await self.stored_views(day) != fresh

    async def rebuild_blocks(self, scopes_by_day: dict[date, set[str]]) -> None:
        """Re-merge, bottom up, every block holding one of these days, for the scopes those days had
        (now or before: a scope that disappeared must leave its blocks too)."""
        for level in range(1, LEVELS + 1):
            blocks: dict[int, set[str]] = {}
            for day, scopes in scopes_by_day.items():
                blocks.setdefault((day - EPOCH).days >> level, set()).update(scopes)
            await bounded([self._block(level, i, s) for i, scopes in blocks.items() for s in scopes])

    async def stored_views(self, day: date) -> dict[str, bytes]:
        """scope → packed view stored for ``day`` (for ``rebuild`` to compare)."""
        bucket = await self.col.find_one({"_id": day.isoformat()}, {"scopes": 1})
        docs = await bounded(
            [self.views.find_one({"_id": view_id(day, s)}) for s in (bucket or {}).get("scopes", [])]
        )
        return {d["scope"]: bytes(d["z"]) for d in docs if d}

    # --- reading --------------------------------------------------------------------------------

    async def bucket_groups(self, day: date) -> list[dict[str, Any]]:
        doc = await self.col.find_one({"_id": day.isoformat()}, {"groups_z": 1})
        return decode(doc) if doc else []

    async def groups(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The groups of [start, end) (one ``find_one`` per day)."""
        per_day = await bounded([self.bucket_groups(d) for d in days(start, end)])
        return [g for groups in per_day for g in groups if start <= g["hour"] < end]

    async def view(self, start: datetime, end: datetime, filters: dict[str, str]) -> View:
        """The merged view of [start, end) under ``filters``: whole days from ``report_views`` when at
        most one filter is set, else (and for partial days) from the quarter-hour groups."""
        scope = scope_of(filters)

        async def stored(vid: str) -> View | None:
            doc = await self.views.find_one({"_id": vid})
            return views.unpack(bytes(doc["z"])) if doc else None

        async def partial(day: date) -> View:
            groups = [g for g in await self.bucket_groups(day) if start <= g["hour"] < end]
            return views.view_of(select(groups, filters))

        whole = [
            d for d in days(start, end) if start <= day_start(d) and day_start(d + timedelta(days=1)) <= end
        ]
        edges = [d for d in days(start, end) if d not in whole]
        reads: list[Awaitable[View | None]] = (
            [partial(d) for d in edges] if scope is not None else [partial(d) for d in days(start, end)])
        if scope is not None and whole:
            reads += [stored(block_id(level, index, scope)) for level, index in cover(whole[0], whole[-1])]
        return views.merge([v for v in await bounded(reads) if v is not None])

    async def stored(self, first: date, last: date) -> dict[date, dict[str, Any]]:
        return await self.stored_days(list(days(day_start(first), day_start(last + timedelta(days=1)))))

    async def stored_days(self, wanted: list[date]) -> dict[date, dict[str, Any]]:
        docs = await bounded([self.col.find_one({"_id": d.isoformat()}) for d in wanted])
        return {d: doc for d, doc in zip(wanted, docs, strict=True) if doc}

    # --- keeping current ------------------------------------------------------------------------

    async def touch(self, created_at: datetime) -> None:
        """Mark the day of a ticket created at ``created_at`` and queue this slot's roll-up job."""
        if self.jobs is None:
            return
        day = day_of(created_at).isoformat()
        slot = int(time.time() // self.debounce_s) if self.debounce_s > 0 else time.time_ns()
        mark = f"{day}:{slot}"
        if mark in self._queued:
            return
        if len(self._queued) > 10_000:
            self._queued.clear()
        self._queued[mark] = time.time()
        # before the job, so the job finds it
        await upsert(self.dirty, {"_id": mark}, {"day": day}, replace=True)
        at = datetime.fromtimestamp((slot + 1) * self.debounce_s + 2, UTC) if self.debounce_s > 0 else None
        await self.jobs.enqueue(JOB, {"slot": slot}, at=at, key=f"{JOB}:{slot}")

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
        if event.name in ("contact.merged", "contact.unmerged"):  # tickets moved between the two contacts
            async for doc in self.store.conversations.find(
                {"contact_id": {"$in": [event.source_id, event.target_id]}}, {"created_at": 1}
            ).limit(10_000):
                created.append(doc["created_at"])
        for day in sorted({day_of(c) for c in created}):
            await self.touch(day_start(day))


def view_id(day: date, scope: str) -> str:
    return f"day:{day.isoformat()}:{scope}"


def block_id(level: int, index: int, scope: str) -> str:
    """A level-0 block is a day (``view_id``); level L covers days [index·2^L, (index+1)·2^L)."""
    return view_id(EPOCH + timedelta(days=index), scope) if level == 0 else f"b{level}:{index}:{scope}"


def cover(first: date, last: date) -> list[tuple[int, int]]:
    """The fewest aligned blocks (level, index) that tile the days [first, last] exactly."""
    out = []
    d, end = (first - EPOCH).days, (last - EPOCH).days
    while d <= end:
        level = 0
        while level < LEVELS and d % (2 << level) == 0 and d + (2 << level) - 1 <= end:
            level += 1
        out.append((level, d >> level))
        d += 1 << level
    return out


def scope_of(filters: dict[str, str]) -> str | None:
    """The stored scope serving ``filters`` (None: two or more filters, computed from the groups)."""
    if not filters:
        return "all"
    if len(filters) == 1:
        ((dim, value),) = filters.items()
        return f"{dim}:{value}"
    return None


def scoped(groups: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """scope → its groups: everything, and each value of each dimension that occurs."""
    out: dict[str, list[dict[str, Any]]] = {"all": groups} if groups else {}
    for g in groups:
        for dim in DIMS_SCOPED:
            if g.get(dim) is not None:
                out.setdefault(f"{dim}:{g[dim]}", []).append(g)
    return out


async def bounded(coros: list[Any], limit: int = CONCURRENCY) -> list[Any]:
    """Run coroutines concurrently, at most ``limit`` at once, results in order."""
    sem = asyncio.Semaphore(limit)

    async def run(coro: Any) -> Any:
        async with sem:
            return await coro

    return list(await asyncio.gather(*(run(c) for c in coros)))


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


__all__ = [
    "JOB",
    "Rollups",
    "bounded",
    "day_of",
    "day_start",
    "days",
    "decode",
    "encode",
    "normalize",
    "scope_of",
    "scoped",
    "view_id",
    "block_id",
    "cover",
]
