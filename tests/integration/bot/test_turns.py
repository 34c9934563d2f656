"""bot.turns.TurnQueue on real FerretDB: turns of one conversation never overlap across nodes, waiting
turns run in message-time order, a dead node's lock is taken over after its lease, a live one is
renewed. Every wait is on a condition with a generous deadline (no fixed sleeps decide a result)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.turns import TurnQueue
from hub.models import utcnow
from tests.conftest import until

pytestmark = pytest.mark.integration


class Recorder:
    """Runs turns through a queue and records their order and how many ran at once."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.started: dict[str, datetime] = {}
        self.running = 0
        self.most = 0

    async def run(self, queue: TurnQueue, conv: str, msg: str, offset_s: float,
                  hold: asyncio.Event | None = None) -> None:
        async with queue.turn(conv, msg, BASE + timedelta(seconds=offset_s)):
            self.running += 1
            self.most = max(self.most, self.running)
            self.order.append(msg)
            self.started[msg] = utcnow()
            if hold is not None:
                await hold.wait()
            await asyncio.sleep(0)  # let any wrongly admitted turn start meanwhile
            self.running -= 1


BASE = utcnow()


async def test_turns_never_overlap_across_nodes_and_waiting_ones_run_in_message_time_order(store) -> None:
    rec, hold = Recorder(), asyncio.Event()
    first = asyncio.create_task(rec.run(TurnQueue(store), "c1", "m0", 0, hold))
    await until(lambda: asyncio.sleep(0, result=rec.order == ["m0"]))
    # the later messages reach three nodes in reverse order while m0's turn runs; the latest one's
    # node polls fastest, the earliest one's slowest: only the queue order can put m1 first
    fast, medium, slow = (TurnQueue(store, poll_s=p, max_poll_s=p) for p in (0.005, 0.05, 0.25))
    waiting = [asyncio.create_task(rec.run(node, "c1", msg, offset))
               for node, msg, offset in ((fast, "m3", 3), (medium, "m2", 2), (slow, "m1", 1))]

    async def all_queued() -> bool:
        return await store["bot_queue"].count_documents({"conversation_id": "c1"}) == 4

    await until(all_queued)
    hold.set()
    await asyncio.wait_for(asyncio.gather(first, *waiting), 30)
    assert rec.order == ["m0", "m1", "m2", "m3"] and rec.most == 1
    assert await store["bot_queue"].count_documents({}) == 0  # entries and locks are cleaned up
    assert await store["bot_locks"].count_documents({}) == 0


async def test_other_conversations_do_not_wait(store) -> None:
    queue, hold = TurnQueue(store), asyncio.Event()
    rec = Recorder()
    busy = asyncio.create_task(rec.run(queue, "c1", "m0", 0, hold))
    await until(lambda: asyncio.sleep(0, result=rec.order == ["m0"]))
    await asyncio.wait_for(rec.run(queue, "c2", "x0", 1), 20)
    assert rec.order == ["m0", "x0"]
    hold.set()
    await busy


@pytest.mark.parametrize("fields", [("token", "lease_until"), ("owner", "until")],
                         ids=["store-lease", "written-before-store-lease"])
async def test_a_dead_nodes_turn_is_taken_over_after_its_lease(store, fields: tuple[str, str]) -> None:
    now = utcnow()
    lease_end = now + timedelta(seconds=1)
    # a node died mid-turn: its lock and queue entry are no longer renewed. Its turn was on a later
    # message than m1 (m1 reached the hub late), so m1 heads the queue at once and only the lock's
    # lease keeps it waiting. A lock written before bot_locks was a Store.lease: owner and until.
    token, until_field = fields
    await store["bot_locks"].insert_one({"_id": "c1", token: "dead", until_field: lease_end})
    await store["bot_queue"].insert_one({"_id": "c1:dead", "conversation_id": "c1",
                                         "at": BASE + timedelta(seconds=10), "until": lease_end})
    rec = Recorder()
    await asyncio.wait_for(rec.run(TurnQueue(store, lease_s=1.0), "c1", "m1", 5), 30)
    assert rec.order == ["m1"]
    assert rec.started["m1"] >= lease_end  # not before the dead node's lease ran out
    assert await store["bot_locks"].find_one({"_id": "c1"}) is None  # released after the turn
    [claim] = await store["bot_locks"].find({}).to_list()  # what is left: the one take-over claim
    assert claim["_id"].startswith("c1:takeover:")


async def test_a_running_turn_renews_its_lease(store) -> None:
    lease = timedelta(seconds=4)  # renewed every 1.3 s: a loaded CI box has slack for slow round trips
    node1, node2 = TurnQueue(store, lease_s=4), TurnQueue(store, lease_s=4)
    rec, hold = Recorder(), asyncio.Event()
    long = asyncio.create_task(rec.run(node1, "c1", "m0", 0, hold))
    await until(lambda: asyncio.sleep(0, result=rec.order == ["m0"]))
    later = asyncio.create_task(rec.run(node2, "c1", "m1", 1))
    first = (await store["bot_locks"].find_one({"_id": "c1"}))["lease_until"]

    async def renewed_past_first_lease() -> bool:  # renewed at a time later than the first lease's end
        doc = await store["bot_locks"].find_one({"_id": "c1"})
        return doc["lease_until"] > first + lease

    await until(renewed_past_first_lease)
    assert rec.order == ["m0"] and not later.done()  # the waiting turn did not take the lock over
    hold.set()
    await asyncio.wait_for(asyncio.gather(long, later), 20)
    assert rec.order == ["m0", "m1"] and rec.most == 1


async def test_a_turn_whose_lock_was_taken_over_neither_renews_nor_releases_it(store) -> None:
    """A node stalled past its lease (its renewal held up) and another took the lock over: when the
    stalled node wakes up, its renewal must leave the taker's lease alone (not extend it, nor cut it
    to its own shorter lease) and the end of its turn must not give the taker's lock back."""
    stalled, resumed, renewed_late = asyncio.Event(), asyncio.Event(), asyncio.Event()

    class Stalling(TurnQueue):
        async def _extend(self, *args: Any) -> None:
            if stalled.is_set():
                return await super()._extend(*args)
            stalled.set()
            await resumed.wait()
            await super()._extend(*args)
            renewed_late.set()

    rec, hold_a, hold_b = Recorder(), asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(rec.run(Stalling(store, lease_s=1.0), "c1", "m0", 0, hold_a))
    # the taker renews every 20 s: nothing but the stalled node changes its lock during the test
    b = asyncio.create_task(rec.run(TurnQueue(store, lease_s=60), "c1", "m1", 1, hold_b))
    await until(lambda: asyncio.sleep(0, result=rec.order == ["m0", "m1"]), what="the take-over")
    taken = await store["bot_locks"].find_one({"_id": "c1"})
    resumed.set()
    await asyncio.wait_for(renewed_late.wait(), 20)
    assert await store["bot_locks"].find_one({"_id": "c1"}) == taken
    hold_a.set()
    await asyncio.wait_for(a, 20)
    assert await store["bot_locks"].find_one({"_id": "c1"}) == taken  # still the taker's
    hold_b.set()
    await asyncio.wait_for(b, 20)
    assert await store["bot_locks"].count_documents({"_id": "c1"}) == 0


async def test_a_cancel_a_renewal_swallowed_still_ends_the_turn(store) -> None:
    """A turn's end cancels its lease renewal and waits for it: a cancel a renewal swallowed (Python
    3.11's asyncio.wait_for in the store driver) must not keep renewing the lock for ever, holding
    the turn's end and every later turn of the conversation on every node."""
    busy = asyncio.Event()

    class Swallowing(TurnQueue):
        async def _extend(self, conversation_id: str, entry: str, token: str) -> None:
            if busy.is_set():  # later renewals are plain ones
                return await super()._extend(conversation_id, entry, token)
            busy.set()
            with contextlib.suppress(asyncio.CancelledError):  # swallowed, as wait_for's race does
                await asyncio.sleep(30)

    async def turn() -> None:
        async with Swallowing(store, lease_s=0.3).turn("c-renew", "m0", BASE):
            await busy.wait()  # the turn ends while a renewal is under way

    task = asyncio.create_task(turn())
    # asyncio.wait, not wait_for: on a timeout wait_for would cancel the turn, which ends it
    done, _ = await asyncio.wait({task}, timeout=5)
    task.cancel()
    assert task in done and task.exception() is None
    assert await store["bot_locks"].count_documents({"_id": "c-renew"}) == 0  # released
