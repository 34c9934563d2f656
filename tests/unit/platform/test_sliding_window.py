"""The sliding-window log (hub/platform/ratelimit/backends.py) on a fake clock: no stretch of one
window admits more than the limit, not even across a fixed-window boundary; Retry-After is exact."""

from __future__ import annotations

import random

import pytest

from hub.platform.ratelimit import backends
from hub.platform.ratelimit.backends import MemoryLimiter


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(1_000_000.0)
    monkeypatch.setattr(backends.time, "time", fake.time)
    return fake


async def test_no_double_burst_across_a_window_boundary(clock: Clock) -> None:
    limiter = MemoryLimiter()
    clock.now = 1_000_059.9  # a fixed 60 s window ends in 0.1 s
    assert all([(await limiter.hit("k", 10, 60)).allowed for _ in range(10)])
    clock.now = 1_000_060.1  # a fixed window would start counting afresh here
    refused = await limiter.hit("k", 10, 60)
    assert not refused.allowed and refused.remaining == 0
    assert refused.headers()["Retry-After"] == "60"  # 59.8 s, rounded up
    clock.now = 1_000_059.9 + 60.0 + 1e-6
    assert (await limiter.hit("k", 10, 60)).allowed


async def test_any_window_holds_at_most_the_limit_under_random_load(clock: Clock) -> None:
    limiter = MemoryLimiter()
    rng = random.Random(7)
    limit, window = 20, 10
    allowed: list[float] = []
    start = clock.now
    while clock.now < start + 100:
        clock.now += rng.expovariate(5.0)  # ~5/s offered, 2/s allowed on average
        if (await limiter.hit("k", limit, window)).allowed:
            allowed.append(clock.now)
    for i, t in enumerate(allowed):
        in_window = [u for u in allowed[: i + 1] if u > t - window]
        assert len(in_window) <= limit
    assert len(allowed) >= 0.9 * limit * 100 / window  # and the limit is actually used


async def test_headers_count_down_and_retry_after_is_exact(clock: Clock) -> None:
    limiter = MemoryLimiter()
    remaining = []
    for _ in range(3):
        decision = await limiter.hit("k", 3, 60)
        remaining.append(decision.remaining)
        clock.now += 10
    assert remaining == [2, 1, 0]
    refused = await limiter.hit("k", 3, 60)
    assert not refused.allowed and refused.retry_after_s == 30  # the first hit leaves the window then
    assert refused.headers()["RateLimit-Policy"] == "3;w=60"
    clock.now += 30.001
    assert (await limiter.hit("k", 3, 60)).allowed
    assert (await limiter.hit("other", 3, 60)).remaining == 2  # keys are independent


async def test_refused_requests_do_not_extend_the_wait(clock: Clock) -> None:
    limiter = MemoryLimiter()
    await limiter.hit("k", 1, 5)
    for _ in range(50):
        clock.now += 0.05
        assert not (await limiter.hit("k", 1, 5)).allowed
    clock.now += 2.6
    assert (await limiter.hit("k", 1, 5)).allowed


async def test_event_logs_slide_and_reset(clock: Clock) -> None:
    limiter = MemoryLimiter()
    clock.now = 1_000_800.0
    assert [await limiter.count("f", 900) for _ in range(3)] == [1, 2, 3]
    assert await limiter.wait("f", 4, 900) == 0  # under the limit
    assert await limiter.wait("f", 3, 900) == 900
    clock.now += 100.5
    assert await limiter.wait("f", 3, 900) == 800  # 799.5 s, rounded up
    await limiter.count("f", 900)
    assert await limiter.wait("f", 4, 900) == 800 and await limiter.wait("f", 1, 900) == 900
    await limiter.reset("f")
    assert await limiter.wait("f", 1, 900) == 0 and await limiter.count("f", 900) == 1


async def test_login_failures_add_up_across_what_was_a_fixed_window_edge(clock: Clock) -> None:
    """The lock-out once counted failures per fixed 900 s window of the clock: 3 failures just
    before an edge and 3 just after never locked a limit of 5 (2x the limit around each edge)."""
    from hub.platform.ratelimit.login import LoginGuard, TooManyAttempts

    guard = LoginGuard(MemoryLimiter(), max_failures=5, window_s=900)
    clock.now = 900 * 1111 - 1.0  # one second before a fixed window's edge
    for _ in range(3):
        await guard.check("a@example.com", "203.0.113.7")
        await guard.failed("a@example.com", "203.0.113.7")
    clock.now += 2.0
    for _ in range(2):
        await guard.check("a@example.com", "203.0.113.7")
        await guard.failed("a@example.com", "203.0.113.7")
    with pytest.raises(TooManyAttempts) as refused:
        await guard.check("a@example.com", "203.0.113.7")
    assert refused.value.retry_after == 898  # when the first failure leaves the window (900 s after it)
    clock.now += 898.0
    await guard.check("a@example.com", "203.0.113.7")  # one failure has aged out: 4 of 5 left
    await guard.succeeded("a@example.com", "203.0.113.7")
    await guard.failed("a@example.com", "203.0.113.7")
    await guard.check("a@example.com", "203.0.113.7")  # the success forgot the pair's failures


async def test_the_per_ip_log_stops_one_address_trying_many_accounts(clock: Clock) -> None:
    from hub.platform.ratelimit.login import IP_FACTOR, LoginGuard, TooManyAttempts

    guard = LoginGuard(MemoryLimiter(), max_failures=2, window_s=900)
    for i in range(2 * IP_FACTOR):
        await guard.failed(f"user{i}@example.com", "203.0.113.8")
        clock.now += 1.0
    with pytest.raises(TooManyAttempts):
        await guard.check("fresh@example.com", "203.0.113.8")
    await guard.check("fresh@example.com", "198.51.100.9")  # another address is not affected
