"""A leader lease on FerretDB: at most one node at a time holds ``name`` (one IMAP mailbox).

    leases        (_id = name)        owner, term, until, info (the holder's status, shown by others)
    lease_claims  (_id = name:term)   one taker per expired term (``Store.claim``)

Every read and write is by a lone ``_id``. The holder renews ``until``; only the holder writes its
document while the lease runs, so there is no read-modify-write race to lose (FerretDB v1 does
not serialize them). Once ``until`` has passed — the holder died, stalled, or released it — the
first node to claim ``name:term`` takes the document over with ``term + 1``. A stalled holder sees
the new owner at its next renewal and steps down; until then both may act, so what a lease
guards must stay idempotent (mail ingest is, on Message-ID). ``until`` is compared with each
node's clock: keep node clocks within a small part of the lease (NTP does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from hub.models import utcnow
from hub.store import Store, register

register("leases")
register("lease_claims", expire=("at", timedelta(days=1)))  # useless once the next term is written
EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Holder:
    owner: str
    term: int
    until: datetime
    info: dict[str, Any]

    def live(self, now: datetime | None = None) -> bool:
        return self.until > (now or utcnow())


class Lease:
    def __init__(self, store: Store, name: str, owner: str, ttl: timedelta) -> None:
        self.store, self.name, self.owner, self.ttl = store, name, owner, ttl
        self.holder: Holder | None = None  # as last seen: this node or another

    async def _read(self) -> dict[str, Any] | None:
        return await self.store["leases"].find_one({"_id": self.name})

    def _seen(self, doc: dict[str, Any]) -> bool:
        self.holder = Holder(doc["owner"], int(doc["term"]), doc["until"], doc.get("info") or {})
        return self.holder.owner == self.owner and self.holder.live()

    async def acquire(self, info: dict[str, Any] | None = None) -> bool:
        """Take the lease if it is free or expired, renew it if held; True when this node holds it.
        ``info`` (small, no secrets) is published with the lease for the other nodes to show."""
        now, info = utcnow(), info or {}
        leases = self.store["leases"]
        doc = await self._read()
        if doc is None:
            fresh = {"_id": self.name, "owner": self.owner, "term": 1, "until": now + self.ttl, "info": info}
            try:
                await leases.insert_one(fresh)
                return self._seen(fresh)
            except DuplicateKeyError:  # another node's first insert won
                doc = await self._read()
                assert doc is not None
        if doc["until"] > now:
            if doc["owner"] != self.owner:
                return self._seen(doc)
            await leases.update_one({"_id": self.name}, {"$set": {"until": now + self.ttl, "info": info}})
        elif await self.store.claim("lease_claims", f"{self.name}:{doc['term']}", {"at": now}):
            await leases.update_one({"_id": self.name}, {"$set": {
                "owner": self.owner, "term": int(doc["term"]) + 1, "until": now + self.ttl, "info": info}})
        else:  # another node took this expired term over
            pass
        doc = await self._read()  # confirm: a node that took over meanwhile wins
        return doc is not None and self._seen(doc)

    async def release(self) -> None:
        """Let another node take over at once (a graceful stop), if this node still holds it."""
        doc = await self._read()
        if doc is not None and doc["owner"] == self.owner and self.holder and doc["term"] == self.holder.term:
            await self.store["leases"].update_one({"_id": self.name}, {"$set": {"until": EXPIRED}})
        self.holder = None
