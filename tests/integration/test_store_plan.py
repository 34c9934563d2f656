"""The embedded FerretDB answers `_id` look-ups and equality filters from indexes, not by scanning.

Every one-winner decision, lease, timer and roll-up read in this design is an `_id` operation, and
a conversation's thread, a contact's tickets and the inbox's status views are equality filters;
the unpatched v1.24.2 scanned for each (see scripts/build-ferretdb). SQLite's own query plan,
returned by FerretDB's `explain`, is the evidence: "SEARCH … USING INDEX", never "SCAN". The
pushdown is a superset the server filters again, so results must be exactly MongoDB's.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from hub.api import pages
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
                            5, None, True, ["open", "x"], ["a<b&c>"], [], {"open": 1}, [None, "x"]]
    docs = [{"_id": i, "at": i, **({"status": values[i % len(values)]} if i % 7 else {}),
             "tag": values[(i * 3) % len(values)]} for i in range(300)]
    await col.insert_many(docs)

    def matches(doc: dict, flt: dict) -> bool:  # MongoDB equality: the value, or an array holding it
        def eq(x: object, o: object) -> bool:
            return type(x) is type(o) and x == o
        for key, want in flt.items():
            options = want["$in"] if isinstance(want, dict) else [want]
            if want is None and key not in doc:
                continue  # {f: null} matches a missing f too
            if key not in doc or not any(eq(doc[key], o) or (isinstance(doc[key], list) and any(
                    eq(e, o) for e in doc[key])) for o in options):
                return False
        return True

    strings = [v for v in values if isinstance(v, str)]
    filters = (
        [{"status": v} for v in strings]
        + [{"status": v, "tag": w} for v in strings for w in strings[:3]]
        + [{"status": {"$in": [v, w]}} for v in strings[:4] for w in strings]
        + [{"_id": 8, "status": values[8]}, {"_id": 8, "status": "nope"}]
        + [{"status": None}, {"status": None, "tag": "open"}, {"tag": None}]
    )  # berry5
    for flt in filters:
        expected = sorted(d["_id"] for d in docs if matches(d, flt))
        assert sorted([d["_id"] async for d in col.find(flt)]) == expected, flt
        assert await col.count_documents(flt) == len(expected), flt
    assert (await col.update_many({"status": "a<b&c>"}, {"$set": {"seen": 1}})).matched_count == len(
        [d for d in docs if matches(d, {"status": "a<b&c>"})])

    for flt in ({"status": "open"}, {"status": {"$in": ["open", "closed"]}}, {"status": "open", "other": "x"},
                {"status": None}):
        found = await plan(store, {"find": "plans", "filter": flt})
        assert "USING INDEX" in found and "SCAN" not in found, (flt, found)
    found = await plan(store, {"find": "plans", "filter": {"_id": 8, "status": "open"}})
    assert "USING INDEX" in found and "SCAN" not in found, found  # {_id, other}: no longer a scan


# --- sorts (berry3): SQLite walks an index in MongoDB's order; the handler stops after the limit ---

MISSING = object()
D = datetime(2026, 1, 1, tzinfo=UTC)
SAFE: list[object] = [
    None,
    MISSING,
    0,
    1,
    1.0,
    -3,
    2.5,
    10**15,
    -(2**52),
    "",
    "a",
    "ab",
    "ab c",
    "ab!",
    'q"',
    "a<b",
    "back\\slash",
    "ünï 😀",
    "Z",
    "line\nbreak",
    "a\x00b",
    "\x7f",
    ObjectId("65a000000000000000000001"),
    ObjectId("65a0000000000000000000ff"),
    True,
    False,
    D,
    D,
    datetime(1999, 5, 5, 0, 0, 0, 7000, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
]
UNSAFE: list[object] = [[3, "x"], ["b", 7], {"a": 1}, datetime(1960, 1, 1, tzinfo=UTC), 2**60]


def rank(v: object) -> int:  # MongoDB's sort order of BSON types (null and missing alike)
    if v is None or v is MISSING:
        return 1
    for i, kind in enumerate((bool, (int, float), str, dict, list, bytes, ObjectId, datetime)):
        if isinstance(v, kind):
            return (8, 2, 3, 4, 5, 6, 7, 9)[i]
    raise TypeError(v)


def compare(a: object, b: object) -> int:
    ra, rb = rank(a), rank(b)
    if ra != rb or ra == 1:
        return ra - rb
    if isinstance(a, dict):
        assert isinstance(b, dict)
        for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=False):
            if c := (ka > kb) - (ka < kb) or compare(va, vb):
                return c
        return len(a) - len(b)
    if isinstance(a, str):  # MongoDB compares UTF-8 bytes
        a, b = a.encode(), b.encode()  # type: ignore[union-attr]
    if isinstance(a, ObjectId):
        a, b = a.binary, b.binary  # type: ignore[union-attr]
    return (a > b) - (a < b)  # type: ignore[operator]


# an array sorts by its least (asc) / greatest (desc) element
def sort_value(v: object, direction: int) -> object:
    if isinstance(v, list):
        return (min if direction > 0 else max)(v, key=functools.cmp_to_key(compare))
    return v


def mongo_sorted(docs: list[dict], order: list[tuple[str, int]]) -> list[dict]:
    def cmp(x: dict, y: dict) -> int:
        for field, direction in order:
            c = compare(
                sort_value(x.get(field, MISSING), direction), sort_value(y.get(field, MISSING), direction)
            )
            if c:
                return c * direction
        return 0
    return sorted(docs, key=functools.cmp_to_key(cmp))


def matches(doc: dict, flt: dict) -> bool:
    """MongoDB's semantics for the filters used here: equality, $in, $lt/$gt (same type class), $or/$and."""
    for key, cond in flt.items():
        if key in ("$or", "$and"):
            results = [matches(doc, f) for f in cond]
            if not (any(results) if key == "$or" else all(results)):
                return False
            continue
        value = doc.get(key, MISSING)
        candidates = [value] + (value if isinstance(value, list) else [])
        ops = cond if isinstance(cond, dict) and next(iter(cond), "").startswith("$") else {"$eq": cond}
        for op, want in ops.items():
            wants = want if op == "$in" else [want]
            tests = {
                "$eq": lambda c: c == 0,
                "$in": lambda c: c == 0,
                "$lt": lambda c: c < 0,
                "$gt": lambda c: c > 0,
                "$lte": lambda c: c <= 0,
                "$gte": lambda c: c >= 0,
            }[op]
            if not any(x is not MISSING and rank(x) == rank(w) and tests(compare(x, w))
                       for x in candidates for w in wants):
                return False
    return True


def sort_docs(values: list[object], n: int = 180) -> list[dict]:
    docs = []
    for i in range(n):
        doc: dict = {"_id": f"{(i * 37) % n:03d}-{i}", "n": i % 10, "at": D + timedelta(minutes=(i * 7) % 40)}
        if values[i % len(values)] is not MISSING:
            doc["k"] = values[i % len(values)]
        if i % 11:
            doc["s"] = ("open", "closed", "pending")[i % 3]
        docs.append(doc)
    return docs


async def find_ids(
    col: object, flt: dict, order: list[tuple[str, int]], skip: int = 0, limit: int = 0
) -> list:
    return [d["_id"] async for d in col.find(flt).sort(order).skip(skip).limit(limit)]  # type: ignore[attr-defined]


SORT_FILTERS: list[dict] = [
    {},
    {"s": "open"},
    {"s": {"$in": ["open", "pending"]}},
    {"s": "open", "n": {"$gt": 4}},
    {"n": {"$gt": 4}},
    {"$and": [{"s": "closed"}, {"n": {"$lt": 3}}]},
]
SORT_ORDERS = [[("k", 1), ("_id", 1)], [("k", -1), ("_id", -1)], [("k", 1), ("_id", -1)], [("_id", -1)],
               [("at", -1), ("_id", -1)], [("n", 1), ("k", -1), ("_id", 1)]]


async def check_sorts(col: object, docs: list[dict]) -> None:
    for flt in SORT_FILTERS:
        for order in SORT_ORDERS:
            expected = [d["_id"] for d in mongo_sorted([d for d in docs if matches(d, flt)], order)]
            for skip, limit in ((0, 0), (3, 5), (0, 1), (len(expected) - 2, 10)):
                want = expected[skip:skip + limit] if limit else expected[skip:]
                assert await find_ids(col, flt, order, max(skip, 0), limit) == want, (flt, order, skip, limit)
        # a single key: ties have no order in MongoDB; the keys' order and the set must be exact
        for direction in (1, -1):
            got = [d async for d in col.find(flt).sort("k", direction)]  # type: ignore[attr-defined]
            want = mongo_sorted([d for d in docs if matches(d, flt)], [("k", direction)])
            assert [sort_value(d.get("k", MISSING), direction) for d in got] == [
                sort_value(d.get("k", MISSING), direction) for d in want
            ] or all(
                compare(
                    sort_value(a.get("k", MISSING), direction), sort_value(b.get("k", MISSING), direction)
                )
                == 0
                for a, b in zip(got, want, strict=True)
            ), (flt, direction)
            assert sorted(str(d["_id"]) for d in got) == sorted(str(d["_id"]) for d in want)


async def explain_find(store: Store, name: str, flt: dict, sort: dict) -> tuple[str, bool]:
    out = await store.db.command("explain", {"find": name, "filter": flt, "sort": sort, "limit": 50})
    return " ".join(out["queryPlanner"]["Plan"]), out["sortPushdown"]


async def test_sorts_follow_mongodb_order_exactly_pushed_down_or_not(store: Store) -> None:
    kept = {}
    for name, values in (("safe", SAFE), ("unsafe", SAFE + UNSAFE)):
        col = store[name]
        await col.create_index([("s", 1), ("k", -1), ("_id", -1)])
        await col.create_index([("k", 1), ("_id", 1)])
        await col.create_index([("at", -1), ("_id", -1)])
        await col.create_index([("n", 1)])
        kept[name] = docs = sort_docs(values)
        await col.insert_many([dict(d) for d in docs])
        await check_sorts(col, docs)

    # where every value is of an exactly ordered kind, SQLite walks the index: no sort of its own
    for flt, sort in (
        ({"s": "open"}, {"k": -1, "_id": -1}),
        ({}, {"k": 1, "_id": 1}),
        ({}, {"k": -1, "_id": -1}),
        ({"s": "open", "n": {"$gt": 4}}, {"k": -1, "_id": -1}),
        ({}, {"at": -1, "_id": -1}),
    ):
        found, pushed = await explain_find(store, "safe", flt, sort)
        assert pushed and "USING INDEX" in found and "TEMP B-TREE" not in found, (flt, sort, found)
    found, pushed = await explain_find(
        store, "safe", {"s": {"$in": ["open", "pending"]}}, {"k": -1, "_id": -1}
    )
    assert pushed and "USING INDEX" in found, found  # two index ranges merged: a sort of the matching keys
    # an array/object/negative date among the values (or an array in a filtered field): the handler sorts
    found, pushed = await explain_find(store, "unsafe", {"s": "open"}, {"k": -1, "_id": -1})
    assert not pushed and "USING INDEX" in found and "SCAN" not in found, found
    found, pushed = await explain_find(store, "safe", {"s": "open"}, {"at": -1, "nope": 1})
    assert not pushed, found  # no index to check "nope" cheaply

    docs = kept["safe"]
    await store["safe"].update_one({"_id": docs[5]["_id"]}, {"$set": {"s": ["open", "x"]}})
    docs[5]["s"] = ["open", "x"]
    assert not (await explain_find(store, "safe", {"s": "open"}, {"k": -1, "_id": -1}))[1]
    assert (await explain_find(store, "safe", {}, {"k": -1, "_id": -1}))[1]  # s does not matter here
    await check_sorts(store["safe"], docs)

    # `_id` is checked through its unique index (sjson text): a number among string ids -> the handler sorts
    docs.append({"_id": 7, "k": "ab", "s": "open", "n": 9, "at": D})
    await store["safe"].insert_one(dict(docs[-1]))
    assert not (await explain_find(store, "safe", {}, {"k": -1, "_id": -1}))[1]
    assert (await explain_find(store, "safe", {}, {"k": -1}))[1]
    await check_sorts(store["safe"], docs)


async def test_keyset_pages_are_exact_and_walk_the_index(store: Store) -> None:
    col = store["paged"]
    await col.create_index([("s", 1), ("at", -1), ("_id", -1)])
    await col.create_index([("at", -1), ("_id", -1)])
    docs = sort_docs(SAFE, 150)
    await col.insert_many([dict(d) for d in docs])
    sorts = pages.Sorts({"at": "at", "id": "_id"}, "-at")
    for flt in ({}, {"s": "open"}, {"s": {"$in": ["open", "pending"]}}, {"s": "open", "n": {"$gt": 4}}):
        for sort in ("-at", "at", "-id", "id"):
            field, direction = sorts.parse(sort)[1:]
            order = [(field, direction)] + ([("_id", direction)] if field != "_id" else [])
            expected = [d["_id"] for d in mongo_sorted([d for d in docs if matches(d, flt)], order)]
            got: list[str] = []
            cursor = None
            while True:
                page, cursor = await pages.fetch(
                    col, flt, pages.PageQuery(limit=7, sort=sort, cursor=cursor), sorts
                )
                got += [d["_id"] for d in page]
                if cursor is None:
                    break
            assert got == expected, (flt, sort)
    # a later page's range on the sort key is pushed down: SQLite starts at the cursor
    keyset = pages.after("at", -1, D + timedelta(minutes=20), "050-0")
    found, pushed = await explain_find(
        store, "paged", {"$and": [{"s": "open"}, keyset]}, {"at": -1, "_id": -1}
    )
    assert pushed and "(<expr>=? AND <expr><?)" in found and "TEMP B-TREE" not in found, found


async def test_a_sort_field_is_checked_among_the_filtered_documents_when_an_index_allows(
    store: Store,
) -> None:
    col = store["thread"]
    await col.create_index([("s", 1), ("at", 1), ("_id", 1)])  # no index starts with "at"
    docs = sort_docs(SAFE, 90)
    # out of SQLite's order, but not "open"
    docs[3]["s"], docs[3]["at"] = "closed", [D, D + timedelta(days=1)]
    await col.insert_many([dict(d) for d in docs])
    order = [("at", 1), ("_id", 1)]
    for flt, pushed in (({"s": "open"}, True), ({"s": {"$in": ["open", "pending"]}}, True),
                        ({"s": "closed"}, False), ({}, False), ({"s": "open", "n": {"$lt": 5}}, True)):
        found, was = await explain_find(store, "thread", flt, dict(order))
        assert was == pushed, (flt, found)
        expected = [d["_id"] for d in mongo_sorted([d for d in docs if matches(d, flt)], order)]
        assert await find_ids(col, flt, order) == expected, flt
        assert await find_ids(col, flt, order, 2, 3) == expected[2:5], flt
