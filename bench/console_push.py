"""Web Push from the hub: what one push costs (RFC 8291 encryption, VAPID JWT, the POST) through
the real send code (``agent_console.push.sender.PushNotifier.send_job``) to the RFC 8030 stand-in
of the tests, which verifies the JWT and decrypts every payload (so its cost is in the wall time).

    python -P bench/console_push.py [--pushes 500] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from py_vapid import Vapid02

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_console.push.sender import PushNotifier  # noqa: E402
from agent_console.push.vapid import VapidKeys  # noqa: E402
from tests.integration.agent_console.pushservice import PushService  # noqa: E402


class Subs:  # the subscriptions collection, in memory: the store is not what is measured here
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def get(self, sub_id: str) -> dict[str, Any] | None:
        return self.docs.get(sub_id)

    async def gone(self, sub_id: str) -> None:
        self.docs.pop(sub_id, None)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    service = PushService()
    server = TestServer(service.app, host="127.0.0.1")
    await server.start_server()
    service.origin = f"http://127.0.0.1:{server.port}"
    key = Vapid02()
    key.generate_keys()
    vapid = VapidKeys(None, None, key.private_pem().decode(), "mailto:bench@berry.test")  # type: ignore[arg-type]
    subs = Subs()
    for i in range(args.pushes):
        _, sub = service.subscribe(await vapid.public_key())
        subs.docs[str(i)] = {"_id": str(i), "user_id": "u", "endpoint": sub["endpoint"],
                             "p256dh": sub["keys"]["p256dh"], "auth": sub["keys"]["auth"]}
    note = {"kind": "assigned", "title": "#1234 assigned to you", "body": "Marquee for 80 guests on Saturday",
            "conversation_id": "6b07" + "0" * 20, "tag": "assigned:6b07"}
    async with aiohttp.ClientSession() as http:
        notifier = PushNotifier(None, None, subs, vapid, http)  # type: ignore[arg-type]
        latencies: list[float] = []
        sem = asyncio.Semaphore(args.concurrency)

        async def one(i: int) -> None:
            async with sem:
                t0 = time.perf_counter()
                await notifier.send_job({"subscription_id": str(i), "notification": note, "urgency": "high"})
                latencies.append((time.perf_counter() - t0) * 1000)

        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(args.pushes)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await server.close()
    latencies.sort()
    return {"bench": "console_push", "pushes": args.pushes, "delivered_and_decrypted": len(service.delivered),
            "refused": len(service.refused), "pushes_per_s": round(args.pushes / wall, 1),
            "cpu_ms_per_push_incl_standin": round(cpu * 1000 / args.pushes, 2),
            "latency_ms": {"p50": round(statistics.median(latencies), 2),
                           "p99": round(latencies[int(len(latencies) * 0.99) - 1], 2)},
            "concurrency": args.concurrency, "loadavg": [round(x, 1) for x in os.getloadavg()]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
