from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from .common import Channel, Model, new_id, utcnow


class Direction(StrEnum):
    inbound = "in"
    outbound = "out"


class AuthorType(StrEnum):
    customer = "customer"
    agent = "agent"
    bot = "bot"
    system = "system"


class DeliveryStatus(StrEnum):
    received = "received"
    queued = "queued"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"
    undelivered = "undelivered"


class Attachment(BaseModel):
    filename: str = ""
    content_type: str = "application/octet-stream"
    size: int = 0
    blob_id: str | None = None
    url: str | None = None


class Message(Model):
    id: str = Field(default_factory=new_id)
    conversation_id: str
    contact_id: str
    direction: Direction
    author_type: AuthorType
    author_id: str | None = None
    private: bool = False
    text: str = ""
    html: str | None = None
    subject: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    channel: Channel
    external_id: str | None = None
    delivery_status: DeliveryStatus = DeliveryStatus.received
    error: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)
