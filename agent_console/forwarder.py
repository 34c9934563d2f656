"""Forwards hub events about conversations to the console: log each one, then emit it to its rooms.

Subscribed to every bus event (``"*"``); the subscriber only queues, so publishers (ingest, the
REST API) never wait for the console. One task per node drains the queue in publish order. Any
event that carries a ``conversation`` (or a ``conversation_id``, or a ``message`` of one) is
forwarded: ``message.created``, ``message.updated`` (delivery status), ``conversation.created`` /
``updated`` (assignment, status), and whatever the other packages add (handoffs, SLA warnings).

A contact's ``contact.updated``, ``contact.merged`` and ``contact.unmerged`` are forwarded as ids
only (the contact's, the changed fields' names, the tickets an unmerge moved back), to the rooms of
the contact's conversations: whoever may see one of its tickets may have its contact panel open,
and refetches the contact through the REST API, whose rules (restricted fields) apply to them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from hub.errors import NotFound
from hub.events import Event
from hub.models import Conversation
from hub.periodic import raise_if_cancelling
from hub.platform.privacy.erase import drop_logged_events

from . import access
from .eventlog import EventLog

log = logging.getLogger(__name__)

SKIP_PREFIXES = ("contact.", "agent.")
CONTACT_EVENTS = frozenset({"contact.updated", "contact.merged", "contact.unmerged"})
CONTACT_ROOMS_SCAN = 1000  # the contact's newest tickets whose rooms a contact event goes to
MAX_BATCH = 200
DELETED = "conversation.deleted"  # an admin deleted the ticket: open consoles drop it
TRANSFERRED = "conversation.transferred"  # console-only notice (see ``transferred``)
ERASED_FOR_S = 3600  # how long events naming an erased contact are still dropped


class Forwarder:
    def __init__(self, sio: Any, namespace: str, event_log: EventLog, conversations: Any,
                 window_s: float = 0.0, item: Callable[[Conversation], dict[str, Any]] | None = None) -> None:
        self.sio = sio
        self.item = item or (lambda c: c.model_dump(mode="json"))  # a conversation as the console gets it
        self.namespace = namespace
        self.log = event_log
        self.conversations = conversations
        self.window_s = window_s
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.forwarded = 0
        self.flushes = 0
        self.waits = 0  # flushes held back by the window (tests, metrics)
        self.lock = asyncio.Lock()  # held while a batch is checked, logged and emitted
        self.erased: dict[str, float] = {}  # contact/conversation/message id -> until (monotonic)

    async def on_event(self, event: Event) -> None:
        if event.name in CONTACT_EVENTS or not event.name.startswith(SKIP_PREFIXES):
            self.queue.put_nowait(event)

    async def run(self) -> None:
        """Forward in publish order, at most one flush per window (``console_flush_ms``): an event
        after a quiet spell leaves at once; under load, the events of a window leave together, as
        one event-log write and one frame per socket. A socket costs per frame (a task wake-up and
        a send), so at 500 sockets and 50 events/s this is what keeps a node from falling behind."""
        loop = asyncio.get_running_loop()
        last = -self.window_s
        while True:
            raise_if_cancelling()  # a cancel the last flush swallowed (the store, a socket) ends it
            batch = [await self.queue.get()]
            if (wait := last + self.window_s - loop.time()) > 0:
                self.waits += 1
                await asyncio.sleep(wait)
            last = loop.time()
            while not self.queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self.queue.get_nowait())
            try:
                await self.forward(batch)
            except Exception:
                log.exception("console forward failed", extra={"events": [e.name for e in batch]})
            finally:
                for _ in batch:
                    self.queue.task_done()

    @staticmethod
    def personal(event: Event) -> tuple[str, list[str], dict[str, Any]] | None:
        """Notifications (e.g. an @mention) go to the one staff member they are for."""
        notification = getattr(event, "notification", None)
        if isinstance(notification, dict) and isinstance(notification.get("user_id"), str):
            data = event.model_dump(mode="json")
            data["conversation_id"] = None
            return event.name, [access.agent_room(notification["user_id"])], data
        return None

    @staticmethod
    def transferred(event: Event, conversation: Conversation) -> tuple[str, list[str], dict[str, Any]] | None:
        """A ticket moved to another team (or away from an agent): the rooms that lose sight of it
        get a notice with nothing of its content, so their inboxes drop it and an open thread says
        where it went."""
        previous = getattr(event, "previous", None)
        if event.name != "conversation.updated" or not isinstance(previous, dict):
            return None
        rooms = set()
        if "team_id" in previous and previous["team_id"] != conversation.team_id:
            rooms.add(access.scope_room(previous["team_id"]))
        if previous.get("assignee_id") and previous["assignee_id"] != conversation.assignee_id:
            rooms.add(access.agent_room(previous["assignee_id"]))
        rooms -= set(access.event_rooms(conversation))
        if not rooms:
            return None
        return (
            TRANSFERRED,
            sorted(rooms),
            {
                "conversation_id": conversation.id,
                "number": conversation.number,
                "team_id": conversation.team_id,
                "previous_team_id": previous.get("team_id"),
                "actor_id": getattr(event, "actor_id", None),
            },
        )

    async def contact_notice(self, event: Event) -> tuple[str, list[str], dict[str, Any]]:
        """A contact event, as ids (no field values: a restricted custom field stays hidden from
        whom it is hidden), to the rooms of the contact's tickets (both contacts' for a merge)."""
        data: dict[str, Any] = {k: getattr(event, k) for k in ("contact_id", "source_id", "target_id")
                                if isinstance(getattr(event, k, None), str)}
        ids = list(data.values())
        data["conversation_id"] = None  # no ticket's: a catch-up replays it to the rooms it went to
        if event.name == "contact.updated":
            data["changed"] = sorted(getattr(event, "changes", None) or {})
        if event.name == "contact.unmerged":
            data["conversations"] = list(getattr(event, "conversations", []))
        rooms = {access.ALL}
        async for doc in self.log.store.conversations.find(
                {"contact_id": {"$in": ids}}, {"team_id": 1, "assignee_id": 1}).sort(
                "last_message_at", -1).limit(CONTACT_ROOMS_SCAN):
            rooms.add(access.scope_room(doc.get("team_id")))
            if doc.get("assignee_id"):
                rooms.add(access.agent_room(doc["assignee_id"]))
        return event.name, sorted(rooms), data

    async def conversation_of(self, event: Event) -> Conversation | None:
        conversation = getattr(event, "conversation", None)
        if isinstance(conversation, Conversation):
            return conversation
        conversation_id = getattr(event, "conversation_id", None)
        message = getattr(event, "message", None)
        if conversation_id is None and message is not None:
            conversation_id = getattr(message, "conversation_id", None)
        if not isinstance(conversation_id, str):
            return None
        try:
            return await self.conversations.get(conversation_id)
        except NotFound:
            return None

    async def on_contact_erased(self, event: Event) -> None:
        """``contact.erased`` dropped the logged events naming the contact; events still waiting in
        this window would be logged after it. From now on they are dropped here; a batch already
        being forwarded is waited for, and what it logged is dropped too."""
        ids = [i for i in (getattr(event, "contact_id", None), *getattr(event, "conversation_ids", []),
                           *getattr(event, "message_ids", [])) if isinstance(i, str)]
        until = time.monotonic() + ERASED_FOR_S
        self.erased.update(dict.fromkeys(ids, until))
        async with self.lock:
            pass
        await drop_logged_events(self.log.store, ids)

    def names_erased(self, event: Event, conversation: Conversation | None) -> bool:
        if not self.erased:
            return False
        now = time.monotonic()
        self.erased = {k: v for k, v in self.erased.items() if v > now}
        message = getattr(event, "message", None)
        notification = getattr(event, "notification", None)
        named = {getattr(message, "id", None), getattr(message, "contact_id", None),
                 getattr(event, "conversation_id", None), getattr(event, "contact_id", None),
                 getattr(event, "source_id", None), getattr(event, "target_id", None)}
        if conversation is not None:
            named |= {conversation.id, conversation.contact_id}
        if isinstance(notification, dict):
            named |= {notification.get("conversation_id"), notification.get("message_id")}
        return not named.isdisjoint(self.erased)

    async def forward(self, events: list[Event]) -> list[int]:
        async with self.lock:
            return await self._forward(events)

    async def _forward(self, events: list[Event]) -> list[int]:
        items: list[tuple[str, list[str], dict[str, Any]]] = []
        for event in events:
            if event.name in CONTACT_EVENTS:
                if not (self.erased and self.names_erased(event, None)):
                    items.append(await self.contact_notice(event))
                continue
            personal = self.personal(event)
            conversation = None if personal is not None else await self.conversation_of(event)
            if self.erased and self.names_erased(event, conversation):
                continue
            if personal is not None:
                items.append(personal)
                continue
            if conversation is None:
                continue
            if event.name == DELETED:  # ids only: the deletion just scrubbed the log of its content
                items.append((DELETED, access.event_rooms(conversation), event.model_dump(mode="json")))
                continue
            data = event.model_dump(mode="json")
            data.setdefault("conversation_id", conversation.id)
            data["conversation"] = self.item(conversation)
            items.append((event.name, access.event_rooms(conversation), data))
            notice = self.transferred(event, conversation)
            if notice is not None:
                items.append(notice)
        if not items:
            return []
        ids = await self.log.append_many(items)
        envelopes = [
            ({"id": i, "name": name, "data": data}, rooms)
            for i, (name, rooms, data) in zip(ids, items, strict=True)
        ]
        for rooms, run in runs(envelopes):
            # one frame per socket for a run of events to the same rooms: a backlog costs one
            # serialization and one send per socket, not one per event (and order is kept)
            if len(run) == 1:
                await self.sio.emit("event", run[0], to=rooms, namespace=self.namespace)
            else:
                await self.sio.emit("events", run, to=rooms, namespace=self.namespace)
        self.forwarded += len(ids)
        self.flushes += 1
        return ids

    async def drain(self, timeout: float = 10) -> None:  # noqa: ASYNC109  a shutdown bound, enforced below
        try:
            await asyncio.wait_for(self.queue.join(), timeout)
        except TimeoutError:
            log.warning("console forwarder did not drain", extra={"left": self.queue.qsize()})


def runs(envelopes: list[tuple[dict[str, Any], list[str]]]) -> list[tuple[list[str], list[dict[str, Any]]]]:
    """Consecutive envelopes going to the same rooms, grouped (in order)."""
    out: list[tuple[list[str], list[dict[str, Any]]]] = []
    for envelope, rooms in envelopes:
        if out and out[-1][0] == rooms:
            out[-1][1].append(envelope)
        else:
            out.append((rooms, [envelope]))
    return out
