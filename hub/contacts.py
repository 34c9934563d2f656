"""Contacts: resolution by identity, the 360° profile, and merging two contacts into one.

Race-free on any MongoDB-compatible server: an identity's ``_id`` is its normalized key, so two
nodes resolving the same new phone number at once both end on the one contact whose identity
insert won.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

import phonenumbers
from pymongo.errors import DuplicateKeyError

from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import (
    ContactCreated,
    ContactsMerged,
    ContactsUnmerged,
    ContactUpdated,
    ConversationUpdated,
    EventBus,
)
from hub.identity import DEFAULT_REGION, identity_key, normalize, normalize_phone
from hub.models import (
    Channel,
    Contact,
    ContactType,
    Conversation,
    Direction,
    Identity,
    IdentityKind,
    utcnow,
)
from hub.store import Store, ix, register

log = logging.getLogger(__name__)
MAX_MERGE_HOPS = 10
IDENTITY_HITS = 200  # identities per kind a search query matches (a search box, not an export)
_PHONE_TYPED = re.compile(r"^\+?[0-9]{3,}$")  # after dropping spaces, dashes, dots, brackets
_PHONE_NOISE = re.compile(r"[\s\-.()/]")
# What a merge moves from the source to the target, by collection: the ids are recorded (``RECORDS``)
# before they move, so ``unmerge`` can move them back.
MOVED = {"identities": "identities", "conversations": "conversations", "threads": "conversation_threads",
         "consents": "consents"}
OWN_FIELDS = ("name", "language", "vip", "tags", "custom_fields", "consent")
IDENTITY_KINDS = {kind.value for kind in IdentityKind}
# Merges and unmerges in progress. FerretDB v1 does not serialize conditional updates (two
# ``update_one({..., "merging_into": None})`` can both match: ``Store.claim``), so who may merge what
# is decided by inserts: ``lock`` (a short lease, held only while a merge or unmerge checks and takes
# its claim), ``from:<source>`` {target, at, done} (a merge of source into target: until ``done`` no
# other merge of that source or into it runs, and an interrupted merge is resumed by running it
# again; kept when done, removed by ``unmerge``) and ``unmerge:<source>`` {target, token,
# lease_until} (an unmerge running). The two leases are ``Store.acquire``'s: taken over once
# expired. Inbound messages never read these: a merge marks its source contact (``merging``) for
# them, see ``settle_late_write``.
CLAIMS = "contact_merges"
register(CLAIMS)
LOCK_LEASE = timedelta(seconds=15)
LOCK_WAIT = 5.0  # seconds a merge waits for another one's check to finish
UNMERGE_LEASE = timedelta(minutes=5)
# A merge's record, in documents of its own that only merges and unmerges write (never a field of the
# contact: FerretDB v1 rewrites a whole document on update, so a concurrent write to the contact, a
# STOP's consent, could drop it): ``_id = <source>`` {kind: "merge", source_id, target_id, at,
# complete, source (its own fields), target_before, target_changes} and one inserted document per
# moved id, ``_id = <source>|<name>|<id>`` {kind: "item", source_id, name, item_id}. Contacts merged
# before this kept the record on the contact (``merge_record``): read when there is no ``merge`` doc.
RECORDS = "contact_merge_records"
register(RECORDS, ix(("source_id", 1)), ix(("target_id", 1)))
SWEEPS, SWEEP_GRACE = 5, 0.1  # merge passes after the first (while they still move something); seconds


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
        # a whole number the normalizer reads (e.g. "+27 (0)82 …"): its exact E.164 form
        with suppress(InvalidInput):
            numbers.append(normalize_phone(query))
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

    async def merged_from(self, contact_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """The contacts merged into this one that ``unmerge`` can restore (a finished merge record
        naming it), newest merge first, at most ``limit``: read on the records' ``target_id`` index and,
        for merges recorded on the contact before ``RECORDS``, the ``merged_into`` index."""
        out: list[dict[str, Any]] = []
        heads = self.store[RECORDS].find({"kind": "merge", "target_id": contact_id, "complete": True})
        async for head in heads.sort("at", -1).limit(limit):
            doc = await self.store.contacts.find_one({"_id": head["source_id"]},
                                                     {"name": 1, "merged_into": 1})
            if doc is None or doc.get("merged_into") != contact_id:
                continue
            moved = await self._record_items(head["source_id"])
            out.append({"id": doc["_id"], "name": doc.get("name") or "", "merged_at": head["at"],
                        "identities": [i.partition(":")[2] for i in moved.get("identities", [])][:3]})
        found = self.store.contacts.find(
            {"merged_into": contact_id, "merge_record.complete": True, "merge_record.target_id": contact_id},
            {"name": 1, "merge_record.at": 1, "merge_record.identities": 1})
        async for d in found.sort("merge_record.at", -1).limit(limit):
            if await self.store[RECORDS].find_one({"_id": d["_id"], "kind": "merge"}, {"_id": 1}) is None:
                out.append({"id": d["_id"], "name": d.get("name") or "", "merged_at": d["merge_record"]["at"],
                            "identities": [str(i).partition(":")[2]
                                           for i in d["merge_record"].get("identities", [])][:3]})
        return sorted(out, key=lambda m: m["merged_at"], reverse=True)[:limit]

    async def find_by_identity(self, kind: IdentityKind, value: str) -> Contact | None:
        doc = await self.store.identities.find_one({"_id": identity_key(kind, value)})
        return await self.get(doc["contact_id"]) if doc else None

    async def resolve(self, kind: IdentityKind, value: str, *, name: str = "",
                      contact_type: ContactType | None = None) -> tuple[Contact, bool]:
        """The contact owning this identity, created if nobody does. Returns (contact, created)."""
        contact_id, created = await self.owner(kind, value, name=name, contact_type=contact_type)
        if created is not None:
            return created, True
        for _ in range(10):  # the identity's winner may be writing its contact right now
            try:
                return await self.get(contact_id), False
            except NotFound:
                await asyncio.sleep(0.02)
        # The identity was claimed but its contact never written (a crash in between): repair.
        await self._insert_once(Contact(id=contact_id, name=name, type=contact_type or ContactType.consumer))
        return await self.get(contact_id), True

    async def owner(self, kind: IdentityKind, value: str, *, name: str = "",
                    contact_type: ContactType | None = None) -> tuple[str, Contact | None]:
        """The id of the contact owning this identity, and that contact if it was created here (nobody
        owned the identity). An existing contact is not read: ``settle_late_write`` reads it once the
        caller has written for it (``Inbox.ingest``)."""
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
                return contact.id, contact
        assert doc is not None
        return str(doc["contact_id"]), None

    async def _insert_once(self, contact: Contact) -> None:
        # a DuplicateKeyError: written concurrently by the repair path: same id, same person
        with suppress(DuplicateKeyError):
            await self.store.contacts.insert_one(contact.to_doc())

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
        await self._touch(contact.id)
        await self.bus.publish(ContactUpdated(contact_id=contact.id, changes={"identity_added": key}))
        return identity

    async def _touch(self, contact_id: str) -> None:
        """An identity added or removed changes the contact: its updated_at (and so its ETag) moves."""
        await self.store.contacts.update_one({"_id": contact_id}, {"$set": {"updated_at": utcnow()}})

    async def remove_identity(self, contact_id: str, kind: str, value: str) -> Identity:
        """Take one address away from the contact (a wrong number, an address someone else now uses).
        Its conversations and messages stay; a thread keyed on the address (an SMS, WhatsApp or chat
        thread) is detached, so the next message from it resolves a contact like any unknown sender's
        and opens a ticket for that contact. The outbox answers only addresses the contact still owns.
        The last identity may be removed: the contact is then reachable only by an agent's ticket."""
        try:
            identity_kind = IdentityKind(kind)
        except ValueError:
            raise InvalidInput(f"no identity kind {kind[:40]!r}: one of {[k.value for k in IdentityKind]}",
                               field="kind") from None
        if len(value) > 320:
            raise InvalidInput("an identity value has at most 320 characters", field="value")
        contact = await self.get(contact_id)
        key, _ = _checked(identity_kind, value, "value")
        doc = await self.store.identities.find_one({"_id": key})  # lone _id, then the owner check
        if doc is None or doc.get("contact_id") != contact.id or not (
                await self.store.identities.delete_one({"_id": key, "contact_id": contact.id})).deleted_count:
            raise NotFound(f"contact {contact.id} has no identity {key}")
        await self._detach_threads(contact.id, [key])
        await self._touch(contact.id)
        await self.bus.publish(ContactUpdated(contact_id=contact.id, changes={"identity_removed": key}))
        return Identity.from_doc(doc)

    async def _detach_threads(self, contact_id: str, identity_keys: list[str],
                              only: dict[str, Any] | None = None) -> int:
        """Forget the threads keyed on these addresses that still lead to ``contact_id``'s tickets
        (``<channel>|<identity key>``; ``only``: more conditions, e.g. one ticket's): the address's
        next message opens a ticket for its owner."""
        slots = [f"{channel.value}|{key}" for key in identity_keys for channel in Channel]
        if not slots:
            return 0
        result = await self.store["conversation_threads"].delete_many(
            {"_id": {"$in": slots}, "contact_id": contact_id, **(only or {})})
        return int(result.deleted_count)

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
        # only the fields changed: a whole-document write from this read would drop what the model
        # does not carry (a merge's ``merging`` mark and ``merge_record``, an erasure's marks) and
        # anything written since the read (a STOP's ``consent.sms``)
        doc = updated.to_doc()
        await self.store.contacts.update_one({"_id": contact.id},
                                             {"$set": {f: doc[f] for f in [*changes, "updated_at"]}})
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
        finished by running it again (no multi-document transactions on FerretDB).

        Before anything moves, the merge records what moves (``RECORDS``: the ids of identities,
        conversations, threads and consent records, the source's own fields and the target's before),
        so ``unmerge`` can undo it; a re-run adds what is still on the source to the same record. A
        source merged before records existed (``merged_into`` without a record) gets none."""
        if source_id == target_id:
            raise InvalidInput("cannot merge a contact into itself", field="target_id")
        async with self._merge_lock():  # one merge or unmerge at a time checks and claims
            source = await self.get(source_id, follow_merges=False)
            target = await self.get(target_id)
            if source.merged_into and source.merged_into != target.id:
                raise Conflict(f"contact {source_id} was already merged into {source.merged_into}")
            if target.id == source.id:  # the target was merged into the source
                raise Conflict(f"contact {target_id} was merged into {source_id}: "
                               "merging them again the other way round would make a loop")
            claimed = target.id
            before = await self._claim_merge(source.id, claimed)
            # read again after claiming: a merge of either contact that finished just now (its
            # ``merged_into`` written before its claim was marked done) is seen here
            source, target = await self.get(source_id, follow_merges=False), await self.get(target_id)
            if target.id != claimed or source.merged_into not in (None, claimed):
                if before == {}:
                    await self.store[CLAIMS].delete_one({"_id": f"from:{source.id}", "target": claimed})
                elif before is not None:  # a finished merge's claim, as it was
                    await self.store[CLAIMS].replace_one({"_id": f"from:{source.id}"}, before)
                raise Conflict(f"contact {source_id} or {target_id} was merged into another contact "
                               "just now: look them up again")
        await self._mark_merging(source.id, target.id)
        record = await self._record_merge(source, target)
        moved = await self._move_source(source.id, target.id)
        # Second pass. An inbound message resolved to the source before its identities moved may
        # write its ticket and message after the first pass: it is recorded (for unmerge) and moved
        # here. One written even later finds the mark and moves itself (``settle_late_write``).
        # FerretDB v1 also rewrites a whole document on update, so a ticket update that read the
        # ticket before a pass moved it (the ingest's, a subscriber's) can put the source back: after
        # a pass that moved something, wait a moment and sweep again.
        for _ in range(SWEEPS):
            if moved == 0:
                break
            await asyncio.sleep(SWEEP_GRACE)
            if record is not None:
                await self._record_merge(source, target)
            moved = await self._move_source(source.id, target.id)
        merged_fields = {
            # read again: an opt-out written meanwhile (before the mark, so not settled by its writer)
            "consent": await self._merged_consent(await self.get(target.id),
                                                  await self.get(source.id, follow_merges=False)),
            "tags": sorted(set(target.tags) | set(source.tags)),
            "custom_fields": {**source.custom_fields, **target.custom_fields},
            "name": target.name or source.name,
            "language": target.language or source.language,
            "vip": target.vip or source.vip,
            "updated_at": utcnow(),
        }
        await self.store.contacts.update_one({"_id": target.id}, {"$set": merged_fields})
        done: dict[str, Any] = {"merged_into": target.id, "updated_at": utcnow()}
        if record is not None and not record.get("complete"):
            # what unmerge may take back from the target; the target's other fields are not kept
            await self.store[RECORDS].update_one({"_id": source.id, "kind": "merge"}, {"$set": {
                "complete": True, "target_before": None,
                "target_changes": _changes(record["target_before"], merged_fields)}})
        # ``merged_into`` replaces the mark in one write: a message written later finds the one or the other
        await self.store.contacts.update_one({"_id": source.id}, {"$set": done, "$unset": {"merging": ""}})
        # FerretDB v1 rewrites a whole document on update, so a concurrent write to the source (a
        # consent, a tag) may have dropped the mark: one more pass now that ``merged_into`` is set
        await self._move_source(source.id, target.id)
        # consent the source got after the read above (its writer saw the mark and also wrote it to
        # the target, where the merged consent above may have overwritten it; its record moved with
        # the last pass): newest state wins
        await self._take_newer_consent(source.id, target.id)
        # the claim is marked done last (kept until an unmerge: a re-run of a finished merge finds it)
        await self.store[CLAIMS].update_one({"_id": f"from:{source.id}", "target": target.id},
                                            {"$set": {"done": True}})
        await self.bus.publish(ContactsMerged(source_id=source.id, target_id=target.id))
        return await self.get(target.id)

    async def _mark_merging(self, source_id: str, target_id: str) -> None:
        """The mark an inbound message written from now on finds (``settle_late_write``), set before
        the first pass: a message that does not find it was written before that pass, which moves it.
        Replaced by ``merged_into`` when the merge is done; an interrupted merge keeps it until run again."""
        await self.store.contacts.update_one({"_id": source_id},
                                             {"$set": {"merging": {"into": target_id, "at": utcnow()}}})

    async def _move_source(self, source_id: str, target_id: str) -> int:
        """Everything still on the source to the target; how many documents moved."""
        move = {"$set": {"contact_id": target_id}}
        moved = 0
        for collection in ("identities", "conversations", "messages", "conversation_threads", "consents"):
            result = await self.store[collection].update_many({"contact_id": source_id}, move)
            moved += result.modified_count
        return moved

    @asynccontextmanager
    async def _merge_lock(self) -> AsyncIterator[None]:
        """Hold the ``lock`` lease (``Store.acquire``), waiting up to ``LOCK_WAIT`` for another holder;
        one that has held it past ``LOCK_LEASE`` is a dead process, and is taken over."""
        deadline = asyncio.get_running_loop().time() + LOCK_WAIT
        while (held := await self.store.acquire(CLAIMS, "lock", LOCK_LEASE)) is None:
            if asyncio.get_running_loop().time() > deadline:
                raise Conflict("another merge or unmerge is being checked: try again")
            await asyncio.sleep(0.01)
        try:
            yield
        finally:
            await self.store.release(CLAIMS, "lock", held["token"])

    async def _live_claim(self, claim_id: str) -> dict[str, Any] | None:
        """The claim ``from:<id>`` or ``unmerge:<id>`` if its work is still going (or unfinished);
        one left by a finished merge (the process died before marking it done) is marked done. An
        unmerge's is a lease (``Store.acquire``): expired, it is not live, and the next unmerge takes
        it over."""
        doc = await self.store[CLAIMS].find_one({"_id": claim_id})
        if doc is None or doc.get("done"):
            return None
        kind, _, contact_id = claim_id.partition(":")
        if kind == "unmerge":
            return doc if doc.get("lease_until") is not None and doc["lease_until"] > utcnow() else None
        source = await self.store.contacts.find_one({"_id": contact_id}, {"merged_into": 1})
        if source is not None and not (source.get("merged_into") == doc["target"] and (
                await self._merge_head(contact_id) or {"complete": True}).get("complete")):
            return doc
        await self.store[CLAIMS].update_one({"_id": claim_id, "at": doc["at"]}, {"$set": {"done": True}})
        return None

    async def _busy(self, contact_id: str, role: str, *, mine: str = "") -> None:
        """409 if ``contact_id`` is being merged into another contact or being unmerged, or if a merge
        or unmerge with it as the target is going on (``role``: what cannot happen, for the message;
        ``mine``: the caller's own claim, e.g. of a merge run again to finish it)."""
        claim = await self._live_claim(f"from:{contact_id}")
        if claim is not None:
            raise Conflict(f"contact {contact_id} is being merged into {claim['target']} (or that merge was "
                           f"interrupted: run it again to finish it), so {role}")
        if await self._live_claim(f"unmerge:{contact_id}") is not None:
            raise Conflict(f"contact {contact_id} is being unmerged, so {role}: try again")
        async for other in self.store[CLAIMS].find({"target": contact_id, "done": {"$ne": True}}, {"_id": 1}):
            if other["_id"] != mine and await self._live_claim(other["_id"]) is not None:
                what, _, who = str(other["_id"]).partition(":")
                going = "merged into" if what == "from" else "unmerged from"
                raise Conflict(f"contact {who} is being {going} contact {contact_id}, so {role}: "
                               "try again when that is done")

    async def _claim_merge(self, source_id: str, target_id: str) -> dict[str, Any] | None:
        """Under the lock: refuse a merge that could loop or split (the target being merged away or
        receiving/losing contacts in an unmerge, the source being a merge's target or merged
        elsewhere), then claim the source. A live claim for the same target is a resumed merge. The
        claim document as it was before this call ({} if none; None if resumed), to put it back."""
        await self._busy(target_id, f"it cannot be the target of a merge of {source_id}",
                         mine=f"from:{source_id}")
        own = await self._live_claim(f"from:{source_id}")
        if own is not None and own["target"] != target_id:
            raise Conflict(f"contact {source_id} is being merged into {own['target']} (or that merge was "
                           "interrupted: run it again to finish it)")
        if await self._live_claim(f"unmerge:{source_id}") is not None:
            raise Conflict(f"contact {source_id} is being unmerged: try again when that is done")
        async for other in self.store[CLAIMS].find({"target": source_id, "done": {"$ne": True}}, {"_id": 1}):
            if await self._live_claim(other["_id"]) is not None:
                who = str(other["_id"]).partition(":")[2]
                raise Conflict(f"contact {who} is being merged into or unmerged from contact {source_id}: "
                               "try again when that is done")
        claimed_before = await self.store[CLAIMS].find_one({"_id": f"from:{source_id}"}, {"_id": 1})
        merged = (await self.store.contacts.find_one({"_id": source_id}, {"merged_into": 1}) or {}).get(
            "merged_into")
        # not merged, no merge of it under way or done, but a finished record: left behind by an
        # unmerge that stopped after clearing ``merged_into``
        if (own is None and claimed_before is None and not merged
                and (await self._merge_head(source_id) or {}).get("complete")):
            await self.store[RECORDS].delete_many({"source_id": source_id})
        recorded = (await self._merge_head(source_id) or {}).get("target_id")
        if recorded is not None and recorded != target_id:
            raise Conflict(f"a merge of contact {source_id} into {recorded} is unfinished: "
                           "run that merge again to finish it")
        if own is not None:
            return None
        before = await self.store[CLAIMS].find_one({"_id": f"from:{source_id}"}) or {}
        if before and before.get("target") != target_id:  # done: the source was merged there
            raise Conflict(f"contact {source_id} was already merged into {before.get('target')}")
        await self.store[CLAIMS].replace_one({"_id": f"from:{source_id}"}, {
            "target": target_id, "at": utcnow(), "done": False}, upsert=True)
        return before

    async def settle_late_write(self, contact_id: str, conversation_id: str, *, name: str = "",
                                contact_type: ContactType | None = None) -> Contact:
        """After an inbound message was written for ``contact_id`` (``Inbox.ingest``, which got the id
        from ``owner``): the contact it belongs to now, read once. If a merge has marked the contact
        (``merging``, from before the merge's first pass until it is done) or merged it away
        (``merged_into``), the ticket, its messages and its threads move to the surviving contact: the
        merge's passes may have run before this write. The read comes after the write, so a write
        whose read finds neither happened before the merge marked the contact, so before its first
        pass, which moves it. The identity's winner may still be writing a new contact (waited for), or
        never have written it (a crash in between: repaired with ``name``/``contact_type``)."""
        doc = None
        for _ in range(10):
            if (doc := await self.store.contacts.find_one({"_id": contact_id})) is not None:
                break
            await asyncio.sleep(0.02)
        if doc is None:
            await self._insert_once(Contact(id=contact_id, name=name,
                                            type=contact_type or ContactType.consumer))
            return await self.get(contact_id)
        into = doc.get("merged_into") or (doc.get("merging") or {}).get("into")
        if not into:
            return Contact.from_doc(doc)
        final = await self.get(str(into))
        await self._move_tickets([conversation_id], final.id, from_id=contact_id)
        return final

    async def settle_consent(self, contact_id: str, key: str, state: dict[str, Any],
                             record_id: str | None = None) -> str:
        """After a consent record (``record_id``) and ``consent.<key>`` were written for
        ``contact_id`` (an SMS or WhatsApp STOP/START, ``Consents.record``): if a merge has marked the
        contact or merged it away, the record moves to the surviving contact and the same state goes
        to its ``consent``; that contact's id is returned (else ``contact_id``). One read, after the
        writes, as for a message (``settle_late_write``): a write that finds neither was before the
        merge's mark, so its passes move the record and its consent merge reads it."""
        doc = await self.store.contacts.find_one({"_id": contact_id}, {"merged_into": 1, "merging": 1}) or {}
        into = doc.get("merged_into") or (doc.get("merging") or {}).get("into")
        if not into:
            return contact_id
        final = (await self.get(str(into))).id
        if record_id is not None:
            await self.store["consents"].update_one({"_id": record_id, "contact_id": contact_id},
                                                    {"$set": {"contact_id": final}})
        await self.store.contacts.update_one({"_id": final}, {"$set": {f"consent.{key}": state,
                                                                       "updated_at": utcnow()}})
        return final

    async def _take_newer_consent(self, source_id: str, target_id: str) -> None:
        """The merged consent states (``_merged_consent``) newer (``at``) than the target's, written to
        the target: a consent record is an insert, which no concurrent update of a contact document
        can drop (FerretDB v1 rewrites the whole document), so this also brings back an opt-out whose
        write to the source's ``consent`` was lost that way."""
        target = await self.get(target_id)
        merged = await self._merged_consent(target, await self.get(source_id, follow_merges=False))
        newer = {f"consent.{key}": state for key, state in merged.items()
                 if state != target.consent.get(key) and _newer(state, target.consent.get(key))}
        if newer:
            await self.store.contacts.update_one({"_id": target_id}, {"$set": newer})

    async def _merge_head(self, source_id: str) -> dict[str, Any] | None:
        """The source's merge record without its ids: its ``merge`` document, else (merged before
        ``RECORDS``) the contact's ``merge_record``."""
        head = await self.store[RECORDS].find_one({"_id": source_id, "kind": "merge"})
        if head is not None:
            return head
        doc = await self.store.contacts.find_one({"_id": source_id}, {"merge_record": 1}) or {}
        record: dict[str, Any] | None = doc.get("merge_record")
        return record

    async def _record_items(self, source_id: str) -> dict[str, list[str]]:
        """The ids a merge of ``source_id`` recorded, by name (``MOVED``), sorted."""
        items: dict[str, list[str]] = {name: [] for name in MOVED}
        async for doc in self.store[RECORDS].find({"source_id": source_id, "kind": "item"},
                                                  {"name": 1, "item_id": 1}):
            items.setdefault(doc["name"], []).append(doc["item_id"])
        return {name: sorted(ids) for name, ids in items.items()}

    async def _merge_record(self, source_id: str) -> dict[str, Any] | None:
        """The whole record of the source's merge (head and ids), from ``RECORDS`` or the old field."""
        head = await self.store[RECORDS].find_one({"_id": source_id, "kind": "merge"})
        if head is None:
            return await self._merge_head(source_id)
        record = {k: v for k, v in head.items() if k not in ("_id", "kind", "source_id")}
        return {**record, **await self._record_items(source_id)}

    async def _add_items(self, source_id: str, moving: dict[str, list[str]]) -> None:
        """Record ids (inserts; an id already recorded, by this or a concurrent run, is skipped)."""
        known = await self._record_items(source_id)
        for name, ids in moving.items():
            for item_id in sorted(set(ids) - set(known.get(name, []))):
                with suppress(DuplicateKeyError):
                    await self.store[RECORDS].insert_one({
                        "_id": f"{source_id}|{name}|{item_id}", "kind": "item", "source_id": source_id,
                        "name": name, "item_id": item_id})

    async def _record_merge(self, source: Contact, target: Contact) -> dict[str, Any] | None:
        """Write (or, on a re-run, extend) the source's merge record (``RECORDS``) before anything
        moves: inserts only, so no write to the contact can lose it. An unfinished merge recorded on
        the contact (``merge_record``, before ``RECORDS``) is carried over and continued there."""
        record = await self._merge_record(source.id)
        if record is not None and record.get("target_id") != target.id:
            raise Conflict(f"a merge of contact {source.id} into {record.get('target_id')} is unfinished: "
                           "run that merge again to finish it")
        if record is None and source.merged_into:
            return None  # merged before merges were recorded: what moved then is not known
        moving = {name: [d["_id"] async for d in self.store[col].find({"contact_id": source.id}, {"_id": 1})]
                  for name, col in MOVED.items()}
        if await self.store[RECORDS].find_one({"_id": source.id, "kind": "merge"}, {"_id": 1}) is None:
            old = record or {}
            head = {"_id": source.id, "kind": "merge", "source_id": source.id, "target_id": target.id,
                    "at": old.get("at") or utcnow(), "complete": bool(old.get("complete")),
                    "source": old.get("source") or {f: getattr(source, f) for f in OWN_FIELDS},
                    "target_before": old.get("target_before") if old else
                    {f: getattr(target, f) for f in OWN_FIELDS}}
            if old.get("target_changes") is not None:
                head["target_changes"] = old["target_changes"]
            with suppress(DuplicateKeyError):  # a concurrent run wrote it: add to it
                await self.store[RECORDS].insert_one(head)
            # the ids an old-style record holds
            await self._add_items(source.id, {name: list(old.get(name) or []) for name in MOVED})
        await self._add_items(source.id, moving)
        return await self._merge_record(source.id)

    async def unmerge(self, source_id: str) -> dict[str, Any]:
        """Undo ``merge(source, target)`` from its record (``RECORDS``): what the merge moved and
        is still on the target goes back (identities, conversations with their messages, their threads,
        consent records); what was removed or moved elsewhere since stays and is reported under
        ``left``. The source is active again with its own fields as they were. On the target only what
        the merge added and nobody changed since is taken back: tags and custom fields that came only
        from the source, a name/language/VIP flag it had not, consent states it took from the source.
        Idempotent steps, the source's ``merged_into`` cleared last: a re-run finishes an interrupted
        unmerge."""
        async with self._merge_lock():  # no merge of either contact while it runs, one unmerge at a time
            # the claims first: one removed just now was removed after its work, seen by the reads below
            if await self._live_claim(f"unmerge:{source_id}") is not None:
                raise Conflict(f"contact {source_id} is being unmerged by another request")
            if (merging := await self._live_claim(f"from:{source_id}")) is not None:
                raise Conflict(f"contact {source_id} is being merged into {merging['target']}: "
                               "unmerge it when that merge is done")
            source, record, target = await self._unmerge_checks(source_id)
            target_id = str(record["target_id"])
            await self._busy(target_id, f"{source.id} cannot be unmerged from it now")
            lease = await self.store.acquire(CLAIMS, f"unmerge:{source.id}", UNMERGE_LEASE,
                                             {"target": target_id})
            if lease is None:  # not live above, so only if it expired just now and another took it over
                raise Conflict(f"contact {source_id} is being unmerged by another request")
        try:
            return await self._unmerge(source, record, target)
        finally:  # done, or failed part-way: a re-run finishes it (idempotent steps)
            await self.store.release(CLAIMS, f"unmerge:{source.id}", lease["token"])

    async def _unmerge_checks(self, source_id: str) -> tuple[Contact, dict[str, Any], dict[str, Any] | None]:
        source = await self.get(source_id, follow_merges=False)
        if not source.merged_into:
            raise Conflict(f"contact {source.id} is not merged into another contact")
        record = await self._merge_record(source.id)
        if not record or not record.get("complete") or record.get("target_id") != source.merged_into:
            raise Conflict(f"contact {source.id} was merged into {source.merged_into} before merges were "
                           "recorded: what moved cannot be told apart from the target's own; move identities "
                           "and conversations by hand")
        target_id = source.merged_into
        target = await self.store.contacts.find_one({"_id": target_id})
        if target is not None and target.get("merged_into"):
            raise Conflict(f"contact {target_id} was itself merged into {target['merged_into']} since: "
                           f"unmerge {target_id} first")
        return source, record, target

    async def _unmerge(self, source: Contact, record: dict[str, Any],
                       target: dict[str, Any] | None) -> dict[str, Any]:
        target_id = str(record["target_id"])
        owned: dict[str, list[str]] = {}
        for name in MOVED:
            # a thread handed to a ticket the target opened since stays with that ticket
            only = {"conversation_id": {"$in": owned["conversations"]}} if name == "threads" else {}
            owned[name] = await self._move_back(name, record.get(name) or [], source.id, target_id, only)
            if name == "conversations":  # their messages, also those written after the merge
                await self.store.messages.update_many(
                    {"conversation_id": {"$in": owned[name]}, "contact_id": target_id},
                    {"$set": {"contact_id": source.id}})
        # consent records the restored addresses wrote while or after the merge (a STOP: ``identity``)
        owned["consents"] = sorted(set(owned["consents"]) | set(
            await self._consents_of_identities(owned["identities"], source.id, target_id)))
        # tickets the target got after the merge from the restored addresses alone are the source's
        followed, mixed = await self._after_merge(record, source.id, target_id, owned)
        owned["conversations"] = sorted(set(owned["conversations"]) | set(followed))
        # the source's own addresses must not keep leading into the target's (mixed) tickets
        detached = await self._detach_threads(target_id, owned["identities"])
        left = {name: sorted(set(record.get(name) or []) - set(owned[name])) for name in MOVED}
        if target is not None:
            taken_back = _taken_back(target, record.get("target_changes") or {})
            # a consent state that came from a record now the source's is the target's no more
            consent = await self._consent_of_own_records(
                target_id, taken_back.get("consent", target.get("consent") or {}),
                foreign=await self._record_states(source.id),
                before=record.get("target_changes", {}).get("consent") or {})
            taken_back.pop("consent", None)
            if consent != (target.get("consent") or {}):
                taken_back["consent"] = consent
            if taken_back:
                await self.store.contacts.update_one({"_id": target_id},
                                                     {"$set": {**taken_back, "updated_at": utcnow()}})
        own = {f: v for f, v in (record.get("source") or {}).items() if f in OWN_FIELDS}
        # its consent as before the merge, but a newer record of its own wins: a STOP its number sent
        # while or after it was merged must not be lost by restoring the older state
        own["consent"] = await self._consent_of_own_records(source.id, own.get("consent") or {})
        # the merge's claim before ``merged_into``; a message for the source whose read after its write
        # finds no ``merged_into`` (``settle_late_write``) stays on it, a contact of its own again
        await self.store[CLAIMS].delete_one({"_id": f"from:{source.id}", "target": target_id})
        await self.store.contacts.update_one({"_id": source.id}, {
            "$set": {**own, "merged_into": None, "updated_at": utcnow()},
            "$unset": {"merge_record": "", "merging": ""}})
        # the record last (after ``merged_into``): an unmerge that stops before this is run again from it
        await self.store[RECORDS].delete_many({"source_id": source.id})
        await self.bus.publish(ContactsUnmerged(source_id=source.id, target_id=target_id,
                                                identities=owned["identities"],
                                                conversations=owned["conversations"], left=left))
        return {"source": await self.get(source.id, follow_merges=False), "target_id": target_id,
                "target": await self.get(target_id) if target is not None else None,
                "restored": owned, "left": left, "mixed": mixed, "threads_detached": detached}

    async def _consents_of_identities(self, identities: list[str], source_id: str,
                                      target_id: str) -> list[str]:
        """Consent records on the target written for one of the restored ``identities`` (an SMS or
        WhatsApp STOP/START carries its sender's identity key), moved back to the source: a STOP that
        arrived while the merge ran (after its record was taken) or since is the source's number's."""
        if not identities:
            return []
        mine = {"contact_id": target_id, "identity": {"$in": identities}}
        ids = [d["_id"] async for d in self.store["consents"].find(mine, {"_id": 1})]
        if ids:
            await self.store["consents"].update_many({"_id": {"$in": ids}, "contact_id": target_id},
                                                     {"$set": {"contact_id": source_id}})
        return ids

    async def _record_states(self, contact_id: str) -> dict[str, dict[str, Any]]:
        """The newest consent record's state per purpose among ``contact_id``'s (as ``_merged_consent``
        reads a record: its ``state``, else granted/source/at)."""
        newest: dict[str, dict[str, Any]] = {}
        async for doc in self.store["consents"].find({"contact_id": contact_id}).sort("at", 1).limit(10_000):
            newest[doc["purpose"]] = doc.get("state") or {"granted": doc["granted"], "source": doc["source"],
                                                          "at": doc["at"]}
        return newest

    async def _consent_of_own_records(self, contact_id: str, consent: dict[str, Any], *,
                                      foreign: dict[str, dict[str, Any]] | None = None,
                                      before: dict[str, Any] | None = None) -> dict[str, Any]:
        """``consent`` (a contact's fields after an unmerge) with each purpose's newest record of the
        contact's own where it is newer (``_newer``). A state equal to the newest record of the other
        contact (``foreign``) came from that contact: the own newest record replaces it, else the state
        before the merge (``before``: the merge's consent changes) if there was one; an opt-out with
        neither is kept (never lose one)."""
        out = dict(consent)
        own = await self._record_states(contact_id)
        for purpose, state in (foreign or {}).items():
            if out.get(purpose) != state or purpose in own:
                continue
            prior = ((before or {}).get(purpose) or {}).get("before")
            if prior is not None:
                out[purpose] = prior
            elif state.get("opted_out") is False or state.get("granted") is True:
                del out[purpose]  # the other contact's grant: nothing of this contact's to keep
        for purpose, state in own.items():
            current = out.get(purpose)
            if current != state and (_newer(state, current) or current == (foreign or {}).get(purpose)):
                out[purpose] = state
        return out

    async def _after_merge(self, record: dict[str, Any], source_id: str, target_id: str,
                           owned: dict[str, list[str]]) -> tuple[list[str], list[str]]:
        """The target's tickets that got customer messages from the restored identities (or, opened by
        an agent, are threaded on one) since the merge: those whose customer addresses (inbound
        ``meta.sender``s, an identity thread key) are all restored identities move back to the source
        with their messages and threads; those that also hold another address stay (``mixed``).
        Returns (moved back, mixed)."""
        restored = set(owned["identities"])
        if not restored:
            return [], []
        since = record.get("at")
        recorded = set(record.get("conversations") or [])
        since_filter = {"created_at": {"$gte": since}} if since is not None else {}
        candidates: set[str] = set()
        async for doc in self.store.messages.find(
                {"contact_id": target_id, "direction": Direction.inbound.value},  # provider times: no date
                {"conversation_id": 1, "meta.sender": 1}):
            if (doc.get("meta") or {}).get("sender") in restored:
                candidates.add(doc["conversation_id"])
        async for doc in self.store.conversations.find({"contact_id": target_id, **since_filter},
                                                       {"thread_key": 1}):
            if doc.get("thread_key") in restored:
                candidates.add(doc["_id"])
        back: list[str] = []
        mixed: list[str] = []
        for conversation_id in sorted(candidates - recorded):
            conversation = await self.store.conversations.find_one({"_id": conversation_id},
                                                                   {"thread_key": 1})
            if conversation is None:
                continue
            inbound = {"conversation_id": conversation_id, "direction": Direction.inbound.value}
            addresses = {d.get("meta", {}).get("sender")
                         async for d in self.store.messages.find(inbound, {"meta.sender": 1})}
            key = conversation.get("thread_key")
            if isinstance(key, str) and key.split(":", 1)[0] in IDENTITY_KINDS:
                addresses.add(key)
            addresses.discard(None)
            (back if addresses <= restored else mixed).append(conversation_id)
        if back:
            await self._move_tickets(back, source_id, from_id=target_id)
        return back, mixed

    async def _move_tickets(self, ids: list[str], to_id: str, *, from_id: str | None = None,
                            tickets_last: bool = False) -> None:
        """Give the tickets ``ids`` (with their messages and threads) to contact ``to_id``; with
        ``from_id``, only what is still that contact's. The order is what a re-run after an
        interruption needs: unmerge finds the tickets again through their messages (tickets first),
        a move through the ticket's own contact (``tickets_last``)."""
        move = {"$set": {"contact_id": to_id}}
        owner = {"contact_id": from_id} if from_id is not None else {}
        if not tickets_last:
            await self.store.conversations.update_many({"_id": {"$in": ids}, **owner}, move)
        await self.store.messages.update_many({"conversation_id": {"$in": ids}, **owner}, move)
        await self.store["conversation_threads"].update_many({"conversation_id": {"$in": ids}, **owner}, move)
        if tickets_last:
            await self.store.conversations.update_many({"_id": {"$in": ids}, **owner}, move)

    async def move_conversation(self, conversation_id: str, contact_id: str, *,
                                actor_id: str | None = None) -> tuple[Conversation, Conversation | None, int]:
        """Give one ticket to another contact (a ticket both people wrote in, listed by ``unmerge``
        under ``mixed``; one filed under the wrong person): the ticket, all its messages and its
        threads. A thread keyed on an address the new contact does not own (an SMS, WhatsApp or chat
        number of the old contact) is forgotten, so that address's next message opens a ticket for
        its owner; an e-mail thread (keyed on its first message) stays with the ticket. The outbox
        then answers the ticket's addresses the new contact owns (``Outbox._recipient``).

        Refused: a target that does not exist (NotFound), was merged into another contact, erased or
        being erased (Conflict, naming why); a ticket merged into another ticket. Moving to the
        ticket's own contact changes nothing. Returns (the ticket now, as it was or None if nothing
        moved, threads forgotten); publishes ``conversation.updated`` and ``contact.updated`` for both."""
        doc = await self.store.conversations.find_one({"_id": conversation_id})
        if doc is None:
            raise NotFound(f"conversation {conversation_id} not found")
        current = Conversation.from_doc(doc)
        if current.contact_id == contact_id:
            return current, None, 0
        target = await self.store.contacts.find_one({"_id": contact_id})
        if target is None:
            raise NotFound(f"contact {contact_id} not found", field="contact_id")
        if target.get("merged_into"):
            raise Conflict(f"contact {contact_id} was merged into {target['merged_into']}: "
                           "move the ticket to that contact", field="contact_id")
        if target.get("erased") or await self.store["erasures"].find_one({"_id": contact_id}, {"_id": 1}):
            raise Conflict(f"contact {contact_id} was erased (or is being erased): "
                           "a ticket cannot move to it", field="contact_id")
        if current.merged_into:
            raise Conflict(f"conversation {conversation_id} was merged into {current.merged_into}: "
                           "move that ticket instead")
        slots = [d["_id"] async for d in self.store["conversation_threads"].find(
            {"conversation_id": conversation_id}, {"_id": 1})]
        addresses = [key for key in (str(s).partition("|")[2] for s in slots)
                     if key.split(":", 1)[0] in IDENTITY_KINDS]
        theirs = {d["_id"] async for d in self.store.identities.find(
            {"_id": {"$in": addresses}}, {"contact_id": 1}) if d.get("contact_id") == contact_id}
        # forget the threads first: meanwhile a message from such an address opens its owner's ticket
        detached = await self._detach_threads(current.contact_id, [a for a in addresses if a not in theirs],
                                              {"conversation_id": conversation_id})
        await self._move_tickets([conversation_id], contact_id, tickets_last=True)
        now = utcnow()
        await self.store.conversations.update_one({"_id": conversation_id}, {"$set": {"updated_at": now}})
        moved = current.model_copy(update={"contact_id": contact_id, "updated_at": now})
        await self.bus.publish(ConversationUpdated(
            conversation=moved, changes={"contact_id": contact_id},
            previous={"contact_id": current.contact_id}, actor_id=actor_id))
        await self.bus.publish(ContactUpdated(contact_id=current.contact_id,
                                              changes={"conversation_moved_out": conversation_id}))
        await self.bus.publish(ContactUpdated(contact_id=contact_id,
                                              changes={"conversation_moved_in": conversation_id}))
        return moved, current, detached

    async def _move_back(self, name: str, ids: list[str], source_id: str, target_id: str,
                         only: dict[str, Any]) -> list[str]:
        """Move the recorded ``ids`` of ``MOVED[name]`` still on the target back to the source;
        the ids the source owns now."""
        if not ids:
            return []
        collection = self.store[MOVED[name]]
        await collection.update_many({"_id": {"$in": ids}, "contact_id": target_id, **only},
                                     {"$set": {"contact_id": source_id}})
        return sorted([d["_id"] async for d in collection.find({"_id": {"$in": ids}, "contact_id": source_id},
                                                              {"_id": 1})])

    async def _merged_consent(self, target: Contact, source: Contact) -> dict[str, Any]:
        """Per purpose (or channel opt-out), the newest state of the two: a withdrawal on the
        duplicate after a grant on the survivor stays withdrawn. Purposes with consent records
        (all of them on the survivor now) take the newest record's state (a record's ``state``, if it
        has one, is the field's value: an SMS or WhatsApp STOP/START's ``{opted_out, at, keyword}``)."""
        merged: dict[str, Any] = dict(target.consent)
        for key, state in source.consent.items():
            if _newer(state, merged.get(key)):
                merged[key] = state
        async for doc in self.store["consents"].find({"contact_id": target.id}).sort("at", 1).limit(10_000):
            merged[doc["purpose"]] = doc.get("state") or {"granted": doc["granted"], "source": doc["source"],
                                                           "at": doc["at"]}
        return merged

    async def delete(self, contact_id: str) -> None:
        """Delete a contact that has no conversations (one with history is erased through the
        privacy tools instead, which keep an audit record)."""
        contact = await self.get(contact_id, follow_merges=False)
        if await self.store.conversations.find_one({"contact_id": contact.id}, {"_id": 1}):
            raise Conflict("the contact has conversations; use the privacy erase instead", field="contact_id")
        await self.store.identities.delete_many({"contact_id": contact.id})
        await self.store.contacts.delete_one({"_id": contact.id})


def _newer(state: Any, than: Any) -> bool:
    """A consent state that wins over ``than``: there is none, or it is newer (``at``)."""
    def at(value: Any) -> Any:
        return value.get("at") if isinstance(value, dict) else None

    return than is None or (at(state) is not None and (at(than) is None or at(state) > at(than)))


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a merge changed on the target, field by field: what ``unmerge`` may take back."""
    changes: dict[str, Any] = {}
    for field in ("name", "language", "vip"):
        if before.get(field) != after[field]:
            changes[field] = {"before": before.get(field), "after": after[field]}
    if added := sorted(set(after["tags"]) - set(before.get("tags") or [])):
        changes["tags"] = {"added": added}
    own_fields = before.get("custom_fields") or {}
    if added_fields := {k: v for k, v in after["custom_fields"].items() if k not in own_fields}:
        changes["custom_fields"] = {"added": added_fields}
    own_consent = before.get("consent") or {}
    if consent := {k: {"before": own_consent.get(k), "after": v}
                   for k, v in after["consent"].items() if own_consent.get(k) != v}:
        changes["consent"] = consent
    return changes


def _taken_back(target: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The target's fields with the merge's changes taken back where nobody changed them since."""
    out: dict[str, Any] = {}
    for field in ("name", "language", "vip"):
        if field in changes and target.get(field) == changes[field]["after"]:
            out[field] = changes[field]["before"]
    tags = list(target.get("tags") or [])
    if "tags" in changes and (kept := [t for t in tags if t not in changes["tags"]["added"]]) != tags:
        out["tags"] = kept
    fields = dict(target.get("custom_fields") or {})
    for key, value in (changes.get("custom_fields") or {}).get("added", {}).items():
        if key in fields and fields[key] == value:
            del fields[key]
    if fields != (target.get("custom_fields") or {}):
        out["custom_fields"] = fields
    consent = dict(target.get("consent") or {})
    for key, change in (changes.get("consent") or {}).items():
        if key in consent and consent[key] == change["after"]:
            if change["before"] is None:
                del consent[key]
            else:
                consent[key] = change["before"]
    if consent != (target.get("consent") or {}):
        out["consent"] = consent
    return out
