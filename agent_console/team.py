"""The team at a glance (supervisor view, assign menu): staff, their presence and their open load."""

from __future__ import annotations

from typing import Any

from hub.models import ACTIVE_VALUES, Role
from hub.store import Store

from .presence import PresenceTracker

STAFF_ROLES = [Role.admin.value, Role.supervisor.value, Role.agent.value]


class TeamView:
    def __init__(self, store: Store, presence: PresenceTracker) -> None:
        self.store = store
        self.presence = presence

    async def load(self) -> list[dict[str, Any]]:
        status = await self.presence.all()
        users = [
            u
            async for u in self.store.users.find(
                {"role": {"$in": STAFF_ROLES}, "active": {"$ne": False}},
                {"name": 1, "email": 1, "role": 1, "team_ids": 1},
            ).limit(1000)
        ]
        load: dict[str, int] = {}
        async for doc in self.store.conversations.find(
                {"assignee_id": {"$ne": None}, "status": {"$in": ACTIVE_VALUES}},
                {"assignee_id": 1}).limit(50_000):
            load[doc["assignee_id"]] = load.get(doc["assignee_id"], 0) + 1
        return sorted(({"user_id": u["_id"], "name": u.get("name") or u["email"], "email": u["email"],
                        "role": u["role"], "team_ids": u.get("team_ids", []),
                        "status": status.get(u["_id"], "offline"), "open": load.get(u["_id"], 0)}
                       for u in users), key=lambda a: (-RANKS[a["status"]], a["name"].lower()))


RANKS = {"online": 2, "away": 1, "offline": 0}
