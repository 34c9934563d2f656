"""The event log on real FerretDB: unique increasing ids under concurrency (two nodes), catch-up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pymongo import monitoring

from agent_console.eventlog import RETENTION, EventLog, seq
from hub.models import utcnow
from hub.store import Store


async def test_two_nodes_appending_concurrently_get_unique_ids_increasing_per_node(store: Store) -> None:
    a, b = EventLog(store), EventLog(store)

    async def burst(log: EventLog, tag: str) -> list[int]:
        return [await log.append("x", ["all"], {"tag": tag, "i": i}) for i in range(30)]

    ids_a, ids_b = await asyncio.gather(burst(a, "a"), burst(b, "b"))
    assert ids_a == sorted(ids_a) and ids_b == sorted(ids_b)
    assert len(set(ids_a) | set(ids_b)) == 60
    assert await store["console_events"].count_documents({}) == 60


async def test_since_filters_by_room_keeps_order_and_replays_the_overlap_minus_seen(store: Store) -> None:
    log = EventLog(store)
    ids = [
        await log.append("m", [room], {"n": n})
        for n, room in enumerate(["team:a", "team:b", "team:a", "all"])
    ]
    events, more = await log.since(0, ["team:a"])
    assert [e["data"]["n"] for e in events] == [0, 2] and not more
    events, _ = await log.since(ids[2], ["team:a", "team:b"])
    assert events == []
    events, _ = await log.since(ids[2], ["team:a", "team:b"], seen={ids[2], ids[0]})
    assert [e["id"] for e in events] == [ids[1]]
    page, more = await log.since(0, ["team:a", "team:b", "all"], limit=2)
    assert [e["id"] for e in page] == ids[:2] and more


async def test_batches_from_two_nodes_get_unique_ids_in_order(store: Store) -> None:
    a, b = EventLog(store), EventLog(store)

    async def batches(log: EventLog, tag: str) -> list[int]:
        out: list[int] = []
        for i in range(5):
            out += await log.append_many([("x", ["all"], {"tag": tag, "i": i, "j": j}) for j in range(8)])
        return out

    ids_a, ids_b = await asyncio.gather(batches(a, "a"), batches(b, "b"))
    assert ids_a == sorted(ids_a) and ids_b == sorted(ids_b)
    assert len(set(ids_a) | set(ids_b)) == 80
    docs = [d async for d in store["console_events"].find({}).sort("_id", 1)]
    assert len(docs) == 80
    for tag, ids in (("a", ids_a), ("b", ids_b)):  # each node's events keep their publish order
        mine = [(d["data"]["i"], d["data"]["j"]) for d in docs if d["data"]["tag"] == tag]
        assert mine == sorted(mine) and [d["_id"] for d in docs if d["data"]["tag"] == tag] == ids


class Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.finds = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.finds += event.command_name == "find" and event.command.get("find") == "console_events"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_nodes_taking_turns_step_past_each_other_without_reading_the_newest_id(
        store: Store, mongodb_url: str, db_name: str) -> None:
    """Reading the newest id sorts the whole log on FerretDB; two busy nodes clash on every flush."""
    listener = Finds()
    other = Store.connect(mongodb_url, db_name, event_listeners=[listener])
    try:
        a, b = EventLog(store), EventLog(other)
        ids_a: list[int] = []
        ids_b: list[int] = []
        for i in range(20):
            ids_a += await a.append_many([("x", ["all"], {"i": i, "j": j}) for j in range(3)])
            ids_b += await b.append_many([("x", ["all"], {"i": i, "j": j}) for j in range(2)])
        assert listener.finds == 1  # b's first append only (was one per clash: 20)
        assert ids_a == sorted(ids_a) and ids_b == sorted(ids_b) and len(set(ids_a) | set(ids_b)) == 100
        assert sorted(ids_a + ids_b) == list(range(1, 101))  # no gap a late node could fill

        # a is two ids behind b: the burst's first id clashes. FerretDB inserts in batches of 100
        # and goes on after a duplicate: each id returned must hold this burst's own event
        burst = await a.append_many([("x", ["all"], {"burst": k}) for k in range(300)])
        stored = {d["_id"]: d["data"] async for d in store["console_events"].find({"_id": {"$in": burst}})}
        assert [stored[i].get("burst") for i in burst] == list(range(300))
        ids_a += burst
        far_behind = await b.append_many([("x", ["all"], {"late": True})])
        assert far_behind == [max(ids_a) + 1] and listener.finds == 2  # far behind: reads the newest id
    finally:
        await other.close()


async def test_reads_walk_the_seq_index_instead_of_decoding_the_log(store: Store) -> None:
    """A connect asks for the newest id, a reconnect for what came after one: on our FerretDB
    build an integer ``_id`` sort or range decodes every logged event in Go (1.5 s at 20,000)."""
    log = EventLog(store)
    await store.ensure_indexes()
    for _ in range(3):
        await log.append_many([("m", ["all"], {"i": i}) for i in range(100)])
    assert await log.last_id() == 300
    since = {"find": "console_events", "filter": {"seq": {"$gt": seq(295)}}, "sort": {"seq": 1}}
    newest = {"find": "console_events", "filter": {}, "sort": {"seq": -1}, "limit": 1}
    for command in (since, newest):
        plan = await store.db.command("explain", command)
        if "ferretdbVersion" in plan.get("serverInfo", {}):
            assert plan["sortPushdown"] is True, plan
            assert "seq_1" in " ".join(plan["queryPlanner"]["Plan"]), plan
    events, more = await log.since(295, ["all"])
    assert [e["id"] for e in events] == [296, 297, 298, 299, 300] and not more


async def test_ids_across_a_power_of_ten_keep_their_order(store: Store) -> None:
    log = EventLog(store)
    log._next = 998  # the next free id, as a node keeps it
    ids = await log.append_many([("m", ["all"], {"i": i}) for i in range(4)])
    assert ids == [998, 999, 1000, 1001]
    assert [e["id"] for e in (await log.since(997, ["all"]))[0]] == ids
    assert await log.last_id() == 1001


async def test_events_logged_before_seq_existed_still_give_the_newest_id(store: Store) -> None:
    await store["console_events"].insert_many([{"_id": i, "name": "m", "rooms": ["all"], "data": {}}
                                               for i in (1, 2, 3)])
    log = EventLog(store)
    assert await log.last_id() == 3
    assert await log.append("m", ["all"], {}) == 4
    assert await log.last_id() == 4


async def test_trim_deletes_what_is_older_than_a_day_in_batches(store: Store) -> None:
    log = EventLog(store)
    await log.append_many([("m", ["all"], {"i": i}) for i in range(25)])
    old = utcnow() - RETENTION - timedelta(minutes=1)
    await store["console_events"].update_many({"_id": {"$lte": 20}}, {"$set": {"at": old}})
    assert await log.trim(batch=7) == 20
    assert sorted([d["_id"] async for d in store["console_events"].find({}, {"_id": 1})]) == [
        21,
        22,
        23,
        24,
        25,
    ]
    assert await log.trim() == 0
