"""The store: one ``AsyncMongoClient`` and the database, with typed access to collections."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from hub.errors import StoreUnavailable

from .collections import COLLECTIONS

log = logging.getLogger(__name__)

Doc = dict[str, Any]


async def upsert(collection: AsyncCollection[Doc], flt: Doc, change: Doc, *, replace: bool = False) -> None:
    """``update_one`` (or ``replace_one``) with ``upsert=True`` that survives a concurrent upsert of
    the same document. MongoDB retries an upsert that lost the insert race on a unique index;
    FerretDB answers E11000 instead (seen in CI: two job-queue upserts of one job). The loser's
    write then lands as a plain update of the winner's document."""
    write = collection.replace_one if replace else collection.update_one
    try:
        await write(flt, change, upsert=True)
    except DuplicateKeyError:
        await write(flt, change)


class Store:
    def __init__(self, client: AsyncMongoClient[Doc], db_name: str) -> None:
        self.client = client
        self.db: AsyncDatabase[Doc] = client[db_name]

    @classmethod
    def connect(cls, url: str, db_name: str, **kwargs: Any) -> Store:
        kwargs.setdefault("serverSelectionTimeoutMS", 5000)
        kwargs.setdefault("tz_aware", True)
        return cls(AsyncMongoClient(url, **kwargs), db_name)

    def __getitem__(self, name: str) -> AsyncCollection[Doc]:
        return self.db[name]

    # The foundation's collections, typed for editors; packages use store["name"] for their own.
    @property
    def contacts(self) -> AsyncCollection[Doc]:
        return self.db["contacts"]

    @property
    def identities(self) -> AsyncCollection[Doc]:
        return self.db["identities"]

    @property
    def conversations(self) -> AsyncCollection[Doc]:
        return self.db["conversations"]

    @property
    def messages(self) -> AsyncCollection[Doc]:
        return self.db["messages"]

    @property
    def inbound_keys(self) -> AsyncCollection[Doc]:
        return self.db["inbound_keys"]

    @property
    def users(self) -> AsyncCollection[Doc]:
        return self.db["users"]

    @property
    def api_keys(self) -> AsyncCollection[Doc]:
        return self.db["api_keys"]

    @property
    def audit_log(self) -> AsyncCollection[Doc]:
        return self.db["audit_log"]

    async def ping(self) -> bool:
        try:
            await self.db.command("ping")
            return True
        except PyMongoError:
            return False

    async def server_kind(self) -> str:
        """``ferretdb`` or ``mongodb``, from buildInfo (FerretDB adds ``ferretdbVersion``)."""
        info = await self.db.command("buildInfo")
        return "ferretdb" if "ferretdbVersion" in info else "mongodb"

    async def ensure_indexes(self) -> None:
        """Create every declared collection and index; safe to run on every start.

        On the embedded FerretDB (our patched build, see scripts/build-ferretdb) equality filters on
        top-level fields are pushed down to SQLite and served by these indexes; expiry is ours
        there (see ``expire``), MongoDB expires documents itself through TTL indexes.
        """
        mongodb = await self.server_kind() == "mongodb"
        existing = set(await self.db.list_collection_names())
        if not mongodb:
            await self._rebuild_indexes_of_an_older_build(existing)
            existing.add("store_meta")  # its claim made it, if it was not there
        for spec in COLLECTIONS.values():
            if spec.name not in existing:
                try:
                    await self.db.create_collection(spec.name)
                except OperationFailure as exc:  # created concurrently by another node
                    if exc.code != 48:
                        raise
            for index in spec.indexes:
                await self.db[spec.name].create_index(list(index.keys), name=index.name, unique=index.unique)
            if spec.expire and mongodb:
                time_field, age = spec.expire
                await self.db[spec.name].create_index([(time_field, 1)], name=f"{time_field}_ttl",
                                                      expireAfterSeconds=int(age.total_seconds()))

    async def _rebuild_indexes_of_an_older_build(self, existing: set[str]) -> None:
        """FerretDB builds an index on the SQL expression of the build that created it, and our
        patch levels change those expressions (berry3's sort order): indexes made by another level
        would be ignored by the planner while still costing every write. Once per level (one node
        wins the claim), drop the declared collections' indexes, including ones no longer declared,
        so the loop below builds them anew."""
        from .embedded import INDEX_LEVEL  # the level this hub ships with (embedded or compose)

        if not await self.claim("store_meta", f"indexes:{INDEX_LEVEL}", {"at": datetime.now(UTC)}):
            return
        for name in sorted(existing & COLLECTIONS.keys()):
            dropped = [ix["name"] async for ix in await self.db[name].list_indexes() if ix["name"] != "_id_"]
            for index_name in dropped:
                await self.db[name].drop_index(index_name)
            if dropped:
                log.info("store.index_rebuild",
                         extra={"collection": name, "indexes": dropped, "level": INDEX_LEVEL})

    async def expire(self, now: datetime | None = None) -> dict[str, int]:
        """Delete what every ``register(..., expire=...)`` declaration says is too old; the count per
        collection. Idempotent, so any number of nodes may run it."""
        now = now or datetime.now(UTC)
        deleted: dict[str, int] = {}
        for spec in COLLECTIONS.values():
            if spec.expire:
                time_field, age = spec.expire
                result = await self.db[spec.name].delete_many({time_field: {"$lt": now - age}})
                deleted[spec.name] = result.deleted_count
        return deleted

    async def claim(self, collection: str, claim_id: str, doc: Doc | None = None) -> bool:
        """Insert ``{_id: claim_id}``; True if this caller won. The one race-free primitive.

        FerretDB v1 does not serialize read-modify-write updates: 50 concurrent ``$inc`` of one
        document were measured to leave it at 2, and conditional ``find_one_and_update`` calls can
        both succeed. Only ``_id`` uniqueness holds, so every decision that must have one winner
        (ticket numbers, job leases, thread hand-over) is an insert of a claim document.
        """
        try:
            await self.db[collection].insert_one({**(doc or {}), "_id": claim_id})
            return True
        except DuplicateKeyError:
            return False

    async def lease(self, collection: str, lease_id: str, ttl: timedelta,
                    doc: Doc | None = None) -> tuple[bool, Doc]:
        """Take the lease ``lease_id``: a claim (see ``claim``) that also carries ``lease_until`` and a
        ``token`` (to release it with; a holder whose lease was taken over has the old one). (True, the
        document written) if nobody held it, else (False, the holder's document): wait, or
        ``take_over`` it once its ``lease_until`` has passed (its holder died or stalled)."""
        mine = {**(doc or {}), "token": uuid.uuid4().hex, "lease_until": datetime.now(UTC) + ttl}
        for _ in range(3):
            if await self.claim(collection, lease_id, mine):
                return True, {**mine, "_id": lease_id}
            held = await self.db[collection].find_one({"_id": lease_id})
            if held is not None:
                return False, held
        return False, {"_id": lease_id, "lease_until": datetime.now(UTC) + ttl}  # taken and released, 3 times

    async def take_over(self, collection: str, held: Doc, ttl: timedelta,
                        changes: Doc | None = None) -> Doc | None:
        """Take over the lease ``held`` (as ``lease`` returned it) if its ``lease_until`` has passed: one
        taker per expired term, by a claim ``<lease id>:takeover:<lease_until>``, gets a new token and
        ``lease_until`` (and ``changes``; the lease's other fields are kept). No conditional update
        decides it (FerretDB v1 does not serialize them, see ``claim``). The document as now held, or
        None: still live, or another caller took this term over."""
        now = datetime.now(UTC)
        until = held.get("lease_until")  # none: written before leases carried one, so long expired
        if until is not None and until >= now:
            return None
        term = until.isoformat() if until is not None else "none"
        ends = now + ttl
        # the claim carries the new term's end too: a collection that expires on ``lease_until``
        # (``register(..., expire=("lease_until", ...))``) drops its take-over claims with its leases
        if not await self.claim(collection, f"{held['_id']}:takeover:{term}",
                                {"at": now, "lease_until": ends}):
            return None
        fresh = {**(changes or {}), "token": uuid.uuid4().hex, "lease_until": ends}
        await self.db[collection].update_one({"_id": held["_id"]}, {"$set": fresh})
        return {**held, **fresh}

    async def acquire(self, collection: str, lease_id: str, ttl: timedelta,
                      doc: Doc | None = None) -> Doc | None:
        """``lease``, and ``take_over`` an expired holder's (with ``doc``): the lease's document if this
        caller holds it now, else None."""
        won, held = await self.lease(collection, lease_id, ttl, doc)
        return held if won else await self.take_over(collection, held, ttl, doc)

    async def renew(self, collection: str, lease_id: str, token: str, ttl: timedelta) -> bool:
        """Extend the lease ``lease_id`` to ``ttl`` from now if it is still this holder's (``token``):
        True if it was. A holder whose lease was taken over (it stalled past ``lease_until``) gets
        False and leaves the taker's term alone. Unlike ``take_over`` this is a conditional update,
        which FerretDB v1 does not serialize (see ``claim``): it decides nothing, and only a holder
        that has already let its lease run out can race a take-over's write (as ``release`` can)."""
        renewed = await self.db[collection].update_one({"_id": lease_id, "token": token},
                                                       {"$set": {"lease_until": datetime.now(UTC) + ttl}})
        return renewed.matched_count == 1

    async def release(self, collection: str, lease_id: str, token: str) -> None:
        """Give the lease back, if it is still this holder's (``token``), not a taker-over's."""
        await self.db[collection].delete_one({"_id": lease_id, "token": token})

    async def next_number(self, counter: str, claims: str = "counter_claims") -> int:
        """Next value of a named counter (ticket numbers), gap-free and unique under concurrency:
        claim ``<counter>:<n>`` in ``claims``; ``counters`` only holds a hint of the last n. A
        counter that needs only "next" (round-robin turns) keeps its claims in an expiring collection."""
        try:
            hint = await self.db["counters"].find_one({"_id": counter})
            n = int(hint["value"]) + 1 if hint else 1
            while not await self.claim(claims, f"{counter}:{n}", {"at": datetime.now(UTC)}):
                n += 1
            await upsert(self.db["counters"], {"_id": counter}, {"$max": {"value": n}})
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return n

    async def close(self) -> None:
        await self.client.close()
