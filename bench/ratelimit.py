"""Rate limiter overhead per request: the same cheap authenticated request (JWT verified, its
session checked by one ``_id`` read, 404 after both limiters) with limits off, in memory, and in
Redis, and without the session check, in one run; plus the raw cost of one ``hit`` of each backend.

Prints one JSON line.   python bench/ratelimit.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from hub import keys
from hub.app import create_app
from hub.models import Role
from hub.platform.ratelimit import MemoryLimiter, RedisLimiter
from hub.platform.secrets import SecretBox
from hub.platform.settings import PLATFORM_SETTINGS, PlatformSettings
from hub.settings import Settings
from hub.store import EmbeddedFerretDB, free_port


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


async def start_mode(mongo_url: str, redis_url: str | None, enabled: bool, tmp: Path, session: bool = True
                     ) -> tuple[TestClient[Any, Any], dict[str, str], str]:
    settings = Settings(mongodb_url=mongo_url, mongodb_db=f"bench_rl_{time.time_ns()}", var_dir=tmp / "var",
                        bot_engine="off", inline_worker=False, redis_url=redis_url, log_level="WARNING",
                        _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings)
    app[PLATFORM_SETTINGS] = PlatformSettings(_env_file=None, ratelimit_enabled=enabled,  # type: ignore[call-arg]
                                              ratelimit_ip="100000000/60", ratelimit_user="100000000/60",
                                              secret_keys=SecretBox.new_key())
    client = TestClient(TestServer(app))
    await client.start_server()
    user = await app[keys.USERS].create("bench@example.com", "correct horse", Role.agent)
    # sid: checked per request
    token = app[keys.TOKENS].access_token(user, "bench-session" if session else None)
    return client, {"Authorization": f"Bearer {token}"}, settings.mongodb_db


async def run_modes(mongo_url: str, redis_url: str, n: int, tmp: Path) -> dict[str, dict[str, float]]:
    """The three modes side by side: requests interleaved round-robin, so a noisy neighbour
    (2 shared cores) slows all three alike."""
    modes = {"off": (None, False, True), "memory": (None, True, True), "redis": (redis_url, True, True),
             "off_no_session_check": (None, False, False)}
    started = {name: await start_mode(mongo_url, r, on, tmp, sid) for name, (r, on, sid) in modes.items()}
    lat: dict[str, list[float]] = {name: [] for name in modes}
    try:
        for i in range(n + 100):
            for name, (client, headers, _) in started.items():
                t = time.perf_counter()
                resp = await client.get("/api/v1/bench-nothing", headers=headers)
                await resp.read()
                if i >= 100:  # warm-up
                    lat[name].append(time.perf_counter() - t)
    finally:
        for client, _, db in started.values():
            await client.server.app[keys.STORE].client.drop_database(db)
            await client.close()
    return {
        name: {
            "median_ms": round(statistics.median(v) * 1000, 3),
            "p95_ms": round(pct(v, 0.95) * 1000, 3),
            "rps_serial": round(len(v) / sum(v), 1),
        }
        for name, v in lat.items()
    }


async def raw_hits(redis_url: str, n: int) -> dict[str, float]:
    out = {}
    for name, limiter in (("memory", MemoryLimiter()), ("redis", RedisLimiter(redis_url))):
        start = time.perf_counter()
        for i in range(n):
            await limiter.hit(f"user:{i % 50}", 1_000_000, 60)
        out[f"{name}_hit_us"] = round((time.perf_counter() - start) / n * 1e6, 1)
        await limiter.close()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-rl-"))
    ferret = EmbeddedFerretDB(tmp / "ferretdb")
    ferret.start()
    redis_proc, redis_url = start_redis(tmp)
    try:
        modes = await run_modes(ferret.url, redis_url, args.requests, tmp)
        off, memory, redis = modes["off"], modes["memory"], modes["redis"]
        raw = await raw_hits(redis_url, args.requests)
    finally:
        redis_proc.terminate()
        ferret.stop()
    result: dict[str, Any] = {
        "bench": "ratelimit", "requests": args.requests, "machine": platform.machine(), "off": off,
        "memory": memory, "redis": redis, **raw,
        "off_no_session_check": modes["off_no_session_check"],
        "session_check_ms": round(off["median_ms"] - modes["off_no_session_check"]["median_ms"], 3),
        "memory_overhead_ms": round(memory["median_ms"] - off["median_ms"], 3),
        "redis_overhead_ms": round(redis["median_ms"] - off["median_ms"], 3),
        "memory_rps_ratio": round(memory["rps_serial"] / off["rps_serial"], 3),
        "redis_rps_ratio": round(redis["rps_serial"] / off["rps_serial"], 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
