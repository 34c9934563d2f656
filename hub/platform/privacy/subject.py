"""Everything the hub holds about one contact (a data subject), found by id: used by both the
export and the erasure, so the two can never disagree about what "everything" is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.store import Store

LIMIT = 100_000  # a bound on every query: one person's data, not a table scan


@dataclass
class Subject:
    contact_ids: list[str]  # the contact and every contact merged into it
    contacts: list[dict[str, Any]] = field(default_factory=list)
    identities: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    consents: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)  # knowledge_base's search_queries

    @property
    def conversation_ids(self) -> list[str]:
        return [c["_id"] for c in self.conversations]

    @property
    def user_ids(self) -> list[str]:
        return [u["_id"] for u in self.users]

    @property
    def audit_targets(self) -> list[str]:
        """Audit entries about these hold the person's values (a portal user's e-mail, a name)."""
        return self.contact_ids + self.conversation_ids + self.user_ids

    @property
    def message_ids(self) -> list[str]:
        return [m["_id"] for m in self.messages]

    @property
    def blob_ids(self) -> list[str]:
        return [a["blob_id"] for m in self.messages for a in m.get("attachments") or [] if a.get("blob_id")]


async def _all(store: Store, name: str, flt: dict[str, Any], projection: dict[str, Any] | None = None
               ) -> list[dict[str, Any]]:
    return [d async for d in store[name].find(flt, projection).limit(LIMIT)]


async def gather(store: Store, contact_id: str) -> Subject:
    ids = [contact_id]
    frontier = [contact_id]
    while frontier and len(ids) < 1000:  # contacts merged into this one, transitively
        merged = [
            d["_id"] for d in await _all(store, "contacts", {"merged_into": {"$in": frontier}}, {"_id": 1})
        ]
        frontier = [m for m in merged if m not in ids]
        ids.extend(frontier)
    subject = Subject(contact_ids=ids)
    in_ids = {"$in": ids}
    subject.contacts = await _all(store, "contacts", {"_id": in_ids})
    subject.identities = await _all(store, "identities", {"contact_id": in_ids})
    subject.conversations = await _all(store, "conversations", {"contact_id": in_ids})
    subject.messages = await _all(store, "messages", {"contact_id": in_ids})
    subject.consents = await _all(store, "consents", {"contact_id": in_ids})
    subject.users = await _all(store, "users", {"contact_id": in_ids}, {"password_hash": 0})
    subject.audit = await _all(store, "audit_log", {"target_id": {"$in": subject.audit_targets}})
    subject.searches = await _all(store, "search_queries", searches_of(subject))
    return subject


def searches_of(subject: Subject) -> dict[str, Any]:
    """The person's knowledge-base searches: those recorded with their contact id (help center
    signed in, or the API with their portal user's token), and API ones by their portal user
    recorded before searches carried the contact id."""
    return {"$or": [{"contact_id": {"$in": subject.contact_ids}},
                    {"source": "api", "visitor": {"$in": subject.user_ids}}]}
