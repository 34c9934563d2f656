"""The bot in the hub: answers inbound customer messages where it is active, keeps its state on the
conversation (``conversation.bot``), and hands off to people through one policy.

State (``conversation.bot``): active, intents [{intent, confidence}], entities {name: value},
articles (offered ids), unclear_streak, buttons (last offered), form (the embedded ticket form),
ticket (what the form collected), handoff {reason, at}.

Several hub nodes may receive the same ``message.created`` (one bus per node, replays): each turn is
claimed once by ``_id`` (``bot_turns``: ``bot-turn:<conversation>:<message>``), so exactly one node
answers it. Turns of one conversation run one at a time on all nodes together, in message-time order
(``bot.turns.TurnQueue``). A turn that fails (a store error, a timeout) hands the conversation off
rather than leave it held by the bot with nobody answering (``_recover``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from hub.auth import Principal
from hub.conversations import Conversations
from hub.errors import Conflict, InvalidInput
from hub.events import BotHandoff, ConversationCreated, ConversationUpdated, EventBus, MessageCreated
from hub.jobs import Jobs
from hub.models import (
    ACTIVE_VALUES,
    AuthorType,
    Channel,
    Conversation,
    Direction,
    Role,
    Status,
    bot_engaged,
    utcnow,
)
from hub.platform.events import ContactErased, ConversationDeleted
from hub.store import Store, register, upsert

from . import language, responses
from .engine import BotEngine, OutMessage, Reply, Turn
from .entities import amounts, rand
from .handoff import HandoffPolicy
from .hours import Opening
from .settings import ANSWERABLE, BotSettings
from .turns import TurnQueue

log = logging.getLogger(__name__)
BOT = Principal(role=Role.agent, name="Berry bot")
NUMBERED = {Channel.whatsapp, Channel.sms, Channel.voice, Channel.email}  # no native buttons
# Intent → ticket tag when the bot files a ticket (the Rasa action server keeps the same table).
TICKET_TAGS = {"refund_request": "refund", "payment_failed": "payment", "provider_payout": "payout",
               "cancel_booking": "cancellation", "reschedule_booking": "reschedule", "complaint": "complaint"}
register("bot_turns", expire=("at", timedelta(days=1)))  # _id = turn_key(conversation, message): who answers
Router = Callable[[str], Awaitable[Any]]
Hours = Callable[[Conversation], Awaitable[Opening]]  # the inbox's support hours, agents online now
KeepEmail = Callable[[str, str], Awaitable[None]]  # (contact id, address): the web chat's continue by e-mail
FORGET_JOB = "bot.forget"  # payload {conversation_ids}: the engine drops its copies (see on_forget)
HANDOFF_STEPS = ("notice", "note", "ticket", "event")  # after the handoff is saved, in order
RECOVERY_DELAYS = (0.0, 0.5, 2.0, 5.0, 15.0)  # seconds before each attempt to hand a failed turn off


def turn_key(conversation_id: str, message_id: str) -> str:
    """The ``_id`` of a message's claimed turn in ``bot_turns``. A rule's canned reply claims the turn
    of the message it answers with the same key (``hub.ticketing.actions.bot_turn_key``, a copy: the
    hub does not import the bot); tests/unit/ticketing/test_bot_turn_key.py checks that they agree."""
    return f"bot-turn:{conversation_id}:{message_id}"


class BotService:
    def __init__(self, store: Store, bus: EventBus, conversations: Conversations, settings: BotSettings,
                 engine: Callable[[], Awaitable[BotEngine]], policy: HandoffPolicy | None = None,
                 route: Router | None = None, hours: Hours | None = None,
                 keep_email: KeepEmail | None = None) -> None:
        self.store = store
        self.bus = bus
        self.conversations = conversations
        self.settings = settings
        self._engine = engine
        self.policy = policy or HandoffPolicy(
            human_only_intents=frozenset(settings.human_only_intents), refund_limit=settings.refund_limit,
            languages=frozenset(settings.languages))
        self.turns = TurnQueue(store, lease_s=settings.turn_lease_s)
        self.inboxes = set(settings.inboxes)
        self.route = route  # routes a handed-off ticket to an agent (ticketing's auto-assign)
        self.jobs = Jobs(store)
        self.hours = hours  # None: nothing tells when people answer, so the bot never says "offline"
        self.keep_email = keep_email

    async def load_inboxes(self) -> None:
        """``BERRY_BOT_INBOXES`` overlaid by the switches stored by ``PUT /bot/inboxes/{inbox}``: read at
        start-up and every ``INBOX_REFRESH_S`` on every node (a switch applies at once on the node that
        took it)."""
        inboxes = set(self.settings.inboxes)
        # older hubs stored a switch for any name
        switches = self.store["bot_inboxes"].find({"_id": {"$in": list(ANSWERABLE)}})
        async for doc in switches:
            (inboxes.add if doc.get("enabled") else inboxes.discard)(doc["_id"])
        self.inboxes = inboxes

    async def set_inbox(self, inbox: str, enabled: bool) -> None:
        """Switched off, the bot lets go of the conversations it holds there: they join the queue, and
        their SLA clocks start when the customer writes again or an agent takes one (ticketing).
        Switched on, it answers the inbox's new conversations (``on_created``)."""
        await upsert(
            self.store["bot_inboxes"], {"_id": inbox}, {"_id": inbox, "enabled": enabled}, replace=True
        )
        (self.inboxes.add if enabled else self.inboxes.discard)(inbox)
        if not enabled:
            await self._let_go({"channel": inbox})

    async def let_go_of_unanswered(self, older_than: timedelta = timedelta(minutes=10)) -> None:
        """At start-up: conversations in the bot's inboxes it never answered (they came while the bot
        was off, before ``on_created`` marked such ones) are people's, not held out of the queue."""
        cutoff = utcnow() - older_than  # younger ones may be another node's turns in progress
        await self._let_go({"channel": {"$in": sorted(self.inboxes)}, "bot": {},
                            "created_at": {"$lt": cutoff}})

    async def _let_go(self, which: dict[str, Any]) -> None:
        await self.store.conversations.update_many(
            {**which, "status": {"$in": ACTIVE_VALUES}, "bot.active": {"$ne": False}},
            {"$set": {"bot.active": False}})

    async def on_created(self, event: ConversationCreated) -> None:
        """A conversation that starts where the bot does not answer is people's for good: switching the
        bot on for its inbox later (or another node learning of that switch a few seconds late) must
        not take it out of the agents' queue. Voice and API conversations need no mark: the bot never
        answers those inboxes (``ANSWERABLE``)."""
        conv = event.conversation
        inbox = conv.channel.value
        if inbox in ANSWERABLE and inbox not in self.inboxes and conv.bot.get("active") is not False:
            await self._let_go({"_id": conv.id})

    async def on_updated(self, event: ConversationUpdated) -> None:
        """People took the conversation (an agent assigned it, or answered it): the bot lets go for good.
        Otherwise a ticket handed back to the queue later (its agent went offline) would be the bot's
        again: out of the agents' queue, and the bot answering after a person had. ``bot.taken`` tells
        the reports it was not deflected."""
        conv = event.conversation
        if not event.changes.get("assignee_id") or conv.bot.get("active") is False:
            return
        release: dict[str, Any] = {"bot.active": False}
        if bot_engaged(conv.bot) and not conv.bot.get("handoff"):
            release["bot.taken"] = {"by": conv.assignee_id, "at": utcnow().isoformat()}
        await self.store.conversations.update_one({"_id": conv.id}, {"$set": release})

    def holds(self, conv: Conversation) -> bool:
        """The bot answers this conversation first: people get it when the bot hands off (or when an
        agent takes it: assigns it, or answers it)."""
        return (conv.channel.value in self.inboxes and conv.assignee_id is None
                and conv.bot.get("active") is not False and conv.bot.get("handoff") is None)

    def holding(self) -> dict[str, Any]:
        """``holds`` as a store filter (the agents' queue leaves these out)."""
        return {"channel": {"$in": sorted(self.inboxes)}, "assignee_id": None,
                "bot.active": {"$ne": False}, "bot.handoff": None}

    async def resolve_idle(self, now: datetime, limit: int = 500) -> int:
        """Resolve the conversations the bot still holds whose customer has said nothing for
        ``resolve_idle_h``: the bot answered and they left (deflected). Without this they stay open
        for ever, and the reports' backlog with them. A customer who writes again within the reopen
        window reopens the same conversation, and the bot answers it again."""
        if self.settings.resolve_idle_h <= 0 or not self.inboxes:
            return 0
        cutoff = now - timedelta(hours=self.settings.resolve_idle_h)
        # created before the cutoff too: a message delivered late with an old timestamp is new here
        found = self.store.conversations.find({**self.holding(), "status": Status.open.value,
                                               "last_message_at": {"$lt": cutoff},
                                               "created_at": {"$lt": cutoff}}).limit(limit)
        done = 0
        for conv in [Conversation.from_doc(d) async for d in found]:
            key = f"bot-idle:{conv.id}:{conv.last_message_at.isoformat()}"
            if not self.holds(conv) or not await self.store.claim("bot_turns", key, {"at": now}):
                continue  # another node resolves it
            try:  # only as read: a message that lands now, or an agent taking it, keeps it open
                await self.conversations.update(conv.id, {"status": Status.resolved.value,
                                                          "tags": sorted({*conv.tags, "bot-resolved"})}, BOT,
                                                expect={**self.holding(), "status": Status.open.value,
                                                        "last_message_at": conv.last_message_at})
                done += 1
            except Conflict:
                log.info("idle conversation changed meanwhile", extra={"conversation_id": conv.id})
            except Exception:  # the store: the next sweep looks again
                log.exception("bot could not resolve an idle conversation",
                              extra={"conversation_id": conv.id})
        if done:
            log.info("bot resolved idle conversations", extra={"resolved": done})
        return done

    def wants(self, event: MessageCreated) -> bool:
        """A customer's message in a conversation the bot holds, unless it must never be answered:
        STOP/START/HELP (``meta.keyword``: the carrier answers those) or ``meta.no_auto_reply``."""
        msg = event.message
        return (
            msg.direction == Direction.inbound
            and msg.author_type == AuthorType.customer
            and not msg.private
            and not msg.meta.get("keyword")
            and not msg.meta.get("no_auto_reply")
            and self.holds(event.conversation)
        )

    async def on_forget(self, event: ContactErased | ConversationDeleted) -> None:
        """Erasure or deletion: the engine's copies (Rasa's trackers) are dropped by a job, so a Rasa
        server that is down right now is retried with back-off (and a job that dies is visible)."""
        ids = event.conversation_ids if isinstance(event, ContactErased) else [event.conversation_id]
        if ids:
            await self.jobs.enqueue(FORGET_JOB, {"conversation_ids": ids})

    async def forget(self, payload: dict[str, Any]) -> None:
        engine = await self._engine()
        for conv_id in payload["conversation_ids"]:
            await engine.forget(conv_id)

    async def on_message(self, event: MessageCreated) -> None:
        if not self.wants(event):
            return
        conv_id = event.conversation.id
        try:
            if not await self.store.claim("bot_turns", turn_key(conv_id, event.message.id),
                                          {"conversation_id": conv_id, "at": utcnow()}):
                return  # another node (or a replay of the event) has this turn
            async with self.turns.turn(conv_id, event.message.id, event.message.created_at):
                try:
                    await asyncio.wait_for(self._turn(conv_id, event.message.text or ""),
                                           self.settings.ready_timeout_s + self.settings.turn_timeout_s)
                except Exception:
                    log.exception("bot turn failed", extra={"conversation_id": conv_id})
                    await self._recover(conv_id)
                    return
        except Exception:  # the claim or the turn queue failed (the store): nobody answered
            log.exception("bot turn could not start", extra={"conversation_id": conv_id})
            await self._recover(conv_id)

    async def _recover(self, conv_id: str) -> None:
        """A turn died (most likely on the store): never leave the conversation held by a bot that
        is not answering. Hand off — saving that releases it to the agents' queue — and then tell
        the customer and route it, each step retried while the store recovers."""
        conv = await _retrying(lambda: self.conversations.get(conv_id), conv_id)
        if conv is None:
            log.error("bot could not hand off a failed turn", extra={"conversation_id": conv_id})
            return
        if not self.holds(conv):  # an agent has it, or a handoff was saved before the failure
            if conv.bot.get("handoff"):  # finish what the failed turn left undone (notice, note, tags)
                await self._finish_handoff(conv, dict(conv.bot), None, _retrying)
            return
        now = utcnow()
        await self._handoff(conv, dict(conv.bot), "bot_error", conv.bot.get("language") or conv.language,
                            now, run=_retrying)

    async def _turn(self, conv_id: str, text: str) -> None:
        conv = await self.conversations.get(conv_id)  # fresh: an agent may have taken it meanwhile
        state = dict(conv.bot)
        if conv.assignee_id or not state.get("active", True) or state.get("handoff"):
            return
        text = _button_payload(text, state.get("buttons") or [])
        lang = language.detect(text) or conv.language
        now = utcnow()
        hours = await self._opening(conv)
        contact = await self.store.contacts.find_one({"_id": conv.contact_id}, {"type": 1}) or {}  # fresh too
        turn = Turn(conversation_id=conv_id, text=text, channel=conv.channel.value, language=lang,
                    state=state, contact_type=str(contact.get("type") or "consumer"))
        try:
            engine = await asyncio.wait_for(self._engine(), self.settings.ready_timeout_s)
            reply = await engine.respond(turn)
        except Exception:
            log.exception("bot engine failed", extra={"conversation_id": conv_id})
            reply = Reply(handoff="bot_error")
        reason = self.policy.decide(text, reply, unclear_streak=int(state.get("unclear_streak", 0)),
                                    language=lang, refund_requested=bool(state.get("refund_requested")),
                                    amount=state.get("amount"))
        # a policy handoff overrules the engine's answer: its articles were never shown
        state = _next_state(state, reply, lang, said=reason is None or reason == reply.handoff, text=text)
        if reason is None:
            if not hours.open_at(now) and not state.get("told_after_hours"):
                state["told_after_hours"] = True
                back = hours.back_at(now, lang)
                await self._say(conv, OutMessage(responses.notice("after_hours", lang, back=back)))
            for out in reply.messages:
                await self._say(conv, out, intent=reply.intent)
            state["buttons"] = [b.__dict__ for m in reply.messages for b in m.buttons]
            await self._save(conv_id, state)
            return
        if reason == reply.handoff:  # the engine's own handoff may come with its last words
            for out in reply.messages:
                await self._say(conv, out, intent=reply.intent)
        await self._handoff(conv, state, reason, lang, now, ticket=reply.ticket)

    async def _handoff(self, conv: Conversation, state: dict[str, Any], reason: str, lang: str | None,
                       now: datetime, *, ticket: dict[str, str] | None = None,
                       run: Callable[..., Awaitable[Any]] | None = None) -> None:
        """Saving the handoff releases the conversation to people; the rest tells the customer and
        the agent and routes the ticket. ``run`` wraps each step (``_retrying`` after a failed turn)."""
        step = run or _once
        state.update(
            active=False,
            buttons=[],
            handoff={
                "reason": reason,
                "at": now.isoformat(),
                "language": lang,
                "todo": dict.fromkeys(HANDOFF_STEPS, True),
            },
        )
        if await step(lambda: self._save(conv.id, state), conv.id) is None:
            log.error("bot could not save a handoff", extra={"conversation_id": conv.id})
            return
        await self._finish_handoff(conv, state, ticket, step)

    async def _finish_handoff(self, conv: Conversation, state: dict[str, Any], ticket: dict[str, str] | None,
                              step: Callable[..., Awaitable[Any]]) -> None:
        """The steps after a saved handoff, each marked done in ``bot.handoff.todo`` once it is, so
        that ``_recover`` after a failure in the middle does the rest and repeats none (a step
        that succeeds but whose mark fails is the one that can happen twice)."""
        handoff = state["handoff"]
        todo, reason = dict(handoff.get("todo") or {}), handoff["reason"]
        lang = handoff.get("language", state.get("language"))
        summary = summarize(state)
        summary["article_titles"] = await self._titles(summary["articles"])
        if reason == "refund_over_limit":
            summary["refund_limit"] = self.policy.refund_limit

        async def do(name: str, action: Callable[[], Awaitable[Any]]) -> None:
            if not todo.get(name) or await step(action, conv.id) is None:
                return
            todo[name] = False
            await step(lambda: self.store.conversations.update_one(
                {"_id": conv.id}, {"$set": {f"bot.handoff.todo.{name}": False}}), conv.id)

        at, hours = datetime.fromisoformat(handoff["at"]), await self._opening(conv)
        notice = responses.notice("handoff", lang) if hours.open_at(at) else \
            responses.notice("handoff_after_hours", lang, back=hours.back_at(at, lang))
        await do("notice", lambda: self._say(conv, OutMessage(notice)))
        await do("note", lambda: self.conversations.reply(conv.id, BOT, _summary_text(summary), private=True,
                                                           author_type=AuthorType.bot,
                                                           meta={"bot_summary": summary}))
        await do("ticket", lambda: self._mark_ticket(conv.id, state, lang, ticket or state.get("ticket")))
        route = self.route
        if route is not None:

            async def unassigned() -> None:  # routing again would reassign an agent's ticket
                if (await self.conversations.get(conv.id)).assignee_id is None:
                    await route(conv.id)

            try:
                await step(unassigned, conv.id)
            except Exception:  # the ticket stays in the queue; an agent can still pick it up
                log.exception("routing after handoff failed", extra={"conversation_id": conv.id})

        async def announce() -> None:
            updated = await self.conversations.get(conv.id)
            await self.bus.publish(BotHandoff(conversation=updated, reason=reason, summary=summary))

        await do("event", announce)
        log.info("bot handoff", extra={"conversation_id": conv.id, "reason": reason})

    async def _opening(self, conv: Conversation) -> Opening:
        """The conversation's inbox hours; open when they cannot be read: the plain handoff notice
        promises no time, a wrong "offline until" would."""
        if self.hours is None:
            return Opening()
        try:
            return await self.hours(conv)
        except Exception:
            log.exception("bot could not read the inbox's hours", extra={"conversation_id": conv.id})
            return Opening()

    async def _titles(self, article_ids: list[str]) -> dict[str, str]:
        """Article id → title for the agent's note (an id tells a person nothing); an id the knowledge
        base no longer has stays an id."""
        if not article_ids:
            return {}
        found = self.store["articles"].find({"_id": {"$in": article_ids}}, {"title": 1})
        return {d["_id"]: d["title"] async for d in found if d.get("title")}

    async def _mark_ticket(self, conv_id: str, state: dict[str, Any], lang: str | None,
                           ticket: dict[str, str] | None) -> Conversation:
        fresh = await self.conversations.get(conv_id)  # a Rasa action may have changed it this turn
        changes: dict[str, Any] = {"tags": sorted({*fresh.tags, "bot-handoff"})}
        if lang and lang != fresh.language:
            changes["language"] = lang  # routing matches agents' language skills on it
        if ticket:  # the embedded ticket form (Rasa's action files its own through the REST API)
            intents = {i["intent"] for i in state.get("intents", [])}
            tags = {"bot-ticket", *(TICKET_TAGS[i] for i in intents & TICKET_TAGS.keys())}
            changes["tags"] = sorted({*changes["tags"], *tags})
            changes["subject"] = ticket.get("issue_summary", "")[:200] or "Logged by the bot"
        if ticket or (state.get("handoff") or {}).get("reason") == "ticket_collected":
            # Rasa's form files its own ticket (action server): its address is the conversation's entity
            email = (ticket or {}).get("email") or state.get("entities", {}).get("email")
            await self._keep_email(fresh, email)
        return await self.conversations.update(conv_id, changes, BOT)

    async def _keep_email(self, conv: Conversation, email: str | None) -> None:
        """The address the form collected joins the contact, so the team's answer reaches it (web chat:
        by e-mail once the visitor has left, as the widget's "continue by e-mail" does)."""
        if not email or self.keep_email is None:
            return
        try:
            await self.keep_email(conv.contact_id, email)
        except InvalidInput as exc:  # the form's check is looser than the contacts': the note still has it
            log.warning("bot could not add the e-mail to the contact",
                        extra={"conversation_id": conv.id, "reason": exc.detail})

    async def _say(self, conv: Conversation, out: OutMessage, *, intent: str | None = None) -> None:
        text = out.text
        if out.buttons and conv.channel in NUMBERED:
            text += "".join(f"\n{i}. {b.title}" for i, b in enumerate(out.buttons, 1))
        meta: dict[str, Any] = {"bot": True}
        if out.buttons:
            meta["buttons"] = [{"title": b.title, "payload": b.payload} for b in out.buttons]
        if out.custom:
            meta["custom"] = out.custom
        if intent:
            meta["intent"] = intent
        await self.conversations.reply(conv.id, BOT, text, author_type=AuthorType.bot, meta=meta)

    async def _save(self, conv_id: str, state: dict[str, Any]) -> None:
        """Not once people have the conversation: an agent may have taken it during this turn, or the
        bot been switched off for its inbox, and the bot's state would undo that release."""
        unreleased = {"_id": conv_id, "assignee_id": None, "bot.active": {"$ne": False}}
        await self.store.conversations.update_one(unreleased, {"$set": {"bot": state}})


async def _once(step: Callable[[], Awaitable[Any]], conv_id: str) -> Any:
    """Run a handoff step once; a failure fails the turn (and ``_recover`` takes over)."""
    result = await step()
    return True if result is None else result


async def _retrying(step: Callable[[], Awaitable[Any]], conv_id: str) -> Any:
    """Run a step until it succeeds or ``RECOVERY_DELAYS`` run out (then None, logged)."""
    for delay in RECOVERY_DELAYS:
        await asyncio.sleep(delay)
        try:
            result = await step()
            return True if result is None else result
        except Exception:
            log.exception("bot recovery step failed", extra={"conversation_id": conv_id})
    return None


def _button_payload(text: str, buttons: list[dict[str, str]]) -> str:
    """A customer answering "1" or "yes, thanks" to the buttons we offered sends that payload."""
    answer = text.strip().rstrip(".").lower()
    for i, button in enumerate(buttons, 1):
        if answer in {str(i), button.get("title", "").lower()}:
            return button.get("payload") or text
    return text


def _next_state(state: dict[str, Any], reply: Reply, lang: str | None, *,
                said: bool = True, text: str = "") -> dict[str, Any]:
    state = dict(state)
    state["active"] = True
    state["turns"] = int(state.get("turns", 0)) + 1
    if reply.intent:
        state["intents"] = [*state.get("intents", []), {"intent": reply.intent,
                                                        "confidence": round(reply.confidence, 3)}][-20:]
    entities = dict(state.get("entities", {}))
    entities.update({e["entity"]: e["value"] for e in reply.entities if e.get("entity")})
    if reply.intent == "refund_request":  # the conversation's: an amount named later counts (policy)
        state["refund_requested"] = True
    if named := amounts(text):
        state["amount"] = max(named)
        entities["amount"] = rand(max(named))
    state["entities"] = entities
    if said:
        state["articles"] = list(dict.fromkeys([*state.get("articles", []), *reply.articles]))
    state["unclear_streak"] = int(state.get("unclear_streak", 0)) + 1 if reply.unclear else 0
    for key, value in reply.state.items():
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
    if reply.ticket:
        state["ticket"] = dict(reply.ticket)
    if lang:
        state["language"] = lang
    return state


def summarize(state: dict[str, Any]) -> dict[str, Any]:
    """What the agent sees on handoff."""
    return {"reason": (state.get("handoff") or {}).get("reason"),
            "intents": [i["intent"] for i in state.get("intents", [])],
            "entities": state.get("entities", {}), "articles": state.get("articles", []),
            "language": state.get("language"), "turns": state.get("turns", 0), "ticket": state.get("ticket")}


def _summary_text(summary: dict[str, Any]) -> str:
    titles = summary.get("article_titles") or {}
    offered = [f"“{titles[a]}”" if a in titles else a for a in summary["articles"]]
    reason = summary["reason"]
    if reason == "refund_over_limit" and summary["entities"].get("amount"):
        limit = f", over the {rand(summary['refund_limit'])} limit" if summary.get("refund_limit") else ""
        reason += f" ({summary['entities']['amount']}{limit})"
    lines = [f"Bot handoff: {reason}",
             f"Intents: {', '.join(summary['intents']) or '-'}",
             "Entities: " + (", ".join(f"{k}={v}" for k, v in summary["entities"].items()) or "-"),
             f"Articles offered: {', '.join(offered) or '-'}"]
    if summary.get("language"):
        lines.append(f"Language: {summary['language']}")
    if summary.get("ticket"):
        t = summary["ticket"]
        lines.append(f"Ticket: {t.get('issue_summary', '-')}\nBooking: {t.get('booking_ref', '-')}\n"
                     f"E-mail: {t.get('email', '-')}")
    return "\n".join(lines)
