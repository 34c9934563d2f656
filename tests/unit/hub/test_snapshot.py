"""hub.store.Snapshot: configuration reads kept for a moment, never hiding this node's writes."""

from __future__ import annotations

import asyncio

import pytest

from hub.store import Snapshot


class Source:
    def __init__(self) -> None:
        self.value = 1
        self.loads = 0
        self.gate: asyncio.Event | None = None

    async def load(self) -> int:
        self.loads += 1
        seen = self.value
        if self.gate is not None:
            await self.gate.wait()
        return seen


async def test_reads_within_the_ttl_are_served_from_memory() -> None:
    source = Source()
    snap = Snapshot(source.load, ttl_s=60)
    assert [await snap.get() for _ in range(5)] == [1] * 5
    assert source.loads == 1


async def test_invalidate_shows_a_write_at_once() -> None:
    source = Source()
    snap = Snapshot(source.load, ttl_s=60)
    await snap.get()
    source.value = 2
    assert await snap.get() == 1  # another node's write: seen after the ttl
    snap.invalidate()
    assert await snap.get() == 2 and source.loads == 2


async def test_a_write_after_the_ttl_is_seen_without_invalidation(monkeypatch: pytest.MonkeyPatch) -> None:
    import hub.store.snapshot as module

    now = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    source = Source()
    snap = Snapshot(source.load, ttl_s=2)
    await snap.get()
    source.value = 2
    now[0] += 1.9
    assert await snap.get() == 1
    now[0] += 0.2
    assert await snap.get() == 2


async def test_a_load_overtaken_by_invalidate_is_answered_but_not_kept() -> None:
    source = Source()
    source.gate = asyncio.Event()
    snap = Snapshot(source.load, ttl_s=60)
    slow = asyncio.create_task(snap.get())  # reads value 1, then waits
    await asyncio.sleep(0)
    source.value = 2
    snap.invalidate()  # the write landed while the old read was in flight
    source.gate.set()
    assert await slow == 1
    assert await snap.get() == 2  # the stale answer was not cached
