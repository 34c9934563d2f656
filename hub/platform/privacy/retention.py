"""Retention policies per data type, run hourly by the job queue (``privacy.retention``).

Each run enqueues the next one with a keyed job (``retention:<hour>``), so however many nodes
start, one run per hour happens. A policy of 0 days keeps data forever. Messages are anonymized
(their text and attachments go, the skeleton stays for reports); logs and search queries are deleted.

One run at a time across the cluster: a run claims ``retention_runs/running`` (``Store.claim``) and
drops the claim when done; a second run meanwhile (the hourly job, or ``POST /privacy/retention/run``)
gets ``Conflict`` (409). A claim left by a process that died mid-run is taken over after ``STALE``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from hub.audit import Audit
from hub.errors import Conflict
from hub.jobs import Jobs
from hub.models import new_id, utcnow
from hub.store import Store, register, upsert

from ..settings import PlatformSettings

log = logging.getLogger(__name__)
register("retention_policies")  # _id = "current": admin overrides of the settings' defaults
register("retention_runs")  # _id = "running": the run going now (started_at, token)
JOB_KIND = "privacy.retention"
STALE = timedelta(hours=1)  # a run's claim older than this was left by a process that died
# data type -> (collection, time field, action)
DATA_TYPES: dict[str, tuple[str, str, str]] = {
    "messages": ("messages", "created_at", "anonymize"),
    "webhook_deliveries": ("webhook_deliveries", "created_at", "delete"),
    "audit": ("audit_log", "at", "delete"),
    "dead_letters": ("dead_letters", "created_at", "delete"),
    "search_queries": ("search_queries", "at", "delete"),  # knowledge_base's search analytics
}


class Retention:
    def __init__(self, store: Store, jobs: Jobs, audit: Audit, settings: PlatformSettings) -> None:
        self.store, self.jobs, self.audit, self.settings = store, jobs, audit, settings

    async def policies(self) -> dict[str, int]:
        defaults = {name: int(getattr(self.settings, f"retention_{name}_days")) for name in DATA_TYPES}
        stored = await self.store["retention_policies"].find_one({"_id": "current"}) or {}
        return {name: int(stored.get(name, days)) for name, days in defaults.items()}

    async def set_policies(self, changes: dict[str, int], actor: str) -> dict[str, int]:
        before = await self.policies()
        await upsert(self.store["retention_policies"], {"_id": "current"}, {"$set": changes})
        after = await self.policies()
        await self.audit.record(actor, "retention.update", "retention_policies", "current", before, after)
        return after

    async def run(self) -> dict[str, int]:
        """Apply the policies now: per data type, how many entries were deleted or anonymized (types
        kept forever are left out). ``Conflict`` while another run is going."""
        token = await self._claim()
        try:
            return await self._run()
        finally:
            await self.store["retention_runs"].delete_one({"_id": "running", "token": token})

    async def _claim(self) -> str:
        token, now = new_id(), utcnow()
        runs = self.store["retention_runs"]
        if await self.store.claim("retention_runs", "running", {"started_at": now, "token": token}):
            return token
        going = await runs.find_one({"_id": "running"}) or {}
        started = going.get("started_at")
        if started is not None and started < now - STALE:  # its process died mid-run: taken over
            await runs.delete_one({"_id": "running", "token": going.get("token")})
            if await self.store.claim("retention_runs", "running", {"started_at": now, "token": token}):
                log.warning("retention run taken over from a stale claim", extra={"started_at": str(started)})
                return token
        raise Conflict(f"a retention run is already going (started {started:%Y-%m-%d %H:%M} UTC)"
                       if started is not None else "a retention run is already going")

    async def _run(self) -> dict[str, int]:
        now = utcnow()
        done: dict[str, int] = {}
        for name, days in (await self.policies()).items():
            if days <= 0:
                continue
            collection, field, action = DATA_TYPES[name]
            flt: dict[str, Any] = {field: {"$lt": now - timedelta(days=days)}}
            if action == "delete":
                done[name] = (await self.store[collection].delete_many(flt)).deleted_count
            else:
                flt["retained"] = {"$ne": True}
                result = await self.store[collection].update_many(
                    flt,
                    {
                        "$set": {
                            "text": "",
                            "html": None,
                            "subject": None,
                            "attachments": [],
                            "meta": {},
                            "retained": True,
                        }
                    },
                )
                done[name] = result.modified_count
        expired = await self.store.expire(now)  # bookkeeping declared with register(..., expire=...)
        if any(done.values()):
            await self.audit.record("system:retention", "retention.run", "retention_policies", "current",
                                    after=done)
        log.info("retention run", extra={"done": done, "expired": {k: n for k, n in expired.items() if n}})
        return done

    async def job(self, _: dict[str, Any]) -> None:
        try:
            await self.run()
        except Conflict:  # a run by hand (or on another node) is going: it does this hour's work
            log.info("retention run skipped: another run is going")
        await self.schedule(hours_ahead=1)

    async def schedule(self, hours_ahead: int = 0) -> None:
        at = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours_ahead)
        await self.jobs.enqueue(JOB_KIND, {}, at=at, key=f"retention:{at.isoformat()}")
