"""Figures from a view (``views.py``): pure functions (no I/O), the same for roll-ups and the on-the-fly path.

Times are reported in hours (2 decimals); rates as fractions 0–1 (4 decimals); ``None`` where there
is nothing to measure (no resolved tickets → no resolution median).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .stats import SLOT_S, hours, median, p90, ratio
from .views import View

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SLA_METRICS = ("first_response", "next_response", "resolution")


def select(groups: Iterable[dict[str, Any]], filters: dict[str, str]) -> list[dict[str, Any]]:
    return [g for g in groups if all(str(g.get(k)) == v for k, v in filters.items())]


def _dim(key: str) -> str | None:
    return None if key == "" else key  # views key "no team / unassigned" as ""


def times(values: Sequence[float]) -> dict[str, Any]:
    return {"n": len(values), "median_h": hours(median(values)), "p90_h": hours(p90(values))}


def response_times(v: View) -> dict[str, Any]:
    return {"first_response": {"calendar": times(v["frt"]), "business": times(v["frt_bh"])},
            "next_response": {"calendar": times(v["nrt"]), "business": times(v["nrt_bh"])},
            "resolution": {"calendar": times(v["res"]), "business": times(v["res_bh"])}}


def csat(v: dict[str, Any]) -> dict[str, Any]:
    dist = {str(s): v["csat"].get(str(s), 0) for s in range(1, 6)}
    answered = sum(dist.values())
    avg = round(sum(int(s) * c for s, c in dist.items()) / answered, 2) if answered else None
    out = {"average": avg, "distribution": dist, "responses": answered}
    if "csat_sent" in v:
        out.update(surveyed=v["csat_sent"], response_rate=ratio(answered, v["csat_sent"]))
    out["satisfied_share"] = ratio(dist["4"] + dist["5"], answered)
    return out


def bot(v: View) -> dict[str, Any]:
    reasons = sorted(v["handoffs"].items(), key=lambda kv: (-kv[1], kv[0]))
    handed = sum(v["handoffs"].values())
    return {"engaged": v["bot_engaged"], "deflected": v["bot_deflected"], "handed_off": handed,
            "deflection_rate": ratio(v["bot_deflected"], v["bot_engaged"]),
            "handoff_reasons": [{"reason": r, "count": c} for r, c in reasons]}


def _sla_row(counts: dict[str, int]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for metric in SLA_METRICS:
        met, breached = counts.get(f"{metric}:met", 0), counts.get(f"{metric}:breached", 0)
        row[metric] = {"met": met, "breached": breached, "compliance": ratio(met, met + breached)}
    return row


def sla(v: View) -> dict[str, Any]:
    out: dict[str, Any] = {"overall": _sla_row(v["sla"])}
    for dim, name in (("priority", "by_priority"), ("team_id", "by_team")):
        parts = {_dim(k): counts for k, counts in v["sla_by"].get(dim, {}).items()}
        out[name] = [{dim: k, **_sla_row(c)} for k, c in sorted(parts.items(), key=lambda kv: str(kv[0]))]
    return out


def volume(v: View, zone: ZoneInfo, start: datetime, end: datetime) -> dict[str, Any]:
    by_day: dict[str, int] = defaultdict(int)
    heat = [[0] * 24 for _ in range(7)]
    # a slot lies in one local hour in every zone whose offset is a whole number of quarter hours;
    # "hours" are views written before the quarter-hour grain (until ``rebuild``): hour-accurate only
    starts = [(int(k) * SLOT_S, n) for k, n in v["slots"].items()]
    starts += [(int(k) * 3600, n) for k, n in v.get("hours", {}).items()]
    for at, n in starts:
        local = datetime.fromtimestamp(at, UTC).astimezone(zone)
        by_day[local.date().isoformat()] += n
        heat[local.weekday()][local.hour] += n
    day, last = start.astimezone(zone).date(), (end - timedelta(microseconds=1)).astimezone(zone).date()
    days = []
    while day <= last:
        days.append({"date": day.isoformat(), "count": by_day.get(day.isoformat(), 0)})
        day += timedelta(days=1)
    channels = {c: n for c, n in v["channels"].items() if n}
    return {
        "total": sum(channels.values()),
        "by_channel": [
            {"channel": c, "count": n} for c, n in sorted(channels.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "by_day": days,
        "heatmap": {"weekdays": list(WEEKDAYS), "hours": list(range(24)), "counts": heat},
    }


def contacts(v: View) -> dict[str, Any]:
    out = {}
    for ctype in ("consumer", "provider"):
        part = v["ctypes"].get(ctype) or {"n": 0, "resolved": 0, "csat": {}, "contacts": ()}
        out[ctype] = {"conversations": part["n"], "contacts": len(part["contacts"]),
                      "resolved": part["resolved"], "csat_average": csat(part)["average"]}
    return out


def agents(v: View, names: dict[str, str], online: dict[str, float] | None = None,
           load: dict[str, dict[str, float]] | None = None) -> list[dict[str, Any]]:
    """The agent table; ``online``: agent id → seconds online in the range (presence history);
    ``load``: agent id → average and peak unresolved tickets assigned (hourly samples, ``load.py``)."""
    online, load = online or {}, load or {}
    rows = []
    for key, part in v["agents"].items():
        agent_id = _dim(key)
        c = csat(part)
        rows.append(
            {
                "agent_id": agent_id,
                "name": (names.get(agent_id) or agent_id) if agent_id else "(unassigned)",
                "handled": part["n"],
                "resolved": part["resolved"],
                "first_response_median_h": hours(median(part["frt"])),
                "first_response_p90_h": hours(p90(part["frt"])),
                "next_response_median_h": hours(median(part["nrt"])),
                "resolution_median_h": hours(median(part["res"])),
                "csat_average": c["average"],
                "csat_responses": c["responses"],
                "online_h": hours(online.get(agent_id)) if agent_id else None,
            }
        )
    for agent_id in sorted((set(online) | set(load)) - {r["agent_id"] for r in rows}):  # handled nothing
        rows.append(
            {
                "agent_id": agent_id,
                "name": names.get(agent_id) or agent_id,
                "handled": 0,
                "resolved": 0,
                "first_response_median_h": None,
                "first_response_p90_h": None,
                "next_response_median_h": None,
                "resolution_median_h": None,
                "csat_average": None,
                "csat_responses": 0,
                "online_h": hours(online.get(agent_id)),
            }
        )
    for r in rows:
        sample = load.get(r["agent_id"] or "") or {}
        r["load_average"], r["load_peak"] = sample.get("average"), sample.get("peak")
    return sorted(rows, key=lambda r: (r["agent_id"] is None, -r["handled"], str(r["agent_id"])))


def kpis(v: View) -> dict[str, Any]:
    """The overview's tiles."""
    rt = response_times(v)
    sla_all = _sla_row(v["sla"])
    return {
        "conversations": v["n"],
        "resolved": v["resolved"],
        "first_response_median_h": rt["first_response"]["calendar"]["median_h"],
        "first_response_p90_h": rt["first_response"]["calendar"]["p90_h"],
        "next_response_median_h": rt["next_response"]["calendar"]["median_h"],
        "resolution_median_h": rt["resolution"]["calendar"]["median_h"],
        "resolution_p90_h": rt["resolution"]["calendar"]["p90_h"],
        "csat_average": csat(v)["average"],
        "csat_response_rate": csat(v)["response_rate"],
        "bot_deflection_rate": bot(v)["deflection_rate"],
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
