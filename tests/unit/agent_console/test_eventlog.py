"""The event log on real FerretDB: unique increasing ids under concurrency (two nodes), catch-up."""

from __future__ import annotations

import asyncio

from pymongo import monitoring

from agent_console.eventlog import EventLog
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
    ids = [await log.append("m", [room], {"n": n}) for n, room in enumerate(["team:a", "team:b", "team:a", "all"])]
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
