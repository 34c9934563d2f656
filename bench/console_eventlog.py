"""Console event log reads on the embedded FerretDB: what a connect (newest id), a reconnect's
catch-up (events after an id, for the client's rooms) and the 15-second trim cost with N events in
the 24-hour log. Each is timed in the log's current form (``seq``, a zero-padded string in an
index, which our FerretDB build sorts and ranges in SQLite) and in the earlier form (integer
``_id`` sort/range and a room filter in the query, decoded in Go), on the same data in one run.

    python -P bench/console_eventlog.py [--events 20000] [--repeat 5]

Prints one JSON line (milliseconds, median of ``--repeat``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import agent_console  # noqa: E402,F401 - registers the log's collection and indexes
from agent_console.eventlog import COLLECTION, RETENTION, EventLog  # noqa: E402
from hub.models import utcnow  # noqa: E402
from hub.store import EmbeddedFerretDB, Store  # noqa: E402


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        await fn()
        times.append(1000 * (time.perf_counter() - began))
    return round(statistics.median(times), 1)


async def run(url: str, events: int, repeat: int) -> dict[str, Any]:
    store = Store.connect(url, "bench_eventlog")
    await store.ensure_indexes()
    log = EventLog(store)
    data = {"conversation_id": "6b07f7b72e5ca6b75c343649", "message": {"text": "x" * 200}}
    for _ in range(0, events, 100):
        await log.append_many([("message.created", ["all", "team:-"], data)] * 100)
    col = store[COLLECTION]
    head = await log.last_id()

    async def old_head() -> None:
        await col.find_one({}, {"_id": 1}, sort=[("_id", -1)])

    async def old_since() -> None:
        [
            d
            async for d in col.find({"_id": {"$gt": head - 5}, "rooms": {"$in": ["all"]}})
            .sort("_id", 1)
            .limit(501)
        ]

    async def old_trim() -> None:
        await col.delete_many({"at": {"$lt": utcnow() - RETENTION}})

    out = {
        "head_ms": {"seq": await timed(log.last_id, repeat), "int_id": await timed(old_head, repeat)},
        "catch_up_5_ms": {
            "seq": await timed(lambda: log.since(head - 5, ["all"]), repeat),
            "int_id": await timed(old_since, repeat),
        },
        "trim_nothing_due_ms": {
            "seq": await timed(log.trim, repeat),
            "int_id": await timed(old_trim, repeat),
        },
    }
    await store.client.drop_database("bench_eventlog")
    await store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="berry-bench-") as tmp:
        ferret = EmbeddedFerretDB(Path(tmp) / "ferretdb")
        ferret.start()
        try:
            result = asyncio.run(run(ferret.url, args.events, args.repeat))
        finally:
            ferret.stop()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(json.dumps({"bench": "console_eventlog", "events": args.events, **result, "loadavg": load}))


if __name__ == "__main__":
    main()
