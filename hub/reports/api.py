"""``/api/v1/reports/...``: the dashboard's figures as JSON, and every table as CSV or XLSX.

Supervisors and admins (``reports:read``) see everything; an agent sees only their own figures
(``check_scope`` pins ``agent_id``); portal users are refused. Bad ranges and unknown parameters are
400 problem+json naming the field (a query parameter: docs/api.md, "Errors").
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import Field

from hub import keys
from hub.api import pages as api_pages
from hub.api.pages import PageQuery, Sorts, page_of, query_model
from hub.api.routing import ApiRouter
from hub.auth import Principal
from hub.errors import Forbidden, NotFound

from . import layout, ops
from .query import Range, ReportQuery, check_range, check_scope
from .schedules import Schedule, ScheduleIn, Schedules
from .service import SECTIONS, Reports
from .tables import TABLES, XLSX_TYPE, to_csv, to_xlsx

router = ApiRouter()
route = router.route
TAG = "reports"
Figures = dict[str, Any]


class ExportQuery(ReportQuery):
    format: Literal["csv", "xlsx"] = Field("csv", description="File format")


def reports(request: web.Request) -> Reports:
    return request.app[keys.EXTENSIONS]["reports"]  # type: ignore[no-any-return]


@route("GET", "/reports/dashboard", summary="Every dashboard section in one call", tag=TAG,
       query=ReportQuery, response=Figures)
async def dashboard(request: web.Request, principal: Principal, query: ReportQuery) -> Figures:
    return await reports(request).report(check_scope(query, principal))


def _section(name: str) -> None:
    async def handler(request: web.Request, principal: Principal, query: ReportQuery) -> Figures:
        out = await reports(request).report(check_scope(query, principal), (name,))
        return {k: out[k] for k in ("range", "filters", "source", name)}
    handler.__name__ = f"report_{name}"
    route("GET", f"/reports/{name.replace('_', '-')}", summary=f"Report: {name.replace('_', ' ')}", tag=TAG,
          query=ReportQuery, response=Figures)(handler)


for _name in SECTIONS:
    _section(_name)


@route("GET", "/reports/live", summary="Live operations: queue, agents online, tickets at SLA risk", tag=TAG,
       permission="reports:read", response=Figures)
async def report_live(request: web.Request, principal: Principal) -> Figures:
    """The same figures the dashboard's live tile receives as ``ops`` over Socket.IO."""
    return await ops.current(request.app[keys.STORE], ops.held_check(request.app))


@route("GET", "/reports/layout", summary="My dashboard layout (widget order, hidden widgets)", tag=TAG,
       response=layout.Layout)
async def get_layout(request: web.Request, principal: Principal) -> layout.Layout:
    return await layout.load(request.app[keys.STORE], _user(principal))


@route("PUT", "/reports/layout", summary="Save my dashboard layout", tag=TAG, body=layout.Layout,
       response=layout.Layout)
async def put_layout(request: web.Request, principal: Principal, body: layout.Layout) -> layout.Layout:
    return await layout.save(request.app[keys.STORE], _user(principal), body)


def _user(principal: Principal) -> str:
    check_scope(ReportQuery(), principal)  # who may see reports may arrange them
    if not principal.user_id:
        raise Forbidden("a dashboard layout belongs to a user (not an API key)")
    return principal.user_id


@route("GET", "/reports/tables", summary="The names of the exportable tables", tag=TAG, response=list[str])
async def report_tables(request: web.Request, principal: Principal) -> list[str]:
    return list(TABLES)


@route("GET", "/reports/export/{table}", summary="One report table as CSV or XLSX", tag=TAG,
       query=ExportQuery, response=str, media_type="text/csv")
async def export_table(request: web.Request, principal: Principal, query: ExportQuery) -> web.Response:
    name = request.match_info["table"]
    if name not in TABLES:
        raise NotFound(f"no report table {name!r}; see /api/v1/reports/tables")
    section, build = TABLES[name]
    scoped = check_scope(query, principal)
    rng = check_range(scoped)
    figures = await reports(request).report(ReportQuery.model_validate(scoped.model_dump(exclude={"format"})),
                                            (section,))
    table = build(figures)
    stem = f"{name}_{file_dates(rng, scoped.zone)}"
    if query.format == "xlsx":
        meta = {"table": name, "start": rng.start.isoformat(), "end": rng.end.isoformat(), "tz": query.tz,
                **{f"filter {k}": v for k, v in scoped.filters().items()}}
        body, ctype = to_xlsx(name, table, meta), XLSX_TYPE
    else:
        body, ctype = to_csv(table), "text/csv; charset=utf-8"
    return web.Response(
        body=body,
        headers={
            "Content-Type": ctype,
            "Content-Disposition": f'attachment; filename="{stem}.{query.format}"',
        },
    )


@route("GET", "/reports/pdf", summary="The report as a PDF with its charts", tag=TAG, query=ReportQuery,
       response=str, media_type="application/pdf")
async def report_pdf(request: web.Request, principal: Principal, query: ReportQuery) -> web.Response:
    import asyncio

    from . import pdf

    scoped = check_scope(query, principal)
    rng = check_range(scoped)
    figures = await reports(request).report(
        scoped, ("overview", "volume", "response_times", "sla", "csat", "bot", "kb", "agents", "contacts")
    )
    body = await asyncio.to_thread(pdf.render, figures)  # CPU work off the event loop
    stem = f"berry-report_{file_dates(rng, scoped.zone)}"
    return web.Response(body=body, headers={"Content-Type": "application/pdf",
                                            "Content-Disposition": f'attachment; filename="{stem}.pdf"'})


def file_dates(rng: Range, zone: ZoneInfo) -> str:
    """``YYYYMMDD-YYYYMMDD``: the first and last day the report covers, in its time zone (the end is
    exclusive, so a report of 27 Nov is ``20261127-20261127``, not the UTC days it spans)."""
    last = rng.end - timedelta(microseconds=1)
    return f"{rng.start.astimezone(zone):%Y%m%d}-{last.astimezone(zone):%Y%m%d}"


def schedules(request: web.Request) -> Schedules:
    return request.app[keys.EXTENSIONS]["report_schedules"]  # type: ignore[no-any-return]


SCHEDULE_SORTS = Sorts({"id": "_id", "name": "name", "next_run_at": "next_run_at"}, "id")
ScheduleQuery = query_model("ScheduleQuery", SCHEDULE_SORTS)


@route(
    "GET",
    "/reports/schedules",
    summary="Scheduled report e-mails",
    tag=TAG,
    permission="reports:schedule",
    query=ScheduleQuery,
    response=page_of(Schedule),
)
async def list_schedules(request: web.Request, principal: Principal, query: PageQuery) -> dict[str, Any]:
    return await api_pages.page(schedules(request).col, {}, query, SCHEDULE_SORTS, Schedules.of)


@route(
    "POST",
    "/reports/schedules",
    summary="E-mail the report weekly or monthly (addresses checked on save)",
    tag=TAG,
    permission="reports:schedule",
    body=ScheduleIn,
    response=Schedule,
    status=201,
)
async def create_schedule(request: web.Request, principal: Principal, body: ScheduleIn) -> Schedule:
    schedule = await schedules(request).create(body, principal.actor_id)
    await request.app[keys.AUDIT].record(
        principal.actor_id,
        "report_schedule.create",
        "report_schedule",
        schedule.id,
        after={"name": schedule.name, "frequency": schedule.frequency},
    )
    return schedule


@route("GET", "/reports/schedules/{schedule_id}", summary="One scheduled report e-mail", tag=TAG,
       permission="reports:schedule", response=Schedule)
async def get_schedule(request: web.Request, principal: Principal) -> Schedule:
    schedule = await schedules(request).get(request.match_info["schedule_id"])
    if schedule is None:
        raise NotFound("no such report schedule")
    return schedule


@route("DELETE", "/reports/schedules/{schedule_id}", summary="Stop a scheduled report e-mail", tag=TAG,
       permission="reports:schedule", status=204)
async def delete_schedule(request: web.Request, principal: Principal) -> None:
    schedule_id = request.match_info["schedule_id"]
    if not await schedules(request).delete(schedule_id):
        raise NotFound("no such report schedule")
    await request.app[keys.AUDIT].record(
        principal.actor_id, "report_schedule.delete", "report_schedule", schedule_id
    )


__all__ = ["router"]
