"""Report latency at scale: the dashboard's figures from roll-ups vs computed on the fly, in one run.

Loads N conversations (and their contacts) spread over D days into a fresh database on its own
embedded FerretDB, builds the roll-ups with the rebuild path, then times the same 30-day dashboard
request both ways, interleaved so machine noise hits both alike. The live sections (backlog now,
knowledge-base searches) are timed on their own: they read source data in both modes.

Prints one JSON line.

    python -P bench/reports.py [--conversations 100000] [--days 90] [--runs 20] [--live-runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hub.models import new_id
from hub.reports.cli import rebuild
from hub.reports.query import ReportQuery
from hub.reports.rollup import Rollups
from hub.reports.service import Reports
from hub.store import EmbeddedFerretDB, Store

CHANNELS = ["whatsapp", "whatsapp", "whatsapp", "sms", "email", "email", "webchat", "webchat", "voice"]
PRIORITIES = ["low", "normal", "normal", "normal", "high", "urgent"]
REASONS = ["explicit_request", "unclear_twice", "negative_sentiment", "human_only:complaint", "refund_over_limit"]
DASHBOARD = ("overview", "volume", "response_times", "sla", "csat", "bot", "agents", "contacts")


def conversation(i: int, now: datetime, days: int, contacts: list[str], agents: list[str]) -> dict[str, Any]:
    r = random.random
    created = now - timedelta(seconds=r() * days * 86400)
    status = random.choice(["resolved"] * 6 + ["closed"] * 2 + ["open", "pending"])
    first = created + timedelta(minutes=r() * 600) if r() < 0.9 else None
    resolved = (first or created) + timedelta(hours=r() * 72) if status in ("resolved", "closed") else None
    doc: dict[str, Any] = {
        "_id": new_id(), "number": i + 1, "contact_id": random.choice(contacts), "channel": random.choice(CHANNELS),
        "thread_key": f"t{i}", "status": status, "priority": random.choice(PRIORITIES),
        "assignee_id": random.choice(agents) if r() < 0.95 else None, "team_id": f"team{random.randint(1, 5)}",
        "tags": [], "subject": "", "created_at": created, "updated_at": created, "last_message_at": resolved or created,
        "first_response_at": first, "resolved_at": resolved, "sla": {}, "bot": {}, "csat": None, "merged_into": None,
    }
    if r() < 0.4:
        doc["bot"] = {"active": False, "handoff": {"reason": random.choice(REASONS)}} if r() < 0.6 else {"active": True}
    if resolved and r() < 0.7:
        doc["csat"] = {"state": "sent", "sent_at": resolved, "score": random.randint(1, 5) if r() < 0.4 else None}
    if r() < 0.8:
        breached = r() < 0.15
        doc["sla"] = {"policy_id": "default", "metrics": {"first_response": {"breached": breached,
                                                                             "met_at": None if breached else first}}}
    return doc


async def load(store: Store, n: int, days: int, now: datetime) -> None:
    contacts = [new_id() for _ in range(max(1, n // 5))]
    await store.contacts.insert_many([{"_id": c, "type": "provider" if random.random() < 0.2 else "consumer",
                                       "name": "", "created_at": now} for c in contacts])
    agents = [new_id() for _ in range(40)]
    await store.users.insert_many([{"_id": a, "email": f"{a}@bench.test", "name": f"Agent {k}", "role": "agent"}
                                   for k, a in enumerate(agents)])
    batch = 5000
    with tqdm(total=n, unit="conv", desc="load") as bar:
        for start in range(0, n, batch):
            docs = [conversation(i, now, days, contacts, agents) for i in range(start, min(n, start + batch))]
            await store.conversations.insert_many(docs, ordered=False)
            bar.update(len(docs))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, max(0, round(q * len(values)) - 1))], 1)


async def timed(coro: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await coro
    return (time.perf_counter() - started) * 1000, result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    random.seed(8)
    with tempfile.TemporaryDirectory() as tmp:
        ferret = EmbeddedFerretDB(Path(tmp) / "ferretdb")
        await asyncio.to_thread(ferret.start)
        store = Store.connect(ferret.url, "bench_reports")
        try:
            await store.ensure_indexes()
            now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            t0 = time.perf_counter()
            await load(store, args.conversations, args.days, now)
            load_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            summary = await rebuild(store, None, None, progress=True)
            rebuild_s = time.perf_counter() - t0
            buckets = await store["report_buckets"].count_documents({})
            reports = Reports(store, Rollups(store))
            end = now.date()
            q = {"start": (end - timedelta(days=29)).isoformat(), "end": end.isoformat(), "tz": "UTC"}
            rollup_q, live_q = ReportQuery(**q, source="rollup"), ReportQuery(**q, source="live")
            await reports.report(rollup_q, DASHBOARD)  # warm-up
            rollup_ms: list[float] = []
            live_ms: list[float] = []
            same = True
            for i in tqdm(range(args.runs), desc="dashboard", unit="req"):
                ms, a = await timed(reports.report(rollup_q, DASHBOARD))
                rollup_ms.append(ms)
                if i < args.live_runs:
                    ms, b = await timed(reports.report(live_q, DASHBOARD))
                    live_ms.append(ms)
                    same = same and all(a[s] == b[s] for s in DASHBOARD)
            backlog_ms = [(await timed(reports.report(rollup_q, ("backlog",))))[0] for _ in range(args.live_runs)]
            kb_ms = [(await timed(reports.report(rollup_q, ("kb",))))[0] for _ in range(args.live_runs)]
            filtered_ms = [(await timed(reports.report(ReportQuery(**q, channel="email", source="rollup"), DASHBOARD)))[0]
                           for _ in range(args.live_runs)]
        finally:
            await store.close()
            await asyncio.to_thread(ferret.stop)
    return {
        "bench": "reports", "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, shared", "server": "FerretDB v1.24 (SQLite)",
        "conversations": args.conversations, "days": args.days, "range_days": 30, "buckets": buckets,
        "load_s": round(load_s, 1), "rebuild_s": round(rebuild_s, 1), "rebuild_verified": summary["verified"],
        "dashboard_rollup_ms": {"p50": pct(rollup_ms, .5), "p95": pct(rollup_ms, .95), "runs": len(rollup_ms)},
        "dashboard_live_ms": {"p50": pct(live_ms, .5), "p95": pct(live_ms, .95), "runs": len(live_ms)},
        "ratio_live_over_rollup_p50": round(statistics.median(live_ms) / statistics.median(rollup_ms), 1),
        "same_figures": same,
        "dashboard_rollup_channel_filter_ms_p50": pct(filtered_ms, .5),
        "backlog_now_ms_p50": pct(backlog_ms, .5), "kb_ms_p50": pct(kb_ms, .5),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--live-runs", type=int, default=5)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
