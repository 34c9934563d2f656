"""hub.periodic: the background loops of every package go on after a failed round."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hub.periodic import every
from tests.unit.cancelling import SwallowsCancelOnce, finishes


async def _rounds(period: float, at_start: bool, want: int) -> list[float]:
    """When each of the first ``want`` rounds ran (seconds after the loop was started); the first
    round raises."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    seen: list[float] = []
    enough = asyncio.Event()

    async def work() -> None:
        seen.append(loop.time() - started)
        if len(seen) >= want:
            enough.set()
        if len(seen) == 1:
            raise RuntimeError("store down")

    task = asyncio.create_task(every(period, work, "test round", at_start=at_start))
    try:
        await asyncio.wait_for(enough.wait(), 10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return seen


async def test_a_failed_round_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="hub.periodic"):
        seen = await _rounds(0.05, False, want=2)  # the first round raised; the second still came
    assert seen[0] >= 0.05  # one period after start-up, not at once
    assert [r.getMessage() for r in caplog.records] == ["test round failed"]
    assert caplog.records[0].exc_info is not None and "store down" in str(caplog.records[0].exc_info[1])


async def test_at_start_runs_the_first_round_at_once() -> None:
    seen = await _rounds(1.0, True, want=2)
    assert seen[0] < 0.5 <= 1.0 <= seen[1]


async def test_a_cancel_the_work_swallowed_still_ends_the_loop() -> None:
    """On Python 3.11 asyncio.wait_for can lose a cancel that lands as its inner task finishes; the
    loop must end anyway, or the app's shutdown waits for it for ever."""
    swallow = SwallowsCancelOnce()
    task = asyncio.create_task(every(0, swallow, "swallowing round", at_start=True))
    await swallow.started(5)
    task.cancel()
    assert await finishes(task) and task.cancelled()
