"""Job queue throughput with a history of finished jobs: what a lease costs once many jobs have run.

A lease searches ``job_queue`` (the live jobs only); before, it searched ``jobs`` with every job
ever run. Both searches are timed side by side on the same data in one run.

    python -P bench/jobs.py [--history 20000] [--jobs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hub.jobs import Jobs, Worker
from hub.models import new_id, utcnow
from hub.store import EmbeddedFerretDB, Store


async def main(args: argparse.Namespace) -> dict[str, Any]:
    server = EmbeddedFerretDB(Path(tempfile.mkdtemp(prefix="bench-jobs-")))
    server.start()
    try:
        store = Store.connect(server.url, "bench")
        await store.ensure_indexes()
        jobs = Jobs(store)
        now = utcnow()
        history = [{"_id": new_id(), "kind": "send", "payload": {"message_id": new_id()}, "state": "done",
                    "next_at": now, "attempts": 1, "max_attempts": 8, "created_at": now, "owner": "w",
                    "lease_until": None, "last_error": None, "finished_at": now} for _ in range(args.history)]
        for start in tqdm(range(0, len(history), 1000), desc="history", unit="k jobs"):
            await store["jobs"].insert_many(history[start:start + 1000])

        async def handler(_: dict[str, Any]) -> None:
            return None

        worker = Worker(jobs, {"send": handler})
        for _ in range(args.jobs):
            await jobs.enqueue("send", {"message_id": new_id()})
        started = time.perf_counter()
        ran = 0
        while await worker.run_once():
            ran += 1
        elapsed = time.perf_counter() - started

        old_style = {
            "kind": {"$in": ["send"]},
            "$or": [
                {"state": "ready", "next_at": {"$lte": utcnow()}},
                {"state": "running", "lease_until": {"$lt": utcnow()}},
            ],
        }
        search: dict[str, list[float]] = {"job_queue": [], "jobs (before)": []}
        for _ in range(10):
            t = time.perf_counter()
            await store["job_queue"].find({"kind": {"$in": ["send"]}, "next_at": {"$lte": utcnow()}}
                                          ).sort("next_at", 1).limit(5).to_list()
            search["job_queue"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await store["jobs"].find(old_style).sort("next_at", 1).limit(5).to_list()
            search["jobs (before)"].append((time.perf_counter() - t) * 1000)
        await store.close()
    finally:
        server.stop()
        server.remove_data()
    return {"bench": "jobs", "date": time.strftime("%Y-%m-%d"), "loadavg": os.getloadavg()[0],
            "history": args.history, "jobs": ran, "jobs_per_s": round(ran / elapsed, 1),
            "lease_search_median_ms": {k: round(statistics.median(v), 2) for k, v in search.items()}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--history", type=int, default=20_000, help="finished jobs already in the store")
    parser.add_argument("--jobs", type=int, default=300, help="jobs to run through the queue")
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
