"""The embedded FerretDB answers `_id` look-ups from its unique index, not by scanning the table.

Every one-winner decision, lease, timer and roll-up read in this design is an `_id` operation; the
unpatched v1.24.2 scanned for each (see scripts/build-ferretdb). SQLite's own query plan, returned
by FerretDB's `explain`, is the evidence: "SEARCH … USING INDEX", never "SCAN".
"""

from __future__ import annotations

import os

import pytest

from hub.store import Store

pytestmark = pytest.mark.skipif(bool(os.environ.get("BERRY_TEST_MONGODB_URL")),
                                reason="the plan checked is FerretDB/SQLite's")


async def plan(store: Store, command: dict) -> str:
    out = await store.db.command("explain", command)
    return " ".join(out["queryPlanner"]["Plan"])


async def test_id_lookups_use_the_unique_index(store: Store) -> None:
    await store["plans"].insert_many([{"_id": f"k{i}", "n": i} for i in range(200)])

    for id_ in ("k199", "missing"):
        found = await plan(store, {"find": "plans", "filter": {"_id": id_}})
        assert "USING INDEX" in found and "SCAN" not in found, found
    assert "SCAN" in await plan(store, {"find": "plans", "filter": {"n": 5}})  # the check can fail

    await store["plans"].update_one({"_id": "k150"}, {"$set": {"n": -1}})
    await store["plans"].delete_one({"_id": "k151"})
    assert await store["plans"].find_one({"_id": "k150"}) == {"_id": "k150", "n": -1}
    assert await store["plans"].find_one({"_id": "k151"}) is None
