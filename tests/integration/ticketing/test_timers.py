"""The timer wheel on real FerretDB: minutes are read once complete, racing writers and sweeps lose
nothing and act once, a late timer is not lost, swept minutes and old claims are dropped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.ticketing.timers import TimerWheel

from .conftest import Hub


async def _collections(hub: Hub, prefix: str) -> list[str]:
    return sorted(n for n in await hub.t.ctx.store.db.list_collection_names() if n.startswith(prefix))


async def test_racing_adds_and_sweeps(hub: Hub) -> None:
    hub.clock.set(datetime(2026, 11, 25, 10, 0, 30, tzinfo=UTC))
    wheels = [TimerWheel(hub.t.ctx, "test") for _ in range(3)]  # three processes
    at = datetime(2026, 11, 25, 12, 30, 10, tzinfo=UTC)
    await asyncio.gather(*(w.add(at, {"i": i}) for i, w in enumerate(wheels * 5)))
    assert await wheels[0].add(datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC), {"i": "past"}) == "202611251001"
    gone = await wheels[0].add(at + timedelta(minutes=5), {"i": "cancelled"})
    assert await wheels[1].cancel(gone, {"i": "cancelled"}) == 1
    hub.clock.set(datetime(2026, 11, 25, 12, 30, 59, tzinfo=UTC))
    assert await wheels[1].due(hub.clock.now()) == ["202611251001"]  # 12:30 is not complete yet

    fired: list[Any] = []

    async def fire(minute: str, timer: dict[str, Any]) -> None:
        await asyncio.sleep(0)  # let the racing sweep interleave
        if await wheels[0].claim(minute, str(timer["i"])):
            fired.append(timer["i"])

    hub.clock.set(datetime(2026, 11, 25, 12, 31, 0, tzinfo=UTC))
    read = await asyncio.gather(*(w.sweep(hub.clock.now(), fire) for w in wheels))
    assert sum(read) >= 16 and sorted(map(str, fired)) == sorted(["past", *map(str, range(15))])
    assert await _collections(hub, "wheel.test.") == ["wheel.test.202611251235"]  # swept minutes dropped
    # A stalled node files into a minute that was already swept: the next sweep still finds it.
    await hub.t.ctx.store["wheel.test.202611251230"].insert_one({"_id": "late", "at": at, "i": "late"})
    assert await wheels[2].sweep(hub.clock.now(), fire) == 1 and fired[-1] == "late"
    assert await wheels[0].sweep(hub.clock.now(), fire) == 0
    assert await _collections(hub, "wheel-claims.test.") == [
        "wheel-claims.test.2026112510",
        "wheel-claims.test.2026112512",
    ]
    hub.clock.set(hub.clock.now() + timedelta(hours=7))
    assert await wheels[0].prune(hub.clock.now()) == 0  # the (emptied) 12:35 minute is not swept yet
    assert await wheels[0].sweep(hub.clock.now(), fire) == 0
    assert await wheels[0].prune(hub.clock.now()) == 2
    assert await _collections(hub, "wheel-claims.test.") == []


async def test_claims_outlive_an_unswept_minute(hub: Hub) -> None:
    """Claims of an hour stay while an older minute is still waiting for a sweep (a backlog)."""
    hub.clock.set(datetime(2026, 11, 25, 10, 0, 30, tzinfo=UTC))
    wheel = TimerWheel(hub.t.ctx, "keep")
    await wheel.add(datetime(2026, 11, 25, 10, 5, tzinfo=UTC), {"i": 1})
    assert await wheel.claim("202611251005", "x")
    hub.clock.set(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    assert await wheel.prune(hub.clock.now()) == 0  # minute 10:05 is unswept: its claims must stay
    assert await wheel.sweep(hub.clock.now(), lambda m, t: asyncio.sleep(0)) == 1
    assert await wheel.prune(hub.clock.now()) == 1


async def test_a_failing_timer_is_retried_then_dropped_without_blocking_its_minute(hub: Hub) -> None:
    hub.clock.set(datetime(2026, 11, 25, 10, 0, 30, tzinfo=UTC))
    wheel = TimerWheel(hub.t.ctx, "flaky")
    for i in ("ok", "bad"):
        await wheel.add(datetime(2026, 11, 25, 10, 5, tzinfo=UTC), {"i": i})
    seen: list[tuple[str, int]] = []

    async def fire(_: str, timer: dict[str, Any]) -> None:
        seen.append((timer["i"], timer.get("attempts", 0)))
        if timer["i"] == "bad":
            raise RuntimeError("team deleted")

    for minutes in (6, 10, 20, 40, 80):
        hub.clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=UTC) + timedelta(minutes=minutes))
        await wheel.sweep(hub.clock.now(), fire)
    assert sorted(seen[:2]) == [("bad", 0), ("ok", 0)]  # the minute's other timer ran, once
    assert seen[2:] == [("bad", 1), ("bad", 2), ("bad", 3)]  # retried a few minutes on each time
    assert await wheel.pending() == []  # given up after MAX_ATTEMPTS: logged, not kept forever
