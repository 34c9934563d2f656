"""``ingest()``: the one path every inbound message takes, whatever its channel.

    check (pydantic, identity normalization)                 never writes
    claim the inbound key  (inbound_keys, _id = channel:id)   → duplicates stop here
    find the contact       (identities, _id = identity key; created if nobody owns the identity)
    thread the conversation (conversation_threads, _id = channel|thread) → reuse or open a ticket
    store the message      (messages, _id fixed by the claim, so a retry cannot store it twice)
    read the contact       (after the writes: a merge under way moves the ticket to the survivor)
    publish events         (contact.created, conversation.created, message.created)

No step needs a multi-document transaction: each uniqueness decision is an ``_id`` insert. A claim
carries a lease; if the node that claimed a message dies before storing it, a retry after the lease
takes over and stores it, so a crash loses nothing and a retry duplicates nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from pymongo.errors import DuplicateKeyError

from hub.audit import Audit
from hub.contacts import Contacts
from hub.errors import Conflict, NotFound
from hub.events import ConversationCreated, ConversationUpdated, EventBus, MessageCreated
from hub.identity import identity_key
from hub.models import (
    ACTIVE_STATUSES,
    AuthorType,
    Contact,
    Conversation,
    DeliveryStatus,
    Direction,
    InboundMessage,
    Message,
    Status,
    new_id,
    utcnow,
)
from hub.store import Store, ix, register

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(seconds=30)

register("conversation_threads", ix(("conversation_id", 1)))  # _id = "<channel>|<thread key>"
# _id = "<conversation>:<status>:<updated_at>": the one message that reopens the waiting ticket
register("reopens", expire=("at", timedelta(days=1)))


async def stored_message(store: Store, channel: str, external_id: str,
                         projection: dict[str, int] | None = None) -> dict[str, Any] | None:
    """The message the ingest stored for ``channel``'s provider id ``external_id``, or None (never
    ingested, or claimed by an ingest that has not stored it yet). Two reads by lone ``_id``: the
    claim, then the message ({channel, external_id} would scan on FerretDB)."""
    claim = await store.inbound_keys.find_one({"_id": f"{channel}:{external_id}"})
    return await store.messages.find_one({"_id": claim["message_id"]}, projection) if claim else None


TICKET_MERGE_HOPS = 5  # a ticket merged into one that was merged in turn: followed this far


def automatic(inbound: InboundMessage) -> bool:
    """Sent by a machine (an auto-reply, a bounce, a newsletter, an SMS keyword): ``meta.no_auto_reply``,
    set by the channel. Such a message never reopens or wakes a ticket, nor opens one for the queue."""
    return bool(inbound.meta.get("no_auto_reply"))


def _out_of_queue(inbound: InboundMessage) -> dict[str, Any]:
    """A ticket opened by an automatic message is kept and findable, tagged, but closed: not in the
    agents' queue (an agent may reopen it)."""
    if not automatic(inbound):
        return {}
    return {"status": Status.closed, "tags": ["bulk" if inbound.meta.get("bulk") else "auto-reply"]}


class ThreadPolicy(Protocol):
    """What a customer message does to a *resolved* ticket on its thread (hub/ticketing plugs one in:
    a reopen window, CSAT answers that must not reopen). Without a policy a resolved ticket is never
    reused and the message opens a new one."""

    def attach_to_resolved(self, conversation: Conversation, inbound: InboundMessage) -> bool: ...

    def reopens(self, conversation: Conversation, inbound: InboundMessage) -> bool: ...


@dataclass(frozen=True)
class IngestResult:
    message: Message
    conversation: Conversation
    contact: Contact
    duplicate: bool = False
    in_progress: bool = False


class Duplicate(Exception):
    def __init__(self, message_id: str, in_progress: bool) -> None:
        self.message_id = message_id
        self.in_progress = in_progress


class Inbox:
    def __init__(self, store: Store, bus: EventBus, contacts: Contacts, audit: Audit) -> None:
        self.store = store
        self.bus = bus
        self.contacts = contacts
        self.audit = audit  # the app's one audit log (``keys.AUDIT``): a reopen is audited there
        self.thread_policy: ThreadPolicy | None = None

    async def ingest(self, inbound: InboundMessage) -> IngestResult:
        key = f"{inbound.channel.value}:{inbound.external_id}"
        sender_key = identity_key(inbound.sender.kind, inbound.sender.value)  # check before any write
        try:
            message_id = await self._claim(key)
        except Duplicate as dup:
            return await self._duplicate_result(dup)

        name, contact_type = inbound.sender_name, inbound.contact_type
        contact_id, _ = await self.contacts.owner(inbound.sender.kind, inbound.sender.value,
                                                  name=name, contact_type=contact_type)
        conversation, created = await self._thread(inbound, contact_id, sender_key)
        message = Message(
            id=message_id,
            conversation_id=conversation.id,
            contact_id=contact_id,
            direction=Direction.inbound,
            author_type=AuthorType.customer,
            text=inbound.text,
            html=inbound.html,
            subject=inbound.subject,
            attachments=inbound.attachments,
            channel=inbound.channel,
            external_id=inbound.external_id,
            delivery_status=DeliveryStatus.received,
            created_at=inbound.received_at,
            meta={**inbound.meta, "sender": sender_key},  # where the outbox sends the answer
        )
        try:
            await self.store.messages.insert_one(message.to_doc())
        except DuplicateKeyError:
            return await self._duplicate_result(Duplicate(message_id, in_progress=False))
        # The contact is read now, after the writes, and only once: a merge of it that began before
        # this read is seen here (its mark) and the ticket follows the contact to the survivor.
        contact = await self.contacts.settle_late_write(contact_id, conversation.id, name=name,
                                                        contact_type=contact_type)
        if contact.id != contact_id:  # the contact was being merged away meanwhile: on the survivor now
            message = message.model_copy(update={"contact_id": contact.id})
            conversation = conversation.model_copy(update={"contact_id": contact.id})
        # One plain update (cheaper than find_one_and_update on FerretDB); the event carries the
        # conversation as read above with the same changes applied.
        changes: dict[str, Any] = {"updated_at": utcnow()}
        if created or not automatic(inbound):
            changes["last_message_at"] = message.created_at  # the queue's order, the bot's idle clock
        if automatic(inbound):
            # An auto-reply, bulk mail or SMS keyword is kept on the thread (and published) but nobody
            # wrote it: it wakes nothing and, on an existing ticket, neither moves it up the queue
            # (``last_message_at``) nor restarts the bot's idle clock.
            pass
        elif conversation.status in (Status.pending, Status.snoozed) or (
                conversation.status == Status.resolved and self.thread_policy is not None
                and self.thread_policy.reopens(conversation, inbound)):
            changes["status"] = Status.open.value  # the customer answered: back in the queue
        previous = conversation.status
        reopened = False
        if "status" in changes:
            reopened = await self._reopen(conversation, changes)
            if not reopened:  # another message reopened it (or an agent changed it): as stored now
                doc = await self.store.conversations.find_one({"_id": conversation.id}, {"status": 1})
                changes["status"] = doc["status"] if doc else previous.value
        else:
            await self.store.conversations.update_one({"_id": conversation.id}, {"$set": changes})
        conversation = conversation.model_copy(update={**changes, "status": Status(changes.get(
            "status", conversation.status))})
        if created:
            await self.bus.publish(ConversationCreated(conversation=conversation))
        if reopened:
            # Audited as an agent's status change is, the customer (their contact) the actor.
            await self.audit.record(f"contact:{contact.id}", "conversation.reopened", "conversation",
                                    conversation.id, {"status": previous.value},
                                    {"status": conversation.status.value, "message_id": message.id})
            # The reopen, before the message: message.created's subscribers (ticketing's routing,
            # the classifier) publish later updates, whose newer snapshots must reach the console
            # and webhooks after this one. The event's actor is None (not a user).
            await self.bus.publish(ConversationUpdated(
                conversation=conversation, changes={"status": conversation.status.value},
                previous={"status": previous.value}, actor_id=None, by_message_id=message.id))
        await self.bus.publish(MessageCreated(message=message, conversation=conversation, contact=contact,
                                              reopened_from=previous if reopened else None))
        return IngestResult(message=message, conversation=conversation, contact=contact)

    async def _reopen(self, conversation: Conversation, changes: dict[str, Any]) -> bool:
        """Write ``changes`` (status open) to the waiting ticket; True if this message is the one that
        reopened it. Quick messages read the same waiting ticket, and FerretDB's conditional update
        lets each of them match (see Store.claim): the reopen is claimed, keyed on the ticket as read
        (its status and last write), so one message reopens it (one audit entry, one
        conversation.updated, one rule run) and the others are ordinary messages on an open ticket.
        They all write the open status (in whichever order they land), unless an agent has meanwhile
        moved the ticket elsewhere (then it is left alone, and this is no reopen)."""
        previous = conversation.status.value
        key = f"{conversation.id}:{previous}:{conversation.updated_at.isoformat()}"
        won = await self.store.claim("reopens", key, {"at": utcnow()})
        written = await self.store.conversations.update_one(
            {"_id": conversation.id, "status": {"$in": [previous, Status.open.value]}},
            {"$set": changes})
        return won and written.matched_count == 1

    async def _claim(self, key: str) -> str:
        """The message id this ingest stores the message under: the inbound key's lease (``Store.lease``)
        fixes it. A message already stored is a Duplicate; so is one being ingested, until its lease
        runs out (its ingest died): then one retry takes the lease over and stores it, same id."""
        won, held = await self.store.lease("inbound_keys", key, CLAIM_LEASE,
                                           {"message_id": new_id(), "created_at": utcnow()})
        if won:
            return str(held["message_id"])
        if await self.store.messages.find_one({"_id": held["message_id"]}, {"_id": 1}):
            raise Duplicate(held["message_id"], in_progress=False)
        if await self.store.take_over("inbound_keys", held, CLAIM_LEASE) is None:
            raise Duplicate(held["message_id"], in_progress=True)
        log.warning("taking over an expired inbound claim", extra={"key": key})
        return str(held["message_id"])

    async def _duplicate_result(self, dup: Duplicate) -> IngestResult:
        doc = await self.store.messages.find_one({"_id": dup.message_id})
        if doc is None:  # another request is storing it right now
            raise Conflict("this message is being ingested by another request; retry later")
        message = Message.from_doc(doc)
        conversation_doc = await self.store.conversations.find_one({"_id": message.conversation_id})
        if conversation_doc is None:  # deleted since (like a missing contact below: contacts.get raises)
            raise NotFound(f"conversation {message.conversation_id} not found")
        conversation = Conversation.from_doc(conversation_doc)
        contact = await self.contacts.get(message.contact_id)
        return IngestResult(message=message, conversation=conversation, contact=contact, duplicate=True)

    async def _thread(self, inbound: InboundMessage, contact_id: str,
                      sender_key: str) -> tuple[Conversation, bool]:
        """The active conversation this message belongs to, or a new ticket. Returns (conversation,
        created)."""
        if inbound.conversation_id:
            # by _id alone (a lone _id is what FerretDB/SQLite looks up by index), then the owner check
            doc = await self.store.conversations.find_one({"_id": inbound.conversation_id})
            # a ticket an agent merged into another is closed, its messages moved: no agent looks
            # there, so the message goes to the ticket that stayed (the contact's own, a few hops)
            for _ in range(TICKET_MERGE_HOPS):
                if not (doc and doc.get("contact_id") == contact_id and doc.get("merged_into")):
                    break
                doc = await self.store.conversations.find_one({"_id": doc["merged_into"]})
            if doc and doc.get("contact_id") == contact_id and not doc.get("merged_into"):
                return Conversation.from_doc(doc), False
        thread_key = inbound.thread_key or sender_key
        slot_id = f"{inbound.channel.value}|{thread_key}"
        slot = await self.store["conversation_threads"].find_one({"_id": slot_id})
        if slot:
            doc = await self.store.conversations.find_one({"_id": slot["conversation_id"]})
            if doc and (doc["status"] in ACTIVE_STATUSES or (
                    doc["status"] == Status.resolved.value and (automatic(inbound) or (
                        self.thread_policy is not None
                        and self.thread_policy.attach_to_resolved(Conversation.from_doc(doc), inbound))))):
                return Conversation.from_doc(doc), False  # an automatic mail joins its resolved ticket
        conversation = Conversation(
            number=await self.store.next_number("conversation"),
            contact_id=contact_id,
            channel=inbound.channel,
            thread_key=thread_key,
            subject=(inbound.subject or inbound.text[:80]).strip(),
            language=inbound.language,
            **_out_of_queue(inbound),
        )
        # Write the ticket first, then point the thread at it: a reader never sees a slot whose
        # ticket is missing. The loser of a race deletes its ticket (its number stays unused).
        await self.store.conversations.insert_one(conversation.to_doc())
        threads = self.store["conversation_threads"]
        if slot is None:
            try:
                await threads.insert_one({"_id": slot_id, "conversation_id": conversation.id,
                                          "contact_id": contact_id})
                won = True
            except DuplicateKeyError:
                won = False
        else:  # hand the thread from the closed ticket to the new one: one winner per old ticket
            won = await self.store.claim(
                "conversation_threads", f"handover:{slot_id}:{slot['conversation_id']}"
            )
            if won:
                await threads.update_one({"_id": slot_id},
                                         {"$set": {"conversation_id": conversation.id,
                                                   "contact_id": contact_id}})
        if not won:
            await self.store.conversations.delete_one({"_id": conversation.id})
            await asyncio.sleep(0.005)  # the winner is about to point the thread at its ticket
            return await self._thread(inbound, contact_id, sender_key)
        return conversation, True
