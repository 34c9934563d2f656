"""Conversations (tickets): listing with filters and cursor pagination, updates, agent replies."""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from hub.audit import Audit
from hub.auth import Principal
from hub.auth.users import check_assignable
from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import ConversationUpdated, EventBus, MessageCreated
from hub.identity import normalize_email
from hub.models import (
    Attachment,
    AuthorType,
    Channel,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    Priority,
    Status,
    utcnow,
)
from hub.store import Store

# Which status may follow which; anything not listed is refused with a clear error.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.open: frozenset({Status.pending, Status.snoozed, Status.resolved, Status.closed}),
    Status.pending: frozenset({Status.open, Status.snoozed, Status.resolved, Status.closed}),
    Status.snoozed: frozenset({Status.open, Status.pending, Status.resolved, Status.closed}),
    Status.resolved: frozenset({Status.open, Status.closed}),
    Status.closed: frozenset({Status.open}),
}
UPDATABLE = {"status", "priority", "assignee_id", "team_id", "tags", "subject", "language",
             "snooze_until", "custom_fields", "priority_reason"}


def encode_cursor(at: datetime, doc_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), doc_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, doc_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(at), str(doc_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidInput("malformed cursor", field="cursor") from exc


def conversation_filter(
    *,
    status: list[Status] | None = None,
    channel: Channel | None = None,
    priority: Priority | None = None,
    assignee_id: str | None = None,
    unassigned: bool = False,
    team_id: str | None = None,
    contact_id: str | None = None,
    tag: str | None = None,
) -> dict[str, Any]:
    """The store filter of a conversation list (the API pages it with ``hub/api/pages.py``)."""
    flt: dict[str, Any] = {}
    if status:
        flt["status"] = status[0].value if len(status) == 1 else {"$in": [s.value for s in status]}
    if channel:
        flt["channel"] = channel.value
    if priority:
        flt["priority"] = priority.value
    if unassigned:
        flt["assignee_id"] = None
    elif assignee_id:
        flt["assignee_id"] = assignee_id
    if team_id:
        flt["team_id"] = team_id
    if contact_id:
        flt["contact_id"] = contact_id
    if tag:
        flt["tags"] = tag
    return flt


class Conversations:
    def __init__(self, store: Store, bus: EventBus, audit: Audit) -> None:
        self.store = store
        self.bus = bus
        self.audit = audit
        # the channels plug in a check that refuses (InvalidInput) an agent's reply that can only fail
        self.reply_check: Callable[[Message], Awaitable[None]] | None = None

    async def get(self, conversation_id: str) -> Conversation:
        doc = await self.store.conversations.find_one({"_id": conversation_id})
        if doc is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return Conversation.from_doc(doc)

    async def list(self, *, status: list[Status] | None = None, channel: Channel | None = None,
                   priority: Priority | None = None, assignee_id: str | None = None, unassigned: bool = False,
                   team_id: str | None = None, contact_id: str | None = None, tag: str | None = None,
                   where: dict[str, Any] | None = None, limit: int = 50,
                   cursor: str | None = None) -> tuple[list[Conversation], str | None]:
        """Newest activity first; ``cursor`` continues after the last item of the previous page;
        ``where``: more store conditions (e.g. routing's ``not_held``)."""
        flt = conversation_filter(status=status, channel=channel, priority=priority, assignee_id=assignee_id,
                                  unassigned=unassigned, team_id=team_id, contact_id=contact_id, tag=tag)
        flt.update(where or {})
        if cursor:
            at, last_id = decode_cursor(cursor)
            flt["$or"] = [{"last_message_at": {"$lt": at}}, {"last_message_at": at, "_id": {"$lt": last_id}}]
        docs = (
            self.store.conversations.find(flt).sort([("last_message_at", -1), ("_id", -1)]).limit(limit + 1)
        )
        items = [Conversation.from_doc(d) async for d in docs]
        next_cursor = None
        if len(items) > limit:
            items = items[:limit]
            next_cursor = encode_cursor(items[-1].last_message_at, items[-1].id)
        return items, next_cursor

    async def update(self, conversation_id: str, changes: dict[str, Any], actor: Principal,
                     expect: dict[str, Any] | None = None) -> Conversation:
        """``expect``: stored values the change is conditional on (a store filter): Conflict, and no
        change, if the ticket no longer has them (a sweep acting on what it read a moment ago)."""
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise InvalidInput(f"cannot change {sorted(unknown)}", field=sorted(unknown)[0])
        current = await self.get(conversation_id)
        if current.merged_into and "status" in changes and changes["status"] != current.status:
            raise Conflict(f"conversation {conversation_id} was merged into {current.merged_into}: "
                           "work on that one (a merged ticket stays closed)")
        if "status" in changes and changes["status"] != current.status:
            new = Status(changes["status"])
            if new not in TRANSITIONS[current.status]:
                raise InvalidInput(f"a {current.status.value} conversation cannot become {new.value}",
                                   field="status")
            if new == Status.resolved:  # who resolved it: reports credit the resolution to them
                changes["resolved_at"], changes["resolved_by"] = utcnow(), actor.user_id
            if new == Status.snoozed and changes.get("snooze_until") is None:
                # nothing would wake it: it would leave the queue until the customer wrote again
                raise InvalidInput("a snooze needs a wake-up time: POST /conversations/{id}/snooze "
                                   "with {\"until\": ...}", field="status")
        if changes.get("assignee_id"):
            await check_assignable(self.store, changes["assignee_id"])
        merged = Conversation.model_validate({**current.model_dump(), **changes})  # validates values
        stored = {k: merged.model_dump(mode="python")[k] for k in changes}
        before = {k: current.model_dump(mode="json").get(k) for k in changes}
        doc = await self.store.conversations.find_one_and_update(
            {**(expect or {}), "_id": conversation_id}, {"$set": {**stored, "updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER)
        if doc is None:
            if expect and await self.store.conversations.count_documents({"_id": conversation_id}):
                raise Conflict(f"conversation {conversation_id} changed meanwhile")
            raise NotFound(f"conversation {conversation_id} not found")
        updated = Conversation.from_doc(doc)
        after = {k: updated.model_dump(mode="json").get(k) for k in changes}
        await self.audit.record(
            actor.actor_id, "conversation.update", "conversation", conversation_id, before, after
        )
        await self.bus.publish(ConversationUpdated(conversation=updated, changes=after, previous=before,
                                                   actor_id=actor.actor_id))
        return updated

    async def message(self, message_id: str) -> Message:
        doc = await self.store.messages.find_one({"_id": message_id})
        if doc is None:
            raise NotFound(f"message {message_id} not found")
        return Message.from_doc(doc)

    async def messages(self, conversation_id: str, *, limit: int = 100, after: str | None = None,
                       include_private: bool = True, newest: bool = False) -> builtins.list[Message]:
        """Oldest first: the first ``limit`` messages, or with ``newest`` the last ``limit`` ones."""
        flt: dict[str, Any] = {"conversation_id": conversation_id}
        if after:
            flt["_id"] = {"$gt": after}
        if not include_private:
            flt["private"] = False
        way = -1 if newest else 1
        cursor = self.store.messages.find(flt).sort([("created_at", way), ("_id", way)]).limit(limit)
        found = [Message.from_doc(d) async for d in cursor]
        return found[::-1] if newest else found

    async def reply(self, conversation_id: str, actor: Principal, text: str, *, private: bool = False,
                    subject: str | None = None, attachments: builtins.list[Attachment] | None = None,
                    author_type: AuthorType = AuthorType.agent, meta: dict[str, Any] | None = None,
                    cc: builtins.list[str] | None = None) -> Message:
        """Store an outgoing reply (or a private note). Delivery is the outbox's job: it listens for
        ``message.created`` with ``direction=out`` and sends on the conversation's channel.
        ``cc``: extra e-mail recipients (e-mail conversations only), kept in ``meta.cc``."""
        conversation = await self.get(conversation_id)
        if cc:
            if conversation.channel != Channel.email or private:
                raise InvalidInput("Cc is for e-mail replies", field="cc")
            meta = {**(meta or {}), "cc": list(dict.fromkeys(normalize_email(a, "cc") for a in cc))}
        message = Message(
            conversation_id=conversation.id, contact_id=conversation.contact_id, direction=Direction.outbound,
            author_type=author_type, author_id=actor.user_id or actor.api_key_id, private=private, text=text,
            subject=subject, attachments=attachments or [], channel=conversation.channel,
            delivery_status=DeliveryStatus.sent if private else DeliveryStatus.queued, meta=meta or {},
        )
        if not private and author_type == AuthorType.agent and self.reply_check is not None:
            await self.reply_check(message)
        await self.store.messages.insert_one(message.to_doc())
        update: dict[str, Any] = {"$set": {"updated_at": utcnow()}}
        if not private:
            update["$max"] = {"last_message_at": message.created_at}
            if conversation.first_response_at is None and author_type == AuthorType.agent:
                update["$set"]["first_response_at"] = message.created_at
        doc = await self.store.conversations.find_one_and_update(
            {"_id": conversation.id}, update, return_document=ReturnDocument.AFTER)
        if doc is None:  # deleted since get() above
            raise NotFound(f"conversation {conversation_id} not found")
        await self.bus.publish(MessageCreated(message=message, conversation=Conversation.from_doc(doc)))
        return message
