"""Rate limits per IP, user and API key (memory and Redis, across two nodes) and login
brute-force protection, through the real app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub import keys
from hub.app import create_app
from hub.models import Role
from hub.platform.ratelimit import RedisLimiter
from hub.platform.secrets import SecretBox
from hub.platform.settings import PLATFORM_SETTINGS, PlatformSettings
from hub.settings import Settings

from ...conftest import Api, running

LOGIN = "/api/v1/auth/login"


@pytest.mark.parametrize("platform_overrides", [{"ratelimit_ip": "5/60"}])
async def test_ip_limit_sets_headers_and_refuses_with_retry_after(api: Api) -> None:
    remaining = []
    for _ in range(5):
        resp = await api.client.get("/api/v1/conversations")  # 401, but still counted
        assert resp.status == 401
        assert resp.headers["RateLimit-Limit"] == "5"
        remaining.append(int(resp.headers["RateLimit-Remaining"]))
        assert 0 < int(resp.headers["RateLimit-Reset"]) <= 60
    assert remaining == [4, 3, 2, 1, 0]
    resp = await api.client.get("/api/v1/conversations")
    assert resp.status == 429 and resp.content_type == "application/problem+json"
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert resp.headers["RateLimit-Remaining"] == "0"
    # non-API paths are not limited
    assert (await api.client.get("/healthz")).status == 200


@pytest.mark.parametrize("platform_overrides", [{"ratelimit_user": "3/60", "ratelimit_api_key": "2/60"}])
async def test_user_and_api_key_limits_are_separate(api: Api) -> None:
    alice, bob = await api.user(Role.agent), await api.user(Role.agent)
    for _ in range(3):
        assert (await api.client.get("/api/v1/conversations", headers=alice["headers"])).status == 200
    resp = await api.client.get("/api/v1/conversations", headers=alice["headers"])
    assert resp.status == 429 and "Retry-After" in resp.headers
    resp = await api.client.get("/api/v1/conversations", headers=bob["headers"])
    assert resp.status == 200 and resp.headers["RateLimit-Limit"] == "3"
    assert resp.headers["RateLimit-Remaining"] == "2"

    _, secret = await api.app[keys.API_KEYS].create("crm", Role.agent, None)
    key_headers = {"X-Api-Key": secret}
    for _ in range(2):
        assert (await api.client.get("/api/v1/conversations", headers=key_headers)).status == 200
    assert (await api.client.get("/api/v1/conversations", headers=key_headers)).status == 429


@pytest.mark.parametrize("platform_overrides", [{"ratelimit_ip": "3/60"}])
async def test_forwarded_for_is_ignored_unless_trusted(api: Api) -> None:
    for i in range(3):
        await api.client.get("/api/v1/conversations", headers={"X-Forwarded-For": f"10.0.0.{i}"})
    resp = await api.client.get("/api/v1/conversations", headers={"X-Forwarded-For": "10.0.0.99"})
    assert resp.status == 429


@pytest.mark.parametrize("platform_overrides", [{"login_max_failures": 3, "ratelimit_trust_forwarded": True}])
async def test_login_brute_force_is_locked_per_account_and_ip(api: Api) -> None:
    await api.app[keys.USERS].create("target@example.com", "correct horse", Role.agent)
    await api.app[keys.USERS].create("other@example.com", "correct horse", Role.agent)
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(3):
        resp = await api.client.post(
            LOGIN, headers=attacker, json={"email": "target@example.com", "password": "guess1234"}
        )
        assert resp.status == 401
    resp = await api.client.post(
        LOGIN, headers=attacker, json={"email": "target@example.com", "password": "correct horse"}
    )
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    # the same account from another IP, and another account from the attacker's IP, still work
    resp = await api.client.post(LOGIN, headers={"X-Forwarded-For": "198.51.100.2"},
                                 json={"email": "target@example.com", "password": "correct horse"})
    assert resp.status == 200
    resp = await api.client.post(
        LOGIN, headers=attacker, json={"email": "other@example.com", "password": "correct horse"}
    )
    assert resp.status == 200
    # a hostile forwarded header falls back to the socket address
    resp = await api.client.post(LOGIN, headers={"X-Forwarded-For": "not-an-ip, 1.2.3.4"},
                                 json={"email": "other@example.com", "password": "correct horse"})
    assert resp.status == 200


@pytest.mark.parametrize("platform_overrides", [{"login_max_failures": 2}])
async def test_successful_login_clears_the_failure_counter(api: Api) -> None:
    await api.app[keys.USERS].create("typo@example.com", "correct horse", Role.agent)
    body_bad = {"email": "typo@example.com", "password": "typo typo"}
    body_ok = {"email": "typo@example.com", "password": "correct horse"}
    assert (await api.client.post(LOGIN, json=body_bad)).status == 401
    assert (await api.client.post(LOGIN, json=body_ok)).status == 200
    assert (await api.client.post(LOGIN, json=body_bad)).status == 401
    assert (await api.client.post(LOGIN, json=body_ok)).status == 200


def _node(settings: Settings, redis_url: str, overrides: dict[str, Any]) -> web.Application:
    app = create_app(settings.model_copy(update={"redis_url": redis_url}))
    app[PLATFORM_SETTINGS] = PlatformSettings(_env_file=None, secret_keys=SecretBox.new_key(),  # type: ignore[call-arg]
                                              **overrides)
    return app


@pytest.fixture
async def two_nodes(settings: Settings, redis_url: str) -> AsyncIterator[tuple[TestClient[Any, Any], ...]]:
    import redis.asyncio as aioredis

    r = aioredis.from_url(redis_url)
    await r.flushdb()
    await r.aclose()
    overrides = {"ratelimit_user": "4/60", "ratelimit_ip": "1000/60", "login_max_failures": 2}
    async with (running(_node(settings, redis_url, overrides)) as a,
                running(_node(settings, redis_url, overrides)) as b):
        yield a, b


async def test_limits_hold_across_two_nodes_with_redis(two_nodes: tuple[TestClient[Any, Any], ...]) -> None:
    a, b = two_nodes
    await a.server.app[keys.USERS].create("shared@example.com", "correct horse", Role.agent)
    resp = await a.post(LOGIN, json={"email": "shared@example.com", "password": "correct horse"})
    headers = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
    statuses = []
    for node in (a, b, a, b, a, b):
        statuses.append((await node.get("/api/v1/conversations", headers=headers)).status)
    assert statuses == [200, 200, 200, 200, 429, 429]
    # login failures are shared too: one on each node locks the pair
    bad = {"email": "shared@example.com", "password": "wrong wrong"}
    assert (await a.post(LOGIN, json=bad)).status == 401
    assert (await b.post(LOGIN, json=bad)).status == 401
    assert (await a.post(LOGIN, json={**bad, "password": "correct horse"})).status == 429


async def test_concurrent_requests_on_two_nodes_take_exactly_the_limit(
        two_nodes: tuple[TestClient[Any, Any], ...]) -> None:
    """The check and the log update are one Lua script: 24 requests racing on two nodes for a
    limit of 4 let exactly 4 through, and every refusal says when to retry."""
    a, b = two_nodes
    await a.server.app[keys.USERS].create("race@example.com", "correct horse", Role.agent)
    resp = await a.post(LOGIN, json={"email": "race@example.com", "password": "correct horse"})
    headers = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
    results = await asyncio.gather(*(node.get("/api/v1/auth/me", headers=headers) for node in (a, b) * 12))
    assert sorted(r.status for r in results) == [200] * 4 + [429] * 20
    refused = [r for r in results if r.status == 429]
    assert all(
        0 < int(r.headers["Retry-After"]) <= 60 and r.headers["RateLimit-Remaining"] == "0" for r in refused
    )
    assert {r.headers["RateLimit-Policy"] for r in results} == {"4;w=60"}


async def test_redis_sliding_window_frees_slots_as_they_age(redis_url: str) -> None:
    limiter = RedisLimiter(redis_url, prefix=f"test:{time.time_ns()}:")
    try:
        assert [(await limiter.hit("k", 3, 1)).allowed for _ in range(3)] == [True, True, True]
        refused = await limiter.hit("k", 3, 1)
        assert not refused.allowed and refused.retry_after_s == 1
        await asyncio.sleep(1.05)  # the whole log has aged out: a fresh window's worth again
        assert [(await limiter.hit("k", 3, 1)).allowed for _ in range(4)] == [True, True, True, False]
    finally:
        await limiter.close()


async def test_redis_failure_logs_slide_and_reset(redis_url: str) -> None:
    """The login lock-out's logs in Redis (the server's clock, one script per step)."""
    limiter = RedisLimiter(redis_url, prefix=f"test:{time.time_ns()}:")
    try:
        assert [await limiter.count("f", 2) for _ in range(3)] == [1, 2, 3]
        assert await limiter.wait("f", 4, 2) == 0
        assert 1 <= await limiter.wait("f", 3, 2) <= 2
        await asyncio.sleep(1.0)
        assert await limiter.count("f", 2) == 4
        await asyncio.sleep(1.1)  # the first three have left the window, the fourth has not
        assert await limiter.wait("f", 2, 2) == 0 and await limiter.wait("f", 1, 2) == 1
        await limiter.reset("f")
        assert await limiter.wait("f", 1, 2) == 0 and await limiter.count("f", 2) == 1
    finally:
        await limiter.close()


async def test_redis_down_lets_requests_through(settings: Settings) -> None:
    from hub.store import free_port

    down = f"redis://127.0.0.1:{free_port()}/0"
    async with running(_node(settings, down, {"ratelimit_ip": "1/60"})) as client:
        for _ in range(3):
            assert (await client.get("/api/v1/conversations")).status == 401


@pytest.mark.parametrize("platform_overrides", [{"ratelimit_ip": "4/60"}])
async def test_the_help_centers_searches_and_form_posts_count_against_the_ip(api: Api) -> None:
    """Anonymous help-center work was never limited: one address opened 100 tickets through the
    contact form in 7 s, and its searches run the query encoder that /api/v1/kb/search is limited
    for. They now take from the IP's budget (the API's); reading pages does not."""
    store = api.app[keys.STORE]
    before = await store.conversations.count_documents({})
    for i in range(4):
        resp = await api.client.post("/help/en/contact", data={
            "name": "Spam", "email": f"spam{i}@example.com", "subject": "Buy now",
            "message": "spam spam spam", "nonce": f"nonce-spam-{i:08d}"})
        assert resp.status == 200 and resp.headers["RateLimit-Remaining"] == str(3 - i)
    resp = await api.client.post("/help/en/contact", data={
        "name": "Spam", "email": "spam9@example.com", "subject": "Buy now", "message": "spam spam spam",
        "nonce": "nonce-spam-00000009"})
    assert resp.status == 429 and 0 < int(resp.headers["Retry-After"]) <= 60
    assert await store.conversations.count_documents({}) == before + 4  # the fifth opened nothing
    for path in ("/help/search.json?q=refund+policy+for+cancelled+events", "/help/en/search?q=refund",
                 "/api/v1/kb/search?q=refund"):
        assert (await api.client.get(path)).status == 429, path
    for path in ("/help/en", "/help/en/contact", "/help/static/help.css"):  # pages are not counted
        assert (await api.client.get(path)).status == 200, path
