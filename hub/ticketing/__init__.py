"""``hub.ticketing``: a conversation becomes a ticket a team can run on — lifecycle (snooze, reopen
window, merge, notes with @mentions, tags, custom fields), teams and routing, priority, SLA clocks
with business hours and escalation, CSAT, automation rules and canned responses. See
docs/ticketing.md; "what happens on which event" is listed in ``service.py``.

``setup(app)`` adds the API router, the job handlers and one cleanup context that builds the
services once the store is up (``app[keys.EXTENSIONS]["ticketing"]``), subscribes them, plugs the
resolved-ticket policy into the inbox and runs the ticker that queues the periodic job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from hub import keys
from hub.periodic import every

from .api import router
from .context import Ctx
from .csat import SEND_JOB
from .lifecycle import WAKE_JOB
from .service import Ticketing
from .settings import TicketingSettings

log = logging.getLogger(__name__)
TICK_JOB = "ticketing.tick"
SLOW_TICK_JOB = "ticketing.slow_tick"  # no longer queued (its scans became wheel timers); runs as a tick


def setup(app: web.Application) -> None:
    """Wire this part of the hub: routes, event subscribers, job handlers, cleanup contexts."""
    app[keys.ROUTERS].append(router)
    handlers = app[keys.JOB_HANDLERS]

    def service() -> Ticketing:
        return app[keys.EXTENSIONS]["ticketing"]  # type: ignore[no-any-return]

    async def tick(_: dict[str, Any]) -> None:
        counts = await service().tick()
        log.info("ticketing tick", extra=counts)

    async def wake(payload: dict[str, Any]) -> None:
        from datetime import datetime

        await service().lifecycle.wake(payload["conversation_id"], datetime.fromisoformat(payload["until"]))

    async def csat_send(payload: dict[str, Any]) -> None:
        await service().csat.send(payload)

    handlers[TICK_JOB] = tick
    handlers[SLOW_TICK_JOB] = tick
    handlers[WAKE_JOB] = wake
    handlers[SEND_JOB] = csat_send
    app.cleanup_ctx.append(_ticketing_ctx)


async def _ticketing_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = TicketingSettings()
    ctx = Ctx(
        store=app[keys.STORE],
        bus=app[keys.BUS],
        conversations=app[keys.CONVERSATIONS],
        contacts=app[keys.CONTACTS],
        audit=app[keys.AUDIT],
        jobs=app[keys.JOBS],
    )

    def webhooks() -> Any:
        from hub.platform.appkeys import WEBHOOKS

        return app.get(WEBHOOKS)

    ticketing = Ticketing(ctx, settings, webhooks)
    ticketing.subscribe(app[keys.BUS])
    app[keys.EXTENSIONS]["ticketing"] = ticketing
    app[keys.INBOX].thread_policy = ticketing.thread_policy
    # every node queues the periodic job; its key (the period) makes it one job
    task = asyncio.create_task(every(settings.tick_s, lambda: ticketing.ctx.jobs.enqueue(
        TICK_JOB, key=f"{TICK_JOB}:{int(time.time() // settings.tick_s)}"), "queueing the ticketing tick")) \
        if settings.tick_s > 0 else None
    yield
    if task:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__all__ = ["Ticketing", "TicketingSettings", "setup"]
