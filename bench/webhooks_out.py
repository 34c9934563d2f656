"""Outgoing webhook delivery throughput: N deliveries queued by ``fan_out`` and delivered by
1 and by 4 concurrent job workers to a real local aiohttp receiver that verifies each signature.

Prints one JSON line.   python bench/webhooks_out.py [--deliveries 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from hub import keys
from hub.app import create_app
from hub.jobs import Worker
from hub.platform.appkeys import WEBHOOKS
from hub.platform.secrets import SecretBox
from hub.platform.settings import PLATFORM_SETTINGS, PlatformSettings
from hub.platform.webhooks import verify
from hub.settings import Settings
from hub.store import EmbeddedFerretDB


async def receiver(secret_box: dict[str, str], seen: list[str]) -> TestServer:
    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        verify(secret_box["secret"], request.headers["Berry-Signature"], body)
        seen.append(request.headers["Berry-Delivery"])
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def round_(app: web.Application, hook_id: str, n: int, workers: int, seen: list[str]) -> dict[str, Any]:
    seen.clear()
    hooks = app[WEBHOOKS]
    t0 = time.perf_counter()
    for i in range(n):
        await hooks.fan_out("bench.event", {"i": i}, only=hook_id)
    queued_s = time.perf_counter() - t0
    spent: list[float] = []
    deliver = hooks.deliver

    async def timed(payload: dict[str, Any]) -> None:
        t = time.perf_counter()
        await deliver(payload)
        spent.append(time.perf_counter() - t)

    pool = [Worker(app[keys.JOBS], {"webhook.deliver": timed}) for _ in range(workers)]

    async def drain(w: Worker) -> None:
        while await w.run_once():
            pass

    t1 = time.perf_counter()
    await asyncio.gather(*(drain(w) for w in pool))
    deliver_s = time.perf_counter() - t1
    assert len(set(seen)) == n, (len(set(seen)), n)
    return {
        "workers": workers,
        "enqueue_per_s": round(n / queued_s, 1),
        "deliveries_per_s": round(n / deliver_s, 1),
        "duplicates": len(seen) - len(set(seen)),
        "handler_ms_mean": round(sum(spent) / len(spent) * 1000, 1),
        "queue_share": round(1 - sum(spent) / workers / deliver_s, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=300)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-wh-"))
    ferret = EmbeddedFerretDB(tmp / "ferretdb")
    ferret.start()
    secret: dict[str, str] = {}
    seen: list[str] = []
    server = await receiver(secret, seen)
    try:
        settings = Settings(mongodb_url=ferret.url, mongodb_db="bench_webhooks", var_dir=tmp / "var",
                            bot_engine="off", inline_worker=False, log_level="WARNING",
                            _env_file=None)  # type: ignore[call-arg]
        app = create_app(settings)
        app[PLATFORM_SETTINGS] = PlatformSettings(_env_file=None, webhook_allow_private=True,  # type: ignore[call-arg]
                                                  secret_keys=SecretBox.new_key())
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            app[keys.JOB_HANDLERS].clear()
            hooks = app[WEBHOOKS]
            app[keys.JOB_HANDLERS]["webhook.deliver"] = hooks.deliver
            doc, secret["secret"] = await hooks.create(
                str(server.make_url("/hook")), ["bench.event"], "bench", "bench"
            )
            rounds = [await round_(app, doc["id"], args.deliveries, w, seen) for w in (1, 4)]
        finally:
            await runner.cleanup()
    finally:
        await server.close()
        ferret.stop()
    print(json.dumps({"bench": "webhooks_out", "deliveries": args.deliveries, "machine": platform.machine(),
                      "rounds": rounds, "speedup_4_vs_1": round(rounds[1]["deliveries_per_s"]
                                                                / rounds[0]["deliveries_per_s"], 2)}))


if __name__ == "__main__":
    asyncio.run(main())
