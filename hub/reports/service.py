"""The reports service: loads groups for a range (roll-ups or on the fly), filters them and turns
them into the figures each endpoint returns. One load serves every section of a request."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from hub.store import Store

from . import figures, live
from .query import Range, ReportQuery, check_range
from .rollup import Rollups
from .source import groups_between

log = logging.getLogger(__name__)

SECTIONS = ("overview", "volume", "response_times", "sla", "csat", "bot", "kb", "agents", "backlog", "contacts")


class Reports:
    def __init__(self, store: Store, rollups: Rollups) -> None:
        self.store = store
        self.rollups = rollups

    async def groups(self, rng: Range, query: ReportQuery) -> list[dict[str, Any]]:
        if query.source == "live":
            extra = {"channel": query.channel.value} if query.channel else None
            groups = await groups_between(self.store, rng.start, rng.end, extra=extra)
        else:
            groups = await self.rollups.groups(rng.start, rng.end)
        return figures.select(groups, query.filters())

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
        needs_groups = any(s not in ("kb", "backlog") for s in sections)
        groups = await self.groups(rng, query) if needs_groups else []
        total = figures.merge(groups)
        out: dict[str, Any] = {"range": {"start": rng.start.isoformat(), "end": rng.end.isoformat(), "tz": query.tz},
                               "filters": query.filters(), "source": query.source}
        if "overview" in sections:
            previous = await self.groups(rng.previous, query)
            out["overview"] = {"kpis": figures.trend(figures.kpis(total),
                                                         figures.kpis(figures.merge(previous))),
                               "previous_range": {"start": rng.previous.start.isoformat(),
                                                  "end": rng.previous.end.isoformat()}}
        if "volume" in sections:
            out["volume"] = figures.volume(groups, query.zone, rng.start, rng.end)
        if "response_times" in sections:
            out["response_times"] = figures.response_times(total)
        if "sla" in sections:
            out["sla"] = figures.sla(groups)
        if "csat" in sections:
            out["csat"] = figures.csat(total)
        if "bot" in sections:
            out["bot"] = figures.bot(total)
        if "kb" in sections:
            out["kb"] = await live.kb(self.store, rng.start, rng.end)
        if "agents" in sections:
            names = await self.agent_names({g["agent_id"] for g in groups if g.get("agent_id")})
            out["agents"] = figures.agents(groups, names)
        if "backlog" in sections:
            out["backlog"] = await live.backlog(self.store, query.filters(), now)
        if "contacts" in sections:
            out["contacts"] = figures.contacts(groups)
        log.info("report", extra={"sections": list(sections), "source": query.source, "groups": len(groups),
                                  "ms": round((time.perf_counter() - started) * 1000, 1)})
        return out


__all__ = ["Reports", "SECTIONS"]
