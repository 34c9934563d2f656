"""Opening an outbound ticket and deleting a ticket: the two conversation operations that do not
start from an inbound message (``hub/inbox`` opens tickets for those).

Open: a conversation with a contact on a channel the contact has an address on, optionally with
a first message that leaves through the outbox like any reply. SMS, WhatsApp and chat keep one
thread per address: the new ticket takes the thread (the contact's answers come to it) unless an
active ticket holds it — then 409 names that ticket, so two tickets never share one thread.
E-mail threads by headers and the ``[#N]`` subject token, so an e-mail ticket gets its own thread.

Delete (admins): the ticket, its messages, their attachments and its thread slot are removed for
good — the way to remove a ticket opened by mistake or spam; a person's data is erased with the
contact erasure instead. The audit record keeps ids and counts only, and ``conversation.deleted``
tells holders of derived copies (search index, console replay log, bot trackers) to drop theirs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError

from hub import keys
from hub.auth import Principal
from hub.auth.users import check_assignable
from hub.errors import Conflict, InvalidInput
from hub.events import ConversationCreated
from hub.identity import identity_key
from hub.models import ACTIVE_STATUSES, Channel, Conversation, Direction, Message, Priority, Status
from hub.outbox import RECIPIENT_KIND

from .blobs import delete_blobs
from .events import ConversationDeleted
from .privacy.erase import drop_logged_events, scrub_deliveries

OUTBOUND_CHANNELS = (Channel.sms, Channel.whatsapp, Channel.email, Channel.webchat)


class ConversationIn(BaseModel):
    model_config = {"extra": "forbid"}

    contact_id: str = Field(min_length=1, max_length=100)
    channel: Channel = Field(
        description="sms, whatsapp, email or webchat: the contact needs an address there"
    )
    subject: str = Field("", max_length=1000)
    text: str | None = Field(
        None,
        min_length=1,
        max_length=50_000,
        description="A first message, sent through the outbox (WhatsApp: within "
        "the 24-hour window only; else send a template)",
    )
    status: Status = Field(Status.open, description="open or pending")
    priority: Priority = Priority.normal
    team_id: str | None = Field(None, max_length=100)
    assignee_id: str | None = Field(
        None, max_length=100, description="Default: the agent who opens it (none for an API key)"
    )
    tags: list[str] = Field(default_factory=list, max_length=50)


async def open_ticket(app: Any, principal: Principal, body: ConversationIn) -> Conversation:
    store, conversations = app[keys.STORE], app[keys.CONVERSATIONS]
    if body.channel not in OUTBOUND_CHANNELS:
        raise InvalidInput(f"cannot open a ticket on {body.channel.value}", field="channel")
    if body.status not in (Status.open, Status.pending):
        raise InvalidInput("a new ticket is open or pending", field="status")
    contact = await app[keys.CONTACTS].get(body.contact_id)  # follows merges
    kind = RECIPIENT_KIND[body.channel]
    identities = [i for i in await app[keys.CONTACTS].identities(contact.id) if i.kind == kind]
    if not identities:
        raise InvalidInput(
            f"contact {contact.id} has no {kind.value} address for {body.channel.value}", field="contact_id"
        )
    if body.team_id is not None and await store["teams"].find_one({"_id": body.team_id}, {"_id": 1}) is None:
        raise InvalidInput(f"team {body.team_id} not found", field="team_id")
    assignee = body.assignee_id if "assignee_id" in body.model_fields_set else principal.user_id
    if assignee is not None:
        await check_assignable(store, assignee)
    conversation = Conversation(
        number=await store.next_number("conversation"),
        contact_id=contact.id,
        channel=body.channel,
        thread_key="",
        subject=body.subject.strip(),
        status=body.status,
        priority=body.priority,
        team_id=body.team_id,
        assignee_id=assignee,
        tags=list(dict.fromkeys(body.tags)),
    )
    if body.channel == Channel.email:
        conversation.thread_key = f"mail:out:{conversation.id}"
    else:
        conversation.thread_key = identity_key(kind, identities[0].value)
    await store.conversations.insert_one(conversation.to_doc())
    try:
        await _take_thread(store, conversation)
    except BaseException:
        await store.conversations.delete_one({"_id": conversation.id})  # its number stays unused
        raise
    await app[keys.AUDIT].record(
        principal.actor_id,
        "conversation.create",
        "conversation",
        conversation.id,
        after={
            "number": conversation.number,
            "contact_id": contact.id,
            "channel": body.channel.value,
            "outbound": True,
        },
    )
    await app[keys.BUS].publish(ConversationCreated(conversation=conversation))
    if body.text:
        await conversations.reply(conversation.id, principal, body.text, subject=body.subject or None)
    return await conversations.get(conversation.id)  # type: ignore[no-any-return]


async def _take_thread(store: Any, conversation: Conversation) -> None:
    """Point the address's thread at the new ticket: one winner, and never away from an active one."""
    if conversation.channel == Channel.email:
        return
    slot_id = f"{conversation.channel.value}|{conversation.thread_key}"
    threads = store["conversation_threads"]
    slot = await threads.find_one({"_id": slot_id})
    if slot is None:
        try:
            await threads.insert_one(
                {"_id": slot_id, "conversation_id": conversation.id, "contact_id": conversation.contact_id}
            )
            return
        except DuplicateKeyError:
            slot = await threads.find_one({"_id": slot_id})
    holder = (
        await store.conversations.find_one({"_id": slot["conversation_id"]}, {"status": 1}) if slot else None
    )
    if holder is not None and Status(holder["status"]) in ACTIVE_STATUSES:
        raise Conflict(
            f"conversation {holder['_id']} is still active with this contact on "
            f"{conversation.channel.value}: reply there",
            field="contact_id",
        )
    # the same hand-over claim as hub/inbox: one new ticket takes the thread from the old one
    if slot is None or not await store.claim(
        "conversation_threads", f"handover:{slot_id}:{slot['conversation_id']}"
    ):
        raise Conflict("another ticket took this thread just now; retry", field="contact_id")
    await threads.update_one(
        {"_id": slot_id},
        {"$set": {"conversation_id": conversation.id, "contact_id": conversation.contact_id}},
    )


async def delete_ticket(app: Any, principal: Principal, conversation: Conversation) -> dict[str, int]:
    """Remove the ticket and everything in it; idempotent steps (a retry finishes an interrupted
    delete: the ticket document goes last)."""
    store = app[keys.STORE]
    messages = [Message.from_doc(d) async for d in store.messages.find({"conversation_id": conversation.id})]
    blobs = await delete_blobs(store, [a.blob_id for m in messages for a in m.attachments if a.blob_id])
    counts = {
        "messages": (await store.messages.delete_many({"conversation_id": conversation.id})).deleted_count,
        "attachments": blobs,
    }
    slot_id = f"{conversation.channel.value}|{conversation.thread_key}"
    slot = await store["conversation_threads"].find_one({"_id": slot_id})  # lone _id, then the check
    if slot is not None and slot.get("conversation_id") == conversation.id:
        await store["conversation_threads"].delete_one({"_id": slot_id})
    message_ids = [m.id for m in messages]
    # provider ids of its inbound messages (the replay guard names our message id)
    inbound = [f"{m.channel.value}:{m.external_id}" for m in messages
               if m.direction == Direction.inbound and m.external_id]
    if inbound:
        await store.inbound_keys.delete_many({"_id": {"$in": inbound}})
    counts["logged_events"] = await drop_logged_events(store, [conversation.id, *message_ids])
    counts["webhook_deliveries"] = await scrub_deliveries(store, [conversation.id, *message_ids], "deleted")
    await store.conversations.delete_one({"_id": conversation.id})
    await app[keys.AUDIT].record(
        principal.actor_id,
        "conversation.delete",
        "conversation",
        conversation.id,
        before={
            "number": conversation.number,
            "contact_id": conversation.contact_id,
            "channel": conversation.channel.value,
        },
        after={"counts": counts},
    )
    await app[keys.BUS].publish(
        ConversationDeleted(
            conversation_id=conversation.id, contact_id=conversation.contact_id, message_ids=message_ids,
            number=conversation.number, conversation=conversation,
        )
    )
    return counts


__all__ = ["ConversationIn", "delete_ticket", "open_ticket"]
