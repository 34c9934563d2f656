"""Package ``hub.reports``: support analytics — figures, roll-ups, API, exports, dashboard.

    stats     groups (quarter hour × team × channel × agent × contact type × priority) and their merge
    source    bounded reads of tickets, contacts, SLA calendars (defensive about others' fields)
    rollup    ``report_buckets``: one document per UTC day, recomputed whole by the job queue
    figures   pure functions: groups → the figures of each section
    views     a day/block pre-merged per scope: bounded distributions, exact while small
    live      backlog/ticket age (a snapshot kept by ``reports.backlog``) and knowledge-base searches
    query     the range/filters of a request, validation and the agent's scope
    service   ``Reports.report(query, sections)``
    tables    every table as CSV/XLSX;  api  ``/api/v1/reports/...``;  pages  ``/reports``
    cli       ``python -m hub.reports rebuild [--from --to]``

``setup(app)`` is called by hub/app.py. Documented in docs/reports.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from aiohttp import web

from hub import keys, periodic

from . import live, load, ops, pages, presence, schedules
from .api import router
from .rollup import JOB, Rollups
from .service import Reports
from .settings import ReportsSettings

log = logging.getLogger(__name__)

BACKLOG_JOB = "reports.backlog"

__all__ = ["BACKLOG_JOB", "JOB", "Reports", "Rollups", "setup"]


def setup(app: web.Application) -> None:
    """Wire reports into the hub: the API router, the roll-up job, the dashboard page."""
    app[keys.ROUTERS].append(router)
    pages.install(app)

    async def rollup(payload: dict[str, Any]) -> None:
        rollups = app[keys.EXTENSIONS]["reports"].rollups
        if "day" in payload:  # a job queued before roll-ups were coalesced per slot
            await rollups.recompute(date.fromisoformat(payload["day"]))
        days = await rollups.run_pending()
        log.info("report roll-up", extra={"days": [d.isoformat() for d in days]})

    async def backlog(_: dict[str, Any]) -> None:
        rows = await live.snapshot(app[keys.STORE])
        # the hour's agent load (this job is its only writer)
        await load.record(app[keys.STORE], rows, rows["at"])
        log.info("report backlog snapshot", extra={"tickets": int(rows["created"].size)})

    async def scheduled(payload: dict[str, Any]) -> None:
        await app[keys.EXTENSIONS]["report_schedules"].run(payload)

    app[keys.JOB_HANDLERS][JOB] = rollup
    app[keys.JOB_HANDLERS][BACKLOG_JOB] = backlog
    app[keys.JOB_HANDLERS][schedules.JOB] = scheduled
    app.cleanup_ctx.append(_reports_ctx)


async def _reports_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = ReportsSettings()
    rollups = Rollups(app[keys.STORE], app[keys.JOBS], settings.rollup_debounce_s)
    every = settings.backlog_snapshot_s
    app[keys.EXTENSIONS]["reports"] = Reports(app[keys.STORE], rollups, backlog_max_age_s=3 * every)
    app[keys.EXTENSIONS]["report_schedules"] = schedules.Schedules(
        app[keys.STORE], app[keys.JOBS], app[keys.EXTENSIONS]["reports"], app[keys.SETTINGS])
    if settings.rollups:
        app[keys.BUS].subscribe("*", rollups.on_event)

    async def on_presence(event: Any) -> None:
        await presence.record(app[keys.STORE], event)

    app[keys.BUS].subscribe("agent.presence", on_presence)
    broadcaster = ops.OpsBroadcaster(app[keys.STORE], app[keys.SIO], held=lambda: ops.held_check(app))
    app[keys.BUS].subscribe("*", broadcaster.on_event)
    # every node queues the backlog snapshot; its key (the period) makes it one job
    task = asyncio.create_task(periodic.every(every, lambda: app[keys.JOBS].enqueue(
        BACKLOG_JOB, key=f"{BACKLOG_JOB}:{int(time.time() // every)}"), "queueing the backlog snapshot",
        at_start=True)) if every > 0 else None
    yield
    await broadcaster.close()
    if task:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
