"""What rule and macro actions and SLA escalations do. Each action goes through the same services an
agent's click would (routing, lifecycle, ``Conversations.update``/``reply``), so audit and events
follow. A rule acts as the system; a macro acts as the agent who ran it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hub.auth import Principal
from hub.auth.visibility import in_scope, with_current_teams
from hub.errors import InvalidInput, NotFound
from hub.models import AuthorType, Conversation, Direction, Message, Priority, Status, new_id

from .canned import CannedResponse, render, signed, variables
from .conditions import Facts
from .context import SYSTEM, Ctx
from .lifecycle import Lifecycle
from .notifications import Notifications
from .priority import step_up
from .routing import Routing
from .rules import Action, Rule
from .sla import SlaPolicy

log = logging.getLogger(__name__)


def bot_turn_key(conversation_id: str, message_id: str) -> str:
    """The ``_id`` of a message's claimed turn in ``bot_turns`` ("who answers"). Its twin is
    ``bot.service.turn_key``, which the bot claims with: the hub never imports the bot package (the
    bot is built on the hub), so the format is copied here; tests/unit/ticketing/test_bot_turn_key.py
    checks that the two agree."""
    return f"bot-turn:{conversation_id}:{message_id}"


class Escalations:
    def __init__(self, ctx: Ctx, routing: Routing, notifications: Notifications) -> None:
        self.ctx = ctx
        self.routing = routing
        self.notifications = notifications

    async def escalate(
        self,
        conversation_id: str,
        reason: str,
        *,
        raise_priority: bool = True,
        team_id: str | None = None,
        to_supervisor: bool = False,
        notify: bool = True,
    ) -> None:
        conversation = await self.ctx.conversations.get(conversation_id)
        if raise_priority and conversation.priority != Priority.urgent:
            conversation = await self.ctx.conversations.update(
                conversation_id,
                {"priority": step_up(conversation.priority).value, "priority_reason": f"escalated: {reason}"},
                SYSTEM,
            )
        wanted_team_id = team_id or conversation.team_id
        team = await self.routing.teams.get(wanted_team_id) if wanted_team_id else None
        if team_id:
            conversation = await self.routing.assign(
                conversation_id, SYSTEM, team_id=team_id, reason=f"escalated: {reason}"
            )
        if to_supervisor and team and team.supervisor_id and conversation.assignee_id != team.supervisor_id:
            conversation = await self.routing.assign(
                conversation_id, SYSTEM, assignee_id=team.supervisor_id, reason=f"escalated: {reason}"
            )
        if notify:
            people = {p for p in (team.supervisor_id if team else None, conversation.assignee_id) if p}
            for user_id in sorted(people):
                await self.notifications.notify(
                    user_id,
                    "escalation",
                    f"#{conversation.number} escalated: {reason}",
                    conversation_id=conversation_id,
                    key=f"esc:{conversation_id}:{reason}:{user_id}",
                )

    async def on_sla_breach(self, conversation_id: str, reason: str, policy: SlaPolicy) -> None:
        e = policy.escalation
        await self.escalate(
            conversation_id,
            reason,
            raise_priority=e.raise_priority,
            team_id=e.team_id,
            to_supervisor=e.to_supervisor,
            notify=e.notify,
        )


class Actions:
    def __init__(
        self,
        ctx: Ctx,
        routing: Routing,
        lifecycle: Lifecycle,
        escalations: Escalations,
        webhooks: Callable[[], Any],
        signature: str = "The Berry Events team",
    ) -> None:
        self.ctx = ctx
        self.routing = routing
        self.lifecycle = lifecycle
        self.escalations = escalations
        self.webhooks = webhooks  # the platform's outgoing-webhook service, looked up when needed
        self.signature = signature  # signs a rule's reply when no agent is assigned

    async def canned(self, canned_id: str) -> CannedResponse:
        doc = await self.ctx.store["canned_responses"].find_one({"_id": canned_id})
        if doc is None:
            raise NotFound(f"canned response {canned_id} not found")
        doc["id"] = doc.pop("_id")
        return CannedResponse.model_validate(doc)

    async def may_use(self, actor: Principal, team_id: str | None) -> bool:
        """Team-owned configuration (canned responses, macros) is for its team's staff (the teams
        they are in now, not as of sign-in)."""
        return in_scope(actor, team_id) or in_scope(await with_current_teams(self.ctx.store, actor), team_id)

    async def render_for(
        self, text: str, conversation: Conversation, agent_id: str | None = None, *,
        signed_by_team: bool = False,
    ) -> str:
        """``signed_by_team``: no agent wrote this (a rule): without one assigned, ``{{agent.*}}`` is the
        signature, not an empty name."""
        contact = None
        with contextlib.suppress(NotFound):
            contact = await self.ctx.contacts.get(conversation.contact_id)
        agent = await self.ctx.store.users.find_one({"_id": agent_id}, {"name": 1}) if agent_id else None
        defaults = signed(self.signature) if signed_by_team else None
        return render(text, variables(contact, conversation, agent), defaults)

    async def _by_rule(self, text: str, cid: str) -> str:
        """A rule's text, as the ticket's assigned agent (as it is now: an earlier action may have
        assigned it) would sign it, or the team's signature."""
        current = await self.ctx.conversations.get(cid)
        return await self.render_for(text, current, current.assignee_id, signed_by_team=True)

    async def _answered(self, cid: str, message: Message | None) -> Message | None:
        """The customer message a rule's reply answers: the inbound message that triggered the rule;
        without one (``ticket.created``: that message is stored before the event and its own event
        comes next; ``ticket.updated``, time, SLA rules) the conversation's first inbound message by
        time, as the thread shows it. Read once per reply (``_answers_a_machine``, ``_take_turn``)."""
        if message is not None:
            return message if message.direction == Direction.inbound else None
        doc = await self.ctx.store.messages.find_one(
            {"conversation_id": cid, "direction": Direction.inbound.value},
            sort=[("created_at", 1), ("_id", 1)],
        )
        return Message.from_doc(doc) if doc else None

    @staticmethod
    def _answers_a_machine(answered: Message | None) -> bool:
        """The customer message a rule would answer was automatic (``meta.no_auto_reply``: an
        auto-reply, a newsletter, a bounce): answering it could start a mail loop and helps nobody."""
        return answered is not None and bool(answered.meta.get("no_auto_reply"))

    async def _take_turn(self, cid: str, rule: Rule, triggered_by: Message | None,
                         answered: Message | None) -> None:
        """A rule's reply to a customer's message answers it: it takes that message's turn (``bot_turns``,
        "who answers", ``bot.service``), so the bot holding the ticket does not answer it too. Rules
        run inline, before the bot's background turn claims it. Without a triggering message only a
        ``ticket.created`` rule answers one (the message that opened the ticket)."""
        if answered is None or (triggered_by is None and rule.trigger.type != "ticket.created"):
            return
        await self.ctx.store.claim(
            "bot_turns",
            bot_turn_key(cid, answered.id),
            {"conversation_id": cid, "at": self.ctx.clock.now(), "rule_id": rule.id},
        )

    async def run(
        self,
        action: Action,
        conversation: Conversation,
        facts: Facts,
        rule: Rule | Any,
        *,
        actor: Principal = SYSTEM,
    ) -> None:
        """Run one action of ``rule`` (an automation rule, or a ``Macro`` run by ``actor``)."""
        p, cid = action.params, conversation.id
        by_rule = isinstance(rule, Rule)
        why = f"{'rule' if by_rule else 'macro'} {rule.name!r}"
        origin = {"rule_id": rule.id} if by_rule else {"macro_id": rule.id}
        match action.type:
            case "assign":
                if p.get("assignee_id"):
                    await self.routing.assign(
                        cid, actor, assignee_id=p["assignee_id"], team_id=p.get("team_id"), reason=why
                    )
                elif p.get("team_id"):
                    await self.routing.assign(cid, actor, team_id=p["team_id"], reason=why)
                else:
                    await self.routing.auto_assign(cid, reason=why)
            case "set_priority":
                await self.ctx.conversations.update(
                    cid, {"priority": p["priority"], "priority_reason": p.get("reason") or why}, actor
                )
            case "add_tag":
                await self.lifecycle.change_tags(cid, [p["tag"]], [], actor)
            case "remove_tag":
                await self.lifecycle.change_tags(cid, [], [p["tag"]], actor)
            case "canned_reply":
                answered = await self._answered(cid, facts.message) if by_rule else None
                if by_rule and self._answers_a_machine(answered):
                    log.info("rule %s: no canned reply to an automatic message", rule.id)
                    return
                canned = await self.canned(p["canned_id"])
                if not by_rule and not await self.may_use(actor, canned.team_id):
                    # a macro runs as the agent who clicked: another team's canned text is not theirs
                    raise NotFound(f"canned response {canned.id} not found")
                if by_rule:
                    text = await self._by_rule(canned.text, cid)
                else:
                    text = await self.render_for(canned.text, conversation, actor.user_id)
                trigger_id = facts.message.id if facts.message else facts.extra.get("event_key", "")
                await self.ctx.conversations.reply(
                    cid,
                    actor,
                    text,
                    author_type=AuthorType.system if by_rule else AuthorType.agent,
                    meta={
                        **origin,
                        "canned_id": canned.id,
                        "idempotency_key": f"rule:{rule.id}:{cid}:{trigger_id}" if by_rule else new_id(),
                    },
                )
                if by_rule:
                    await self._take_turn(cid, rule, facts.message, answered)
            case "private_note":
                if by_rule:
                    text = await self._by_rule(p["text"], cid)
                else:
                    text = await self.render_for(p["text"], conversation, actor.user_id)
                await self.ctx.conversations.reply(
                    cid,
                    actor,
                    text,
                    private=True,
                    author_type=AuthorType.system if by_rule else AuthorType.agent,
                    meta=origin,
                )
            case "webhook":
                service = self.webhooks()
                if service is None:
                    raise InvalidInput("outgoing webhooks are not available")
                await service.fan_out(
                    "rule.webhook",
                    {
                        "rule_id": rule.id,
                        "rule": rule.name,
                        "conversation": conversation.model_dump(mode="json"),
                    },
                    only=p["webhook_id"],
                )
            case "snooze":
                await self.lifecycle.snooze(
                    cid, self.ctx.clock.now() + timedelta(minutes=p["minutes"]), actor
                )
            case "resolve":
                if conversation.status != Status.resolved:
                    await self.ctx.conversations.update(cid, {"status": Status.resolved.value}, actor)
            case "escalate":
                await self.escalations.escalate(
                    cid,
                    why,
                    raise_priority=p.get("raise_priority", True),
                    team_id=p.get("team_id"),
                    to_supervisor=p.get("to_supervisor", False),
                    notify=p.get("notify", True),
                )


__all__ = ["Actions", "Escalations"]
