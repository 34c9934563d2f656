"""The audit log: who changed what, when, with before and after. Append-only.

``actor_id`` names who acted; its kind is stored as ``actor_type``: a user id (``user``),
``api_key:<id>``, ``rule:<id>`` (automation), ``bot`` / ``bot:<engine>``, ``system:<part>``,
``contact:<id>`` (a customer, e.g. whose message reopened a ticket: ``conversation.reopened``).
"""

from __future__ import annotations

from typing import Any

from hub.models import new_id, utcnow
from hub.store import Store

ACTOR_TYPES = ("user", "api_key", "rule", "bot", "system", "contact")


def actor_type(actor_id: str) -> str:
    kind, sep, _ = actor_id.partition(":")
    if actor_id == "bot" or (sep and kind in ACTOR_TYPES):
        return "bot" if actor_id == "bot" else kind
    return "user"


class Audit:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, actor_id: str, action: str, target_type: str, target_id: str,
                     before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        await self.store.audit_log.insert_one({
            "_id": new_id(), "at": utcnow(), "actor_id": actor_id, "actor_type": actor_type(actor_id),
            "action": action,
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
