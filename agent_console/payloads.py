"""Shapes of what a console client may send on ``/agents``. Every event is validated here before a
handler runs; anything else (unknown fields, wrong types, oversized text) is refused in the ack."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.models import Channel, Priority, Status, Tag
from hub.models.inbound import MAX_TEXT

BLOB = re.compile(r"[0-9a-f]{24}")
Id = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-:.]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConversationRef(Strict):
    conversation_id: str = Id


class Typing(ConversationRef):
    typing: bool = True


class Template(Strict):
    """An approved WhatsApp template (outside the 24-hour window free text is refused)."""
    content_sid: str = Field(pattern=r"^HX[0-9a-fA-F]{32}$")
    variables: dict[str, str] = Field(default_factory=dict, max_length=20)


class Reply(ConversationRef):
    text: str = Field("", max_length=MAX_TEXT)
    private: bool = False
    subject: str | None = Field(None, max_length=1000)
    cc: list[str] = Field(default_factory=list, max_length=10)  # e-mail only; checked by the hub
    attachments: list[str] = Field(default_factory=list, max_length=10)  # blob ids from an upload
    template: Template | None = None
    # The client's id for this reply: sending it again (after a dropped connection) stores it once.
    client_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")

    @model_validator(mode="after")
    def _something(self) -> Reply:
        if not self.text.strip() and self.template is None and not self.attachments:
            raise ValueError("text: write something, attach a file or pick a template")
        if any(len(a) > 254 for a in self.cc):
            raise ValueError("cc: an address is longer than 254 characters")
        if any(not BLOB.fullmatch(a) for a in self.attachments):
            raise ValueError("attachments: not an uploaded file's id")
        return self


class Changes(Strict):
    status: Status | None = None
    priority: Priority | None = None
    assignee_id: str | None = Field(None, max_length=64)
    team_id: str | None = Field(None, max_length=64)
    tags: list[Tag] | None = Field(None, max_length=50)
    snooze_until: datetime | None = Field(None, description="With status snoozed: when to wake the ticket")


class Update(ConversationRef):
    changes: Changes


class Presence(Strict):
    status: Literal["online", "away"]


class ListQuery(Strict):
    view: Literal["mine", "unassigned", "teams", "all"] = "all"
    status: list[Status] = Field(default_factory=list, max_length=5)
    channel: Channel | None = None
    priority: Priority | None = None
    tag: str | None = Field(None, max_length=100)
    q: str = Field("", max_length=200)
    limit: int = Field(100, ge=1, le=200)


class CatchUp(Strict):
    last_id: int = Field(ge=0)
    seen: list[int] | None = Field(None, max_length=1000)


__all__ = [
    "CatchUp",
    "Changes",
    "ConversationRef",
    "ListQuery",
    "Presence",
    "Reply",
    "Template",
    "Typing",
    "Update",
]
