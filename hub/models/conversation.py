from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from .common import Channel, Model, new_id, utcnow


class Status(StrEnum):
    open = "open"
    pending = "pending"
    snoozed = "snoozed"
    resolved = "resolved"
    closed = "closed"


ACTIVE_STATUSES = (Status.open, Status.pending, Status.snoozed)
ACTIVE_VALUES = tuple(s.value for s in ACTIVE_STATUSES)  # as stored: for {"status": {"$in": ACTIVE_VALUES}}


def bot_engaged(bot: dict[str, Any]) -> bool:
    """The bot had a turn in the conversation, or handed it off (``Conversation.bot``: the bot's state;
    ``{"active": False}`` alone says only that people have it)."""
    return bool(bot.get("turns") or bot.get("handoff"))


def bot_deflected(bot: dict[str, Any], first_response_at: datetime | None) -> bool:
    """Only the bot answered: it never handed off, no agent took the conversation, none replied."""
    return (bot_engaged(bot) and bot.get("handoff") is None and bot.get("taken") is None
            and first_response_at is None)


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Conversation(Model):
    """A conversation is a ticket: one thread with one contact on one channel."""

    id: str = Field(default_factory=new_id)
    number: int
    contact_id: str
    channel: Channel
    thread_key: str
    status: Status = Status.open
    priority: Priority = Priority.normal
    assignee_id: str | None = None
    team_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    subject: str = ""
    language: str | None = None
    sla: dict[str, Any] = Field(default_factory=dict)
    bot: dict[str, Any] = Field(default_factory=dict)
    csat: dict[str, Any] | None = None
    # Ticketing (hub/ticketing): snooze wake-up time, free-form fields, why the priority is what it is,
    # and the ticket this one was merged into.
    snooze_until: datetime | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    priority_reason: str | None = None
    merged_into: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    last_message_at: datetime = Field(default_factory=utcnow)
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None  # the user who resolved it last (None: the system, the bot or an API key)
