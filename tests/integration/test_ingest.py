"""Ingest against the real FerretDB server: idempotency, identity resolution, threading, events."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from hub.audit import Audit
from hub.contacts import Contacts
from hub.errors import Conflict, InvalidInput
from hub.events import ContactCreated, ConversationCreated, ConversationUpdated, EventBus, MessageCreated
from hub.inbox import Inbox
from hub.models import Channel, IdentityKind, InboundMessage, SenderIdentity, Status, utcnow
from hub.store import Store


def sms(
    external_id: str, phone: str = "+27 82 123 4567", text: str = "Hi, where is my booking?"
) -> InboundMessage:
    return InboundMessage(channel=Channel.sms, external_id=external_id,
                          sender=SenderIdentity(kind=IdentityKind.phone, value=phone), text=text)


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def inbox(store: Store, bus: EventBus) -> Inbox:
    return Inbox(store, bus, Contacts(store, bus), Audit(store))


async def test_first_message_creates_contact_ticket_and_message_with_exact_events(inbox: Inbox, bus: EventBus,
                                                                                   store: Store) -> None:
    with bus.capture() as events:
        result = await inbox.ingest(sms("SM1"))
    assert [e.name for e in events] == ["contact.created", "conversation.created", "message.created"]
    assert isinstance(events[0], ContactCreated) and events[0].contact_id == result.contact.id
    assert isinstance(events[1], ConversationCreated) and events[1].conversation.number == 1
    assert isinstance(events[2], MessageCreated) and events[2].message.text == "Hi, where is my booking?"
    assert await store.identities.find_one({"_id": "phone:+27821234567"}) is not None


async def test_same_person_different_formats_threads_into_one_ticket(inbox: Inbox) -> None:
    first = await inbox.ingest(sms("SM1", "082 123 4567"))
    second = await inbox.ingest(sms("SM2", "+27821234567", "anyone there?"))
    assert second.contact.id == first.contact.id
    assert second.conversation.id == first.conversation.id


async def test_resolved_ticket_is_not_reused(inbox: Inbox, store: Store) -> None:
    first = await inbox.ingest(sms("SM1"))
    await store.conversations.update_one({"_id": first.conversation.id}, {"$set": {"status": "resolved"}})
    second = await inbox.ingest(sms("SM2"))
    assert second.conversation.id != first.conversation.id
    assert second.conversation.number == first.conversation.number + 1


async def test_customer_reply_reopens_pending_ticket(inbox: Inbox, store: Store) -> None:
    first = await inbox.ingest(sms("SM1"))
    await store.conversations.update_one({"_id": first.conversation.id}, {"$set": {"status": "pending"}})
    second = await inbox.ingest(sms("SM2"))
    assert second.conversation.id == first.conversation.id
    assert second.conversation.status == Status.open


@pytest.mark.parametrize("status", ["pending", "snoozed"])
async def test_a_reopen_publishes_one_conversation_updated_before_the_message(
        inbox: Inbox, bus: EventBus, store: Store, status: str) -> None:
    """Subscribers that follow status through conversation.updated (webhooks, the console) learn of
    the reopen; it comes before message.created, whose handling may publish newer snapshots."""
    first = await inbox.ingest(sms("SM1"))
    await store.conversations.update_one({"_id": first.conversation.id}, {"$set": {"status": status}})
    with bus.capture() as events:
        second = await inbox.ingest(sms("SM2", text="still waiting"))
    assert [e.name for e in events] == ["conversation.updated", "message.created"]
    updated = events[0]
    assert isinstance(updated, ConversationUpdated)
    assert updated.changes == {"status": "open"} and updated.previous == {"status": status}
    assert updated.actor_id is None and updated.conversation.status == Status.open
    assert updated.conversation.id == second.conversation.id == first.conversation.id
    assert "by_message_id" not in updated.model_dump(mode="json")  # in-process only
    with bus.capture() as events:  # already open: no status change, no update
        await inbox.ingest(sms("SM3", text="hello?"))
    assert [e.name for e in events] == ["message.created"]


@pytest.mark.parametrize("status", ["pending", "snoozed"])
async def test_five_quick_messages_reopen_the_ticket_once(inbox: Inbox, bus: EventBus, store: Store,
                                                          status: str) -> None:
    """Messages that arrive together on a waiting ticket: one of them reopens it (one
    conversation.updated, one audit entry, one message.created with reopened_from), the others are
    ordinary messages on the open ticket."""
    first = await inbox.ingest(sms("SM1"))
    cid = first.conversation.id
    await store.conversations.update_one({"_id": cid}, {"$set": {"status": status}})
    with bus.capture() as events:
        results = await asyncio.gather(*(inbox.ingest(sms(f"SM-q{i}", text=f"hello {i}")) for i in range(5)))
    assert {r.conversation.id for r in results} == {cid}
    assert [e.name for e in events].count("conversation.updated") == 1
    reopens = [e for e in events if isinstance(e, MessageCreated) and e.reopened_from is not None]
    assert len(reopens) == 1 and reopens[0].reopened_from == Status(status)
    assert [e.name for e in events].count("message.created") == 5
    assert await store.audit_log.count_documents({"action": "conversation.reopened", "target_id": cid}) == 1
    doc = await store.conversations.find_one({"_id": cid})
    assert doc is not None and doc["status"] == "open"


async def test_an_auto_reply_on_an_open_ticket_keeps_its_place_in_the_queue(inbox: Inbox, bus: EventBus,
                                                                             store: Store) -> None:
    """An out-of-office (``meta.no_auto_reply``) joins the thread and is published, but the ticket keeps
    its ``last_message_at`` (the queue's order; the console marks nothing unread); a person's message
    moves it."""
    first = await inbox.ingest(sms("SM1"))
    wrote_at = (await store.conversations.find_one({"_id": first.conversation.id}))["last_message_at"]
    later = first.message.created_at + timedelta(minutes=5)
    auto = sms("SM2", text="I am out of the office until Monday.").model_copy(
        update={"meta": {"no_auto_reply": True}, "received_at": later})
    with bus.capture() as events:
        second = await inbox.ingest(auto)
    assert second.conversation.id == first.conversation.id and second.conversation.status == Status.open
    assert await store.messages.find_one({"_id": second.message.id}) is not None
    assert [e.name for e in events] == ["message.created"]
    published = events[0]
    assert isinstance(published, MessageCreated) and published.message.meta["no_auto_reply"] is True
    assert published.conversation.last_message_at == wrote_at
    assert (await store.conversations.find_one({"_id": first.conversation.id}))["last_message_at"] == wrote_at
    person = sms("SM3", text="Back early, can we talk?")
    third = await inbox.ingest(person.model_copy(update={"received_at": later + timedelta(minutes=1)}))
    stored = (await store.conversations.find_one({"_id": first.conversation.id}))["last_message_at"]
    assert stored > wrote_at and third.conversation.last_message_at == stored


async def test_duplicate_delivery_is_stored_once(inbox: Inbox, bus: EventBus, store: Store) -> None:
    first = await inbox.ingest(sms("SM1"))
    with bus.capture() as events:
        again = await inbox.ingest(sms("SM1"))
    assert again.duplicate and again.message.id == first.message.id
    assert events == []
    assert await store.messages.count_documents({}) == 1


async def test_fifty_concurrent_duplicates_store_exactly_one_message(inbox: Inbox, store: Store) -> None:
    results = await asyncio.gather(*(inbox.ingest(sms("SM-race")) for _ in range(50)), return_exceptions=True)
    stored = [r for r in results if not isinstance(r, BaseException) and not r.duplicate]
    assert len(stored) == 1
    assert await store.messages.count_documents({}) == 1
    assert await store.conversations.count_documents({}) == 1
    assert await store.contacts.count_documents({}) == 1


async def test_concurrent_first_messages_from_one_new_person_share_one_contact_and_ticket(inbox: Inbox,
                                                                                        store: Store) -> None:
    await asyncio.gather(*(inbox.ingest(sms(f"SM{i}")) for i in range(10)))
    assert await store.contacts.count_documents({}) == 1
    assert await store.conversations.count_documents({}) == 1
    assert await store.messages.count_documents({}) == 10
    conversation = await store.conversations.find_one({})
    assert await store.messages.count_documents({"conversation_id": conversation["_id"]}) == 10


async def test_bad_sender_is_refused_before_anything_is_written(inbox: Inbox, store: Store) -> None:
    with pytest.raises(InvalidInput):
        await inbox.ingest(sms("SM1", "not a phone"))
    assert await store.inbound_keys.count_documents({}) == 0
    assert await store.messages.count_documents({}) == 0


async def test_email_identity_is_lower_cased(inbox: Inbox) -> None:
    a = await inbox.ingest(
        InboundMessage(
            channel=Channel.email,
            external_id="<a@x>",
            text="hi",
            sender=SenderIdentity(kind=IdentityKind.email, value="Thandi@Example.COM"),
        )
    )
    b = await inbox.ingest(
        InboundMessage(
            channel=Channel.email,
            external_id="<b@x>",
            text="hi again",
            sender=SenderIdentity(kind=IdentityKind.email, value="thandi@example.com"),
        )
    )
    assert a.contact.id == b.contact.id


async def test_ticket_numbers_are_unique_under_concurrency(store: Store) -> None:
    numbers = await asyncio.gather(*(store.next_number("conversation") for _ in range(40)))
    assert sorted(numbers) == list(range(1, 41))


async def test_a_claim_whose_ingest_died_is_taken_over_after_its_lease_by_one_retry(
        inbox: Inbox, store: Store) -> None:
    """The node that claimed a message died before storing it: while its lease runs a retry is told
    to come back later; after it, one of several retries stores the message under the claimed id."""
    await store.inbound_keys.insert_one({"_id": "sms:SM9", "message_id": "m-claimed", "created_at": utcnow(),
                                         "token": "dead", "lease_until": utcnow() + timedelta(seconds=30)})
    with pytest.raises(Conflict, match="being ingested"):
        await inbox.ingest(sms("SM9"))
    await store.inbound_keys.update_one({"_id": "sms:SM9"},
                                        {"$set": {"lease_until": utcnow() - timedelta(seconds=1)}})
    results = await asyncio.gather(*(inbox.ingest(sms("SM9")) for _ in range(4)), return_exceptions=True)
    stored = [r for r in results if not isinstance(r, BaseException) and not r.duplicate]
    assert len(stored) == 1 and stored[0].message.id == "m-claimed", results
    assert all(isinstance(r, Conflict) or r.duplicate for r in results if r is not stored[0]), results
    assert await store.messages.count_documents({"external_id": "SM9"}) == 1
