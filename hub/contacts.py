"""Contacts: resolution by identity, the 360° profile, and merging two contacts into one.

Race-free on any MongoDB-compatible server: an identity's ``_id`` is its normalized key, so two
nodes resolving the same new phone number at once both end on the one contact whose identity
insert won.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import phonenumbers
from pymongo.errors import DuplicateKeyError

from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import ContactCreated, ContactsMerged, ContactUpdated, EventBus
from hub.identity import DEFAULT_REGION, identity_key, normalize, normalize_phone
from hub.models import Contact, ContactType, Identity, IdentityKind, utcnow
from hub.store import Store

log = logging.getLogger(__name__)
MAX_MERGE_HOPS = 10
IDENTITY_HITS = 200  # identities per kind a search query matches (a search box, not an export)
_PHONE_TYPED = re.compile(r"^\+?[0-9]{3,}$")  # after dropping spaces, dashes, dots, brackets
_PHONE_NOISE = re.compile(r"[\s\-.()/]")


def _address_only(query: str) -> bool:
    """An ``@`` or a number: no name looks like that, so the name scan is skipped."""
    return "@" in query or bool(_PHONE_TYPED.match(_PHONE_NOISE.sub("", query)))


def _checked(kind: IdentityKind, value: str, field: str) -> tuple[str, str]:
    """(identity key, normalized value), or InvalidInput naming ``field`` of the request body."""
    try:
        normalized = normalize(kind, value)
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, field=field) from exc
    return identity_key(kind, normalized), normalized


def from_prefix(kind: IdentityKind, prefix: str) -> dict[str, Any]:
    """Identities of ``kind`` from ``prefix`` on, read in ``PREFIX_ORDER``: FerretDB seeks the
    (kind, value) index with a lower bound alone (an upper bound too would walk the whole kind)."""
    return {"kind": kind.value, "value": {"$gte": prefix}}


PREFIX_ORDER = [("value", 1)]


def identity_prefixes(query: str) -> list[tuple[IdentityKind, str]]:
    """The stored-value prefixes a typed query stands for: e-mail as typed (stored lower-case);
    a phone number in E.164, national digits with the default region's code (``082 123`` →
    ``+2782123``), for phone and WhatsApp identities."""
    typed = query.strip().lower()
    prefixes: list[tuple[IdentityKind, str]] = []
    if typed and not any(c.isspace() for c in typed):
        prefixes.append((IdentityKind.email, typed))
    digits = _PHONE_NOISE.sub("", typed)
    if _PHONE_TYPED.match(digits):
        code = str(phonenumbers.country_code_for_region(DEFAULT_REGION))
        if digits.startswith("+"):
            numbers = [digits]
        elif digits.startswith("00"):
            numbers = ["+" + digits[2:]]
        elif digits.startswith("0"):
            numbers = ["+" + code + digits[1:]]
        else:  # international without "+", or national without the trunk 0
            numbers = ["+" + digits, "+" + code + digits]
        try:  # a whole number the normalizer reads (e.g. "+27 (0)82 …"): its exact E.164 form
            numbers.append(normalize_phone(query))
        except InvalidInput:
            pass
        for number in dict.fromkeys(numbers):
            prefixes += [(IdentityKind.phone, number), (IdentityKind.whatsapp, number)]
    return prefixes


class Contacts:
    def __init__(self, store: Store, bus: EventBus) -> None:
        self.store = store
        self.bus = bus

    async def get(self, contact_id: str, *, follow_merges: bool = True) -> Contact:
        for _ in range(MAX_MERGE_HOPS):
            doc = await self.store.contacts.find_one({"_id": contact_id})
            if doc is None:
                raise NotFound(f"contact {contact_id} not found")
            if not (follow_merges and doc.get("merged_into")):
                return Contact.from_doc(doc)
            contact_id = doc["merged_into"]
        raise Conflict(f"contact {contact_id}: merge chain too long")

    async def identities(self, contact_id: str) -> list[Identity]:
        return [Identity.from_doc(d) async for d in self.store.identities.find({"contact_id": contact_id})]

    async def find_by_identity(self, kind: IdentityKind, value: str) -> Contact | None:
        doc = await self.store.identities.find_one({"_id": identity_key(kind, value)})
        return await self.get(doc["contact_id"]) if doc else None

    async def resolve(self, kind: IdentityKind, value: str, *, name: str = "",
                      contact_type: ContactType | None = None) -> tuple[Contact, bool]:
        """The contact owning this identity, created if nobody does. Returns (contact, created)."""
        key = identity_key(kind, value)
        doc = await self.store.identities.find_one({"_id": key})
        if doc is None:
            contact = Contact(name=name, type=contact_type or ContactType.consumer)
            try:
                await self.store.identities.insert_one(
                    Identity(id=key, contact_id=contact.id, kind=kind, value=normalize(kind, value)).to_doc()
                )
            except DuplicateKeyError:
                doc = await self.store.identities.find_one({"_id": key})
            else:
                await self._insert_once(contact)
                await self.bus.publish(ContactCreated(contact_id=contact.id))
                return contact, True
        assert doc is not None
        for _ in range(10):  # the identity's winner may be writing its contact right now
            try:
                return await self.get(doc["contact_id"]), False
            except NotFound:
                await asyncio.sleep(0.02)
        # The identity was claimed but its contact never written (a crash in between): repair.
        await self._insert_once(Contact(id=doc["contact_id"], name=name, type=contact_type or ContactType.consumer))
        return await self.get(doc["contact_id"]), True

    async def _insert_once(self, contact: Contact) -> None:
        try:
            await self.store.contacts.insert_one(contact.to_doc())
        except DuplicateKeyError:
            pass  # written concurrently by the repair path: same id, same person

    async def create(self, contact: Contact, identities: list[tuple[IdentityKind, str]]) -> Contact:
        keys = []
        for i, (kind, typed) in enumerate(identities):
            key, value = _checked(kind, typed, f"identities[{i}].value")
            keys.append((kind, key, value))
        claimed: list[str] = []
        try:
            for kind, key, value in keys:
                await self.store.identities.insert_one(
                    Identity(id=key, contact_id=contact.id, kind=kind, value=value).to_doc())
                claimed.append(key)
        except DuplicateKeyError as exc:
            if claimed:
                await self.store.identities.delete_many({"_id": {"$in": claimed}, "contact_id": contact.id})
            taken = len(claimed)
            raise await self._taken(keys[taken][1], f"identities[{taken}].value") from exc
        await self.store.contacts.insert_one(contact.to_doc())
        await self.bus.publish(ContactCreated(contact_id=contact.id))
        return contact

    async def add_identity(self, contact_id: str, kind: IdentityKind, value: str) -> Identity:
        contact = await self.get(contact_id)
        key, value = _checked(kind, value, "value")
        identity = Identity(id=key, contact_id=contact.id, kind=kind, value=value)
        try:
            await self.store.identities.insert_one(identity.to_doc())
        except DuplicateKeyError as exc:
            raise await self._taken(identity.id, "value") from exc
        return identity

    async def _taken(self, key: str, field: str) -> Conflict:
        """The 409 for an identity someone owns, naming the owner (to open or merge it)."""
        owner = await self.store.identities.find_one({"_id": key}, {"contact_id": 1})
        whose = f"contact {owner['contact_id']}" if owner else "another contact"
        return Conflict(f"identity {key} already belongs to {whose}", field=field)

    async def update(self, contact_id: str, changes: dict[str, Any]) -> Contact:
        allowed = {"name", "type", "language", "tags", "custom_fields", "vip"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidInput(f"cannot change {sorted(unknown)}", field=sorted(unknown)[0])
        contact = await self.get(contact_id)
        updated = Contact.model_validate({**contact.model_dump(), **changes, "updated_at": utcnow()})
        await self.store.contacts.replace_one({"_id": contact.id}, updated.to_doc())
        await self.bus.publish(ContactUpdated(contact_id=contact.id, changes=changes))
        return updated

    async def search_filter(self, query: str = "", contact_type: ContactType | None = None) -> dict[str, Any]:
        """Contacts not merged away, by type and ``query``: the start of an e-mail address or phone
        number (also typed with spaces or a leading 0), or a case-insensitive name fragment. A query
        that can only be an address (an ``@``, or digits) is answered from indexes alone."""
        flt: dict[str, Any] = {"merged_into": None}
        if contact_type:
            flt["type"] = contact_type.value
        query = query.strip()
        if query:
            owners = {"_id": {"$in": await self._owners_of_identities(query)}}
            name = {"name": {"$regex": re.escape(query), "$options": "i"}}
            flt.update(owners if _address_only(query) else {"$or": [name, owners]})
        return flt

    async def _owners_of_identities(self, query: str) -> list[str]:
        """The contacts with an identity starting with ``query`` (up to ``IDENTITY_HITS`` per kind):
        each prefix is one range on the (kind, value) index, read in order until it stops matching."""
        owners: dict[str, None] = {}
        for kind, prefix in identity_prefixes(query):
            found = self.store.identities.find(from_prefix(kind, prefix), {"contact_id": 1, "value": 1})
            async for doc in found.sort(PREFIX_ORDER).limit(IDENTITY_HITS).batch_size(20):
                if not str(doc.get("value", "")).startswith(prefix):
                    break  # past the prefix: the rest of the index cannot match
                owners[doc["contact_id"]] = None
        return list(owners)

    async def search(self, query: str = "", *, contact_type: ContactType | None = None,
                     limit: int = 50, after: str | None = None) -> list[Contact]:
        flt = await self.search_filter(query, contact_type)
        if after:
            flt["_id"] = {"$lt": after}
        cursor = self.store.contacts.find(flt).sort("_id", -1).limit(limit)
        return [Contact.from_doc(d) async for d in cursor]

    async def merge(self, source_id: str, target_id: str) -> Contact:
        """Fold ``source`` into ``target``: identities, conversations, messages and consent records
        move; the source keeps ``merged_into``. Each step is idempotent, so a merge interrupted half-way is
        finished by running it again (no multi-document transactions on FerretDB)."""
        if source_id == target_id:
            raise InvalidInput("cannot merge a contact into itself", field="target_id")
        source = await self.get(source_id, follow_merges=False)
        target = await self.get(target_id)
        if source.merged_into and source.merged_into != target.id:
            raise Conflict(f"contact {source_id} was already merged into {source.merged_into}")
        if target.id == source.id:
            raise InvalidInput("cannot merge a contact into itself", field="target_id")
        move = {"$set": {"contact_id": target.id}}
        await self.store.identities.update_many({"contact_id": source.id}, move)
        await self.store.conversations.update_many({"contact_id": source.id}, move)
        await self.store.messages.update_many({"contact_id": source.id}, move)
        await self.store["conversation_threads"].update_many({"contact_id": source.id}, move)
        await self.store["consents"].update_many({"contact_id": source.id}, move)
        merged_fields = {
            "consent": await self._merged_consent(target, source),
            "tags": sorted(set(target.tags) | set(source.tags)),
            "custom_fields": {**source.custom_fields, **target.custom_fields},
            "name": target.name or source.name,
            "language": target.language or source.language,
            "vip": target.vip or source.vip,
            "updated_at": utcnow(),
        }
        await self.store.contacts.update_one({"_id": target.id}, {"$set": merged_fields})
        await self.store.contacts.update_one({"_id": source.id},
                                             {"$set": {"merged_into": target.id, "updated_at": utcnow()}})
        await self.bus.publish(ContactsMerged(source_id=source.id, target_id=target.id))
        return await self.get(target.id)

    async def _merged_consent(self, target: Contact, source: Contact) -> dict[str, Any]:
        """Per purpose (or channel opt-out), the newest state of the two: a withdrawal on the
        duplicate after a grant on the survivor stays withdrawn. Purposes with consent records
        (all of them on the survivor now) take the newest record's state."""
        def at(state: Any) -> Any:
            return state.get("at") if isinstance(state, dict) else None

        merged: dict[str, Any] = dict(target.consent)
        for key, state in source.consent.items():
            mine = merged.get(key)
            if mine is None or (at(state) is not None and (at(mine) is None or at(state) > at(mine))):
                merged[key] = state
        async for doc in self.store["consents"].find({"contact_id": target.id}).sort("at", 1).limit(10_000):
            merged[doc["purpose"]] = {"granted": doc["granted"], "source": doc["source"], "at": doc["at"]}
        return merged

    async def delete(self, contact_id: str) -> None:
        """Delete a contact that has no conversations (one with history is erased through the
        privacy tools instead, which keep an audit record)."""
        contact = await self.get(contact_id, follow_merges=False)
        if await self.store.conversations.find_one({"contact_id": contact.id}, {"_id": 1}):
            raise Conflict("the contact has conversations; use the privacy erase instead", field="contact_id")
        await self.store.identities.delete_many({"contact_id": contact.id})
        await self.store.contacts.delete_one({"_id": contact.id})
