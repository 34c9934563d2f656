"""Routing: which agent gets a ticket.

Capacity is a set of claims, never a counter (FerretDB v1 loses concurrent ``$inc``): an agent with
capacity 5 has slots ``slot:<agent>:0..4`` in ``agent_load``; assigning a ticket inserts one slot
document (``_id`` uniqueness decides between racing routers), releasing deletes the ticket's slots.
A manual assignment beyond capacity is recorded as ``over:<agent>:<ticket>``; ``agent_holds``
(``_id`` = ``<ticket>:<agent>``) says which slot a ticket holds. An agent's load is the count of its
slot documents; ``agent_status.load`` is a hint used only to order candidates (moved by one on an
assignment, recounted on a release).

Round-robin turns come from ``Store.next_number("rr:<team>")`` (each turn number is itself a claim, in
the expiring ``turn_claims``), so two routers never take the same turn. Candidates: the team's members
who are online and whose skills (language, product area) match the ticket.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from hub.auth import Principal
from hub.errors import InvalidInput
from hub.models import Conversation, Status
from hub.store import ix, register

from .context import SYSTEM, Ctx
from .events import TicketAssigned
from .teams import AgentStatuses, Member, Presence, Team, Teams

log = logging.getLogger(__name__)
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
register("agent_load", ix(("agent_id", 1)))  # _id = slot:<agent>:<i> | over:<agent>:<ticket>
register("agent_holds", ix(("conversation_id", 1)))  # _id = <ticket>:<agent> → the slot it holds


class Holder(Protocol):
    """Answers some conversations before people do (the bot, ``bot.service.BotService``)."""

    def holds(self, conversation: Conversation) -> bool: ...

    def holding(self) -> dict[str, Any]:
        """The store filter of exactly the conversations ``holds`` is true of."""
        ...


def product_area(conversation: Conversation) -> str | None:
    value = conversation.custom_fields.get("product_area")
    return str(value) if value else None


class Routing:
    def __init__(self, ctx: Ctx, teams: Teams, statuses: AgentStatuses) -> None:
        self.ctx = ctx
        self.teams = teams
        self.statuses = statuses
        self.load_col = ctx.store["agent_load"]
        # Who answers a conversation before people do (the bot): held conversations stay out of the
        # queue, and their holder routes them when it hands them off.
        self.held_by: list[Holder] = []

    def held(self, conversation: Conversation) -> bool:
        return any(holder.holds(conversation) for holder in self.held_by)

    def not_held(self) -> dict[str, Any]:
        """The store filter of the conversations no holder holds (``{}``: no holder)."""
        return {"$nor": [holder.holding() for holder in self.held_by]} if self.held_by else {}

    # --- capacity claims ------------------------------------------------------------------------

    async def load(self, agent_id: str) -> int:
        return await self.load_col.count_documents({"agent_id": agent_id})

    async def _refresh_hint(self, agent_id: str, *, assigned: bool = False) -> None:
        update: dict[str, Any] = {"load": await self.load(agent_id)}
        if assigned:
            update["last_assigned_at"] = self.ctx.clock.now()
        await self.statuses.col.update_one({"_id": agent_id}, {"$set": update})
        self.statuses.remember(agent_id, **update)

    async def _claim_slot(self, agent_id: str, conversation_id: str, capacity: int, start: int = 0) -> bool:
        """Claim a free slot, then record the hold; no read first (a read scans on FerretDB v1, and
        a new ticket holds nothing): if the ticket already held one, the new slot is given back."""
        hold_id = f"{conversation_id}:{agent_id}"
        doc = {"agent_id": agent_id, "conversation_id": conversation_id, "at": self.ctx.clock.now()}
        for i in range(capacity):
            slot = f"slot:{agent_id}:{(start + i) % capacity}"
            if await self.ctx.store.claim("agent_load", slot, doc):
                if not await self._hold(hold_id, slot, agent_id, conversation_id):
                    await self.load_col.delete_one({"_id": slot})  # held already (a re-run, a racer)
                return True
        # Full: unless this ticket is one of the tickets it holds (a re-run after the assignment).
        return bool(await self.ctx.store["agent_holds"].find_one({"_id": hold_id}, {"_id": 1}))

    async def _hold(self, hold_id: str, slot: str, agent_id: str, conversation_id: str) -> bool:
        """Which slot a ticket holds, found by ``_id`` (the only look-up FerretDB v1 serves from an index)."""
        return await self.ctx.store.claim(
            "agent_holds", hold_id, {"slot": slot, "agent_id": agent_id, "conversation_id": conversation_id}
        )

    async def _claim_over(self, agent_id: str, conversation_id: str) -> None:
        slot = f"over:{agent_id}:{conversation_id}"
        if await self._hold(f"{conversation_id}:{agent_id}", slot, agent_id, conversation_id):
            await self.ctx.store.claim(
                "agent_load",
                slot,
                {"agent_id": agent_id, "conversation_id": conversation_id, "at": self.ctx.clock.now()},
            )

    async def release(self, conversation_id: str, *, keep_agent: str | None = None) -> list[str]:
        """Free the ticket's slots (except ``keep_agent``'s); returns the agents whose load changed."""
        holds = self.ctx.store["agent_holds"]
        gone = [
            h async for h in holds.find({"conversation_id": conversation_id}) if h["agent_id"] != keep_agent
        ]
        for hold in gone:
            await self.load_col.delete_one({"_id": hold["slot"]})
            await holds.delete_one({"_id": hold["_id"]})
        agents = sorted({h["agent_id"] for h in gone})
        for agent in agents:
            await self._refresh_hint(agent)
        return agents

    async def reconcile(self, conversation: Conversation) -> None:
        """Make the claims match the ticket (after any assignment or status change, whoever made it)."""
        active = conversation.status in (Status.open, Status.pending, Status.snoozed)
        keep = conversation.assignee_id if active else None
        await self.release(conversation.id, keep_agent=keep)
        if keep:
            capacity = await self._capacity(keep, conversation.team_id)
            if not await self._claim_slot(keep, conversation.id, capacity):
                await self._claim_over(keep, conversation.id)
            await self._refresh_hint(keep)

    async def _capacity(self, agent_id: str, team_id: str | None) -> int:
        teams = [await self.teams.get(team_id)] if team_id else await self.teams.of_user(agent_id)
        members = [m for t in teams for m in t.members if m.user_id == agent_id]
        return max((m.capacity for m in members), default=0)

    # --- decisions ------------------------------------------------------------------------------

    async def candidates(
        self, team: Team, conversation: Conversation, exclude: set[str] | None = None
    ) -> list[tuple[Member, dict[str, Any]]]:
        members = [
            m
            for m in team.members
            if m.capacity > 0
            and not (exclude and m.user_id in exclude)
            and m.matches(conversation.language, product_area(conversation))
        ]
        if not members:
            return []
        statuses = await self.statuses.many([m.user_id for m in members])
        return [
            (m, statuses[m.user_id])
            for m in members
            if statuses.get(m.user_id, {}).get("status") == Presence.online.value
        ]

    async def choose(
        self, team: Team, conversation: Conversation, exclude: set[str] | None = None
    ) -> str | None:
        """Pick an agent and claim one of its slots for this ticket; None when nobody fits."""
        found = await self.candidates(team, conversation, exclude)
        if not found:
            return None
        if team.strategy == "least_loaded":
            order = sorted(
                found,
                key=lambda c: (
                    c[1].get("load", 0) / c[0].capacity,
                    c[1].get("load", 0),
                    c[1].get("last_assigned_at") or NEVER,  # longest idle first among equals
                    c[0].user_id,
                ),
            )
        else:
            found.sort(key=lambda c: c[0].user_id)
            turn = await self.ctx.store.next_number(f"rr:{team.id}", claims="turn_claims")
            k = turn % len(found)
            order = found[k:] + found[:k]
        for member, status in order:
            hint = int(status.get("load", 0))
            if hint >= member.capacity and team.strategy == "least_loaded":
                continue  # the hint says full; a later reconcile corrects a stale hint
            status = await self.statuses.fresh(member.user_id)  # the snapshot may be seconds old
            if status.get("status") != Presence.online.value:
                continue
            hint = int(status.get("load", 0))
            if await self._claim_slot(member.user_id, conversation.id, member.capacity, start=hint):
                # The hint moves by one (a count would scan agent_load on FerretDB); release recounts.
                update = {"load": hint + 1, "last_assigned_at": self.ctx.clock.now()}
                await self.statuses.col.update_one({"_id": member.user_id}, {"$set": update})
                self.statuses.remember(member.user_id, **update)
                return member.user_id
        return None

    async def auto_assign(
        self,
        conversation_id: str,
        *,
        team_id: str | None = None,
        exclude: set[str] | None = None,
        reason: str = "auto",
        current: Conversation | None = None,
    ) -> str | None:
        """Route a ticket within its team (or the default team). Unassigned = the team's queue.
        ``current``: the ticket as the caller has just read it (saves the read)."""
        conversation = current or await self.ctx.conversations.get(conversation_id)
        if conversation.status not in (Status.open, Status.pending, Status.snoozed):
            return None
        wanted_team_id = team_id or conversation.team_id
        team = await self.teams.get(wanted_team_id) if wanted_team_id else await self.teams.default()
        if team is None:
            return None
        agent = await self.choose(team, conversation, exclude)
        changes: dict[str, Any] = {}
        if conversation.team_id != team.id:
            changes["team_id"] = team.id
        if agent != conversation.assignee_id:
            changes["assignee_id"] = agent
        if changes:
            await self.ctx.conversations.update(conversation_id, changes, SYSTEM)
        if conversation.assignee_id and conversation.assignee_id != agent:
            # The previous assignee's slot (a read of agent_holds: only when there was one).
            await self.release(conversation_id, keep_agent=agent)
        if changes.get("assignee_id", conversation.assignee_id) != conversation.assignee_id:
            await self.ctx.bus.publish(
                TicketAssigned(
                    conversation_id=conversation_id,
                    assignee_id=agent,
                    team_id=team.id,
                    previous_assignee_id=conversation.assignee_id,
                    reason=reason,
                )
            )
        return agent

    async def assign(
        self,
        conversation_id: str,
        actor: Principal,
        *,
        assignee_id: str | None = None,
        team_id: str | None = None,
        reason: str = "manual",
    ) -> Conversation:
        """Manual assign / transfer: to an agent (within capacity or not), to a team (routed), or back
        to the queue (both None)."""
        conversation = await self.ctx.conversations.get(conversation_id)
        if team_id:
            team = await self.teams.get(team_id)
            if assignee_id and not team.member(assignee_id):
                raise InvalidInput(f"{assignee_id} is not a member of team {team.name}", field="assignee_id")
        if assignee_id is None and team_id:
            await self.ctx.conversations.update(
                conversation_id, {"team_id": team_id, "assignee_id": None}, actor
            )
            await self.release(conversation_id)
            await self.auto_assign(conversation_id, team_id=team_id, reason=f"transfer by {actor.actor_id}")
            return await self.ctx.conversations.get(conversation_id)
        changes: dict[str, Any] = {"assignee_id": assignee_id}
        if team_id:
            changes["team_id"] = team_id
        updated = await self.ctx.conversations.update(conversation_id, changes, actor)
        await self.reconcile(updated)
        await self.ctx.bus.publish(
            TicketAssigned(
                conversation_id=conversation_id,
                assignee_id=assignee_id,
                team_id=updated.team_id,
                reason=reason,
                previous_assignee_id=conversation.assignee_id,
            )
        )
        return updated

    async def queue(self, team_id: str | None = None, limit: int = 100) -> list[Conversation]:
        """Open tickets waiting for people: unassigned and not held by the bot."""
        flt: dict[str, Any] = {"assignee_id": None, "status": Status.open.value, **self.not_held()}
        if team_id:
            flt["team_id"] = team_id
        docs = self.ctx.store.conversations.find(flt).sort([("created_at", 1), ("_id", 1)]).limit(limit)
        return [Conversation.from_doc(d) async for d in docs]

    async def drain_queue(self, team: Team, limit: int = 50) -> int:
        """Hand queued tickets to agents with room (an agent came online or a slot freed up)."""
        done = 0
        for conversation in await self.queue(team.id, limit):
            if await self.auto_assign(conversation.id, team_id=team.id, reason="queue") is None:
                break
            done += 1
        return done

    async def agent_offline(self, agent_id: str, limit: int = 500) -> int:
        """Give an agent's open tickets to online colleagues (or the queue)."""
        moved = 0
        docs = self.ctx.store.conversations.find(
            {"assignee_id": agent_id, "status": Status.open.value}, {"_id": 1}
        ).limit(limit)
        for conversation_id in [d["_id"] async for d in docs]:
            await self.release(conversation_id)
            agent = await self.auto_assign(
                conversation_id, exclude={agent_id}, reason=f"{agent_id} went offline"
            )
            if agent is None:
                await self.ctx.conversations.update(conversation_id, {"assignee_id": None}, SYSTEM)
                await self.ctx.bus.publish(
                    TicketAssigned(
                        conversation_id=conversation_id,
                        assignee_id=None,
                        team_id=None,
                        previous_assignee_id=agent_id,
                        reason=f"{agent_id} went offline; queued",
                    )
                )
            moved += 1
        return moved

    async def agent_online(self, agent_id: str) -> int:
        return sum([await self.drain_queue(team) for team in await self.teams.of_user(agent_id)])


__all__ = ["Routing", "product_area"]
