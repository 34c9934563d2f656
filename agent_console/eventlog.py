"""The console's event log: every forwarded event gets the next id of one global sequence, is stored
with the rooms it went to, then emitted. A reconnecting client sends the last id it saw (and the
ids it saw just below it); ``since()`` returns what it missed, in order, without duplicates.

Ids are allocated by inserting ``_id = n`` (FerretDB v1 has no atomic ``$inc``: only ``_id``
uniqueness gives one winner); ``seq`` repeats it as a zero-padded string in an indexed field,
because our FerretDB build pushes sorts down to SQLite only for such fields and ranges only for
strings, ObjectIds and dates (an integer ``_id`` sort or range walks and decodes the whole log in
Go: 1.5 s per client connect and per catch-up at 20,000 events; see ``seq``). Each node keeps a
hint of the next id and steps past the ids another node got first (re-reading the maximum only
when far behind), so ids are unique and increase per node. Across nodes an event with a smaller id
can reach a client a few milliseconds after one with a larger id; the client therefore resumes
from ``last_id - OVERLAP`` and lists the ids it already has in that window.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pymongo.errors import BulkWriteError

from hub.models import utcnow
from hub.store import Store, ix, register

log = logging.getLogger(__name__)

COLLECTION = "console_events"
OVERLAP = 200  # ids below last_id that are replayed unless the client says it has them
MAX_BATCH = 500
STEPS = 4  # clashes stepped over one id at a time before the newest id is read
# FerretDB runs an insert in batches of 100 and, after a duplicate in one, still inserts the next
# batch: beyond 100 documents an ordered insert is not ordered, and nInserted names the wrong ones.
CHUNK = 100
RETENTION = timedelta(hours=24)

register(COLLECTION, ix(("at", 1)), ix(("seq", 1)))  # _id = seq = sequence number (int)


class EventLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._next: int | None = None

    @property
    def col(self) -> Any:
        return self.store[COLLECTION]

    async def last_id(self) -> int:
        doc = await self.col.find_one({}, {"_id": 1, "seq": 1}, sort=[("seq", -1)])
        if doc is not None and "seq" not in doc:  # only events logged before ``seq`` existed (< 24 h)
            doc = await self.col.find_one({}, {"_id": 1}, sort=[("_id", -1)])
        return int(doc["_id"]) if doc else 0

    async def append(self, name: str, rooms: list[str], data: dict[str, Any]) -> int:
        """Store one event under the next free id and return that id."""
        return (await self.append_many([(name, rooms, data)]))[0]

    async def append_many(self, items: list[tuple[str, list[str], dict[str, Any]]]) -> list[int]:
        """Store a batch under consecutive free ids, one round trip per ``CHUNK`` (ordered insert: on
        a clash with another node the prefix before it is kept and the rest retried further on)."""
        if self._next is None:
            self._next = await self.last_id() + 1
        ids: list[int] = []
        at = utcnow()
        clashes = 0
        for _attempt in range(100):
            rest = items[len(ids):][:CHUNK]
            if not rest:
                return ids
            start = self._next
            docs: list[dict[str, Any]] = [
                {"_id": start + i, "seq": seq(start + i), "name": n, "rooms": r, "data": d, "at": at}
                for i, (n, r, d) in enumerate(rest)]
            try:
                await self.col.insert_many(docs, ordered=True)
                ids.extend(doc["_id"] for doc in docs)
                self._next = start + len(docs)
            except BulkWriteError as exc:
                done = int(exc.details.get("nInserted", 0))
                ids.extend(doc["_id"] for doc in docs[:done])
                # Another node holds start + done. With two busy nodes every flush clashes with
                # the other's last few ids: try the next id a few times before reading the newest
                # (on FerretDB that read sorts the whole log: an integer _id is not pushed down).
                # One id at a time, so no gap is left for a node far behind to fill below the
                # newest id, beyond what OVERLAP replays.
                clashes += 1
                if clashes <= STEPS:
                    self._next = start + done + 1
                else:
                    self._next = max(start + done + 1, await self.last_id() + 1)
                    clashes = 0
        raise RuntimeError("could not allocate console event ids")

    async def since(self, last_id: int, rooms: list[str], seen: set[int] | None = None,
                    limit: int = MAX_BATCH) -> tuple[list[dict[str, Any]], bool]:
        """Events for ``rooms`` after ``last_id`` (plus the overlap window minus ``seen``), oldest
        first; the flag says more are waiting (ask again after the last id returned)."""
        start = last_id if seen is None else max(0, last_id - OVERLAP)
        seen = seen or set()
        wanted = set(rooms)
        # the rooms are matched here, not in the query: a filter on an array field keeps FerretDB
        # from walking the ``seq`` index (see the module's docstring)
        out: list[dict[str, Any]] = []
        async for doc in self.col.find({"seq": {"$gt": seq(start)}}).sort("seq", 1).batch_size(limit + 1):
            if wanted.isdisjoint(doc.get("rooms") or ()) or (doc["_id"] <= last_id and doc["_id"] in seen):
                continue
            out.append(envelope(doc))
            if len(out) > limit:
                break
        more = len(out) > limit
        return out[:limit], more

    async def trim(self, batch: int = 1000) -> int:
        """Delete events older than ``RETENTION``, oldest first, ``batch`` per round trip (a range
        read on the ``at`` index, then deletes by ``_id``: neither walks the whole log)."""
        cutoff = utcnow() - RETENTION
        deleted = 0
        while True:
            oldest = self.col.find({"at": {"$lt": cutoff}}, {"_id": 1}).sort("at", 1).limit(batch)
            ids = [d["_id"] async for d in oldest]
            if not ids:
                return deleted
            deleted += (await self.col.delete_many({"_id": {"$in": ids}})).deleted_count


def seq(event_id: int) -> str:
    """The indexed, range-searchable copy of an event id: same order as the integers."""
    return f"{event_id:015d}"


def envelope(doc: dict[str, Any]) -> dict[str, Any]:
    """What a client receives for a logged event."""
    return {"id": doc["_id"], "name": doc["name"], "data": doc["data"]}
