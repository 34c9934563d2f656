"""Package ``hub.reports``: support analytics — figures, roll-ups, API, exports, dashboard.

    stats     groups (hour × team × channel × agent × contact type × priority) and their merge
    source    bounded reads of tickets, contacts, SLA calendars (defensive about others' fields)
    rollup    ``report_buckets``: one document per UTC day, recomputed whole by the job queue
    figures   pure functions: groups → the figures of each section
    live      backlog/ticket age (a snapshot) and knowledge-base searches
    query     the range/filters of a request, validation and the agent's scope
    service   ``Reports.report(query, sections)``
    tables    every table as CSV/XLSX;  api  ``/api/v1/reports/...``;  pages  ``/reports``
    cli       ``python -m hub.reports rebuild [--from --to]``

``setup(app)`` is called by hub/app.py. Documented in docs/reports.md.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from aiohttp import web

from hub import keys

from . import pages
from .api import router
from .rollup import JOB, Rollups
from .service import Reports
from .settings import ReportsSettings

log = logging.getLogger(__name__)

__all__ = ["JOB", "Reports", "Rollups", "setup"]


def setup(app: web.Application) -> None:
    """Wire reports into the hub: the API router, the roll-up job, the dashboard page."""
    app[keys.ROUTERS].append(router)
    pages.install(app)

    async def rollup(payload: dict[str, Any]) -> None:
        changed = await app[keys.EXTENSIONS]["reports"].rollups.recompute(date.fromisoformat(payload["day"]))
        log.info("report roll-up", extra={"day": payload["day"], "changed": changed})

    app[keys.JOB_HANDLERS][JOB] = rollup
    app.cleanup_ctx.append(_reports_ctx)


async def _reports_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = ReportsSettings()
    rollups = Rollups(app[keys.STORE], app[keys.JOBS], settings.rollup_debounce_s)
    app[keys.EXTENSIONS]["reports"] = Reports(app[keys.STORE], rollups)
    if settings.rollups:
        app[keys.BUS].subscribe("*", rollups.on_event)
    yield
