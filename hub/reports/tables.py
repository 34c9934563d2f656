"""Every report table as (columns, rows), and its CSV / XLSX rendering.

CSV is formula-safe: a text cell starting with ``= + - @`` (or tab/CR) gets a leading ``'`` so a
spreadsheet shows it instead of running it (search queries and names are user input).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from hub.spreadsheet import formula_safe

Table = tuple[list[str], list[list[Any]]]

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _kpis(r: dict[str, Any]) -> Table:
    return (["kpi", "value", "previous", "change"],
            [[k, v["value"], v["previous"], v["change"]] for k, v in r["overview"]["kpis"].items()])


def _by_channel(r: dict[str, Any]) -> Table:
    return ["channel", "conversations"], [[x["channel"], x["count"]] for x in r["volume"]["by_channel"]]


def _by_day(r: dict[str, Any]) -> Table:
    return ["date", "conversations"], [[x["date"], x["count"]] for x in r["volume"]["by_day"]]


def _heatmap(r: dict[str, Any]) -> Table:
    heat = r["volume"]["heatmap"]
    return (["weekday", *[f"{h:02d}" for h in heat["hours"]]],
            [[day, *row] for day, row in zip(heat["weekdays"], heat["counts"], strict=True)])


def _times(r: dict[str, Any]) -> Table:
    rows = []
    for metric, clocks in r["response_times"].items():
        for clock, t in clocks.items():
            rows.append([metric, clock, t["n"], t["median_h"], t["p90_h"]])
    return ["metric", "clock", "tickets", "median_h", "p90_h"], rows


def _sla(r: dict[str, Any]) -> Table:
    rows = []
    scopes = [("overall", None, r["sla"]["overall"])]
    scopes += [("priority", x["priority"], x) for x in r["sla"]["by_priority"]]
    scopes += [("team", x["team_id"], x) for x in r["sla"]["by_team"]]
    for scope, key, row in scopes:
        for metric in ("first_response", "next_response", "resolution"):  # SLA metrics
            m = row[metric]
            rows.append([scope, key, metric, m["met"], m["breached"], m["compliance"]])
    return ["scope", "key", "metric", "met", "breached", "compliance"], rows


def _csat(r: dict[str, Any]) -> Table:
    return ["score", "responses"], [[int(s), n] for s, n in r["csat"]["distribution"].items()]


def _handoffs(r: dict[str, Any]) -> Table:
    return ["reason", "conversations"], [[x["reason"], x["count"]] for x in r["bot"]["handoff_reasons"]]


def _kb(r: dict[str, Any]) -> Table:
    return ["query", "searches_without_results"], [
        [x["query"], x["count"]] for x in r["kb"]["no_result_queries"]
    ]


def _agents(r: dict[str, Any]) -> Table:
    cols = ["agent_id", "name", "handled", "resolved", "first_response_median_h", "first_response_p90_h",
            "next_response_median_h", "resolution_median_h", "csat_average", "csat_responses", "online_h",
            "load_average", "load_peak"]
    return cols, [[a[c] for c in cols] for a in r["agents"]]


def _backlog(r: dict[str, Any]) -> Table:
    cols = ["team_id", "count", "age_median_h", "oldest_h"]
    return cols, [[t[c] for c in cols] for t in r["backlog"]["by_team"]]


def _contacts(r: dict[str, Any]) -> Table:
    cols = ["conversations", "contacts", "resolved", "csat_average"]
    return ["contact_type", *cols], [[k, *[v[c] for c in cols]] for k, v in r["contacts"].items()]


# table name → (the report section it needs, how to build it)
TABLES: dict[str, tuple[str, Callable[[dict[str, Any]], Table]]] = {
    "kpis": ("overview", _kpis),
    "volume_by_channel": ("volume", _by_channel),
    "volume_by_day": ("volume", _by_day),
    "heatmap": ("volume", _heatmap),
    "response_times": ("response_times", _times),
    "sla": ("sla", _sla),
    "csat": ("csat", _csat),
    "handoff_reasons": ("bot", _handoffs),
    "kb_no_results": ("kb", _kb),
    "agents": ("agents", _agents),
    "backlog_by_team": ("backlog", _backlog),
    "contacts": ("contacts", _contacts),
}


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return formula_safe(value)
    return "" if value is None else value


def to_csv(table: Table) -> bytes:
    cols, rows = table
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(cols)
    for row in rows:
        writer.writerow([_safe(v) for v in row])
    return buf.getvalue().encode("utf-8")


def to_xlsx(name: str, table: Table, meta: dict[str, str]) -> bytes:
    from openpyxl import Workbook

    cols, rows = table
    wb = Workbook()
    ws = wb.active
    ws.title = name[:31]
    ws.append(cols)
    for row in rows:
        ws.append([None if v is None else _safe(v) for v in row])  # openpyxl would store "=…" as a formula
    info = wb.create_sheet("about")
    for key, value in meta.items():
        info.append([key, value])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


__all__ = ["TABLES", "XLSX_TYPE", "to_csv", "to_xlsx"]
