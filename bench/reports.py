"""Report latency at scale: the dashboard's figures from roll-ups vs computed on the fly, in one run.

Loads N conversations with M messages (and their contacts) spread over D days into a fresh database
on its own embedded FerretDB with bulk inserts, and writes the roll-ups (hourly buckets + day views)
computed in memory by the same functions the roll-up job uses (``--rebuild`` uses the real rebuild
path instead: minutes at full scale). ``rebuild --dry-run``-style check: a sample of days is
recomputed from the store and must equal what was written. Then times the same 30-day dashboard
request both ways, interleaved so machine noise hits both alike; the on-the-fly path reads every
ticket and message of the range and takes minutes at full scale, so it runs ``--live-runs`` times.
The live sections (backlog now, knowledge-base searches) are timed on their own.

Prints one JSON line.

    python -P bench/reports.py [--conversations 200000] [--messages 1000000] [--days 90] [--runs 40]
        [--live-runs 1]
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

from hub.api.pages import BadQuery
from hub.models import new_id
from hub.reports import live
from hub.reports.cli import rebuild
from hub.reports.query import ReportQuery
from hub.reports.rollup import Rollups, day_of, scoped
from hub.reports.service import Reports
from hub.reports.stats import agent_work, group_conversations
from hub.store import EmbeddedFerretDB, Store

CHANNELS = ["whatsapp", "whatsapp", "whatsapp", "sms", "email", "email", "webchat", "webchat", "voice"]
PRIORITIES = ["low", "normal", "normal", "normal", "high", "urgent"]
REASONS = [
    "explicit_request",
    "unclear_twice",
    "negative_sentiment",
    "human_only:complaint",
    "refund_over_limit",
]
DASHBOARD = ("overview", "volume", "response_times", "sla", "csat", "bot", "agents", "contacts")


def conversation(i: int, now: datetime, days: int, contacts: list[str], agents: list[str]) -> dict[str, Any]:
    r = random.random
    created = now - timedelta(milliseconds=int(r() * days * 86_400_000))  # BSON dates hold milliseconds
    status = random.choice(["resolved"] * 6 + ["closed"] * 2 + ["open", "pending"])
    first = created + timedelta(milliseconds=int(r() * 36_000_000)) if r() < 0.9 else None
    resolved = (
        (first or created) + timedelta(milliseconds=int(r() * 259_200_000))
        if status in ("resolved", "closed")
        else None
    )
    doc: dict[str, Any] = {
        "_id": new_id(),
        "number": i + 1,
        "contact_id": random.choice(contacts),
        "channel": random.choice(CHANNELS),
        "thread_key": f"t{i}",
        "status": status,
        "priority": random.choice(PRIORITIES),
        "assignee_id": random.choice(agents) if r() < 0.95 else None,
        "team_id": f"team{random.randint(1, 5)}",
        "tags": [],
        "subject": "",
        "created_at": created,
        "updated_at": created,
        "last_message_at": resolved or created,
        "first_response_at": first,
        "resolved_at": resolved,
        "sla": {},
        "bot": {},
        "csat": None,
        "merged_into": None,
    }
    if r() < 0.4:
        doc["bot"] = (
            {"active": False, "handoff": {"reason": random.choice(REASONS)}}
            if r() < 0.6
            else {"active": True}
        )
    if resolved and r() < 0.7:
        doc["csat"] = {
            "state": "sent",
            "sent_at": resolved,
            "score": random.randint(1, 5) if r() < 0.4 else None,
        }
    if r() < 0.8:
        breached = r() < 0.15
        doc["sla"] = {
            "policy_id": "default",
            "metrics": {"first_response": {"breached": breached, "met_at": None if breached else first}},
        }
    return doc


def messages(conv: dict[str, Any], k: int, now: datetime) -> list[dict[str, Any]]:
    """k messages: the customer writes first, then turns alternate (agent replies after the first
    response)."""
    out = []
    at = conv["created_at"]
    for j in range(k):
        inbound = j % 2 == 0
        if j == 1 and conv["first_response_at"]:
            at = conv["first_response_at"]
        elif j:
            at = at + timedelta(milliseconds=int(random.random() * 240 * 60_000))
        if at > now:
            break
        out.append(
            {
                "_id": new_id(),
                "conversation_id": conv["_id"],
                "contact_id": conv["contact_id"],
                "direction": "in" if inbound else "out",
                "author_type": "customer" if inbound else "agent",
                "private": False,
                "text": "bench",
                "channel": conv["channel"],
                "delivery_status": "sent",
                "meta": {},
                "attachments": [],
                "created_at": at,
            }
        )
    return out


async def load(
    store: Store, n: int, n_messages: int, days: int, now: datetime
) -> dict[Any, list[dict[str, Any]]]:
    """Source documents by bulk insert; returns the groups of each UTC day, computed in memory."""
    contacts = [new_id() for _ in range(max(1, n // 5))]
    ctype = {c: "provider" if random.random() < 0.2 else "consumer" for c in contacts}
    await store.contacts.insert_many(
        [{"_id": c, "type": t, "name": "", "created_at": now} for c, t in ctype.items()]
    )
    agents = [new_id() for _ in range(40)]
    await store.users.insert_many(
        [
            {"_id": a, "email": f"{a}@bench.test", "name": f"Agent {k}", "role": "agent"}
            for k, a in enumerate(agents)
        ]
    )
    per_conv = n_messages / n
    by_day: dict[Any, list[dict[str, Any]]] = {}
    batch = 2000
    with tqdm(total=n, unit="conv", desc="load") as bar:
        for start in range(0, n, batch):
            docs = [conversation(i, now, days, contacts, agents) for i in range(start, min(n, start + batch))]
            msgs = []
            for d in docs:
                k = int(per_conv) + (random.random() < per_conv - int(per_conv))
                ms = messages(d, k, now)
                msgs += ms
                work = agent_work(ms)
                by_day.setdefault(day_of(d["created_at"]), []).append(
                    {**d, "_gaps": work.gaps, "_first_by": work.first_by, "_last_by": work.last_by})
            await store.conversations.insert_many(docs, ordered=False)
            await store.messages.insert_many(msgs, ordered=False)
            bar.update(len(docs))
    types = {c: (c, t) for c, t in ctype.items()}
    return {day: group_conversations(convs, types, lambda c, a, b: (b - a).total_seconds())
            for day, convs in by_day.items()}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, max(0, round(q * len(values)) - 1))], 1)


async def timed(coro: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await coro
    return (time.perf_counter() - started) * 1000, result


async def sub_hour_zone_ms(reports: Reports, q: dict[str, str]) -> list[float]:
    """The dashboard in Asia/Kolkata (+05:30: both edges mid-hour); [] where the code refuses it."""
    try:
        kolkata = ReportQuery(**{**q, "tz": "Asia/Kolkata"})
        await reports.report(kolkata, DASHBOARD)
    except BadQuery:
        return []
    return [(await timed(reports.report(kolkata, DASHBOARD)))[0] for _ in range(5)]


async def stored_bytes(store: Store) -> dict[str, int]:
    """The roll-ups' size: the buckets' group blobs and the views' packed blobs."""
    buckets = [len(d["groups_z"]) async for d in store["report_buckets"].find({}, {"groups_z": 1})]
    views = [len(d["z"]) async for d in store["report_views"].find({"z": {"$exists": True}}, {"z": 1})]
    return {"buckets": sum(buckets), "bucket_max": max(buckets, default=0), "views": sum(views),
            "view_max": max(views, default=0)}


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
            by_day = await load(store, args.conversations, args.messages, args.days, now)
            load_s = time.perf_counter() - t0
            rollups = Rollups(store)
            t0 = time.perf_counter()
            if args.rebuild:
                verified = (await rebuild(store, None, None, progress=True))["verified"]
            else:
                for day, groups in tqdm(sorted(by_day.items()), desc="roll-ups", unit="day"):
                    await rollups.save(day, groups, blocks=False)
                await rollups.rebuild_blocks({day: set(scoped(groups)) for day, groups in by_day.items()})
            rollup_s = time.perf_counter() - t0
            # the roll-up job's path (reads the store) on 3 scattered days, as one job: must change nothing
            t0 = time.perf_counter()
            job_changed = await rollups.recompute_days(sorted(by_day)[-10::3])
            job_s = time.perf_counter() - t0
            verified = verified and job_changed == 0 if args.rebuild else job_changed == 0
            buckets = await store["report_buckets"].count_documents({})
            views = await store["report_views"].count_documents({})
            t0 = time.perf_counter()
            await live.snapshot(store)
            snapshot_s = time.perf_counter() - t0
            reports = Reports(store, rollups, backlog_max_age_s=10**9)
            end = now.date()
            q = {"start": (end - timedelta(days=29)).isoformat(), "end": end.isoformat(), "tz": "UTC"}
            rollup_q, live_q = ReportQuery(**q, source="rollup"), ReportQuery(**q, source="live")
            await reports.report(rollup_q)  # warm-up
            rollup_ms: list[float] = []
            live_ms: list[float] = []
            same = True
            every = max(1, args.runs // max(1, args.live_runs))
            for i in tqdm(range(args.runs), desc="dashboard", unit="req"):
                ms, a = await timed(reports.report(rollup_q))  # every section, as the dashboard page asks
                rollup_ms.append(ms)
                if i % every == 0 and len(live_ms) < args.live_runs:
                    ms, b = await timed(reports.report(live_q, DASHBOARD))
                    live_ms.append(ms)
                    same = same and all(a[s] == b[s] for s in DASHBOARD)
            backlog_ms = [(await timed(reports.report(rollup_q, ("backlog",))))[0] for _ in range(5)]
            backlog_live_ms = [(await timed(live.backlog(store, {})))[0] for _ in range(args.live_runs)]
            await_count = await store.messages.estimated_document_count()
            loadavg = Path("/proc/loadavg").read_text().split()[:3]  # noqa: ASYNC240  procfs, between timings
            kb_ms = [(await timed(reports.report(rollup_q, ("kb",))))[0] for _ in range(5)]
            filtered_ms = [
                (await timed(reports.report(ReportQuery(**q, channel="email", source="rollup"), DASHBOARD)))[
                    0
                ]
                for _ in range(5)
            ]
            two_filters_ms = [(await timed(reports.report(ReportQuery(**q, channel="email", team_id="team1"),
                                                          DASHBOARD)))[0] for _ in range(3)]
            tz_q = ReportQuery(**{**q, "tz": "Africa/Johannesburg"})  # two partial UTC days at the edges
            tz_ms = [(await timed(reports.report(tz_q, DASHBOARD)))[0] for _ in range(5)]
            kolkata_ms = await sub_hour_zone_ms(reports, q)
            sizes = await stored_bytes(store)
        finally:
            await store.close()
            await asyncio.to_thread(ferret.stop)
    return {
        "bench": "reports",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, shared",
        "server": "FerretDB v1.24 (SQLite)",
        "conversations": args.conversations,
        "messages": await_count,
        "days": args.days,
        "range_days": 30,
        "buckets": buckets,
        "views": views,
        "loadavg": loadavg,
        "load_s": round(load_s, 1),
        "rollups_s": round(rollup_s, 1),
        "rollups_path": "rebuild" if args.rebuild else "in memory, checked by the job path on 3 days",
        "rollups_verified": verified,
        "rollup_job_3_scattered_days_s": round(job_s, 1),
        "rollup_job_changed_days": job_changed,
        "dashboard": "every section (overview with trend, volume, times, SLA, CSAT, bot, KB, agents, "
        "backlog, contacts); the on-the-fly run compares all but backlog/KB (source data in both modes)",
        "dashboard_rollup_ms": {
            "p50": pct(rollup_ms, 0.5),
            "p95": pct(rollup_ms, 0.95),
            "runs": len(rollup_ms),
        },
        "dashboard_live_ms": {"p50": pct(live_ms, 0.5), "p95": pct(live_ms, 0.95), "runs": len(live_ms)},
        "ratio_live_over_rollup_p50": round(statistics.median(live_ms) / statistics.median(rollup_ms), 1),
        "same_figures": same,
        "dashboard_rollup_channel_filter_ms_p50": pct(filtered_ms, 0.5),
        "dashboard_rollup_two_filters_ms_p50": pct(two_filters_ms, 0.5),
        "dashboard_rollup_tz_edges_ms_p50": pct(tz_ms, 0.5),
        "dashboard_rollup_kolkata_ms_p50": pct(kolkata_ms, 0.5) if kolkata_ms else "refused (400)",
        "stored_bytes": sizes,
        "backlog_snapshot_ms_p50": pct(backlog_ms, 0.5),
        "backlog_computed_ms_p50": pct(backlog_live_ms, 0.5),
        "backlog_snapshot_job_s": round(snapshot_s, 1),
        "kb_ms_p50": pct(kb_ms, 0.5),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--live-runs", type=int, default=1)
    parser.add_argument(
        "--rebuild", action="store_true", help="build roll-ups with the rebuild CLI path (slow)"
    )
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
