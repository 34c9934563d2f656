"""Ticket lifecycle beyond the foundation's validated status transitions: snooze until a time (woken by
a job at that instant, with a timer-wheel entry as its backstop), the reopen window for resolved
tickets, merging two tickets, private notes with @mentions,
tags and custom fields. Every change goes through ``Conversations.update`` (audit + event) or is
audited here.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from hub.auth import Principal
from hub.errors import Conflict, InvalidInput
from hub.models import ACTIVE_STATUSES, Conversation, InboundMessage, Message, Status
from hub.store import register

from .context import SYSTEM, Ctx
from .csat import survey_reply
from .events import TicketMerged
from .notifications import Notifications
from .timers import TimerWheel

log = logging.getLogger(__name__)
register("ticket_merges")  # _id = source conversation id: a ticket is merged once
register("wakes", expire=("at", timedelta(days=2)))  # _id = "<conversation>:<snooze_until>": woken once

WAKE_JOB = "ticketing.wake"
MAX_SNOOZE = timedelta(days=365)
TAG = re.compile(r"^[\w][\w .:/-]{0,49}$")
FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 50
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9._+-]{1,64}(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)")


def normalize_tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for raw in tags:
        tag = str(raw).strip().lower()
        if not TAG.match(tag):
            raise InvalidInput(f"tag {raw!r}: 1–50 letters, digits, space or . : / - _", field="tags")
        if tag not in out:
            out.append(tag)
    if len(out) > 50:
        raise InvalidInput("at most 50 tags", field="tags")
    return out


def check_custom_fields(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The merged custom fields; ``None`` deletes a key. Values are scalars only."""
    merged = dict(current)
    for key, value in changes.items():
        if not FIELD_KEY.match(key):
            raise InvalidInput(f"custom field {key!r}: lowercase letters, digits and _, up to 40", field=key)
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= 1000):
            merged[key] = value
        else:
            raise InvalidInput(f"custom field {key!r}: a string (≤1000 chars), number or boolean", field=key)
    if len(merged) > MAX_FIELDS:
        raise InvalidInput(f"at most {MAX_FIELDS} custom fields", field="custom_fields")
    return merged


class ResolvedTicketPolicy:
    """The hub's ``ThreadPolicy``: a customer message within ``reopen_window`` of the resolve reopens
    the ticket; a CSAT answer, or a remark on the service while the survey is open, attaches to the
    resolved ticket without reopening it (``csat.survey_reply``).
    Later messages start a new ticket (the foundation's default)."""

    def __init__(self, ctx: Ctx, reopen_window: timedelta, csat_window: timedelta) -> None:
        self.ctx = ctx
        self.reopen_window = reopen_window
        self.csat_window = csat_window

    def _survey_reply(self, conversation: Conversation, inbound: InboundMessage) -> str | None:
        return survey_reply(conversation.csat, inbound.text, self.ctx.clock.now(), self.csat_window)

    def attach_to_resolved(self, conversation: Conversation, inbound: InboundMessage) -> bool:
        sent = (conversation.csat or {}).get("sent_at")
        if sent and self.ctx.clock.now() - sent <= self.csat_window and self._survey_reply(
                conversation, inbound):
            return True  # a score or a remark on the open survey
        resolved = conversation.resolved_at
        return resolved is not None and self.ctx.clock.now() - resolved <= self.reopen_window

    def reopens(self, conversation: Conversation, inbound: InboundMessage) -> bool:
        return self._survey_reply(conversation, inbound) is None


class Lifecycle:
    def __init__(self, ctx: Ctx, notifications: Notifications) -> None:
        self.ctx = ctx
        self.notifications = notifications
        self.wheel = TimerWheel(ctx, "wake")

    # --- snooze ---------------------------------------------------------------------------------

    async def snooze(self, conversation_id: str, until: datetime, actor: Principal) -> Conversation:
        now = self.ctx.clock.now()
        if until.tzinfo is None:
            raise InvalidInput("until needs a time zone (e.g. 2026-12-01T08:00:00+02:00)", field="until")
        if until <= now or until - now > MAX_SNOOZE:
            raise InvalidInput("until must be in the future and within a year", field="until")
        updated = await self.ctx.conversations.update(
            conversation_id, {"status": Status.snoozed.value, "snooze_until": until}, actor
        )
        await self.ctx.jobs.enqueue(
            WAKE_JOB,
            {"conversation_id": conversation_id, "until": until.isoformat()},
            at=until,
            key=f"wake:{conversation_id}:{until.isoformat()}",
        )
        return updated

    async def wake(self, conversation_id: str, until: datetime | None = None) -> bool:
        """Reopen a snoozed ticket whose time has come; a stale job (re-snoozed, answered) does nothing."""
        doc = await self.ctx.store.conversations.find_one({"_id": conversation_id})
        if doc is None or doc["status"] != Status.snoozed.value or doc.get("snooze_until") is None:
            return False
        if until is not None and doc["snooze_until"] != until:
            return False
        if doc["snooze_until"] > self.ctx.clock.now():
            return False
        # the job and the wheel's backstop may both come: one wakes it (FerretDB's conditional update
        # alone is not atomic); ``expect`` leaves it alone if an agent changed it since the read
        key = f"{conversation_id}:{doc['snooze_until'].isoformat()}"
        if not await self.ctx.store.claim("wakes", key, {"at": self.ctx.clock.now()}):
            return False
        try:
            await self.ctx.conversations.update(
                conversation_id, {"status": Status.open.value, "snooze_until": None}, SYSTEM,
                expect={"status": Status.snoozed.value, "snooze_until": doc["snooze_until"]},
            )
        except Conflict:
            return False
        return True

    async def file_wake(self, conversation_id: str, until: datetime) -> None:
        """The backstop of the wake job, for every snooze however it was set (API PATCH too): a
        timer-wheel entry, read by the tick without looking at the tickets at large."""
        await self.wheel.add(until, {"conversation_id": conversation_id, "until": until})

    async def wake_due(self) -> int:
        """The tick's part: wake the snoozed tickets whose wheel timers came due; returns how many."""
        now = self.ctx.clock.now()
        woken = 0

        async def fire(_: str, timer: dict[str, Any]) -> None:
            nonlocal woken
            woken += await self.wake(timer["conversation_id"], timer["until"])

        await self.wheel.sweep(now, fire)
        await self.wheel.prune(now)
        return woken

    # --- merge ----------------------------------------------------------------------------------

    async def merge(self, source_id: str, target_id: str, actor: Principal) -> Conversation:
        if source_id == target_id:
            raise InvalidInput("a ticket cannot be merged into itself", field="into")
        source = await self.ctx.conversations.get(source_id)
        target = await self.ctx.conversations.get(target_id)
        if source.contact_id != target.contact_id:
            raise InvalidInput("only tickets of the same contact can be merged", field="into")
        if target.merged_into:
            raise InvalidInput(f"ticket {target.number} was itself merged into another", field="into")
        if source.merged_into or not await self.ctx.store.claim(
            "ticket_merges",
            source_id,
            {"target_id": target_id, "actor_id": actor.actor_id, "at": self.ctx.clock.now()},
        ):
            raise Conflict(f"ticket {source.number} is already merged")
        store = self.ctx.store
        await store.messages.update_many(
            {"conversation_id": source_id},
            {"$set": {"conversation_id": target_id, "meta.merged_from": source_id}},
        )
        await store["conversation_threads"].update_many(
            {"conversation_id": source_id}, {"$set": {"conversation_id": target_id}}
        )
        tags = list(dict.fromkeys([*target.tags, *source.tags]))
        await store.conversations.update_one(
            {"_id": target_id},
            {
                "$set": {"tags": tags, "updated_at": self.ctx.clock.now()},
                "$max": {"last_message_at": source.last_message_at},
            },
        )
        await store.conversations.update_one(
            {"_id": source_id},
            {
                "$set": {
                    "status": Status.closed.value,
                    "merged_into": target_id,
                    "assignee_id": None,
                    "updated_at": self.ctx.clock.now(),
                }
            },
        )
        await self.ctx.audit.record(
            actor.actor_id,
            "conversation.merge",
            "conversation",
            source_id,
            {"status": source.status.value},
            {"merged_into": target_id},
        )
        await self.ctx.bus.publish(
            TicketMerged(source_id=source_id, target_id=target_id, actor_id=actor.actor_id)
        )
        await self.ctx.conversations.reply(
            target_id,
            actor,
            f"Ticket #{source.number} was merged into this ticket.",
            private=True,
            meta={"merged_from": source_id},
        )
        return await self.ctx.conversations.get(target_id)

    # --- tags and custom fields -----------------------------------------------------------------

    async def change_tags(
        self, conversation_id: str, add: list[str], remove: list[str], actor: Principal
    ) -> Conversation:
        current = await self.ctx.conversations.get(conversation_id)
        gone = set(normalize_tags(remove))
        tags = [t for t in normalize_tags([*current.tags, *add]) if t not in gone]
        if tags == current.tags:
            return current
        return await self.ctx.conversations.update(conversation_id, {"tags": tags}, actor)

    async def set_custom_fields(
        self, conversation_id: str, changes: dict[str, Any], actor: Principal
    ) -> Conversation:
        current = await self.ctx.conversations.get(conversation_id)
        merged = check_custom_fields(current.custom_fields, changes)
        return await self.ctx.conversations.update(conversation_id, {"custom_fields": merged}, actor)

    # --- notes and mentions ---------------------------------------------------------------------

    async def note(self, conversation_id: str, text: str, actor: Principal) -> Message:
        if not text.strip():
            raise InvalidInput("a note needs text", field="text")
        return await self.ctx.conversations.reply(conversation_id, actor, text, private=True)

    async def mentioned_users(self, text: str) -> list[dict[str, Any]]:
        handles = {h.lower().rstrip(".") for h in MENTION.findall(text)[:20]}
        if not handles:
            return []
        staff = self.ctx.store.users.find(
            {"role": {"$in": ["admin", "supervisor", "agent"]}, "active": True}, {"email": 1, "name": 1}
        ).limit(5000)
        found = []
        async for user in staff:
            email = str(user.get("email", "")).lower()
            aliases = {email, email.split("@")[0], str(user.get("name", "")).lower().replace(" ", "")}
            if handles & aliases:
                found.append(user)
        return found

    async def notify_mentions(self, message: Message, conversation: Conversation) -> int:
        """Called for every private note: each mentioned colleague gets one notification."""
        count = 0
        for user in await self.mentioned_users(message.text):
            if user["_id"] == message.author_id:
                continue
            created = await self.notifications.notify(
                user["_id"],
                "mention",
                f"#{conversation.number}: {message.text[:200]}",
                conversation_id=conversation.id,
                message_id=message.id,
                key=f"mention:{message.id}:{user['_id']}",
            )
            count += created is not None
        return count


def is_active(conversation: Conversation) -> bool:
    return conversation.status in ACTIVE_STATUSES


__all__ = ["Lifecycle", "ResolvedTicketPolicy", "check_custom_fields", "normalize_tags"]
