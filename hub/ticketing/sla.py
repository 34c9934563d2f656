"""SLA policies and the SLA clock of each ticket.

A ticket's policy is the one listing its team in ``team_ids``, else the default policy; a transfer
to a team with another policy switches the running clocks to that policy's targets (start times
and paused time are kept). A policy has first-response, next-response and resolution targets per
priority (minutes of business time), an optional business-hours calendar, a warning threshold and
an escalation. Each ticket keeps its clock in ``conversation.sla``::

    {policy_id, paused_at, filed: {"<metric>:<warning|breach>": minute},
     metrics: {first_response|next_response|resolution:
        {started_at, target_s, paused_s, warn_at, due_at, warned, breached, met_at}}}

and the earliest instant that needs attention in ``sla_next_at`` (for people and MongoDB). Every
warning and breach instant is filed in a ``TimerWheel`` (``timers.py``) when it is planned, and its
minute is kept in ``sla.filed`` so that a re-plan (reply, pause, new priority) cancels it. The sweep
reads only the minutes that came due — never the conversations collection for a warning — so its
cost follows the number of timers that fire, not the number of open
tickets. A breach, which changes the ticket anyway, is checked against the ticket first. Pending and
resolved tickets pause the clock (``paused_at``; the business time spent paused is added to
``paused_s`` on resume). Each warning and breach is a wheel claim, so racing sweeps report it once.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.errors import Conflict, InvalidInput, NotFound
from hub.models import Conversation, Priority, Status, new_id, utcnow
from hub.store import COLLECTIONS, ix, register

from .business_hours import ALWAYS, Always, BusinessHours
from .context import Ctx, Stored
from .events import SlaBreached, SlaWarning
from .timers import TimerWheel

log = logging.getLogger(__name__)
register("sla_policies", ix(("default", 1)), ix(("team_ids", 1)))
register("business_hours")
register("defaults")  # _id = "sla_policy": {policy_id}, the default policy (saved as default last)
# Indexes (used on MongoDB) for the wake-up and time-rule queries, added to the foundation's.
register(
    "conversations",
    *COLLECTIONS["conversations"].indexes,
    ix(("status", 1), ("snooze_until", 1)),
    ix(("status", 1), ("status_since", 1)),
)

METRICS = ("first_response", "next_response", "resolution")
SWEEP_JOB = "ticketing.sla_sweep"
DEFERRED = {"deferred": "bot"}  # the SLA state of a ticket the bot answers first (``Sla.defer``)


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_response: int | None = Field(None, gt=0, le=525_600, description="minutes of business time")
    next_response: int | None = Field(None, gt=0, le=525_600)
    resolution: int | None = Field(None, gt=0, le=525_600)


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    raise_priority: bool = True
    team_id: str | None = Field(None, description="Transfer the ticket to this team on a breach")
    to_supervisor: bool = Field(False, description="Assign to the team's supervisor on a breach")
    notify: bool = True


class SlaPolicy(Stored):
    id: str = Field(default_factory=new_id)
    name: str = Field(min_length=1, max_length=200)
    business_hours_id: str | None = Field(None, description="None: round the clock")
    targets: dict[Priority, Targets]
    warn_before_pct: int = Field(20, ge=1, le=90, description="Warn when this share of the target is left")
    escalation: Escalation = Field(default_factory=Escalation)
    default: bool = False
    team_ids: list[str] = Field(
        default_factory=list, max_length=200, description="Tickets of these teams use this policy"
    )
    created_at: datetime = Field(default_factory=utcnow)

    def to_doc(self) -> dict[str, Any]:
        doc = super().to_doc()
        doc["targets"] = {k.value: v for k, v in doc["targets"].items()}
        return doc


Hours = BusinessHours | Always
EscalateFn = Callable[[str, str, SlaPolicy], Awaitable[None]]


class Sla:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.on_breach: EscalateFn | None = None  # escalation, wired in setup
        self.wheel = TimerWheel(ctx, "sla")

    # --- configuration --------------------------------------------------------------------------

    async def policy(self, policy_id: str | None = None) -> SlaPolicy | None:
        flt = {"_id": policy_id} if policy_id else {"default": True}
        doc = await self.ctx.store["sla_policies"].find_one(flt)
        return SlaPolicy.from_doc(doc) if doc else None

    async def hours(self, hours_id: str | None) -> Hours:
        if not hours_id:
            return ALWAYS
        doc = await self.ctx.store["business_hours"].find_one({"_id": hours_id})
        if doc is None:
            raise NotFound(f"business hours {hours_id} not found")
        return BusinessHours.from_doc(doc)

    async def policy_for(self, conversation: Conversation) -> SlaPolicy | None:
        """The team's policy, else the default one."""
        if conversation.team_id:
            doc = await self.ctx.store["sla_policies"].find_one({"team_ids": conversation.team_id})
            if doc:
                return SlaPolicy.from_doc(doc)
        return await self.policy()

    async def check_policy(self, policy: SlaPolicy) -> None:
        if not policy.targets:
            raise InvalidInput("a policy needs targets for at least one priority", field="targets")
        if len(set(policy.team_ids)) != len(policy.team_ids):
            raise InvalidInput("a team is listed twice", field="team_ids")
        for team_id in policy.team_ids:
            if not await self.ctx.store["teams"].find_one({"_id": team_id}, {"_id": 1}):
                raise InvalidInput(f"team {team_id} not found", field="team_ids")
        if policy.team_ids:
            other = await self.ctx.store["sla_policies"].find_one(
                {"team_ids": {"$in": policy.team_ids}, "_id": {"$ne": policy.id}}, {"name": 1, "team_ids": 1}
            )
            if other:
                shared = sorted(set(other["team_ids"]) & set(policy.team_ids))
                raise Conflict(f"team {shared[0]} already has the policy {other['name']!r}")
        if policy.business_hours_id:
            try:
                await self.hours(policy.business_hours_id)
            except NotFound as exc:
                raise InvalidInput(str(exc), field="business_hours_id") from exc

    # --- the clock ------------------------------------------------------------------------------

    @staticmethod
    def _running(started_at: datetime, target_s: int) -> dict[str, Any]:
        """A metric's clock as it starts: running since ``started_at``, nothing met, warned or breached."""
        return {"started_at": started_at, "target_s": target_s, "paused_s": 0.0,
                "warned": False, "breached": False, "met_at": None}

    @staticmethod
    def _target(policy: SlaPolicy, priority: Priority, metric: str) -> int | None:
        targets = policy.targets.get(priority)
        minutes = getattr(targets, metric) if targets else None
        return minutes * 60 if minutes else None

    def _plan(self, state: dict[str, Any], hours: Hours, policy: SlaPolicy) -> datetime | None:
        """Recompute warn/due instants of every running metric; returns the next instant to look at."""
        upcoming: list[datetime] = []
        for metric in state["metrics"].values():
            if metric.get("target_s") is None and not metric.get("breached"):
                metric["due_at"] = metric["warn_at"] = None  # no target (any more) under this policy
            if metric.get("met_at") or metric.get("target_s") is None:
                continue
            paused = metric.get("paused_s", 0.0)
            if not metric.get("breached"):
                metric["due_at"] = hours.add(metric["started_at"], metric["target_s"] + paused)
                metric["warn_at"] = hours.add(
                    metric["started_at"], metric["target_s"] * (1 - policy.warn_before_pct / 100) + paused
                )
                upcoming.append(metric["due_at"] if metric.get("warned") else metric["warn_at"])
        if state.get("paused_at") or not upcoming:
            return None
        return min(upcoming)

    @staticmethod
    def _instants(state: dict[str, Any]) -> set[tuple[str, str, datetime]]:
        """(metric, warning|breach, instant) of every running clock."""
        if not state or state.get("paused_at"):
            return set()
        out = set()
        for name, metric in state.get("metrics", {}).items():
            if metric.get("met_at") or metric.get("breached") or metric.get("due_at") is None:
                continue
            out.add((name, "breach", metric["due_at"]))
            if not metric.get("warned"):
                out.add((name, "warning", metric["warn_at"]))
        return out

    async def _save(
        self,
        conversation_id: str,
        state: dict[str, Any],
        next_at: datetime | None,
        before: dict[str, Any] | None = None,
    ) -> None:
        """Store the clock; cancel the timers of instants that went away, file the new ones."""
        old, new = self._instants(before or {}), self._instants(state)
        filed = dict((before or {}).get("filed") or {})
        for metric, kind, _ in old - new:
            minute = filed.pop(f"{metric}:{kind}", None)
            if minute:
                await self.wheel.cancel(
                    minute, {"conversation_id": conversation_id, "metric": metric, "kind": kind}
                )
        for metric, kind, at in sorted(new - old, key=lambda x: x[2]):
            due = state["metrics"][metric]["due_at"]
            filed[f"{metric}:{kind}"] = await self.wheel.add(
                at, {"conversation_id": conversation_id, "metric": metric, "kind": kind, "due_at": due}
            )
        state["filed"] = {k: v for k, v in filed.items() if k.rsplit(":", 1)[0] in state["metrics"]}
        await self.ctx.store.conversations.update_one(
            {"_id": conversation_id}, {"$set": {"sla": state, "sla_next_at": next_at}}
        )

    async def _stored(self, conversation_id: str) -> dict[str, Any]:
        """The clock as stored, not as an event saw it: the timers to cancel are the stored ones."""
        doc = await self.ctx.store.conversations.find_one({"_id": conversation_id}, {"sla": 1})
        return dict((doc or {}).get("sla") or {})

    async def _load(
        self, conversation: Conversation, stored: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], SlaPolicy, Hours] | None:
        state = copy.deepcopy(stored) if stored is not None else await self._stored(conversation.id)
        if not state.get("policy_id"):
            return None
        policy = await self.policy(state["policy_id"])
        if policy is None:
            return None
        return state, policy, await self.hours(policy.business_hours_id)

    async def defer(self, conversation_id: str) -> None:
        """No clocks for a ticket the bot answers first, until it reaches people (then ``start``
        replaces this state; ``_load`` reads no clock in it, it has no policy)."""
        await self.ctx.store.conversations.update_one({"_id": conversation_id}, {"$set": {"sla": DEFERRED}})

    @staticmethod
    def deferred(state: dict[str, Any]) -> bool:
        return bool(state.get("deferred"))

    async def start(
        self, conversation: Conversation, policy: SlaPolicy | None = None, at: datetime | None = None
    ) -> dict[str, Any] | None:
        """The clocks from ``at`` (default: the ticket's creation)."""
        policy = policy or await self.policy_for(conversation)
        if policy is None:
            return None
        hours = await self.hours(policy.business_hours_id)
        state: dict[str, Any] = {"policy_id": policy.id, "paused_at": None, "metrics": {}}
        for metric in ("first_response", "resolution"):
            target = self._target(policy, conversation.priority, metric)
            if target:
                state["metrics"][metric] = self._running(at or conversation.created_at, target)
        before = await self._stored(conversation.id)
        await self._save(conversation.id, state, self._plan(state, hours, policy), before)
        return state

    async def _change(
        self,
        conversation: Conversation,
        edit: Callable[[dict[str, Any], SlaPolicy, Hours], bool],
        stored: dict[str, Any] | None = None,
    ) -> None:
        loaded = await self._load(conversation, stored)
        if loaded is None:
            return
        state, policy, hours = loaded
        before = copy.deepcopy(state)
        if edit(state, policy, hours):
            await self._save(conversation.id, state, self._plan(state, hours, policy), before)

    async def agent_replied(self, conversation: Conversation, at: datetime) -> None:
        def edit(state: dict[str, Any], _: SlaPolicy, __: Hours) -> bool:
            changed = False
            for name in ("first_response", "next_response"):
                metric = state["metrics"].get(name)
                if metric and not metric.get("met_at"):
                    metric["met_at"] = at
                    changed = True
            return changed

        await self._change(conversation, edit)

    async def customer_wrote(
        self, conversation: Conversation, at: datetime, stored: dict[str, Any] | None = None
    ) -> None:
        """Start the next-response clock (once the first response is done); resume a paused clock.
        ``stored``: the clock as the caller has just read it from the store (saves the read)."""

        def edit(state: dict[str, Any], policy: SlaPolicy, hours: Hours) -> bool:
            changed = self._resume(state, hours, at) if conversation.status == Status.open else False
            first = state["metrics"].get("first_response")
            current = state["metrics"].get("next_response")
            target = self._target(policy, conversation.priority, "next_response")
            if (
                target
                and (first is None or first.get("met_at"))
                and (current is None or current.get("met_at"))
            ):
                state["metrics"]["next_response"] = self._running(at, target)
                changed = True
            return changed

        await self._change(conversation, edit, stored)

    @staticmethod
    def _resume(state: dict[str, Any], hours: Hours, at: datetime) -> bool:
        paused_at = state.get("paused_at")
        if not paused_at:
            return False
        spent = max(0.0, hours.between(paused_at, at))
        for metric in state["metrics"].values():
            if not metric.get("met_at") or metric is state["metrics"].get("resolution"):
                metric["paused_s"] = metric.get("paused_s", 0.0) + spent
        state["paused_at"] = None
        return True

    async def status_changed(self, conversation: Conversation, at: datetime) -> None:
        def edit(state: dict[str, Any], _: SlaPolicy, hours: Hours) -> bool:
            resolution = state["metrics"].get("resolution")
            if conversation.status in (Status.pending, Status.resolved, Status.closed):
                if conversation.status != Status.pending and resolution and not resolution.get("met_at"):
                    resolution["met_at"] = at
                if not state.get("paused_at"):
                    state["paused_at"] = at
                return True
            if conversation.status == Status.open:
                if resolution and resolution.get("met_at") and not resolution.get("breached"):
                    resolution["met_at"] = None  # reopened: the resolution clock runs again
                return self._resume(state, hours, at) or True
            return False

        await self._change(conversation, edit)

    async def team_changed(self, conversation: Conversation) -> None:
        """A transfer: the new team's policy (or the default) takes over the running clocks."""
        state = await self._stored(conversation.id)
        policy = await self.policy_for(conversation)
        if policy is None or policy.id == state.get("policy_id"):
            return
        if self.deferred(state):  # the bot answers it: the clocks start when it reaches people
            return
        if not state.get("policy_id"):
            await self.start(conversation, policy)
            return
        before = copy.deepcopy(state)
        state["policy_id"] = policy.id
        for name, metric in state["metrics"].items():
            if not metric.get("met_at") and not metric.get("breached"):
                metric["target_s"] = self._target(policy, conversation.priority, name)
        hours = await self.hours(policy.business_hours_id)
        await self._save(conversation.id, state, self._plan(state, hours, policy), before)

    async def priority_changed(self, conversation: Conversation) -> None:
        def edit(state: dict[str, Any], policy: SlaPolicy, _: Hours) -> bool:
            for name, metric in state["metrics"].items():
                if not metric.get("met_at") and not metric.get("breached"):
                    metric["target_s"] = self._target(policy, conversation.priority, name)
            return True

        await self._change(conversation, edit)

    # --- the sweep ------------------------------------------------------------------------------

    async def sweep(self, limit: int = 100_000) -> dict[str, int]:
        """Report the warnings and breaches that came due; returns counts. Safe on several workers."""
        now = self.ctx.clock.now()
        counts = {"timers": 0, "checked": 0, "warnings": 0, "breaches": 0}

        async def fire(minute: str, timer: dict[str, Any]) -> None:
            counts["timers"] += 1
            await self._fire(minute, timer, counts)

        await self.wheel.sweep(now, fire, limit)
        counts["pruned"] = await self.wheel.prune(now)
        return counts

    async def _fire(self, minute: str, timer: dict[str, Any], counts: dict[str, int]) -> None:
        cid, name, kind, at = timer["conversation_id"], timer["metric"], timer["kind"], timer["at"]
        if kind == "warning":
            # Trusted without reading the ticket: every re-plan cancels the timers it replaces.
            counts["checked"] += 1
            if await self.wheel.claim(minute, f"{cid}:{name}:warning:{at.isoformat()}"):
                counts["warnings"] += 1
                log.info("sla event", extra={"event": "sla.warning", "conversation": cid, "metric": name})
                await self.ctx.bus.publish(
                    SlaWarning(conversation_id=cid, metric=name, due_at=timer.get("due_at") or at)
                )
            return
        doc = await self.ctx.store.conversations.find_one({"_id": cid}, {"sla": 1})
        state = (doc or {}).get("sla") or {}
        metric = state.get("metrics", {}).get(name)
        if not metric or state.get("paused_at") or metric.get("met_at") or metric.get("breached"):
            return
        if metric.get("due_at") != at:
            return  # re-timed since the timer was filed (and the cancel was lost to a race)
        counts["checked"] += 1
        policy = await self.policy(state.get("policy_id", ""))
        if policy is None or not await self.wheel.claim(minute, f"{cid}:{name}:breach:{at.isoformat()}"):
            return
        counts["breaches"] += 1
        log.info("sla event", extra={"event": "sla.breached", "conversation": cid, "metric": name})
        await self.ctx.store.conversations.update_one(
            {"_id": cid}, {"$set": {f"sla.metrics.{name}.breached": True, f"sla.metrics.{name}.warned": True}}
        )
        await self.ctx.bus.publish(SlaBreached(conversation_id=cid, metric=name, due_at=at))
        if self.on_breach:
            await self.on_breach(cid, f"{name} SLA breached", policy)


__all__ = ["METRICS", "Escalation", "Sla", "SlaPolicy", "Targets"]
