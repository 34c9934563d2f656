"""Ingest throughput and latency against FerretDB, beside the raw insert rate of the same server.

Prints one JSON line. Figures (issue #2): ingest msgs/s vs raw insert_one/s (goal ratio >= 1/3),
p99 ingest latency at half the peak rate (goal < 20 ms), p95 of listing 50 conversations with
filters at 100k conversations (goal < 30 ms).

    python bench/ingest.py [--messages 3000] [--concurrency 8] [--conversations 100000]
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

from tqdm import tqdm

from hub.audit import Audit
from hub.contacts import Contacts
from hub.conversations import Conversations
from hub.events import EventBus
from hub.inbox import Inbox
from hub.models import (
    Channel,
    Conversation,
    IdentityKind,
    InboundMessage,
    Priority,
    SenderIdentity,
    Status,
    utcnow,
)
from hub.store import EmbeddedFerretDB, Store


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def closed_loop(n: int, concurrency: int, op) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    counter = iter(range(n))

    async def runner() -> None:
        for i in counter:
            t = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(runner() for _ in range(concurrency)))
    return n / (time.perf_counter() - start), latencies


async def open_loop(rate: float, seconds: float, op) -> list[float]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    tasks = []

    async def one(i: int) -> None:
        t = time.perf_counter()
        await op(i)
        latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return latencies


def inbound(i: int, senders: int, prefix: str) -> InboundMessage:
    return InboundMessage(channel=Channel.whatsapp, external_id=f"{prefix}-{i}",
                          sender=SenderIdentity(kind=IdentityKind.whatsapp, value=f"+2782{i % senders:07d}"),
                          text=f"Hi, question {i} about booking BE-{10000 + i}")


async def main(args: argparse.Namespace) -> dict:
    server = None if args.url else EmbeddedFerretDB(Path(tempfile.mkdtemp(prefix="bench-ingest-")))
    if server:
        server.start()
    try:
        store = Store.connect(args.url or server.url, "bench")
        await store.db.client.drop_database("bench")
        await store.ensure_indexes()
        bus = EventBus()
        inbox = Inbox(store, bus, Contacts(store, bus), Audit(store))

        # warm up both paths
        for i in range(50):
            await store["raw"].insert_one({"i": i, "text": "warm"})
            await inbox.ingest(inbound(i, args.senders, "warm"))

        raw_rate, _ = await closed_loop(args.messages, args.concurrency, lambda i: store["raw"].insert_one(
            {"conversation_id": "c", "text": f"Hi, question {i}", "at": utcnow()}))
        ingest_rate, ingest_lat = await closed_loop(
            args.messages, args.concurrency, lambda i: inbox.ingest(inbound(i, args.senders, "peak")))
        half = await open_loop(
            ingest_rate / 2, args.seconds, lambda i: inbox.ingest(inbound(i, args.senders, "half"))
        )

        # listing at 100k conversations
        col = store.conversations
        have = await col.count_documents({})
        now = utcnow()
        rnd = random.Random(7)
        agents = [f"agent{i}" for i in range(40)]
        batch = []
        for n in tqdm(range(have, args.conversations), desc="conversations", unit="doc"):
            c = Conversation(
                number=10_000_000 + n,
                contact_id=f"c{n}",
                channel=rnd.choice(list(Channel)),
                thread_key=f"t{n}",
                status=rnd.choice(
                    [Status.open, Status.pending, Status.resolved, Status.resolved, Status.closed]
                ),
                priority=rnd.choice(list(Priority)),
                assignee_id=rnd.choice(agents + [None] * 10),
                last_message_at=now - timedelta(minutes=rnd.randint(0, 60 * 24 * 90)),
            )
            batch.append(c.to_doc())
            if len(batch) == 1000:
                await col.insert_many(batch)
                batch = []
        if batch:
            await col.insert_many(batch)
        conversations = Conversations(store, bus, Audit(store))
        queries = [
            dict(status=[Status.open]),
            dict(status=[Status.open], channel=Channel.whatsapp),
            dict(status=[Status.open, Status.pending], assignee_id="agent3"),
            dict(unassigned=True, status=[Status.open]),
            dict(priority=Priority.urgent, status=[Status.open]),
            dict(),
        ]
        list_lat: list[float] = []
        for _ in range(args.list_rounds):
            for q in queries:
                t = time.perf_counter()
                items, cursor = await conversations.list(**q, limit=50)
                list_lat.append(time.perf_counter() - t)
                assert items, q
        # second page through the cursor
        page_lat: list[float] = []
        for q in queries:
            _, cursor = await conversations.list(**q, limit=50)
            t = time.perf_counter()
            await conversations.list(**q, limit=50, cursor=cursor)
            page_lat.append(time.perf_counter() - t)
        await store.close()
    finally:
        if server:
            server.stop()
    return {
        "bench": "ingest",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {platform.node()}",
        "server": args.server_label,
        "concurrency": args.concurrency,
        "messages": args.messages,
        "raw_insert_per_s": round(raw_rate, 1),
        "ingest_per_s": round(ingest_rate, 1),
        "ratio": round(ingest_rate / raw_rate, 3),
        "ingest_p50_ms_at_peak": round(statistics.median(ingest_lat) * 1000, 2),
        "half_rate_per_s": round(ingest_rate / 2, 1),
        "ingest_p50_ms_at_half": round(statistics.median(half) * 1000, 2),
        "ingest_p99_ms_at_half": round(pct(half, 0.99) * 1000, 2),
        "conversations": args.conversations,
        "list50_p50_ms": round(statistics.median(list_lat) * 1000, 2),
        "list50_p95_ms": round(pct(list_lat, 0.95) * 1000, 2),
        "list50_next_page_max_ms": round(max(page_lat) * 1000, 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--senders", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--list-rounds", type=int, default=20)
    parser.add_argument(
        "--url", help="an already running server (default: start an embedded FerretDB/SQLite)"
    )
    parser.add_argument("--server-label", default="FerretDB v1.24.2 / SQLite")
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
