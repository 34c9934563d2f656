"""Figures from groups: pure functions (no I/O), the same for roll-ups and the on-the-fly path.

Times are reported in hours (2 decimals); rates as fractions 0–1 (4 decimals); ``None`` where there
is nothing to measure (no resolved tickets → no resolution median).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .stats import hours, median, merge, p90, ratio

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SLA_METRICS = ("first_response", "next_response", "resolution")


def select(groups: Iterable[dict[str, Any]], filters: dict[str, str]) -> list[dict[str, Any]]:
    return [g for g in groups if all(str(g.get(k)) == v for k, v in filters.items())]


def times(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "median_h": hours(median(values)), "p90_h": hours(p90(values))}


def response_times(total: dict[str, Any]) -> dict[str, Any]:
    return {"first_response": {"calendar": times(total["frt"]), "business": times(total["frt_bh"])},
            "resolution": {"calendar": times(total["res"]), "business": times(total["res_bh"])}}


def csat(total: dict[str, Any]) -> dict[str, Any]:
    dist = {str(s): total["csat"].get(str(s), 0) for s in range(1, 6)}
    answered = sum(dist.values())
    avg = round(sum(int(s) * c for s, c in dist.items()) / answered, 2) if answered else None
    return {"average": avg, "distribution": dist, "responses": answered, "surveyed": total["csat_sent"],
            "response_rate": ratio(answered, total["csat_sent"]),
            "satisfied_share": ratio(dist["4"] + dist["5"], answered)}


def bot(total: dict[str, Any]) -> dict[str, Any]:
    reasons = sorted(total["handoffs"].items(), key=lambda kv: (-kv[1], kv[0]))
    handed = sum(total["handoffs"].values())
    return {"engaged": total["bot_engaged"], "deflected": total["bot_deflected"], "handed_off": handed,
            "deflection_rate": ratio(total["bot_deflected"], total["bot_engaged"]),
            "handoff_reasons": [{"reason": r, "count": c} for r, c in reasons]}


def _sla_row(counts: dict[str, int]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for metric in SLA_METRICS:
        met, breached = counts.get(f"{metric}:met", 0), counts.get(f"{metric}:breached", 0)
        row[metric] = {"met": met, "breached": breached, "compliance": ratio(met, met + breached)}
    return row


def _sla_counts(groups: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for g in groups:
        for key, value in (g.get("sla") or {}).items():
            counts[key] += value
    return counts


def sla(groups: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"overall": _sla_row(_sla_counts(groups))}
    for dim, name in (("priority", "by_priority"), ("team_id", "by_team")):
        parts: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for g in groups:
            parts[g.get(dim)].append(g)
        out[name] = [{dim: k, **_sla_row(_sla_counts(v))} for k, v in sorted(parts.items(), key=lambda kv: str(kv[0]))]
    return out


def volume(groups: list[dict[str, Any]], zone: ZoneInfo, start: datetime, end: datetime) -> dict[str, Any]:
    by_channel: dict[str, int] = defaultdict(int)
    by_day: dict[str, int] = defaultdict(int)
    heat = [[0] * 24 for _ in range(7)]
    for g in groups:
        local = g["hour"].astimezone(zone)
        by_channel[str(g["channel"])] += g["n"]
        by_day[local.date().isoformat()] += g["n"]
        heat[local.weekday()][local.hour] += g["n"]
    day, last = start.astimezone(zone).date(), (end - timedelta(microseconds=1)).astimezone(zone).date()
    days = []
    while day <= last:
        days.append({"date": day.isoformat(), "count": by_day.get(day.isoformat(), 0)})
        day += timedelta(days=1)
    return {"total": sum(by_channel.values()),
            "by_channel": [{"channel": c, "count": n} for c, n in sorted(by_channel.items(), key=lambda kv: (-kv[1], kv[0]))],
            "by_day": days,
            "heatmap": {"weekdays": list(WEEKDAYS), "hours": list(range(24)), "counts": heat}}


def contacts(groups: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for ctype in ("consumer", "provider"):
        total = merge(g for g in groups if g.get("contact_type") == ctype)
        out[ctype] = {"conversations": total["n"], "contacts": len(total["contacts"]),
                      "resolved": total["resolved"], "csat_average": csat(total)["average"]}
    return out


def agents(groups: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    parts: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for g in groups:
        parts[g.get("agent_id")].append(g)
    rows = []
    for agent_id, part in parts.items():
        total = merge(part)
        c = csat(total)
        rows.append({"agent_id": agent_id, "name": names.get(agent_id or "", "") if agent_id else "(unassigned)",
                     "handled": total["n"], "resolved": total["resolved"],
                     "first_response_median_h": hours(median(total["frt"])),
                     "first_response_p90_h": hours(p90(total["frt"])),
                     "resolution_median_h": hours(median(total["res"])),
                     "csat_average": c["average"], "csat_responses": c["responses"]})
    return sorted(rows, key=lambda r: (r["agent_id"] is None, -r["handled"], str(r["agent_id"])))


def kpis(total: dict[str, Any]) -> dict[str, Any]:
    """The overview's tiles from merged figures (``merge(groups)``)."""
    rt = response_times(total)
    sla_all = _sla_row(total["sla"])
    return {
        "conversations": total["n"],
        "resolved": total["resolved"],
        "first_response_median_h": rt["first_response"]["calendar"]["median_h"],
        "first_response_p90_h": rt["first_response"]["calendar"]["p90_h"],
        "resolution_median_h": rt["resolution"]["calendar"]["median_h"],
        "resolution_p90_h": rt["resolution"]["calendar"]["p90_h"],
        "csat_average": csat(total)["average"],
        "csat_response_rate": csat(total)["response_rate"],
        "bot_deflection_rate": bot(total)["deflection_rate"],
        "sla_first_response_compliance": sla_all["first_response"]["compliance"],
    }


def trend(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Each KPI with the previous period's value and the change (relative, or None)."""
    out = {}
    for key, value in current.items():
        before = previous.get(key)
        change = None
        if isinstance(value, (int, float)) and isinstance(before, (int, float)) and before:
            change = round((value - before) / abs(before), 4)
        out[key] = {"value": value, "previous": before, "change": change}
    return out


__all__ = ["agents", "bot", "contacts", "csat", "kpis", "response_times", "select", "sla", "trend", "volume"]
