"""What every channel adapter hands to ``ingest()``: one provider-neutral inbound message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .common import Channel, utcnow
from .contact import ContactType, IdentityKind
from .message import Attachment

MAX_TEXT = 100_000


class SenderIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)


class InboundMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    external_id: str = Field(
        min_length=1, max_length=300, description="Provider message id: ingest is idempotent on it"
    )
    sender: SenderIdentity
    sender_name: str = Field("", max_length=200)
    contact_type: ContactType | None = None
    text: str = Field("", max_length=MAX_TEXT)
    html: str | None = Field(None, max_length=5 * MAX_TEXT)
    subject: str | None = Field(None, max_length=1000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)
    thread_key: str | None = Field(
        None, max_length=500, description="Channel-specific thread (e-mail thread, chat session)"
    )
    conversation_id: str | None = Field(
        None, description="Set when the channel already knows the ticket (reply token)"
    )
    language: str | None = None
    received_at: datetime = Field(default_factory=utcnow)
    meta: dict[str, Any] = Field(default_factory=dict)
