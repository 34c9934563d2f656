"""The timer wheel on real FerretDB: racing writers leave no gaps, minutes are read once complete,
empty hours are skipped, the cursor moves on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hub.ticketing.timers import TimerWheel

from .conftest import Hub


async def test_racing_adds_and_sweeping(hub: Hub) -> None:
    hub.clock.set(datetime(2026, 11, 25, 10, 0, 30, tzinfo=UTC))
    wheels = [TimerWheel(hub.t.ctx, "test") for _ in range(3)]  # three processes
    at = datetime(2026, 11, 25, 12, 30, 10, tzinfo=UTC)
    await asyncio.gather(*(w.add(at, {"i": i}) for i, w in enumerate(wheels * 5)))
    await wheels[0].add(datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC), {"i": "past"})  # filed at now + 1 min
    hub.clock.set(datetime(2026, 11, 25, 12, 30, 59, tzinfo=UTC))
    seen = [(m, [t["i"] for t in timers]) async for m, timers in wheels[1].due(hub.clock.now())]
    assert [(m, t) for m, t in seen if t] == [("202611251001", ["past"])]  # 12:30 is not complete yet
    assert seen[-1][0] == "202611251229" and not any(
        m.startswith("2026112511") for m, _ in seen
    )  # hour 11 skipped
    hub.clock.set(datetime(2026, 11, 25, 12, 31, 0, tzinfo=UTC))
    minutes = [(m, timers) async for m, timers in wheels[2].due(hub.clock.now())]
    last = minutes[-1]
    assert last[0] == "202611251230" and sorted(t["i"] for t in last[1]) == list(range(15))
    await wheels[2].advance(last[0])
    hub.clock.set(hub.clock.now() + timedelta(hours=5))
    assert [m async for m, t in wheels[0].due(hub.clock.now()) if t] == []  # nothing more filed
