"""Consent records per contact and purpose: an append-only history (who recorded it, from which
source, when); the contact's ``consent`` field holds the latest state per purpose for quick reads."""

from __future__ import annotations

from typing import Any

from hub.api import pages
from hub.api.pages import PageQuery, Sorts
from hub.contacts import Contacts
from hub.models import new_id, utcnow
from hub.store import Store, ix, register

register("consents", ix(("contact_id", 1), ("purpose", 1), ("at", -1)))

PURPOSE = r"^[a-z][a-z0-9_]{0,39}$"  # becomes a field name under contact.consent: no dots, no $
CONSENT_SORTS = Sorts({"id": "_id", "at": "at", "purpose": "purpose"}, "-id")  # ids grow with time


class Consents:
    def __init__(self, store: Store, contacts: Contacts) -> None:
        self.store = store
        self.contacts = contacts
        self.col = store["consents"]

    async def record(self, contact_id: str, purpose: str, granted: bool, source: str, actor: str,
                     note: str = "") -> dict[str, Any]:
        contact = await self.contacts.get(contact_id)
        now = utcnow()
        record_id = new_id()
        doc = {"_id": record_id, "contact_id": contact.id, "purpose": purpose, "granted": granted,
               "source": source, "note": note, "recorded_by": actor, "at": now}
        state = {"granted": granted, "source": source, "at": now}
        await self.col.insert_one(doc)
        await self.store.contacts.update_one({"_id": contact.id}, {"$set": {
            f"consent.{purpose}": state, "updated_at": now}})
        # a contact being merged away: the record and the state go to the survivor (as a STOP's do)
        doc["contact_id"] = await self.contacts.settle_consent(contact.id, purpose, state, record_id)
        return _out(doc)

    async def history(self, contact_id: str, query: PageQuery, purpose: str | None = None) -> dict[str, Any]:
        """A page of the contact's consent history (``hub/api/pages.py``), newest first by default."""
        contact = await self.contacts.get(contact_id)
        flt: dict[str, Any] = {"contact_id": contact.id}
        if purpose:
            flt["purpose"] = purpose
        return await pages.page(self.col, flt, query, CONSENT_SORTS, _out)


_out = pages.with_id
