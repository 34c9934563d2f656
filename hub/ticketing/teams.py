"""Teams (members with skills and a capacity, a routing strategy, a supervisor) and agent presence.

``agent_status`` (``_id`` = user id) is owned here: the console reports presence through
``AgentStatuses.set`` (or the REST API); ``load`` and ``last_assigned_at`` on it are hints that
routing recomputes from the capacity claims, never the truth itself.

Routing reads presence from a per-process snapshot of the whole (small) collection, reloaded at most
every ``PRESENCE_TTL`` seconds and updated in place by this process's own writes, so a decision does
not read 500 members' presence from the store; the agent it picks is re-read before it is given the
ticket (``fresh``), so a presence change on another node is never missed.
"""

from __future__ import annotations

import builtins
import time
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pymongo.errors import DuplicateKeyError

from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import TeamMembershipChanged
from hub.models import ACTIVE_VALUES, new_id, utcnow
from hub.store import Snapshot, ix, register, upsert

from .context import Ctx, Stored
from .events import AgentStatusChanged

register("teams", ix(("name", 1), unique=True))
register("agent_status", ix(("status", 1)))

STAFF_ROLES = ("admin", "supervisor", "agent")
PRESENCE_TTL = 2.0


class Presence(StrEnum):
    online = "online"
    away = "away"  # keeps its tickets, gets no new ones
    offline = "offline"  # its open tickets are handed to colleagues


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=100)
    languages: list[str] = Field(default_factory=list, max_length=30, description="Empty: any language")
    product_areas: list[str] = Field(default_factory=list, max_length=50, description="Empty: any area")
    capacity: int = Field(5, ge=0, le=500, description="Open tickets at once")

    @field_validator("languages", "product_areas")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        out = [v.strip().lower() for v in values]
        if any(not v or len(v) > 50 for v in out):
            raise ValueError("each entry is 1–50 characters")
        return out

    def matches(self, language: str | None, product_area: str | None) -> bool:
        if language and self.languages:
            lang = language.lower()
            if lang not in self.languages and lang.split("-")[0] not in self.languages:
                return False
        return not (product_area and self.product_areas and product_area.lower() not in self.product_areas)


class Team(Stored):
    id: str = Field(default_factory=new_id)
    name: str = Field(min_length=1, max_length=200)
    strategy: Literal["round_robin", "least_loaded"] = "round_robin"
    members: list[Member] = Field(default_factory=list, max_length=2000)
    supervisor_id: str | None = None
    default: bool = Field(False, description="New tickets without a team are routed here")
    created_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _unique_members(self) -> Team:
        ids = [m.user_id for m in self.members]
        if len(ids) != len(set(ids)):
            raise ValueError("a user is listed twice in members")
        return self

    def member(self, user_id: str) -> Member | None:
        return next((m for m in self.members if m.user_id == user_id), None)


def people(team: Team) -> set[str]:
    """Who belongs to the team: its members and its supervisor."""
    return {m.user_id for m in team.members} | ({team.supervisor_id} if team.supervisor_id else set())


class Teams:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.col = ctx.store["teams"]
        self._default = Snapshot(self._load_default)  # routing asks on every inbound message

    async def check(self, team: Team) -> None:
        """Members and supervisor must be active staff users."""
        wanted = people(team)
        found = {
            d["_id"]
            async for d in self.ctx.store.users.find(
                {"_id": {"$in": sorted(wanted)}, "role": {"$in": list(STAFF_ROLES)}, "active": True},
                {"_id": 1},
            )
        }
        missing = sorted(wanted - found)
        if missing:
            raise InvalidInput(f"not active staff users: {missing[:5]}", field="members")

    async def create(self, team: Team) -> Team:
        await self.check(team)
        try:
            await self.col.insert_one(team.to_doc())
        except DuplicateKeyError as exc:
            raise Conflict(f"a team named {team.name!r} exists") from exc
        await self._changed(team.id, people(team))
        return team

    async def get(self, team_id: str) -> Team:
        doc = await self.col.find_one({"_id": team_id})
        if doc is None:
            raise NotFound(f"team {team_id} not found")
        return Team.from_doc(doc)

    async def list(self) -> list[Team]:
        return [Team.from_doc(d) async for d in self.col.find({}).sort("name", 1).limit(1000)]

    async def default(self) -> Team | None:
        return await self._default.get()

    async def _load_default(self) -> Team | None:
        doc = await self.col.find_one({"default": True})
        return Team.from_doc(doc) if doc else None

    async def update(self, team_id: str, changes: dict[str, Any]) -> Team:
        current = await self.get(team_id)
        team = Team.model_validate({**current.model_dump(), **changes})
        await self.check(team)
        doc = team.to_doc()
        await self.col.replace_one({"_id": team_id}, doc)
        await self._changed(team_id, people(current) ^ people(team))
        return team

    async def delete(self, team_id: str) -> None:
        """Refused while the team has active tickets: they would keep its id, hidden from every agent
        (no one is in a deleted team) and still waiting in the queue."""
        await self.get(team_id)
        active = await self.ctx.store.conversations.count_documents(
            {"team_id": team_id, "status": {"$in": ACTIVE_VALUES}})
        if active:
            raise Conflict(f"team {team_id} still has {active} open, pending or snoozed ticket(s): "
                           "transfer them to another team first")
        doc = await self.col.find_one_and_delete({"_id": team_id})
        if doc is None:
            raise NotFound(f"team {team_id} not found")
        await self._changed(team_id, people(Team.from_doc(doc)))

    async def _changed(self, team_id: str, user_ids: set[str]) -> None:
        self._default.invalidate()
        if user_ids:
            await self.ctx.bus.publish(TeamMembershipChanged(user_ids=sorted(user_ids), team_ids=[team_id]))

    async def of_user(self, user_id: str) -> builtins.list[Team]:
        return [t for t in await self.list() if t.member(user_id)]


class AgentStatuses:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.col = ctx.store["agent_status"]
        self._snapshot: dict[str, dict[str, Any]] = {}
        self._loaded_at = float("-inf")

    def remember(self, user_id: str, **fields: Any) -> None:
        """This process changed an agent's status document: keep the snapshot in step."""
        self._snapshot.setdefault(user_id, {"_id": user_id}).update(fields)

    async def set(self, user_id: str, status: Presence) -> str | None:
        """Record presence; returns the previous status. Publishes ``agent.status_changed`` on a change."""
        doc = await self.col.find_one({"_id": user_id})
        previous = doc.get("status") if doc else None
        if previous == status.value:
            return previous
        now = self.ctx.clock.now()
        await upsert(
            self.col,
            {"_id": user_id},
            {
                "$set": {"status": status.value, "updated_at": now},
                "$setOnInsert": {"load": 0, "last_assigned_at": None},
            },
        )
        self.remember(user_id, status=status.value, updated_at=now)
        await self.ctx.bus.publish(
            AgentStatusChanged(user_id=user_id, status=status.value, previous=previous)
        )
        return previous

    async def get(self, user_id: str) -> dict[str, Any]:
        return await self.col.find_one({"_id": user_id}) or {
            "_id": user_id,
            "status": Presence.offline.value,
            "load": 0,
            "last_assigned_at": None,
        }

    async def many(self, user_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Presence of these agents from the snapshot (at most ``PRESENCE_TTL`` old)."""
        if time.monotonic() - self._loaded_at > PRESENCE_TTL:
            self._snapshot = {d["_id"]: d async for d in self.col.find({}).limit(20_000)}
            self._loaded_at = time.monotonic()
        return {u: self._snapshot[u] for u in user_ids if u in self._snapshot}

    async def fresh(self, user_id: str) -> dict[str, Any]:
        """The stored document (the snapshot is refreshed with it)."""
        doc = await self.get(user_id)
        self.remember(user_id, **doc)
        return doc

    async def list(self) -> list[dict[str, Any]]:
        return [d async for d in self.col.find({}).sort("_id", 1).limit(5000)]


__all__ = ["AgentStatuses", "Member", "Presence", "Team", "Teams"]
