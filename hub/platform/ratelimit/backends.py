"""Fixed-window counters: in memory (one node) or in Redis (shared by every node).

A window is ``floor(now / window_s)``; a hit increments ``<key>:<window>`` and the counter
expires with its window. Fixed windows allow a burst of up to 2× the limit across a boundary;
that is the accepted price of one INCR per request (no Lua, no sorted sets). If Redis does not
answer, requests are let through and a warning is logged (limits are a safety net, not a gate
the whole API should fail on).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the window ends

    def headers(self) -> dict[str, str]:
        out = {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
               "RateLimit-Reset": str(self.reset_s)}
        if not self.allowed:
            out["Retry-After"] = str(self.reset_s)
        return out


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: int) -> Decision: ...
    async def peek(self, key: str, window_s: int) -> int: ...
    async def reset(self, key: str, window_s: int) -> None: ...
    async def close(self) -> None: ...


def _window(window_s: int, now: float) -> tuple[int, int]:
    index = int(now // window_s)
    reset = max(1, math.ceil((index + 1) * window_s - now))
    return index, reset


def _decide(count: int, limit: int, reset: int) -> Decision:
    return Decision(count <= limit, limit, max(0, limit - count), reset)


class MemoryLimiter:
    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._expires: dict[str, float] = {}
        self._last_prune = 0.0

    def _prune(self, now: float) -> None:
        if now - self._last_prune < 5:
            return
        self._last_prune = now
        for key in [k for k, exp in self._expires.items() if exp <= now]:
            self._counts.pop(key, None)
            self._expires.pop(key, None)

    async def hit(self, key: str, limit: int, window_s: int) -> Decision:
        now = time.time()
        self._prune(now)
        index, reset = _window(window_s, now)
        k = f"{key}:{index}"
        count = self._counts.get(k, 0) + 1
        self._counts[k] = count
        self._expires[k] = now + reset
        return _decide(count, limit, reset)

    async def peek(self, key: str, window_s: int) -> int:
        index, _ = _window(window_s, time.time())
        return self._counts.get(f"{key}:{index}", 0)

    async def reset(self, key: str, window_s: int) -> None:
        index, _ = _window(window_s, time.time())
        self._counts.pop(f"{key}:{index}", None)

    async def close(self) -> None:
        self._counts.clear()


class RedisLimiter:
    def __init__(self, url: str, prefix: str = "berry:rl:") -> None:
        self.redis = aioredis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix

    async def hit(self, key: str, limit: int, window_s: int) -> Decision:
        index, reset = _window(window_s, time.time())
        k = f"{self.prefix}{key}:{index}"
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.incr(k)
                pipe.expire(k, window_s + 1, nx=True)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("rate limiter: redis unavailable, letting the request through", extra={"error": repr(exc)})
            return Decision(True, limit, limit, reset)
        return _decide(int(count), limit, reset)

    async def peek(self, key: str, window_s: int) -> int:
        index, _ = _window(window_s, time.time())
        try:
            value = await self.redis.get(f"{self.prefix}{key}:{index}")
        except (RedisError, OSError):
            return 0
        return int(value or 0)

    async def reset(self, key: str, window_s: int) -> None:
        index, _ = _window(window_s, time.time())
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(f"{self.prefix}{key}:{index}")

    async def close(self) -> None:
        await self.redis.aclose()
