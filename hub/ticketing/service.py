"""The ticketing services built together, and the list of what each event does to a ticket.

conversation.created  status clock, SLA start, ticket.created rules, routing
message.created  in   CSAT answer? · priority classifier · SLA (next response, resume) · routing
                      (reopened / assignee offline) · a reopen's ticket.updated rules (changed
                      status) · message.created rules; an automatic message (meta.no_auto_reply)
                      only the CSAT step
message.created  out  SLA first/next response met · @mentions of a private note · rules
conversation.updated  status clock (+ time-rule timers), snooze wake timer, SLA pause/resume/stop,
                      SLA policy of a new team, CSAT on resolve, capacity claims, manual priority
                      reason, ticket.updated rules; not a customer's reopen (by_message_id): its
                      message.created does all that
sla.warning/breached  rules (escalation on breach is done by the sweep itself)
ticket.merged         the closed source: status clock, SLA stop (timers cancelled), capacity claims
agent.status_changed  offline → hand tickets over; online → take from the queue
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from hub.auth import Principal
from hub.errors import NotFound
from hub.events import BotHandoff, ConversationCreated, ConversationUpdated, EventBus, MessageCreated
from hub.models import ACTIVE_STATUSES, AuthorType, Contact, Conversation, Direction, Role, Status

from .actions import Actions, Escalations
from .context import SYSTEM, Ctx
from .csat import Csat
from .events import AgentStatusChanged, SlaBreached, SlaWarning, TicketMerged
from .forget import on_deleted
from .lifecycle import Lifecycle, ResolvedTicketPolicy
from .macros import Macros
from .notifications import Notifications
from .priority import ORDER, classify
from .routing import Routing
from .rules import Rules
from .settings import TicketingSettings
from .sla import Sla
from .teams import AgentStatuses, Presence, Teams

log = logging.getLogger(__name__)


class Ticketing:
    def __init__(self, ctx: Ctx, settings: TicketingSettings, webhooks: Any = lambda: None) -> None:
        self.ctx = ctx
        self.settings = settings
        self.notifications = Notifications(ctx)
        self.lifecycle = Lifecycle(ctx, self.notifications)
        self.teams = Teams(ctx)
        self.statuses = AgentStatuses(ctx)
        self.routing = Routing(ctx, self.teams, self.statuses)
        self.sla = Sla(ctx)
        self.csat = Csat(ctx, timedelta(hours=settings.csat_window_h), enabled=settings.csat)
        self.rules = Rules(ctx)
        self.escalations = Escalations(ctx, self.routing, self.notifications)
        self.actions = Actions(
            ctx, self.routing, self.lifecycle, self.escalations, webhooks, signature=settings.signature
        )
        self.rules.run_action = self.actions.run
        self.macros = Macros(ctx, self.actions)
        self.sla.on_breach = self.escalations.on_sla_breach
        self.thread_policy = ResolvedTicketPolicy(
            ctx, timedelta(hours=settings.reopen_window_h), timedelta(hours=settings.csat_window_h)
        )

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(ConversationCreated, self.on_conversation_created)
        bus.subscribe(MessageCreated, self.on_message_created)
        bus.subscribe(ConversationUpdated, self.on_conversation_updated)
        bus.subscribe(SlaWarning, self.on_sla_event)
        bus.subscribe(SlaBreached, self.on_sla_event)
        bus.subscribe(AgentStatusChanged, self.on_agent_status)
        bus.subscribe(TicketMerged, self.on_merged)
        bus.subscribe(BotHandoff, self.on_bot_handoff)
        wheels = [self.sla.wheel, self.lifecycle.wheel, self.rules.wheel]
        bus.subscribe("conversation.deleted", on_deleted(self.ctx, self.routing, wheels))

    # --- handlers -------------------------------------------------------------------------------

    async def _status_since(
        self, conversation_id: str, status: Status, stored: dict[str, Any] | None = None
    ) -> None:
        """Since when the ticket has its status; entering one files the time rules' timers. Read
        first: most messages change nothing, and a read is cheaper than an update. ``stored``: the
        ticket as the caller just read it (saves the read)."""
        col = self.ctx.store.conversations
        if stored is None:
            stored = await col.find_one({"_id": conversation_id}, {"status_since_of": 1})
        doc = stored
        if doc is not None and doc.get("status_since_of") != status.value:
            since = self.ctx.clock.now()
            await col.update_one(
                {"_id": conversation_id}, {"$set": {"status_since": since, "status_since_of": status.value}}
            )
            await self.rules.entered(conversation_id, status, since)

    async def on_conversation_created(self, event: ConversationCreated) -> None:
        conversation = event.conversation
        await self._status_since(conversation.id, conversation.status)
        if conversation.status == Status.closed:
            pass  # opened closed by an automatic message (hub/inbox/ingest.py): no clocks to run
        elif self.routing.held(conversation):  # its clocks start when it reaches people
            await self.sla.defer(conversation.id)
        else:
            await self.sla.start(conversation)
        await self.rules.fire("ticket.created", conversation)
        if self.settings.auto_assign:
            current = await self.ctx.conversations.get(conversation.id)
            if (
                current.assignee_id is None
                and current.status == Status.open
                and not self.routing.held(current)
            ):
                await self.routing.auto_assign(current.id, reason="new ticket")

    async def on_message_created(self, event: MessageCreated) -> None:
        message, conversation = event.message, event.conversation
        if message.direction == Direction.inbound:
            await self._inbound(event)
            return
        if message.private:
            if message.author_type == AuthorType.agent:
                await self.lifecycle.notify_mentions(message, conversation)
            return
        if message.author_type == AuthorType.agent:
            # an agent answering a ticket the bot holds takes it over, whatever the setting: else the
            # bot would go on answering beside them
            takes = self.settings.assign_on_reply or self.routing.held(conversation)
            if takes and conversation.assignee_id is None and message.author_id:
                conversation = await self._claim(conversation.id, message.author_id)  # may start the SLA
            await self.sla.agent_replied(conversation, self.ctx.clock.now())
        await self.rules.fire("message.created", conversation, message=message)

    async def _claim(self, conversation_id: str, user_id: str) -> Conversation:
        """The agent who answers an unassigned ticket owns it (as in Chatwoot, Freshdesk): the queue
        stops offering it to others, who would answer it twice. Not for API keys (no user). The agent
        is the actor: the audit says who took it, and nobody is notified of their own reply."""
        current = await self.ctx.conversations.get(conversation_id)
        user = await self.ctx.store.users.find_one({"_id": user_id}, {"role": 1, "name": 1})
        if current.assignee_id is not None or user is None:
            return current
        agent = Principal(role=Role(user["role"]), user_id=user_id, name=user.get("name", ""))
        return await self.routing.assign(conversation_id, agent, assignee_id=user_id, reason="replied")

    async def _inbound(self, event: MessageCreated) -> None:
        message, conversation = event.message, event.conversation
        if conversation.csat:  # surveyed: an answer counts even if a question reopened the ticket
            await self.csat.on_inbound(message, conversation)
        if conversation.status == Status.resolved:
            return  # an answer or a remark (the policy attaches only those without reopening)
        if message.meta.get("no_auto_reply"):
            return  # an auto-reply, bulk mail, an SMS keyword: nobody wrote to us (no SLA, routing, rules)
        # One read of the ticket as stored (the ingest's update included) serves the steps below;
        # it is read again only after a step wrote to it (that step's events may change anything).
        doc = await self._stored(conversation.id)
        await self._status_since(conversation.id, conversation.status, doc)
        if conversation.snooze_until is not None and conversation.status != Status.snoozed:
            await self.ctx.store.conversations.update_one(
                {"_id": conversation.id}, {"$set": {"snooze_until": None}}
            )
            doc["snooze_until"] = None
        if self.settings.classify_priority and await self._classify(event):
            doc = await self._stored(conversation.id)
        conversation = Conversation.from_doc(doc)
        now = self.ctx.clock.now()
        if Sla.deferred(conversation.sla):  # the bot let go without a handoff (switched off for its inbox)
            started = await self._reached_people(conversation)
            if started is not None:
                conversation = conversation.model_copy(update={"sla": started})
        if (conversation.sla or {}).get("paused_at") and conversation.status == Status.open:
            await self.sla.status_changed(conversation, now)  # ingest reopened it: the clock runs again
            conversation = await self.ctx.conversations.get(conversation.id)
        await self.sla.customer_wrote(conversation, now, stored=conversation.sla)
        if self.settings.auto_assign and conversation.status in ACTIVE_STATUSES:
            await self._route_reopened(conversation)  # the SLA clock is all the step above wrote
        if event.reopened_from is not None and await self.rules.listening("ticket.updated"):
            # The customer reopened it: its ticket.updated rules, as an agent's reopen would fire them
            # (after the status clock, SLA and routing), once: on_conversation_updated skipped it.
            await self.rules.fire(
                "ticket.updated", await self.ctx.conversations.get(conversation.id),
                extra={"changed": ["status"], "previous.status": event.reopened_from.value},
            )
        if await self.rules.listening("message.created"):  # no rule: no read
            await self.rules.fire(
                "message.created", await self.ctx.conversations.get(conversation.id), message=message
            )

    async def _stored(self, conversation_id: str) -> dict[str, Any]:
        doc = await self.ctx.store.conversations.find_one({"_id": conversation_id})
        if doc is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return doc

    async def _classify(self, event: MessageCreated) -> bool:
        """Raise the priority if the message calls for it; True when the ticket was updated."""
        conversation = event.conversation
        if (conversation.priority_reason or "").startswith("manual"):
            return False  # an agent decided; the classifier does not argue
        contact = event.contact  # as the ingest resolved it a moment ago
        if contact is None or contact.id != conversation.contact_id:
            doc = await self.ctx.store.contacts.find_one({"_id": conversation.contact_id})
            contact = Contact.from_doc(doc) if doc else None
        verdict = classify(event.message.text, contact)
        if verdict and ORDER.index(verdict.priority) > ORDER.index(conversation.priority):
            await self.ctx.conversations.update(
                conversation.id,
                {"priority": verdict.priority.value, "priority_reason": verdict.reason},
                SYSTEM,
            )
            return True
        return False

    async def _route_reopened(self, conversation: Conversation) -> None:
        if conversation.assignee_id:
            status = await self.statuses.get(conversation.assignee_id)
            if status.get("status") == Presence.offline.value and conversation.status == Status.open:
                await self.routing.release(conversation.id)
                await self.routing.auto_assign(
                    conversation.id, exclude={conversation.assignee_id}, reason="assignee offline"
                )
            else:
                await self.routing.reconcile(conversation)
        elif conversation.status == Status.open and not self.routing.held(conversation):
            await self.routing.auto_assign(conversation.id, reason="customer wrote", current=conversation)

    async def on_conversation_updated(self, event: ConversationUpdated) -> None:
        if event.by_message_id:
            return  # the ingest reopened it: on_message_created (status since, SLA, routing, rules) follows
        conversation, changes = event.conversation, event.changes
        if conversation.status == Status.snoozed and conversation.snooze_until and "snooze_until" in changes:
            await self.lifecycle.file_wake(conversation.id, conversation.snooze_until)
        if "status" in changes:
            await self._status_since(conversation.id, conversation.status)
            await self.sla.status_changed(conversation, self.ctx.clock.now())
            if conversation.status == Status.resolved:
                await self.csat.on_resolved(conversation)
        if "team_id" in changes or changes.get("assignee_id"):
            if Sla.deferred(conversation.sla):  # the bot held it: no clock yet
                await self._reached_people(conversation)
            elif "team_id" in changes:
                await self.sla.team_changed(conversation)
        if "priority" in changes:
            if "priority_reason" not in changes and event.actor_id != SYSTEM.actor_id:
                reason = f"manual: set to {conversation.priority.value} by {event.actor_id}"
                await self.ctx.store.conversations.update_one(
                    {"_id": conversation.id}, {"$set": {"priority_reason": reason}}
                )
                conversation = conversation.model_copy(update={"priority_reason": reason})
            await self.sla.priority_changed(conversation)
        if "status" in changes or "assignee_id" in changes:
            await self.routing.reconcile(conversation)
        await self.rules.fire("ticket.updated", conversation, extra={
            "changed": sorted(changes), "previous.status": event.previous.get("status")})

    async def on_bot_handoff(self, event: BotHandoff) -> None:
        await self._reached_people(event.conversation)

    async def _reached_people(self, conversation: Conversation) -> dict[str, Any] | None:
        """A ticket the bot held reaches people (a handoff; an agent takes it over; the customer writes
        after the bot was switched off): its SLA clocks start now, and their state is returned. While
        the bot answers, nobody owes the customer a response (Zendesk starts a messaging ticket's SLA
        at the escalation too), and a deflected conversation breaches nothing."""
        if Sla.deferred(conversation.sla) and not self.routing.held(conversation):
            return await self.sla.start(conversation, at=self.ctx.clock.now())
        return None

    async def on_merged(self, event: TicketMerged) -> None:
        """The merge closed the source without ``Conversations.update``: stop its clocks and timers."""
        source = await self.ctx.conversations.get(event.source_id)
        await self._status_since(source.id, source.status)
        await self.sla.status_changed(source, self.ctx.clock.now())
        await self.routing.reconcile(source)

    async def on_sla_event(self, event: SlaWarning | SlaBreached) -> None:
        if not await self.rules.listening(event.name):
            return  # the sweep reads no ticket for a warning; neither do we unless a rule will
        try:
            conversation = await self.ctx.conversations.get(event.conversation_id)
        except NotFound:
            return  # erased since its timer was filed
        await self.rules.fire(
            event.name,
            conversation,
            extra={"sla.metric": event.metric, "event_key": f"{event.metric}:{event.due_at}"},
        )

    async def on_agent_status(self, event: AgentStatusChanged) -> None:
        if event.status == Presence.offline.value:
            await self.routing.agent_offline(event.user_id)
        elif event.status == Presence.online.value:
            await self.routing.agent_online(event.user_id)

    # --- periodic work (job handlers) -----------------------------------------------------------

    async def tick(self) -> dict[str, int]:
        """The periodic job: SLA warnings and breaches, time-based rules, snooze wake-ups. Each reads
        only the timer-wheel minutes that came due (``timers.py``), never the tickets at large."""
        counts = await self.sla.sweep()
        counts["time_rules"] = await self.rules.run_time_rules()
        counts["woken"] = await self.lifecycle.wake_due()
        return counts


__all__ = ["Ticketing"]
