"""Retention policies per data type, run hourly by the job queue (``privacy.retention``).

Each run enqueues the next one with a keyed job (``retention:<hour>``), so however many nodes
start, one run per hour happens. A policy of 0 days keeps data forever. Messages are anonymized
(their text and attachments go, the skeleton stays for reports); logs and search queries are deleted.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from hub.audit import Audit
from hub.jobs import Jobs
from hub.models import utcnow
from hub.store import Store, register, upsert

from ..settings import PlatformSettings

log = logging.getLogger(__name__)
register("retention_policies")  # _id = "current": admin overrides of the settings' defaults
JOB_KIND = "privacy.retention"
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
                result = await self.store[collection].update_many(flt, {"$set": {
                    "text": "", "html": None, "subject": None, "attachments": [], "meta": {}, "retained": True}})
                done[name] = result.modified_count
        expired = await self.store.expire(now)  # bookkeeping declared with register(..., expire=...)
        if any(done.values()):
            await self.audit.record("system:retention", "retention.run", "retention_policies", "current",
                                    after=done)
        log.info("retention run", extra={"done": done, "expired": {k: n for k, n in expired.items() if n}})
        return done

    async def job(self, _: dict[str, Any]) -> None:
        await self.run()
        await self.schedule(hours_ahead=1)

    async def schedule(self, hours_ahead: int = 0) -> None:
        at = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours_ahead)
        await self.jobs.enqueue(JOB_KIND, {}, at=at, key=f"retention:{at.isoformat()}")
