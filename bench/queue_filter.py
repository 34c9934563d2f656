"""What leaving the bot's conversations out of the agents' queue costs (session 12): the console's
Unassigned view and ``GET /queue`` with and without the ``$nor`` of ``BotService.holding()``, and the
supervisors' live tile's backlog scan with and without the bot's state (projected and checked per
ticket, as ``hub/reports/ops.held_check``), on one embedded FerretDB (this project's build), interleaved.

    python -P bench/queue_filter.py [--conversations 50000] [--rounds 15]

Conversations: 12 % active (open/pending), 70 % of those on the bot's inboxes, a third of which the
bot still holds (no handoff, nobody assigned). Prints JSON: medians in ms and new/old ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hub.app  # noqa: E402, F401  (registers the hub's collections and indexes)
import hub.ticketing  # noqa: E402, F401
from bot.service import BotService  # noqa: E402
from hub import keys  # noqa: E402
from hub.reports import live, ops  # noqa: E402
from hub.store import EmbeddedFerretDB, Store  # noqa: E402

INBOXES = ["sms", "webchat", "whatsapp"]  # BERRY_BOT_INBOXES' default
HOLDING = {"channel": {"$in": INBOXES}, "assignee_id": None, "bot.active": {"$ne": False},
           "bot.handoff": None}  # BotService.holding()
NEWEST = [("last_message_at", -1), ("_id", -1)]


async def load(store: Store, n: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(n):
        active = rng.random() < 0.12
        channel = rng.choice(INBOXES) if rng.random() < 0.7 else rng.choice(["email", "voice"])
        held = active and channel in INBOXES and rng.random() < 1 / 3
        bot = {"active": True, "turns": 1} if held else (
            {"active": False, "handoff": {"reason": "explicit_request"}} if channel in INBOXES else {})
        assignee = None if held or rng.random() < 0.3 else f"agent{rng.randrange(40)}"
        docs.append({"_id": f"c{i:07d}", "number": i + 1, "contact_id": f"ct{i // 3:06d}",
                     "channel": channel,
                     "status": rng.choice(["open", "pending"]) if active else "resolved",
                     "priority": "normal",
                     "team_id": f"team{rng.randrange(6)}", "assignee_id": assignee, "tags": [], "bot": bot,
                     "sla": {}, "subject": "Booking question", "merged_into": None,
                     "last_message_at": t0 + timedelta(minutes=i), "created_at": t0 + timedelta(minutes=i)})
    for i in range(0, n, 5000):
        await store.conversations.insert_many(docs[i:i + 5000], ordered=False)


async def timed(run) -> float:
    t = time.perf_counter()
    await run()
    return (time.perf_counter() - t) * 1000


@contextlib.asynccontextmanager
async def served(conversations: int, prefix: str = "bench-queue-") -> AsyncIterator[Store]:
    """A fresh embedded FerretDB holding ``load``'s conversations, stopped afterwards."""
    server = EmbeddedFerretDB(Path(tempfile.mkdtemp(prefix=prefix)))
    server.start()
    store = Store.connect(server.url, "bench")
    try:
        await store.ensure_indexes()
        await load(store, conversations)
        yield store
    finally:
        await store.close()
        server.stop()


async def main(args: argparse.Namespace) -> dict:
    t = time.perf_counter()
    async with served(args.conversations) as store:
        load_s = time.perf_counter() - t
        col = store.conversations
        held_count = await col.count_documents({**HOLDING, "status": {"$in": ["open", "pending"]}})

        async def find(flt: dict, sort: list, limit: int) -> None:
            _ = [d async for d in col.find(flt).sort(sort).limit(limit)]

        bot = BotService.__new__(BotService)  # only holds() is used: it reads the inboxes
        bot.inboxes = set(INBOXES)
        routing = SimpleNamespace(held_by=[bot], held=bot.holds)
        check = ops.held_check({keys.EXTENSIONS: {"ticketing": SimpleNamespace(routing=routing)}})

        async def scan(held: bool) -> None:  # the tile's backlog scan, without and with the check
            rows = await live.backlog_rows(store, check if held else None)
            assert not held or int(rows["held"].sum()) == held_count

        not_held = {"$nor": [HOLDING]}
        oldest = [("created_at", 1), ("_id", 1)]
        queued = {"assignee_id": None, "status": "open"}
        cases = {  # name: (old, new)
            "console_unassigned_300": (lambda: find({"assignee_id": None}, NEWEST, 300),
                                       lambda: find({"assignee_id": None, **not_held}, NEWEST, 300)),
            "queue_100": (lambda: find(queued, oldest, 100),
                          lambda: find({**queued, **not_held}, oldest, 100)),
            # the live tile's backlog scan, before and with the bot's state read and checked per ticket
            "live_tile_scan": (lambda: scan(False), lambda: scan(True)),
        }
        times: dict[str, dict[str, list[float]]] = {k: {"old": [], "new": []} for k in cases}
        for r in range(args.rounds):
            for name, (old, new) in cases.items():
                order = (("old", old), ("new", new)) if r % 2 == 0 else (("new", new), ("old", old))
                for which, run in order:
                    times[name][which].append(await timed(run))
        medians = {k: {w: round(statistics.median(v), 2) for w, v in d.items()} for k, d in times.items()}
        for v in medians.values():
            v["ratio"] = round(v["new"] / v["old"], 2) if v["old"] > 0.5 else None
        return {"bench": "queue_filter", "date": datetime.now(UTC).date().isoformat(),
                "machine": f"{os.cpu_count()} cpu, {platform.machine()}", "conversations": args.conversations,
                "held": held_count, "load_s": round(load_s, 1),
                "loadavg": [round(x, 2) for x in os.getloadavg()], "median_ms": medians}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=15)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
