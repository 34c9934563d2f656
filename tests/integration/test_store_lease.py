"""``Store.acquire``: a lease is a claim insert; once it has run out, one of any number of callers
takes it over (a claim per expired term), never a conditional update (FerretDB v1 does not
serialize those). Used by contact merges (``contact_merges``) and inbound keys."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hub.models import utcnow
from hub.store import Store

TTL = timedelta(seconds=30)


async def test_a_live_lease_has_one_holder_until_it_is_given_back(store: Store) -> None:
    held = await store.acquire("leases_test", "lock", TTL, {"what": "merge"})
    assert held is not None and held["what"] == "merge"
    assert await store.acquire("leases_test", "lock", TTL) is None
    await store.release("leases_test", "lock", "someone else's token")  # not theirs to give back
    assert await store.acquire("leases_test", "lock", TTL) is None
    await store.release("leases_test", "lock", held["token"])
    assert await store.acquire("leases_test", "lock", TTL) is not None


async def test_an_expired_lease_is_taken_over_by_exactly_one_of_many(store: Store) -> None:
    for run in range(3):
        name = f"lock{run}"
        await store["leases_test"].insert_one({"_id": name, "token": "dead", "what": "old",
                                                "lease_until": utcnow() - timedelta(seconds=1)})
        takers = await asyncio.gather(*(store.acquire("leases_test", name, TTL, {"what": f"n{i}"})
                                        for i in range(8)))
        won = [t for t in takers if t is not None]
        assert len(won) == 1, takers
        await store.release("leases_test", name, "dead")  # the stalled holder wakes up: not its lease now
        doc = await store["leases_test"].find_one({"_id": name})
        assert doc is not None and doc["token"] == won[0]["token"] and doc["what"] == won[0]["what"]
        assert doc["lease_until"] > utcnow()
