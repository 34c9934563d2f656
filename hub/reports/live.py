"""Figures that are a snapshot or belong to another package: backlog and ticket age (open/pending/
snoozed tickets *now*; read from a snapshot the ``reports.backlog`` job keeps, or computed), and
knowledge-base search success (``search_queries``, written by ``knowledge_base.analytics``; absent →
zero searches).
"""

from __future__ import annotations

import json
import struct
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
from bson import Binary

from hub.models import ACTIVE_VALUES, utcnow
from hub.store import Store, upsert

from .source import contact_types
from .stats import hours, median, ratio

AGE_BANDS = (
    (3600, "<1h"),
    (4 * 3600, "1-4h"),
    (24 * 3600, "4-24h"),
    (3 * 86400, "1-3d"),
    (7 * 86400, "3-7d"),
)
SCAN_LIMIT = 500_000


def _band(age_s: float) -> str:
    for limit, name in AGE_BANDS:
        if age_s < limit:
            return name
    return ">7d"


COLS = ("status", "team_id", "agent_id", "channel", "priority", "contact_type", "sla_risk")
SNAPSHOT_ID = "backlog:snapshot"  # in report_views, read by _id


async def backlog_rows(store: Store, held: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """The open/pending/snoozed tickets now, as columns: ``created`` (ms) and one code array per
    dimension with its vocabulary (what the snapshot stores and every backlog figure is computed from).
    ``held``: which of these documents the bot is still answering (a ``held`` column, not stored)."""
    docs = [
        d
        async for d in store.conversations.find(
            {"status": {"$in": ACTIVE_VALUES}, "merged_into": None},
            {
                "status": 1,
                "team_id": 1,
                "assignee_id": 1,
                "channel": 1,
                "priority": 1,
                "created_at": 1,
                "contact_id": 1,
                "sla": 1,
                "bot": 1,
            },
        ).limit(SCAN_LIMIT)
    ]
    types = await contact_types(store, {d["contact_id"] for d in docs if d.get("contact_id")})
    rows: dict[str, Any] = {"created": np.asarray([int(d["created_at"].timestamp() * 1000) for d in docs],
                                                  dtype=np.int64), "vocab": {}}
    values = {
        "status": [d["status"] for d in docs],
        "team_id": [d.get("team_id") for d in docs],
        "agent_id": [d.get("assignee_id") for d in docs],
        "channel": [str(d.get("channel")) for d in docs],
        "priority": [str(d.get("priority") or "normal") for d in docs],
        "contact_type": [types.get(d.get("contact_id") or "", ("", "consumer"))[1] for d in docs],
        "sla_risk": [sla_risk(d) for d in docs],
    }
    for col in COLS:
        vocab = sorted({str(v) if v is not None else "" for v in values[col]})
        index = {v: k for k, v in enumerate(vocab)}
        rows["vocab"][col] = vocab
        rows[col] = np.asarray([index[str(v) if v is not None else ""] for v in values[col]], dtype=np.int64)
    rows["held"] = np.asarray([held(d) for d in docs] if held else np.zeros(len(docs)), dtype=bool)
    return rows


def sla_risk(doc: dict[str, Any]) -> str:
    """"breached" (a target missed and still not met), "warned" (a warning issued, not met yet) or ""."""
    metrics = ((doc.get("sla") or {}).get("metrics") or {}).values()
    open_metrics = [m for m in metrics if isinstance(m, dict) and not m.get("met_at")]
    if any(m.get("breached") for m in open_metrics):
        return "breached"
    return "warned" if any(m.get("warned") for m in open_metrics) else ""


def backlog_figures(rows: dict[str, Any], filters: dict[str, str], now: datetime,
                    as_of: datetime | None = None) -> dict[str, Any]:
    mask = np.ones(rows["created"].size, dtype=bool)
    for col, value in filters.items():
        vocab = rows["vocab"][col]
        mask &= rows[col] == (vocab.index(value) if value in vocab else -1)
    now_ms = int(now.timestamp() * 1000)
    ages = (now_ms - rows["created"][mask]) / 1000.0
    status = [rows["vocab"]["status"][k] for k in rows["status"][mask]]
    teams_col = rows["team_id"][mask]
    by_status = Counter(status)
    bands = Counter(_band(a) for a in ages.tolist())
    by_team = []
    for code in sorted(set(teams_col.tolist()), key=lambda c: str(rows["vocab"]["team_id"][c] or None)):
        team_ages = np.sort(ages[teams_col == code])
        team = rows["vocab"]["team_id"][code] or None
        by_team.append({"team_id": team, "count": int(team_ages.size),
                        "age_median_h": hours(median(team_ages.tolist())),
                        "oldest_h": hours(float(team_ages[-1]))})
    return {"total": int(mask.sum()), "by_status": {s: by_status.get(s, 0) for s in ACTIVE_VALUES},
            "age_bands": {name: bands.get(name, 0) for name in [n for _, n in AGE_BANDS] + [">7d"]},
            "by_team": by_team, "as_of": (as_of or now).isoformat()}


async def backlog(store: Store, filters: dict[str, str], now: datetime | None = None) -> dict[str, Any]:
    """Backlog figures computed from the tickets now (the on-the-fly path)."""
    now = now or utcnow()
    return backlog_figures(await backlog_rows(store), filters, now)


async def snapshot(store: Store, held: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """Store the backlog rows (the ``reports.backlog`` job, every ``backlog_snapshot_s``, and the live
    operations tile after a change); returns them."""
    at = utcnow()
    rows = await backlog_rows(store, held)
    arrays = {col: rows[col] for col in ("created", *COLS)}
    skeleton = json.dumps({"vocab": rows["vocab"], "n": int(rows["created"].size)}).encode()
    blob = zlib.compress(
        struct.pack("<I", len(skeleton)) + skeleton + b"".join(a.tobytes() for a in arrays.values())
    )
    await upsert(store["report_views"], {"_id": SNAPSHOT_ID}, {"at": at, "z": Binary(blob)}, replace=True)
    return {**rows, "at": at}


async def backlog_from_snapshot(store: Store, filters: dict[str, str], now: datetime | None = None,
                                max_age_s: float = 300) -> dict[str, Any]:
    """Backlog figures from the latest snapshot (one read by ``_id``); computed now when it is
    missing or older than ``max_age_s``."""
    now = now or utcnow()
    doc = await store["report_views"].find_one({"_id": SNAPSHOT_ID})
    if doc is None or (now - doc["at"]).total_seconds() > max_age_s:
        return await backlog(store, filters, now)
    raw = zlib.decompress(bytes(doc["z"]))
    (size,) = struct.unpack_from("<I", raw)
    head = json.loads(raw[4:4 + size])
    n, offset = head["n"], 4 + size
    rows: dict[str, Any] = {"vocab": head["vocab"]}
    for col in ("created", *COLS):
        rows[col] = np.frombuffer(raw, dtype=np.int64, count=n, offset=offset)
        offset += 8 * n
    return backlog_figures(rows, filters, now, as_of=doc["at"])


async def kb(store: Store, start: datetime, end: datetime, top: int = 20) -> dict[str, Any]:
    searches: Counter[str] = Counter()
    empty: Counter[str] = Counter()
    total = with_results = 0
    async for d in store["search_queries"].find({"at": {"$gte": start, "$lt": end}},
                                                {"query": 1, "results": 1}).limit(SCAN_LIMIT):
        total += 1
        query = d.get("query") or ""  # a bot search keeps no text: counted, not listed
        if query:
            searches[query] += 1
        if (d.get("results") or 0) > 0:
            with_results += 1
        elif query:
            empty[query] += 1
    helpful = not_helpful = 0
    async for d in (
        store["article_feedback"].find({"at": {"$gte": start, "$lt": end}}, {"helpful": 1}).limit(SCAN_LIMIT)
    ):
        if d.get("helpful"):
            helpful += 1
        else:
            not_helpful += 1
    return {
        "searches": total,
        "with_results": with_results,
        "success_rate": ratio(with_results, total),
        "no_result_queries": [
            {"query": q, "count": c} for q, c in sorted(empty.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        ],
        "top_queries": [
            {"query": q, "count": c}
            for q, c in sorted(searches.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        ],
        "article_feedback": {
            "helpful": helpful,
            "not_helpful": not_helpful,
            "helpful_rate": ratio(helpful, helpful + not_helpful),
        },
    }


__all__ = [
    "SNAPSHOT_ID",
    "backlog",
    "backlog_figures",
    "backlog_from_snapshot",
    "backlog_rows",
    "kb",
    "snapshot",
]
