"""``conversation.deleted`` (an admin deleted a ticket, ``hub/platform/tickets.py``): ticketing
drops what it still holds about the ticket, so nothing fires for it later and nothing of it stays.

- timers in every wheel (SLA warnings and breaches, snooze wake-ups, time rules): an SLA warning
  is trusted without reading the ticket, so it must not survive the ticket; a swept minute reads
  only its own small collection, so forgetting is a scan of the pending minutes, not of tickets;
- queued jobs naming the ticket (wake-ups, CSAT sends) with their queue entries, and done ones;
- the agent's load slot (an assignment holds capacity until released);
- notifications, rule executions, time-rule runs, CSAT sends and merge records about it.

A holder that misses the event (a job already leased, a timer filed in a race) meets a missing
ticket and does nothing: ``Lifecycle.wake`` and the breach path read the ticket first; a warning
timer is cancelled here.
"""

from __future__ import annotations

import re
from typing import Any

from .context import Ctx
from .routing import Routing
from .timers import TimerWheel


async def forget_conversation(ctx: Ctx, routing: Routing, wheels: list[TimerWheel], conversation_id: str,
                              message_ids: list[str]) -> dict[str, int]:
    store = ctx.store
    mine = {"conversation_id": conversation_id}
    counts = {"timers": 0}
    for wheel in wheels:
        for minute in await wheel.pending():
            counts["timers"] += await wheel.cancel(minute, mine)
    counts["jobs"] = await ctx.jobs.forget({"payload.conversation_id": conversation_id})
    if message_ids:
        counts["jobs"] += await ctx.jobs.forget({"payload.message_id": {"$in": message_ids}})
    counts["agents_released"] = len(await routing.release(conversation_id))
    for name in ("notifications", "rule_executions"):
        counts[name] = (await store[name].delete_many(mine)).deleted_count
    # claim collections keyed by the ticket id: "<rule>:<ticket>:<since>", "<ticket>:<resolved_at>"
    prefix = re.escape(conversation_id)
    counts["rule_runs"] = (await store["rule_runs"].delete_many(
        {"_id": {"$regex": f"^[^:]+:{prefix}:"}})).deleted_count
    counts["csat_sends"] = (await store["csat_sends"].delete_many(
        {"_id": {"$regex": f"^{prefix}:"}})).deleted_count
    counts["ticket_merges"] = (await store["ticket_merges"].delete_many(
        {"$or": [{"_id": conversation_id}, {"target_id": conversation_id}]})).deleted_count
    return counts


def on_deleted(ctx: Ctx, routing: Routing, wheels: list[TimerWheel]) -> Any:
    async def handler(event: Any) -> None:
        await forget_conversation(ctx, routing, wheels, event.conversation_id, list(event.message_ids))
    return handler


__all__ = ["forget_conversation", "on_deleted"]
