"""REST API at scale: latency and throughput of the main list and get endpoints over N
conversations (default 100,000) with auth and rate limiting on, and the cost of auth, rate limiting
and audit as ratios against the same work without them, in one run.

Modes, requests interleaved round-robin so a noisy neighbour slows all alike:
- ``full``: JWT (signature + the session check by ``_id``) and the in-memory rate limiter;
- ``auth``: JWT, rate limiting off (a second app on the same database);
- ``bare``: the same service call and JSON rendering on a plain aiohttp route (no middleware of
  ours runs: no auth, no limiter, no ETag).
Audit: ``PATCH /conversations/{id}`` (which writes an audit entry) against the same update with
the audit write replaced by a no-op, on a bare route.

Prints one JSON line.   python -P bench/api.py [--conversations 100000] [--requests 30]
(``-P``: otherwise bench/channels.py, next to this script, shadows the channels package.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub import keys
from hub.app import create_app
from hub.auth import Principal
from hub.models import Channel, Conversation, Priority, Role, new_id, utcnow
from hub.platform.secrets import SecretBox
from hub.platform.settings import PLATFORM_SETTINGS, PlatformSettings
from hub.settings import Settings
from hub.store import EmbeddedFerretDB

ADMIN = Principal(role=Role.admin, user_id="bench-admin")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values) * 1000, 2),
        "p95_ms": round(pct(values, 0.95) * 1000, 2),
        "rps_serial": round(len(values) / sum(values), 1),
    }


async def seed(app: web.Application, n: int) -> list[str]:
    col = app[keys.STORE].conversations
    now = utcnow()
    ids: list[str] = []
    batch: list[dict[str, Any]] = []
    for i in range(n):
        c = Conversation(
            number=i + 1,
            contact_id=new_id(),
            channel=random.choice(list(Channel)),
            thread_key=f"bench:{i}",
            subject=f"Booking question {i}",
            last_message_at=now - timedelta(seconds=i),
        )
        ids.append(c.id)
        batch.append(c.to_doc())
        if len(batch) == 1000:
            await col.insert_many(batch, ordered=False)
            batch = []
    if batch:
        await col.insert_many(batch, ordered=False)
    return ids


def bare_routes(app: web.Application) -> None:
    """The endpoints' work without our middlewares (the bench app only)."""
    from hub.api.routing import dump

    async def bare_list(_: web.Request) -> web.Response:
        items, cursor = await app[keys.CONVERSATIONS].list(limit=50)
        return web.json_response(
            {"items": dump(items), "next_cursor": cursor}, dumps=lambda o: json.dumps(o, default=str)
        )

    async def bare_get(request: web.Request) -> web.Response:
        conversation = await app[keys.CONVERSATIONS].get(request.match_info["id"])
        return web.json_response(dump(conversation), dumps=lambda o: json.dumps(o, default=str))

    async def bare_patch(request: web.Request) -> web.Response:
        conversations = app[keys.CONVERSATIONS]
        audit, conversations.audit = conversations.audit, _NoAudit()
        try:
            body = await request.json()
            updated = await conversations.update(request.match_info["id"], body, ADMIN)
        finally:
            conversations.audit = audit
        return web.json_response(dump(updated), dumps=lambda o: json.dumps(o, default=str))

    app.router.add_get("/bench/conversations", bare_list)
    app.router.add_get("/bench/conversations/{id}", bare_get)
    app.router.add_patch("/bench/conversations/{id}", bare_patch)


class _NoAudit:
    async def record(self, *args: Any, **kwargs: Any) -> None:
        return None


async def start(mongo_url: str, db: str, tmp: Path, ratelimit: bool) -> TestClient[Any, Any]:
    settings = Settings(
        mongodb_url=mongo_url,
        mongodb_db=db,
        var_dir=tmp / f"var-{ratelimit}",
        bot_engine="off",
        inline_worker=False,
        access_token_ttl_s=86400,  # list requests at 100k take seconds each: the run outlives 15 min
        log_level="WARNING",
        _env_file=None,
    )  # type: ignore[call-arg]
    app = create_app(settings)
    app[PLATFORM_SETTINGS] = PlatformSettings(
        _env_file=None,
        ratelimit_enabled=ratelimit,  # type: ignore[call-arg]
        ratelimit_ip="100000000/60",
        ratelimit_user="100000000/60",
        secret_keys=SecretBox.new_key(),
    )
    bare_routes(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def timed(
    client: TestClient[Any, Any], method: str, url: str, headers: dict[str, str], body: Any = None
) -> float:
    t = time.perf_counter()
    resp = await client.request(method, url, headers=headers, json=body)
    await resp.read()
    assert resp.status == 200, (url, resp.status, await resp.text())
    return time.perf_counter() - t


async def concurrent_rps(
    client: TestClient[Any, Any], urls: list[str], headers: dict[str, str], width: int
) -> float:
    queue = list(urls)
    start = time.perf_counter()

    async def worker() -> None:
        while queue:
            await timed(client, "GET", queue.pop(), headers)

    await asyncio.gather(*(worker() for _ in range(width)))
    return round(len(urls) / (time.perf_counter() - start), 1)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30, help="per mode for the list; 10x for get")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    ferret = EmbeddedFerretDB(tmp / "ferretdb")
    ferret.start()
    db = f"bench_api_{time.time_ns()}"
    try:
        full = await start(ferret.url, db, tmp, ratelimit=True)
        auth_only = await start(ferret.url, db, tmp, ratelimit=False)
        app = full.server.app
        t0 = time.perf_counter()
        ids = await seed(app, args.conversations)
        seed_s = round(time.perf_counter() - t0, 1)
        user = await app[keys.USERS].create("bench@example.com", "correct horse", Role.admin)
        login = await full.post("/api/v1/auth/login", json={"email": user.email, "password": "correct horse"})
        headers = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
        clients = {
            "full": (full, "/api/v1/conversations", headers),
            "auth": (auth_only, "/api/v1/conversations", headers),
            "bare": (full, "/bench/conversations", {}),
        }
        result: dict[str, Any] = {
            "bench": "api",
            "date": time.strftime("%Y-%m-%d"),
            "conversations": args.conversations,
            "seed_s": seed_s,
            "machine": platform.machine(),
            # exempt from ASYNC240 below: a procfs read, not timed, before the measured calls
            "loadavg_start": Path("/proc/loadavg").read_text().split()[0],  # noqa: ASYNC240
        }
        for endpoint, n, suffix in (
            ("list", args.requests, lambda: ""),
            ("get", args.requests * 10, lambda: "/" + random.choice(ids)),
        ):
            lat: dict[str, list[float]] = {m: [] for m in clients}
            for i in range(n + 1):
                for mode, (client, base, h) in clients.items():
                    elapsed = await timed(client, "GET", base + suffix(), h)
                    if i >= 1:  # warm-up
                        lat[mode].append(elapsed)
            stats = {mode: summary(v) for mode, v in lat.items()}
            result[endpoint] = {
                **stats,
                "auth_cost_ratio": round(stats["auth"]["median_ms"] / stats["bare"]["median_ms"], 3),
                "ratelimit_cost_ratio": round(stats["full"]["median_ms"] / stats["auth"]["median_ms"], 3),
                "full_vs_bare_ratio": round(stats["full"]["median_ms"] / stats["bare"]["median_ms"], 3),
            }
        result["get"]["full_rps_concurrent_16"] = await concurrent_rps(
            full,
            [f"/api/v1/conversations/{random.choice(ids)}" for _ in range(args.requests * 10)],
            headers,
            16,
        )
        lat = {"audited": [], "no_audit": []}
        for i in range(args.requests * 3 + 3):
            target = random.choice(ids)
            priority = random.choice([p.value for p in Priority])
            a = await timed(full, "PATCH", f"/api/v1/conversations/{target}", headers, {"priority": priority})
            b = await timed(full, "PATCH", f"/bench/conversations/{target}", {}, {"priority": priority})
            if i >= 3:
                lat["audited"].append(a)
                lat["no_audit"].append(b)
        result["update"] = {k: summary(v) for k, v in lat.items()}
        result["update"]["audited_vs_bare_ratio"] = round(
            result["update"]["audited"]["median_ms"] / result["update"]["no_audit"]["median_ms"], 3
        )
        await full.server.app[keys.STORE].client.drop_database(db)
        await auth_only.close()
        await full.close()
    finally:
        ferret.stop()
    result["loadavg_end"] = Path("/proc/loadavg").read_text().split()[0]  # noqa: ASYNC240  procfs, untimed
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
