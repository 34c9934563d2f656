"""Rate limits as a sliding-window log, in memory (one node) or in Redis (shared by every node),
and logs of login failures kept the same way.

Each key keeps the times of the requests it let through in the last ``window`` seconds. A request
is allowed while fewer than ``limit`` are logged, so no stretch of ``window`` seconds ever admits
more than ``limit`` (fixed windows let up to 2x through across a boundary; GCRA/token buckets let
a full burst plus the refill through). Refused requests are not logged, so hammering does not
extend the wait. Memory is at most ``limit`` timestamps per active key. In Redis the log is a
sorted set changed by one Lua script timed by the Redis server's clock, so nodes with skewed
clocks agree and concurrent requests on several nodes cannot both take the last slot.

If Redis does not answer, requests are let through and a warning is logged (limits are a safety
net, not a gate the whole API should fail on).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import uuid
from collections import deque
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
    reset_s: int  # seconds until the full quota is back
    window_s: int = 60
    retry_after_s: int = 0  # when refused: seconds until one request is allowed again

    def headers(self) -> dict[str, str]:
        out = {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
               "RateLimit-Reset": str(self.reset_s), "RateLimit-Policy": f"{self.limit};w={self.window_s}"}
        if not self.allowed:
            out["Retry-After"] = str(max(1, self.retry_after_s))
        return out


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: int) -> Decision:
        """Let one request through if fewer than ``limit`` were let through in the last ``window_s``."""
        ...

    async def count(self, key: str, window_s: int) -> int:
        """Log one event (a failed sign-in) now; the number logged in the last ``window_s``."""
        ...

    async def wait(self, key: str, limit: int, window_s: int) -> int:
        """Seconds until fewer than ``limit`` events are logged in the last ``window_s`` (0: now)."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the events logged for ``key``."""
        ...

    async def close(self) -> None: ...


def decide(log: list[float] | deque[float], now: float, limit: int, window_s: int) -> Decision:
    """The decision for a log already trimmed to the window, before this request is added."""
    if len(log) >= limit:
        retry = log[len(log) - limit] + window_s - now  # when enough entries have left the window
        return Decision(
            False, limit, 0, max(1, math.ceil(log[0] + window_s - now)), window_s, math.ceil(retry)
        )
    oldest = log[0] if log else now
    return Decision(True, limit, limit - len(log) - 1, max(1, math.ceil(oldest + window_s - now)), window_s)


def _wait(log: list[float] | deque[float], now: float, limit: int, window_s: int) -> int:
    """For a log trimmed to the window: seconds until it holds fewer than ``limit`` entries."""
    return 0 if len(log) < limit else max(1, math.ceil(log[len(log) - limit] + window_s - now))


class MemoryLimiter:
    def __init__(self) -> None:
        self._logs: dict[str, deque[float]] = {}
        self._last_prune = 0.0

    def _prune(self, now: float) -> None:
        if now - self._last_prune < 5:
            return
        self._last_prune = now
        # a key quiet for a day is past any window in use (the login lock-out's is 15 minutes)
        self._logs = {k: log for k, log in self._logs.items() if log and log[-1] > now - 86400}

    def _log(self, key: str, now: float, window_s: int) -> deque[float]:
        self._prune(now)
        log = self._logs.setdefault(key, deque())
        while log and log[0] <= now - window_s:
            log.popleft()
        return log

    async def hit(self, key: str, limit: int, window_s: int) -> Decision:
        now = time.time()
        log = self._log(key, now, window_s)
        decision = decide(log, now, limit, window_s)
        if decision.allowed:
            log.append(now)
        return decision

    async def count(self, key: str, window_s: int) -> int:
        now = time.time()
        log = self._log(f"events:{key}", now, window_s)
        log.append(now)
        return len(log)

    async def wait(self, key: str, limit: int, window_s: int) -> int:
        now = time.time()
        return _wait(self._log(f"events:{key}", now, window_s), now, limit, window_s)

    async def reset(self, key: str) -> None:
        self._logs.pop(f"events:{key}", None)

    async def close(self) -> None:
        self._logs.clear()


# Both scripts: KEYS[1] = a log (sorted set); ARGV = limit, window (ms), a unique member. The log is
# trimmed to the window by the Redis server's clock.
_TRIMMED = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
"""
# Returns {allowed, remaining, reset ms, retry ms}.
SLIDING_LUA = _TRIMMED + """
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local nth = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return {0, 0, tonumber(first[2]) + window - now, tonumber(nth[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window + 1000)
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {1, limit - n - 1, tonumber(first[2]) + window - now, 0}
"""


# An event log. Limit 0: log one event now, return the events in the window; else the ms until
# fewer than limit are left in it.
EVENTS_LUA = _TRIMMED + """
if limit == 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + 1000)
  return redis.call('ZCARD', KEYS[1])
end
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  return 0
end
local nth = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return tonumber(nth[2]) + window - now
"""


class RedisLimiter:
    def __init__(self, url: str, prefix: str = "berry:rl:") -> None:
        self.redis = aioredis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix
        self._sliding = self.redis.register_script(SLIDING_LUA)
        self._events = self.redis.register_script(EVENTS_LUA)

    async def hit(self, key: str, limit: int, window_s: int) -> Decision:
        try:
            allowed, remaining, reset_ms, retry_ms = await self._sliding(
                keys=[f"{self.prefix}log:{key}"], args=[limit, window_s * 1000, uuid.uuid4().hex])
        except (RedisError, OSError) as exc:
            log.warning(
                "rate limiter: redis unavailable, letting the request through", extra={"error": repr(exc)}
            )
            return Decision(True, limit, limit, window_s, window_s)
        return Decision(bool(allowed), limit, max(0, int(remaining)), max(1, math.ceil(int(reset_ms) / 1000)),
                        window_s, math.ceil(int(retry_ms) / 1000))

    async def count(self, key: str, window_s: int) -> int:
        try:
            return int(await self._events(keys=[f"{self.prefix}events:{key}"],
                                          args=[0, window_s * 1000, uuid.uuid4().hex]))
        except (RedisError, OSError) as exc:
            log.warning("rate limiter: redis unavailable, not counting", extra={"error": repr(exc)})
            return 0

    async def wait(self, key: str, limit: int, window_s: int) -> int:
        try:
            ms = int(await self._events(keys=[f"{self.prefix}events:{key}"],
                                        args=[max(1, limit), window_s * 1000, ""]))
        except (RedisError, OSError):
            return 0
        return max(1, math.ceil(ms / 1000)) if ms > 0 else 0

    async def reset(self, key: str) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(f"{self.prefix}events:{key}")

    async def close(self) -> None:
        await self.redis.aclose()
