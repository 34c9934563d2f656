"""Consent records per contact and purpose: an append-only history (who recorded it, from which
source, when); the contact's ``consent`` field holds the latest state per purpose for quick reads."""

from __future__ import annotations

from typing import Any

from hub.contacts import Contacts
from hub.models import new_id, utcnow
from hub.store import Store, ix, register

register("consents", ix(("contact_id", 1), ("purpose", 1), ("at", -1)))

PURPOSE = r"^[a-z][a-z0-9_]{0,39}$"  # becomes a field name under contact.consent: no dots, no $


class Consents:
    def __init__(self, store: Store, contacts: Contacts) -> None:
        self.store = store
        self.contacts = contacts
        self.col = store["consents"]

    async def record(self, contact_id: str, purpose: str, granted: bool, source: str, actor: str,
                     note: str = "") -> dict[str, Any]:
        contact = await self.contacts.get(contact_id)
        now = utcnow()
        doc = {"_id": new_id(), "contact_id": contact.id, "purpose": purpose, "granted": granted,
               "source": source, "note": note, "recorded_by": actor, "at": now}
        await self.col.insert_one(doc)
        await self.store.contacts.update_one({"_id": contact.id}, {"$set": {
            f"consent.{purpose}": {"granted": granted, "source": source, "at": now}, "updated_at": now}})
        return _out(doc)

    async def history(self, contact_id: str, purpose: str | None = None) -> list[dict[str, Any]]:
        contact = await self.contacts.get(contact_id)
        flt: dict[str, Any] = {"contact_id": contact.id}
        if purpose:
            flt["purpose"] = purpose
        return [_out(d) async for d in self.col.find(flt).sort("_id", -1).limit(1000)]


def _out(doc: dict[str, Any]) -> dict[str, Any]:
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    return doc
