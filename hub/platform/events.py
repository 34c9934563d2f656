"""Events published by ``hub.platform``. Other packages subscribe by class or by dotted name
(``bus.subscribe("contact.erased", handler)``): e.g. the search index and the bot tracker store
drop what they hold about an erased contact."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from hub.events import Event
from hub.models import Conversation, Message


class WebhookDisabled(Event):
    """A webhook was switched off after repeated failed deliveries (a notice for admins)."""

    name: ClassVar[str] = "webhook.disabled"
    webhook_id: str
    url: str
    reason: str


class ContactErased(Event):
    """Right to be forgotten: everything personal about the contact was erased or anonymized.
    Subscribers holding derived copies (search index entries, bot trackers) must drop them."""

    name: ClassVar[str] = "contact.erased"
    contact_id: str
    conversation_ids: list[str]
    message_ids: list[str]
    # the identity values and keys it had ("+2782…", "phone:+2782…"): holders keyed by address (channel
    # spools, call logs, raw e-mails) find their copies by them, as the identities are gone by now.
    # In-process only: excluded from model_dump, so never sent to webhooks or written to event logs.
    identities: list[str] = Field(default_factory=list, exclude=True)


class ConversationDeleted(Event):
    """An admin deleted a ticket with its messages (``DELETE /conversations/{id}``): holders of
    derived copies (search index entries, replay logs, bot trackers) drop theirs."""

    name: ClassVar[str] = "conversation.deleted"
    conversation_id: str
    contact_id: str
    message_ids: list[str]
    number: int | None = None
    # the ticket as it was, so the console can reach the rooms that showed it (in-process only:
    # excluded from model_dump, never sent to webhooks or written to event logs)
    conversation: Conversation | None = Field(default=None, exclude=True)


class MessageRedacted(Event):
    """An admin or supervisor redacted a message's text and/or attachments
    (``hub/platform/messages.py``); ``message`` is the redacted version, which holders of copies
    (the console's open threads, integrations) show instead. Never carries the removed content."""

    name: ClassVar[str] = "message.redacted"
    message: Message
    conversation_id: str
    reason: str
    whole: bool


__all__ = ["ContactErased", "ConversationDeleted", "MessageRedacted", "WebhookDisabled"]
