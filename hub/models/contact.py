from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from .common import Model, new_id, utcnow


class ContactType(StrEnum):
    consumer = "consumer"
    provider = "provider"


class IdentityKind(StrEnum):
    phone = "phone"
    whatsapp = "whatsapp"
    email = "email"
    chat = "chat"
    external = "external"


class Identity(Model):
    """``_id`` is the normalized key (``phone:+27821234567``); one contact per key."""

    id: str
    contact_id: str
    kind: IdentityKind
    value: str
    created_at: datetime = Field(default_factory=utcnow)


class Contact(Model):
    id: str = Field(default_factory=new_id)
    type: ContactType = ContactType.consumer
    name: str = ""
    language: str | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    consent: dict[str, Any] = Field(default_factory=dict)
    vip: bool = False
    merged_into: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
