"""Events published by ``hub.platform``. Other packages subscribe by class or by dotted name
(``bus.subscribe("contact.erased", handler)``): e.g. the search index and the bot tracker store
drop what they hold about an erased contact."""

from __future__ import annotations

from typing import ClassVar

from hub.events import Event


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


__all__ = ["ContactErased", "WebhookDisabled"]
