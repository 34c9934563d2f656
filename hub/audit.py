"""The audit log: who changed what, when, with before and after. Append-only."""

from __future__ import annotations

from typing import Any

from hub.models import new_id, utcnow
from hub.store import Store


class Audit:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, actor_id: str, action: str, target_type: str, target_id: str,
                     before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        await self.store.audit_log.insert_one({
            "_id": new_id(), "at": utcnow(), "actor_id": actor_id, "action": action,
            "target_type": target_type, "target_id": target_id, "before": before, "after": after,
        })

    async def list(self, target_type: str | None = None, target_id: str | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
        flt: dict[str, Any] = {}
        if target_type:
            flt["target_type"] = target_type
        if target_id:
            flt["target_id"] = target_id
        return [d async for d in self.store.audit_log.find(flt).sort("at", -1).limit(limit)]
