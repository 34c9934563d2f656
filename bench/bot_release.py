"""What the bot letting go of conversations costs (session 13), on one embedded FerretDB (this
project's build) holding ``bench/queue_filter.py``'s conversations:

- the start-up release (``BotService.let_go_of_unanswered``: an ``update_many`` that scans);
- switching the bot off for an inbox (``set_inbox``: its active conversations released) and on again;
- the one write ``on_created``/``on_updated`` add to a conversation people have (``bot.active`` set),
  next to reading that conversation by ``_id``, interleaved.

    python -P bench/bot_release.py [--conversations 50000] [--rounds 7] [--writes 300]

Prints JSON: medians in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from queue_filter import INBOXES, served, timed  # noqa: E402

import hub.app  # noqa: E402, F401  (registers the hub's collections and indexes)
from bot.service import BotService  # noqa: E402
from bot.settings import BotSettings  # noqa: E402
from hub.events import EventBus  # noqa: E402


async def main(args: argparse.Namespace) -> dict:
    async with served(args.conversations, prefix="bench-release-") as store:
        col = store.conversations
        bot = BotService(store, EventBus(), None, BotSettings(inboxes=INBOXES), None)  # type: ignore[arg-type]
        active = {"status": {"$in": ["open", "pending"]}}
        whatsapp_active = await col.count_documents({"channel": "whatsapp", **active})
        startup, switch_off, switch_on = [], [], []
        for _ in range(args.rounds):
            startup.append(await timed(bot.let_go_of_unanswered))
            switch_off.append(await timed(lambda: bot.set_inbox("whatsapp", False)))
            switch_on.append(await timed(lambda: bot.set_inbox("whatsapp", True)))
        ids = [d["_id"] async for d in col.find({}, {"_id": 1}).limit(args.writes)]
        reads, writes = [], []
        for i, cid in enumerate(ids):
            read = lambda c=cid: col.find_one({"_id": c})  # noqa: E731
            write = lambda c=cid: col.update_one({"_id": c}, {"$set": {"bot.active": False}})  # noqa: E731
            pair = [(reads, read), (writes, write)]
            for into, run in (pair if i % 2 else pair[::-1]):
                into.append(await timed(run))

        def med(xs: list[float]) -> float:
            return round(statistics.median(xs), 2)

        return {"bench": "bot_release", "date": datetime.now(UTC).date().isoformat(),
                "machine": f"{os.cpu_count()} cpu, {platform.machine()}", "conversations": args.conversations,
                "whatsapp_active": whatsapp_active, "loadavg": [round(x, 2) for x in os.getloadavg()],
                "median_ms": {"startup_release": med(startup), "switch_off": med(switch_off),
                              "switch_on": med(switch_on), "read_by_id": med(reads),
                              "mark_people": med(writes)}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--writes", type=int, default=300)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
