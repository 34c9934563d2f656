"""Agent load over time: the unresolved tickets (open, pending, snoozed) assigned to each agent,
sampled every hour.

The ``reports.backlog`` job already reads the open backlog (``live.snapshot``); it also writes the
per-agent counts into that hour's slot of the day's document (``_id`` = ``load:<YYYY-MM-DD>``, field
``h.<HH>``; the hour's last snapshot wins). One writer per snapshot period (a keyed job), so the
``$set`` of one field is safe on FerretDB. A range reads one document per day by ``_id``. An agent's
load in a range is the average and the peak over the hours that were sampled (an agent absent from a
sampled hour had 0); hours with no snapshot (the hub was down) are not counted.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from hub.store import Store, upsert

from .rollup import bounded, day_start, days

COLLECTION = "report_views"


def load_id(day: Any) -> str:
    return f"load:{day.isoformat()}"


def per_agent(rows: dict[str, Any]) -> dict[str, int]:
    """agent id → unresolved tickets assigned, from the backlog rows (``live.backlog_rows``)."""
    vocab = rows["vocab"]["agent_id"]
    counts = Counter(vocab[code] for code in rows["agent_id"].tolist())
    return {agent: n for agent, n in counts.items() if agent}  # "" = unassigned


async def record(store: Store, rows: dict[str, Any], at: datetime) -> None:
    """Write this hour's sample (called with every backlog snapshot)."""
    day = at.date()
    await upsert(store[COLLECTION], {"_id": load_id(day)},
                 {"$set": {f"h.{at.hour:02d}": per_agent(rows), "day": day_start(day)}})


async def agent_load(store: Store, start: datetime, end: datetime) -> dict[str, dict[str, float]]:
    """agent id → {"average": tickets, "peak": tickets} over the sampled hours of [start, end) (UTC)."""
    wanted = list(days(start, end))
    docs = await bounded([store[COLLECTION].find_one({"_id": load_id(d)}, {"h": 1}) for d in wanted])
    samples: list[dict[str, int]] = []
    for d, doc in zip(wanted, docs, strict=True):
        for hour, counts in sorted(((doc or {}).get("h") or {}).items()):
            if start <= day_start(d) + timedelta(hours=int(hour)) < end:
                samples.append(counts)
    agents = {a for s in samples for a in s}
    return {a: {"average": round(sum(s.get(a, 0) for s in samples) / len(samples), 2),
                "peak": max(s.get(a, 0) for s in samples)} for a in agents}


__all__ = ["agent_load", "per_agent", "record"]
