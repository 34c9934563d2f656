"""The embedded FerretDB answers `_id` look-ups and equality filters from indexes, not by scanning.

Every one-winner decision, lease, timer and roll-up read in this design is an `_id` operation, and
a conversation's thread, a contact's tickets and the inbox's status views are equality filters;
the unpatched v1.24.2 scanned for each (see scripts/build-ferretdb). SQLite's own query plan,
returned by FerretDB's `explain`, is the evidence: "SEARCH … USING INDEX", never "SCAN". The
pushdown is a superset the server filters again, so results must be exactly MongoDB's.
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


async def test_equality_filters_use_indexes_and_keep_mongodb_semantics(store: Store) -> None:
    col = store["plans"]
    await col.create_index([("status", 1), ("at", -1)])
    values: list[object] = ["open", "a<b&c>", 'q"uote', "back\\slash", "ünï 😀", "", "line\nbreak", "[open]",
                            5, None, True, ["open", "x"], ["a<b&c>"], [], {"open": 1}]
    docs = [{"_id": i, "at": i, **({"status": values[i % len(values)]} if i % 7 else {}),
             "tag": values[(i * 3) % len(values)]} for i in range(300)]
    await col.insert_many(docs)

    def matches(doc: dict, flt: dict) -> bool:  # MongoDB equality: the value, or an array holding it
        def eq(x: object, o: object) -> bool:
            return type(x) is type(o) and x == o
        for key, want in flt.items():
            options = want["$in"] if isinstance(want, dict) else [want]
            if key not in doc or not any(eq(doc[key], o) or (isinstance(doc[key], list) and any(
                    eq(e, o) for e in doc[key])) for o in options):
                return False
        return True

    strings = [v for v in values if isinstance(v, str)]
    filters = ([{"status": v} for v in strings] + [{"status": v, "tag": w} for v in strings for w in strings[:3]]
               + [{"status": {"$in": [v, w]}} for v in strings[:4] for w in strings]
               + [{"_id": 8, "status": values[8]}, {"_id": 8, "status": "nope"}])
    for flt in filters:
        expected = sorted(d["_id"] for d in docs if matches(d, flt))
        assert sorted([d["_id"] async for d in col.find(flt)]) == expected, flt
        assert await col.count_documents(flt) == len(expected), flt
    assert (await col.update_many({"status": "a<b&c>"}, {"$set": {"seen": 1}})).matched_count == len(
        [d for d in docs if matches(d, {"status": "a<b&c>"})])

    for flt in ({"status": "open"}, {"status": {"$in": ["open", "closed"]}}, {"status": "open", "other": "x"}):
        found = await plan(store, {"find": "plans", "filter": flt})
        assert "USING INDEX" in found and "SCAN" not in found, (flt, found)
    found = await plan(store, {"find": "plans", "filter": {"_id": 8, "status": "open"}})
    assert "USING INDEX" in found and "SCAN" not in found, found  # {_id, other}: no longer a scan
