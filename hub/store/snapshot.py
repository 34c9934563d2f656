"""A short-lived copy of a small, rarely changing read: automation rules, the default team, webhook
subscriptions. Every inbound message consults them, and each read is a store round trip (~0.5 ms
of FerretDB CPU) for an answer that changes a few times a day.

Writes made through this node call ``invalidate()`` and show at once; another node's writes show
within ``ttl_s``. A load that was in flight when ``invalidate()`` ran is answered but not kept, so
a write is never hidden behind an older read.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Snapshot(Generic[T]):
    def __init__(self, load: Callable[[], Awaitable[T]], ttl_s: float = 2.0) -> None:
        self._load = load
        self.ttl_s = ttl_s
        self._value: T | None = None
        self._loaded_at: float | None = None
        self._generation = 0

    async def get(self) -> T:
        if self._loaded_at is not None and time.monotonic() - self._loaded_at < self.ttl_s:
            return self._value  # type: ignore[return-value]
        generation = self._generation
        value = await self._load()
        if generation == self._generation:
            self._value, self._loaded_at = value, time.monotonic()
        return value

    def invalidate(self) -> None:
        self._generation += 1
        self._value, self._loaded_at = None, None
