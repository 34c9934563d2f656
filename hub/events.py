"""Domain events and the in-process event bus.

Events are pydantic classes with a dotted ``name``. Services publish an event only after the store
accepted the write. Subscribers are wired in one place, ``hub/app.py`` (and each package's
``setup``), so "what happens when a message arrives" is greppable.

Inline subscribers are awaited in order (their failure is logged, never raised to the publisher);
``background=True`` subscribers run as tasks the bus tracks and awaits on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from hub.models import Contact, Conversation, Message, Status, utcnow

log = logging.getLogger(__name__)


class Event(BaseModel):
    name: ClassVar[str] = "event"
    at: Any = Field(default_factory=utcnow)


def published_names() -> frozenset[str]:
    """The names of every event class loaded: what the hub's packages can publish."""
    seen, todo = set(), list(Event.__subclasses__())
    while todo:
        cls = todo.pop()
        seen.add(cls.name)
        todo.extend(cls.__subclasses__())
    return frozenset(seen)


class MessageCreated(Event):
    name: ClassVar[str] = "message.created"
    message: Message
    conversation: Conversation
    # The sender as the ingest just resolved it, for in-process subscribers (the priority
    # classifier) that would otherwise read it again; never serialized (console, webhooks).
    contact: Contact | None = Field(default=None, exclude=True, repr=False)
    # The status this customer message reopened the ticket from (the ingest published the reopen's
    # conversation.updated just before), for in-process subscribers: ticketing fires the
    # ticket.updated rules once its reopen work is done. Never serialized.
    reopened_from: Status | None = Field(default=None, exclude=True, repr=False)


class ConversationCreated(Event):
    name: ClassVar[str] = "conversation.created"
    conversation: Conversation


class ConversationUpdated(Event):
    name: ClassVar[str] = "conversation.updated"
    conversation: Conversation
    changes: dict[str, Any] = Field(default_factory=dict)
    previous: dict[str, Any] = Field(default_factory=dict, description="The changed fields' values before")
    actor_id: str | None = None
    # The customer's message that caused the change (the ingest reopening a ticket), for in-process
    # subscribers: ticketing leaves it to its message.created handler. Never serialized.
    by_message_id: str | None = Field(default=None, exclude=True, repr=False)


class ContactCreated(Event):
    name: ClassVar[str] = "contact.created"
    contact_id: str


class ContactUpdated(Event):
    name: ClassVar[str] = "contact.updated"
    contact_id: str
    changes: dict[str, Any] = Field(default_factory=dict)


class ContactsMerged(Event):
    name: ClassVar[str] = "contact.merged"
    source_id: str
    target_id: str


class ContactsUnmerged(Event):
    """A merge was undone (``Contacts.unmerge``): ``identities`` and ``conversations`` went back to
    the source; ``left`` names what the merge had moved but stayed where it is now."""

    name: ClassVar[str] = "contact.unmerged"
    source_id: str
    target_id: str
    identities: list[str] = Field(default_factory=list)
    conversations: list[str] = Field(default_factory=list)
    left: dict[str, list[str]] = Field(default_factory=dict)


class MessageUpdated(Event):
    """A stored message changed after creation (delivery status, provider id, send error)."""

    name: ClassVar[str] = "message.updated"
    message: Message
    changes: dict[str, Any] = Field(default_factory=dict)


Handler = Callable[[Any], Awaitable[object]]  # a subscriber's result is not used


class EventBus:
    def __init__(self) -> None:
        self._inline: dict[str, list[Handler]] = defaultdict(list)
        self._background: dict[str, list[Handler]] = defaultdict(list)
        self._tasks: set[asyncio.Task[None]] = set()
        self._captures: list[list[Event]] = []

    def subscribe(self, event: type[Event] | str, handler: Handler, *, background: bool = False) -> None:
        """Subscribe to one event name, or ``"*"`` for every event."""
        name = event if isinstance(event, str) else event.name
        (self._background if background else self._inline)[name].append(handler)

    async def publish(self, event: Event) -> None:
        for captured in self._captures:
            captured.append(event)
        for handler in (*self._inline[event.name], *self._inline["*"]):
            try:
                await handler(event)
            except Exception:
                log.exception("event subscriber failed", extra={"event": event.name})
        for handler in (*self._background[event.name], *self._background["*"]):
            task = asyncio.create_task(self._run(handler, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: Handler, event: Event) -> None:
        try:
            await handler(event)
        except Exception:
            log.exception("background subscriber failed", extra={"event": event.name})

    async def drain(self) -> None:
        """Wait for the background subscribers started so far (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @contextmanager
    def capture(self) -> Iterator[list[Event]]:
        """Collect the events published inside the block (tests assert the exact list)."""
        captured: list[Event] = []
        self._captures.append(captured)
        try:
            yield captured
        finally:
            self._captures.remove(captured)


__all__ = [
    "ContactCreated",
    "ContactUpdated",
    "ContactsMerged",
    "ContactsUnmerged",
    "ConversationCreated",
    "ConversationUpdated",
    "Event",
    "EventBus",
    "MessageCreated",
    "MessageUpdated",
]


class BotHandoff(Event):
    """The bot stopped answering a conversation; ``summary`` is what the agent needs (intents,
    entities, articles offered, reason, language). Published by ``bot.service``."""

    name: ClassVar[str] = "bot.handoff"
    conversation: Conversation
    reason: str
    summary: dict[str, Any] = Field(default_factory=dict)


__all__ += ["BotHandoff"]


class TeamMembershipChanged(Event):
    """Who is in which team changed (a team's members or supervisor, a user's ``team_ids``): the
    console moves these users' open sockets into or out of the teams' rooms at once."""

    name: ClassVar[str] = "team.membership_changed"
    user_ids: list[str]
    team_ids: list[str]


__all__ += ["TeamMembershipChanged"]


class UserSignedOut(Event):
    """A user was signed out everywhere (``Tokens.revoke_user``: deactivated, password, role or
    teams changed, an admin's "sign out everywhere"), or out of one sign-in (``session_id``:
    ``Tokens.revoke_session``): the console disconnects those open sockets on every node at once,
    as REST refuses those access tokens at once."""

    name: ClassVar[str] = "user.signed_out"
    user_id: str
    reason: str = ""
    session_id: str | None = None  # one sign-in ended (its sockets only); None: every sign-in


__all__ += ["UserSignedOut"]
