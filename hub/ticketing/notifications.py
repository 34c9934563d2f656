"""Notifications for agents (@mentions in private notes, escalations, assignments): stored per user,
published as ``notification.created`` so the console can push them."""

from __future__ import annotations

from typing import Any

from hub.models import new_id
from hub.store import ix, register

from .context import Ctx
from .events import NotificationCreated

register("notifications", ix(("user_id", 1), ("read", 1), ("created_at", -1)))


class Notifications:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.col = ctx.store["notifications"]

    async def notify(
        self,
        user_id: str,
        kind: str,
        text: str,
        *,
        conversation_id: str | None = None,
        message_id: str | None = None,
        key: str | None = None,
    ) -> dict[str, Any] | None:
        """Store one notification; with ``key`` it is stored once (a replayed event notifies once)."""
        notification_id = key or new_id()
        doc = {
            "_id": notification_id,
            "user_id": user_id,
            "kind": kind,
            "text": text[:500],
            "conversation_id": conversation_id,
            "message_id": message_id,
            "read": False,
            "created_at": self.ctx.clock.now(),
        }
        if not await self.ctx.store.claim("notifications", notification_id, doc):
            return None
        await self.ctx.bus.publish(NotificationCreated(notification=doc))
        return doc

    async def list(self, user_id: str, *, unread: bool = False, limit: int = 50) -> list[dict[str, Any]]:
        flt: dict[str, Any] = {"user_id": user_id}
        if unread:
            flt["read"] = False
        return [d async for d in self.col.find(flt).sort("created_at", -1).limit(limit)]

    async def mark_read(self, user_id: str, notification_id: str) -> bool:
        result = await self.col.update_one(
            {"_id": notification_id, "user_id": user_id}, {"$set": {"read": True}}
        )
        return result.matched_count == 1


__all__ = ["Notifications"]
