"""The reports service: loads groups for a range (roll-ups or on the fly), filters them and turns
them into the figures each endpoint returns. One load serves every section of a request."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from hub.store import Store

from . import figures, live, presence, views
from .load import agent_load
from .query import Range, ReportQuery, check_range
from .rollup import Rollups
from .source import groups_between
from .views import View

log = logging.getLogger(__name__)

SECTIONS = (
    "overview",
    "volume",
    "response_times",
    "sla",
    "csat",
    "bot",
    "kb",
    "agents",
    "backlog",
    "contacts",
)


async def _empty() -> View:
    return views.merge([])


class Reports:
    def __init__(self, store: Store, rollups: Rollups, backlog_max_age_s: float = 0) -> None:
        self.store = store
        self.rollups = rollups
        self.backlog_max_age_s = backlog_max_age_s  # 0: no snapshot, compute the backlog every time

    async def view(self, rng: Range, query: ReportQuery) -> View:
        if query.source == "live":
            extra = {"channel": query.channel.value} if query.channel else None
            groups = await groups_between(self.store, rng.start, rng.end, extra=extra)
            return views.view_of(figures.select(groups, query.filters()))
        return await self.rollups.view(rng.start, rng.end, query.filters())

    async def agent_names(self, ids: set[str]) -> dict[str, str]:
        if not ids:
            return {}
        return {d["_id"]: d.get("name") or d.get("email", "") async for d in
                self.store.users.find({"_id": {"$in": sorted(ids)}}, {"name": 1, "email": 1})}

    async def report(self, query: ReportQuery, sections: tuple[str, ...] = SECTIONS,
                     now: datetime | None = None) -> dict[str, Any]:
        """The named sections for ``query`` (already scoped to the principal)."""
        started = time.perf_counter()
        rng = check_range(query)
        needs_view = any(s not in ("kb", "backlog") for s in sections)
        previous = rng.previous
        current, before = await asyncio.gather(
            self.view(rng, query) if needs_view else _empty(),
            self.view(previous, query) if "overview" in sections else _empty())
        total = current
        out: dict[str, Any] = {
            "range": {"start": rng.start.isoformat(), "end": rng.end.isoformat(), "tz": query.tz},
            "filters": query.filters(),
            "source": query.source,
        }
        if "overview" in sections:
            out["overview"] = {"kpis": figures.trend(figures.kpis(total), figures.kpis(before)),
                               "previous_range": {"start": rng.previous.start.isoformat(),
                                                  "end": rng.previous.end.isoformat()}}
        if "volume" in sections:
            out["volume"] = figures.volume(total, query.zone, rng.start, rng.end)
        if "response_times" in sections:
            out["response_times"] = figures.response_times(total)
        if "sla" in sections:
            out["sla"] = figures.sla(total)
        if "csat" in sections:
            out["csat"] = figures.csat(total)
        if "bot" in sections:
            out["bot"] = figures.bot(total)
        if "kb" in sections:
            out["kb"] = await live.kb(self.store, rng.start, rng.end)
        if "agents" in sections:
            online, load = await asyncio.gather(
                presence.time_online(self.store, rng.start, rng.end, now, query.agent_id),
                agent_load(self.store, rng.start, rng.end))
            if query.agent_id:
                load = {a: x for a, x in load.items() if a == query.agent_id}
            if set(query.filters()) - {"agent_id"}:  # a team/channel/… filter: only the agents in it
                online = {a: s for a, s in online.items() if a in total["agents"]}
                load = {a: x for a, x in load.items() if a in total["agents"]}
            names = await self.agent_names({k for k in total["agents"] if k} | set(online) | set(load))
            out["agents"] = figures.agents(total, names, online, load)
        if "backlog" in sections:
            if query.source == "rollup" and self.backlog_max_age_s > 0:
                out["backlog"] = await live.backlog_from_snapshot(self.store, query.filters(), now,
                                                                  self.backlog_max_age_s)
            else:
                out["backlog"] = await live.backlog(self.store, query.filters(), now)
        if "contacts" in sections:
            out["contacts"] = figures.contacts(total)
        log.info(
            "report",
            extra={
                "sections": list(sections),
                "source": query.source,
                "conversations": total["n"],
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return out


__all__ = ["Reports", "SECTIONS"]
