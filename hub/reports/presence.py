"""Agent time online, from presence history.

The agent console publishes ``agent.presence`` (online / away / offline) whenever an agent's state
changes; each one is kept here as an insert-only document (``_id`` = ``<user>:<epoch ms>:<status>``,
so a replayed event is stored once and nothing is ever updated — FerretDB v1 loses concurrent
read-modify-writes). Time online in a range = the time spent ``online`` (not away), clipped to the
range and to now; the state at the range's start is the last change in the ``LOOKBACK`` before it.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from hub.models import utcnow
from hub.store import Store, ix, register

HISTORY = "presence_history"
LOOKBACK = timedelta(days=7)  # an agent whose state did not change for a week is taken as offline
SCAN_LIMIT = 1_000_000
register(HISTORY, ix(("at", 1)))


async def record(store: Store, event: Any) -> None:
    """Bus subscriber for ``agent.presence``."""
    at: datetime = event.at
    doc = {"_id": f"{event.user_id}:{int(at.timestamp() * 1000)}:{event.status}", "user_id": event.user_id,
           "status": event.status, "previous": event.previous, "at": at}
    with contextlib.suppress(DuplicateKeyError):
        await store[HISTORY].insert_one(doc)


def online_seconds(changes: list[dict[str, Any]], start: datetime, end: datetime) -> dict[str, float]:
    """user id → seconds online within [start, end), from state changes (any order)."""
    out: dict[str, float] = {}
    state: dict[str, tuple[str, datetime]] = {}
    for c in sorted(changes, key=lambda c: (c["at"], c["_id"])):
        user, at = c["user_id"], c["at"]
        if user in state:
            status, since = state[user]
            if status == "online":
                lo, hi = max(since, start), min(at, end)
                if hi > lo:
                    out[user] = out.get(user, 0.0) + (hi - lo).total_seconds()
        state[user] = (c["status"], at)
    for user, (status, since) in state.items():
        lo = max(since, start)
        if status == "online" and end > lo:
            out[user] = out.get(user, 0.0) + (end - lo).total_seconds()
    return {u: round(s, 3) for u, s in out.items() if s > 0}


async def time_online(store: Store, start: datetime, end: datetime, now: datetime | None = None,
                      agent_id: str | None = None) -> dict[str, float]:
    """user id → seconds online in [start, end) (never past now)."""
    end = min(end, now or utcnow())
    if end <= start:
        return {}
    flt: dict[str, Any] = {"at": {"$gte": start - LOOKBACK, "$lt": end}}
    if agent_id:
        flt["user_id"] = agent_id
    changes = [d async for d in store[HISTORY].find(flt).limit(SCAN_LIMIT)]
    return online_seconds(changes, start, end)


__all__ = ["HISTORY", "online_seconds", "record", "time_online"]
