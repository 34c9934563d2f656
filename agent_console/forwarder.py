"""Forwards hub events about conversations to the console: log each one, then emit it to its rooms.

Subscribed to every bus event (``"*"``); the subscriber only queues, so publishers (ingest, the
REST API) never wait for the console. One task per node drains the queue in publish order. Any
event that carries a ``conversation`` (or a ``conversation_id``, or a ``message`` of one) is
forwarded: ``message.created``, ``message.updated`` (delivery status), ``conversation.created`` /
``updated`` (assignment, status), and whatever the other packages add (handoffs, SLA warnings).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.errors import NotFound
from hub.events import Event
from hub.models import Conversation

from . import access
from .eventlog import EventLog

log = logging.getLogger(__name__)

SKIP_PREFIXES = ("contact.", "agent.")


class Forwarder:
    def __init__(self, sio: Any, namespace: str, event_log: EventLog, conversations: Any) -> None:
        self.sio = sio
        self.namespace = namespace
        self.log = event_log
        self.conversations = conversations
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.forwarded = 0

    async def on_event(self, event: Event) -> None:
        if not event.name.startswith(SKIP_PREFIXES):
            self.queue.put_nowait(event)

    async def run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self.forward(event)
            except Exception:
                log.exception("console forward failed", extra={"event": event.name})
            finally:
                self.queue.task_done()

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

    async def forward(self, event: Event) -> int | None:
        conversation = await self.conversation_of(event)
        if conversation is None:
            return None
        rooms = access.event_rooms(conversation)
        data = event.model_dump(mode="json")
        data.setdefault("conversation_id", conversation.id)
        if "conversation" not in data:
            data["conversation"] = conversation.model_dump(mode="json")
        event_id = await self.log.append(event.name, rooms, data)
        await self.sio.emit("event", {"id": event_id, "name": event.name, "data": data}, to=rooms,
                            namespace=self.namespace)
        self.forwarded += 1
        return event_id

    async def drain(self, timeout: float = 10) -> None:
        try:
            await asyncio.wait_for(self.queue.join(), timeout)
        except TimeoutError:
            log.warning("console forwarder did not drain", extra={"left": self.queue.qsize()})
