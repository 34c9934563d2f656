"""``python -m hub.reports``: maintain the report roll-ups.

    rebuild [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--dry-run]
        Recompute every day's bucket from the tickets (default: the first ticket's day → today),
        report each day whose stored bucket differed from the on-the-fly computation, write the
        fresh buckets (unless --dry-run), then check that the overview computed from the roll-ups
        equals the one computed on the fly. Prints one JSON summary line; exit 1 if the check fails.

Uses BERRY_MONGODB_URL, or starts the embedded FerretDB like ``python -m hub``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, timedelta
from typing import Any

from tqdm import tqdm

from hub.models import utcnow
from hub.settings import Settings
from hub.store import Store, open_store

from .query import MAX_RANGE, ReportQuery
from .rollup import Rollups, day_of, decode, normalize, scoped
from .service import Reports
from .source import Calendars

CHUNK_DAYS = 31  # one bounded query per month of tickets


def _diff(stored: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> dict[str, Any]:
    def key(g: dict[str, Any]) -> str:
        return "|".join(
            str(g[k]) for k in ("hour", "team_id", "channel", "agent_id", "contact_type", "priority")
        )
    a = {key(g): g for g in normalize(stored)}
    b = {key(g): g for g in normalize(fresh)}
    return {"missing": len(b.keys() - a.keys()), "extra": len(a.keys() - b.keys()),
            "changed": sum(1 for k in a.keys() & b.keys() if a[k] != b[k]),
            "conversations_stored": sum(g["n"] for g in a.values()),
            "conversations_fresh": sum(g["n"] for g in b.values())}


async def rebuild(store: Store, first: date | None, last: date | None, *, dry_run: bool = False,
                  progress: bool = True) -> dict[str, Any]:
    if first is None:
        oldest = (
            await store.conversations.find({}, {"created_at": 1}).sort("created_at", 1).limit(1).to_list()
        )
        first = day_of(oldest[0]["created_at"]) if oldest else day_of(utcnow())
    last = last or day_of(utcnow())
    if last < first:
        raise SystemExit("--to is before --from")
    rollups = Rollups(store)
    calendars = Calendars(store)
    await calendars.load()
    summary: dict[str, Any] = {"from": first.isoformat(), "to": last.isoformat(), "days": 0, "written": 0,
                               "differences": {}}
    total_days = (last - first).days + 1
    scopes: dict[date, set[str]] = {}
    bar = tqdm(total=total_days, unit="day", desc="rebuild", disable=not progress, file=sys.stderr)
    day = first
    while day <= last:
        chunk_last = min(last, day + timedelta(days=CHUNK_DAYS - 1))
        fresh = await rollups.compute_days(day, chunk_last, calendars)
        stored = await rollups.stored(day, chunk_last)
        d = day
        while d <= chunk_last:
            groups = fresh.get(d, [])
            old = stored.get(d)
            if old is not None or groups:
                scopes[d] = set(scoped(groups)) | set((old or {}).get("scopes", []))
                diff = _diff(decode(old) if old else [], groups)
                if old is None or diff["missing"] or diff["extra"] or diff["changed"]:
                    summary["differences"][d.isoformat()] = diff
                    if not dry_run:
                        await rollups.save(d, groups, old, blocks=False)
                        summary["written"] += 1
                elif await rollups.views_differ(d, groups):  # the groups are right; their views are not
                    summary["differences"][d.isoformat()] = {"views": True}
                    if not dry_run:
                        await rollups.save(d, groups, old, force=True, blocks=False)
                        summary["written"] += 1
            summary["days"] += 1
            bar.update(1)
            d += timedelta(days=1)
        day = chunk_last + timedelta(days=1)
    bar.close()
    if not dry_run:  # blocks are merged from days: re-merge every block over the range, bottom up
        await rollups.rebuild_blocks(scopes)
    summary["verified"] = None if dry_run else await verify(store, rollups, first, last)
    return summary


async def verify(store: Store, rollups: Rollups, first: date, last: date) -> bool:
    """Roll-ups and the on-the-fly computation agree on every section, window by window."""
    reports = Reports(store, rollups)
    step = MAX_RANGE.days - 1
    day = first
    while day <= last:
        end = min(last, day + timedelta(days=step))
        q = {"start": day.isoformat(), "end": end.isoformat()}
        sections = ("volume", "response_times", "sla", "csat", "bot", "agents", "contacts")
        a = await reports.report(ReportQuery(**q, source="rollup"), sections)
        b = await reports.report(ReportQuery(**q, source="live"), sections)
        if any(a[s] != b[s] for s in sections):
            return False
        day = end + timedelta(days=1)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rb = sub.add_parser("rebuild", help="recompute the roll-ups and report differences")
    rb.add_argument("--from", dest="first", type=date.fromisoformat, help="first UTC day (YYYY-MM-DD)")
    rb.add_argument("--to", dest="last", type=date.fromisoformat, help="last UTC day, inclusive")
    rb.add_argument("--dry-run", action="store_true", help="only report differences; write nothing")
    args = parser.parse_args(argv)

    async def run() -> dict[str, Any]:
        async with open_store(Settings()) as store:
            return await rebuild(store, args.first, args.last, dry_run=args.dry_run)

    summary = asyncio.run(run())
    print(json.dumps(summary))
    return 1 if summary["verified"] is False else 0
