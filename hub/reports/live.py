"""Figures that are a snapshot or belong to another package, always computed from source data:
backlog and ticket age (open/pending/snoozed tickets *now*), and knowledge-base search success
(``search_queries``, written by ``knowledge_base.analytics``; absent → zero searches).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from hub.models import utcnow
from hub.store import Store

from .source import contact_types
from .stats import hours, median, ratio

ACTIVE = ["open", "pending", "snoozed"]
AGE_BANDS = ((3600, "<1h"), (4 * 3600, "1-4h"), (24 * 3600, "4-24h"), (3 * 86400, "1-3d"), (7 * 86400, "3-7d"))
SCAN_LIMIT = 500_000


def _band(age_s: float) -> str:
    for limit, name in AGE_BANDS:
        if age_s < limit:
            return name
    return ">7d"


async def backlog(store: Store, filters: dict[str, str], now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    flt: dict[str, Any] = {"status": {"$in": ACTIVE}, "merged_into": None}
    for field, value in filters.items():
        if field != "contact_type":
            flt["assignee_id" if field == "agent_id" else field] = value
    docs = [d async for d in store.conversations.find(flt, {"status": 1, "team_id": 1, "created_at": 1,
                                                            "contact_id": 1}).limit(SCAN_LIMIT)]
    if "contact_type" in filters:
        types = await contact_types(store, {d["contact_id"] for d in docs if d.get("contact_id")})
        docs = [d for d in docs if types.get(d.get("contact_id") or "", ("", "consumer"))[1] == filters["contact_type"]]
    by_status = Counter(d["status"] for d in docs)
    bands = Counter(_band((now - d["created_at"]).total_seconds()) for d in docs)
    teams: dict[Any, list[float]] = defaultdict(list)
    for d in docs:
        teams[d.get("team_id")].append((now - d["created_at"]).total_seconds())
    by_team = []
    for team, ages in sorted(teams.items(), key=lambda kv: str(kv[0])):
        ages.sort()
        by_team.append({"team_id": team, "count": len(ages), "age_median_h": hours(median(ages)),
                        "oldest_h": hours(ages[-1])})
    return {"total": len(docs), "by_status": {s: by_status.get(s, 0) for s in ACTIVE},
            "age_bands": {name: bands.get(name, 0) for name in [n for _, n in AGE_BANDS] + [">7d"]},
            "by_team": by_team, "as_of": now.isoformat()}


async def kb(store: Store, start: datetime, end: datetime, top: int = 20) -> dict[str, Any]:
    searches: Counter[str] = Counter()
    empty: Counter[str] = Counter()
    total = with_results = 0
    async for d in store["search_queries"].find({"at": {"$gte": start, "$lt": end}},
                                                {"query": 1, "results": 1}).limit(SCAN_LIMIT):
        total += 1
        searches[d.get("query", "")] += 1
        if (d.get("results") or 0) > 0:
            with_results += 1
        else:
            empty[d.get("query", "")] += 1
    helpful = not_helpful = 0
    async for d in store["article_feedback"].find({"at": {"$gte": start, "$lt": end}}, {"helpful": 1}).limit(SCAN_LIMIT):
        if d.get("helpful"):
            helpful += 1
        else:
            not_helpful += 1
    return {"searches": total, "with_results": with_results, "success_rate": ratio(with_results, total),
            "no_result_queries": [{"query": q, "count": c} for q, c in sorted(empty.items(), key=lambda kv: (-kv[1], kv[0]))[:top]],
            "top_queries": [{"query": q, "count": c} for q, c in sorted(searches.items(), key=lambda kv: (-kv[1], kv[0]))[:top]],
            "article_feedback": {"helpful": helpful, "not_helpful": not_helpful,
                                 "helpful_rate": ratio(helpful, helpful + not_helpful)}}


__all__ = ["backlog", "kb"]
