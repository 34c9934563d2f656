"""Automation rules: *when* (a trigger) *if* (conditions) *then* (actions), in ``order``.

Triggers: ``message.created``, ``ticket.created``, ``ticket.updated``, ``sla.warning``,
``sla.breached`` and ``time`` ("status has been X for N minutes"). Every rule is
checked when saved (unknown fields, operators or action parameters, hostile regexes → 422) and
compiled once into a cache, so evaluating 200 rules per message stays in memory.

Loop protection: the rules that are executing are carried in a context variable (inherited by the
inline and background subscribers their actions trigger). A rule never fires again inside its own
chain, and a chain stops at ``MAX_DEPTH`` rules. Every execution (and every loop stop) is written to
``rule_executions``.

The time trigger never looks for tickets: when a ticket enters a status, a timer per matching time
rule is filed in a ``TimerWheel`` ("rules") at ``since + after``; the tick reads the minutes that
came due, checks the ticket is still in that status since then, and runs the rule once per period
(a ``rule_runs`` claim). Saving a time rule files timers for the tickets already in its status —
one scan per save, not one per tick.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from hub.errors import InvalidInput
from hub.models import Contact, Conversation, Message, Priority, Status, new_id, utcnow
from hub.store import Snapshot, ix, register

from .business_hours import BusinessHours
from .canned import check_template
from .conditions import Compiled, Condition, Facts
from .context import Ctx, Stored
from .events import RuleExecuted
from .lifecycle import normalize_tags
from .timers import TimerWheel

log = logging.getLogger(__name__)
register("automation_rules", ix(("enabled", 1), ("order", 1)))
register("rule_executions", ix(("rule_id", 1), ("at", -1)), ix(("conversation_id", 1), ("at", -1)))
# _id = "<rule>:<conversation>:<since>": a time-based rule fires once per period
register("rule_runs", expire=("at", timedelta(days=30)))

TriggerType = Literal[
    "message.created", "ticket.created", "ticket.updated", "sla.warning", "sla.breached", "time"
]
ActionType = Literal[
    "assign",
    "set_priority",
    "add_tag",
    "remove_tag",
    "canned_reply",
    "private_note",
    "webhook",
    "snooze",
    "resolve",
    "escalate",
]
MAX_DEPTH = 5
MAX_REASON = 200  # a set_priority reason is shown on the ticket
_chain: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("rule_chain", default=())


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: TriggerType
    status: Status | None = Field(None, description="time trigger: the status the ticket has been in")
    after_minutes: int | None = Field(None, gt=0, le=525_600, description="time trigger: for how long")


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ActionType
    params: dict[str, Any] = Field(default_factory=dict)


class Rule(Stored):
    id: str = Field(default_factory=new_id)
    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True
    order: int = Field(100, ge=0, le=1_000_000)
    trigger: Trigger
    conditions: list[Condition] = Field(default_factory=list, max_length=30, description="all must hold")
    any_conditions: list[Condition] = Field(default_factory=list, max_length=30, description="one must hold")
    actions: list[Action] = Field(min_length=1, max_length=20)
    stop_processing: bool = Field(False, description="Skip the later rules when this one ran")
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("trigger", mode="before")
    @classmethod
    def _trigger_object(cls, trigger: Any) -> Any:
        if isinstance(trigger, str):  # "ticket.updated": the type alone, a common first try
            raise PydanticCustomError(
                "trigger_object", 'trigger must be an object like {"type": "ticket.updated"}')
        return trigger


PARAMS: dict[str, dict[str, Any]] = {
    "assign": {"assignee_id": str, "team_id": str, "auto": bool},
    "set_priority": {"priority": str, "reason": str},
    "add_tag": {"tag": str},
    "remove_tag": {"tag": str},
    "canned_reply": {"canned_id": str},
    "private_note": {"text": str},
    "webhook": {"webhook_id": str},
    "snooze": {"minutes": int},
    "resolve": {},
    "escalate": {"raise_priority": bool, "team_id": str, "to_supervisor": bool, "notify": bool},
}


def check_action(action: Action) -> None:
    allowed = PARAMS[action.type]
    for key, value in action.params.items():
        if key not in allowed:
            raise InvalidInput(
                f"{action.type}: unknown parameter {key!r}", field=f"actions.{action.type}.{key}"
            )
        if not isinstance(value, allowed[key]) or (allowed[key] is int and isinstance(value, bool)):
            raise InvalidInput(f"{action.type}.{key} must be {allowed[key].__name__}", field=key)
    p = action.params
    if action.type == "assign" and not (p.get("assignee_id") or p.get("team_id") or p.get("auto")):
        raise InvalidInput("assign needs assignee_id, team_id or auto", field="params")
    if action.type == "set_priority" and p.get("priority") not in {x.value for x in Priority}:
        raise InvalidInput("set_priority needs priority low|normal|high|urgent", field="priority")
    if action.type in ("add_tag", "remove_tag") and not p.get("tag"):
        raise InvalidInput(f"{action.type} needs a tag", field="tag")
    if action.type == "canned_reply" and not p.get("canned_id"):
        raise InvalidInput("canned_reply needs canned_id", field="canned_id")
    if action.type == "private_note":
        if not p.get("text") or len(p["text"]) > 5000:
            raise InvalidInput("private_note needs text (≤5000 chars)", field="text")
        check_template(p["text"])
    if action.type == "webhook" and not p.get("webhook_id"):
        raise InvalidInput(
            "webhook needs webhook_id (an outgoing webhook registered under /webhooks)", field="webhook_id"
        )
    if action.type == "snooze" and not 0 < p.get("minutes", 0) <= 525_600:
        raise InvalidInput("snooze needs minutes between 1 and 525600", field="minutes")


def action_error(index: int, exc: InvalidInput) -> InvalidInput:
    """``exc`` of the action at ``index`` of a rule's or macro's list, its field the full path:
    ``actions[0].params.assignee_id`` (``actions[0].params`` when no one parameter is wrong)."""
    name = (exc.field or "params").rsplit(".", 1)[-1]
    path = f"actions[{index}].params" + ("" if name == "params" else f".{name}")
    return InvalidInput(exc.detail, field=path)


def check_actions(actions: list[Action], *, new: bool = True) -> None:
    """``check_new_action`` (``check_action`` unless ``new``) on each, refusals naming its path."""
    for index, action in enumerate(actions):
        try:
            (check_new_action if new else check_action)(action)
        except InvalidInput as exc:
            raise action_error(index, exc) from exc


def check_new_action(action: Action) -> None:
    """``check_action``, and what a run would refuse, checked when a rule or macro is saved (not when
    stored rules are loaded: one no longer valid action there fails alone, the others still run)."""
    check_action(action)
    p = action.params
    if action.type in ("add_tag", "remove_tag"):
        try:
            normalize_tags([p["tag"]])
        except InvalidInput as exc:
            raise InvalidInput(f"{action.type}: {exc.detail}", field="tag") from exc
    if action.type == "set_priority" and len(p.get("reason", "")) > MAX_REASON:
        raise InvalidInput(f"set_priority reason: at most {MAX_REASON} characters", field="reason")


@dataclass
class CompiledRule:
    rule: Rule
    all: list[Compiled]
    any: list[Compiled]

    @property
    def needs_contact(self) -> bool:
        return any(c.cond.field.startswith("contact.") for c in (*self.all, *self.any))

    def matches(self, facts: Facts) -> bool:
        return all(c.test(facts) for c in self.all) and (not self.any or any(c.test(facts) for c in self.any))


def compile_rule(rule: Rule, *, new: bool = False) -> CompiledRule:
    """Check a rule completely (raises InvalidInput with the field) and compile its conditions.
    ``new``: being saved (``check_new_action``)."""
    if rule.trigger.type == "time" and (rule.trigger.status is None or rule.trigger.after_minutes is None):
        raise InvalidInput("a time trigger needs status and after_minutes", field="trigger")
    if rule.trigger.type != "time" and (rule.trigger.status or rule.trigger.after_minutes):
        raise InvalidInput("status/after_minutes only apply to the time trigger", field="trigger")
    check_actions(rule.actions, new=new)
    return CompiledRule(
        rule,
        sorted((Compiled.of(c) for c in rule.conditions), key=lambda c: c.cost),
        sorted((Compiled.of(c) for c in rule.any_conditions), key=lambda c: c.cost),
    )


ActionRunner = Callable[[Action, Conversation, Facts, Rule], Awaitable[None]]


class Rules:
    CACHE_TTL = 2.0

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.col = ctx.store["automation_rules"]
        self.run_action: ActionRunner | None = None  # wired in setup (actions need routing, canned…)
        self._enabled = Snapshot(self._load, self.CACHE_TTL)
        self.wheel = TimerWheel(ctx, "rules")

    def invalidate(self) -> None:
        self._enabled.invalidate()

    async def _load(self) -> tuple[list[CompiledRule], dict[str, BusinessHours]]:
        """The enabled rules, compiled, and the business hours their conditions name."""
        compiled = []
        async for doc in self.col.find({"enabled": True}).sort([("order", 1), ("_id", 1)]).limit(2000):
            try:
                compiled.append(compile_rule(Rule.from_doc(doc)))
            except (InvalidInput, ValueError):
                log.warning("stored rule no longer valid; skipped", extra={"rule": doc.get("_id")})
        wanted = {c.cond.business_hours_id for r in compiled for c in (*r.all, *r.any)
                  if c.cond.business_hours_id}
        hours = {
            d["_id"]: BusinessHours.from_doc(d)
            async for d in self.ctx.store["business_hours"].find({"_id": {"$in": sorted(wanted)}})
        } if wanted else {}
        return compiled, hours

    async def active(self) -> list[CompiledRule]:
        return (await self._enabled.get())[0]

    async def listening(self, trigger: str) -> bool:
        """Whether an enabled rule has this trigger (from the cache)."""
        return any(r.rule.trigger.type == trigger for r in await self.active())

    def matching(self, rules: list[CompiledRule], trigger: str, facts: Facts) -> list[CompiledRule]:
        """Pure evaluation (what the benchmark measures): the rules that would run, in order."""
        return [r for r in rules if r.rule.trigger.type == trigger and r.matches(facts)]

    async def fire(
        self,
        trigger: str,
        conversation: Conversation,
        *,
        message: Message | None = None,
        extra: dict[str, Any] | None = None,
        only: list[CompiledRule] | None = None,
    ) -> list[str]:
        """Run the enabled rules of this trigger against one ticket; returns the ids of rules that ran."""
        enabled, hours = await self._enabled.get()
        candidates = only if only is not None else [r for r in enabled if r.rule.trigger.type == trigger]
        if not candidates:
            return []
        chain = _chain.get()
        contact = None
        if any(r.needs_contact for r in candidates):
            contact = await self._contact(conversation.contact_id)
        ran: list[str] = []
        for compiled in candidates:
            rule = compiled.rule
            facts = Facts(
                conversation=conversation,
                message=message,
                contact=contact,
                now=self.ctx.clock.now(),
                extra=extra or {},
                hours=hours,
            )
            if not compiled.matches(facts):
                continue
            if rule.id in chain or len(chain) >= MAX_DEPTH:
                await self._log(
                    rule,
                    conversation.id,
                    trigger,
                    [],
                    skipped="loop" if rule.id in chain else "depth",
                    chain=chain,
                )
                continue
            token = _chain.set((*chain, rule.id))
            results: list[dict[str, Any]] = []
            try:
                for action in rule.actions:
                    try:
                        if self.run_action is None:
                            raise RuntimeError("no action runner")
                        await self.run_action(action, conversation, facts, rule)
                        results.append({"type": action.type, "ok": True})
                    except Exception as exc:  # one failing action does not stop the others
                        log.warning(
                            "rule action failed",
                            extra={"rule": rule.id, "action": action.type, "error": repr(exc)},
                        )
                        results.append({"type": action.type, "ok": False, "error": str(exc)[:500]})
            finally:
                _chain.reset(token)
            await self._log(rule, conversation.id, trigger, results, chain=chain)
            await self.ctx.bus.publish(
                RuleExecuted(
                    rule_id=rule.id, conversation_id=conversation.id, trigger=trigger, actions=results
                )
            )
            ran.append(rule.id)
            conversation = await self.ctx.conversations.get(conversation.id)  # later rules see the changes
            if rule.stop_processing:
                break
        return ran

    async def _contact(self, contact_id: str) -> Contact | None:
        doc = await self.ctx.store.contacts.find_one({"_id": contact_id})
        return Contact.from_doc(doc) if doc else None

    async def _log(
        self,
        rule: Rule,
        conversation_id: str,
        trigger: str,
        actions: list[dict[str, Any]],
        *,
        skipped: str | None = None,
        chain: tuple[str, ...] = (),
    ) -> None:
        await self.ctx.store["rule_executions"].insert_one(
            {
                "_id": new_id(),
                "rule_id": rule.id,
                "rule_name": rule.name,
                "conversation_id": conversation_id,
                "trigger": trigger,
                "at": self.ctx.clock.now(),
                "actions": actions,
                "skipped": skipped,
                "chain": list(chain),
            }
        )

    async def executions(
        self, rule_id: str | None = None, conversation_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        flt: dict[str, Any] = {}
        if rule_id:
            flt["rule_id"] = rule_id
        if conversation_id:
            flt["conversation_id"] = conversation_id
        return [d async for d in self.ctx.store["rule_executions"].find(flt).sort("at", -1).limit(limit)]

    # --- the time trigger ---------------------------------------------------------------------

    async def _time_rules(self, status: str | None = None) -> list[Rule]:
        """Read fresh (a small collection): a rule saved on another node counts at once."""
        flt: dict[str, Any] = {"enabled": True, "trigger.type": "time"}
        if status:
            flt["trigger.status"] = status
        return [Rule.from_doc(d) async for d in self.col.find(flt).limit(2000)]

    async def _file(self, rule: Rule, conversation_id: str, since: datetime) -> None:
        trig = rule.trigger
        if trig.status is None or trig.after_minutes is None:
            return
        await self.wheel.add(
            since + timedelta(minutes=trig.after_minutes),
            {
                "conversation_id": conversation_id,
                "rule_id": rule.id,
                "status": trig.status.value,
                "since": since,
            },
        )

    async def entered(self, conversation_id: str, status: Status, since: datetime) -> None:
        """A ticket entered ``status`` at ``since``: file the timers of the time rules watching it."""
        for rule in await self._time_rules(status.value):
            await self._file(rule, conversation_id, since)

    async def rule_saved(self, rule: Rule, limit: int = 100_000) -> int:
        """File timers for the tickets already in a (new or edited) time rule's status."""
        trig = rule.trigger
        if not rule.enabled or trig.type != "time" or trig.status is None:
            return 0
        filed = 0
        docs = self.ctx.store.conversations.find({"status": trig.status.value}, {"status_since": 1})
        async for doc in docs.limit(limit):
            if doc.get("status_since"):
                await self._file(rule, doc["_id"], doc["status_since"])
                filed += 1
        return filed

    async def run_time_rules(self) -> int:
        """The tick's part: run the time rules whose timers came due; returns how many ran."""
        now = self.ctx.clock.now()
        fired = 0

        async def fire(_: str, timer: dict[str, Any]) -> None:
            nonlocal fired
            fired += await self._run_timer(timer, now)

        await self.wheel.sweep(now, fire)
        await self.wheel.prune(now)
        return fired

    async def _run_timer(self, timer: dict[str, Any], now: datetime) -> int:
        doc = await self.col.find_one({"_id": timer["rule_id"]})
        rule = Rule.from_doc(doc) if doc else None
        if rule is None or not rule.enabled or rule.trigger.type != "time":
            return 0
        if rule.trigger.status is None or rule.trigger.status.value != timer["status"]:
            return 0
        ticket = await self.ctx.store.conversations.find_one({"_id": timer["conversation_id"]})
        since = timer["since"]
        if ticket is None or ticket["status"] != timer["status"] or ticket.get("status_since") != since:
            return 0  # left the status (or re-entered it: that entry filed its own timer)
        if since + timedelta(minutes=rule.trigger.after_minutes or 0) > now:
            await self._file(rule, ticket["_id"], since)  # the rule was lengthened since: wait more
            return 0
        if not await self.ctx.store.claim(
            "rule_runs", f"{rule.id}:{ticket['_id']}:{since.isoformat()}", {"at": now}
        ):
            return 0
        try:
            compiled = compile_rule(rule)
        except (InvalidInput, ValueError):
            log.warning("stored rule no longer valid; skipped", extra={"rule": rule.id})
            return 0
        return len(await self.fire("time", Conversation.from_doc(ticket), only=[compiled]))


__all__ = [
    "MAX_DEPTH", "Action", "CompiledRule", "Condition", "Rule", "Rules", "Trigger", "action_error",
    "check_actions", "check_new_action", "compile_rule",
]
