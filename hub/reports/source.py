"""Reading the source data for reports: bounded, date-ranged queries, everything else in Python
(FerretDB v1 pushes down nothing but ``_id`` equality and has limited aggregation).

Fields other packages add are read defensively: a missing ``sla`` / ``bot`` / ``csat`` / SLA policy /
business-hours calendar means "not counted", never an error.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from hub.store import Store

from .stats import agent_work, group_conversations

log = logging.getLogger(__name__)

CONV_FIELDS = {"created_at": 1, "status": 1, "priority": 1, "channel": 1, "assignee_id": 1, "team_id": 1,
               "contact_id": 1, "first_response_at": 1, "resolved_at": 1, "resolved_by": 1, "csat": 1,
               "bot": 1, "sla": 1, "merged_into": 1}
MAX_CONVERSATIONS = 2_000_000
IN_LIMIT = 1000
MSG_FIELDS = {"conversation_id": 1, "direction": 1, "author_type": 1, "author_id": 1, "private": 1,
              "created_at": 1, "meta.no_auto_reply": 1}  # not all of meta: an e-mail's holds its full text
MSG_IN_LIMIT = 50  # past this, one range read of messages beats FerretDB's per-document $in test
MAX_MESSAGES = 20_000_000
# Bounded batches: at 1M messages FerretDB sent one 53.9 MB reply to a getMore without a batch size,
# over its own 48 MB wire limit (bench/reports.py died on it).
BATCH = 5_000
MAX_CONTACT_SCAN = 5_000_000  # a bound on one query; a two-year range at Berry's volume is far below


class Calendars:
    """Business seconds between two instants for a conversation, by its SLA policy's calendar.

    Falls back to the default policy's calendar, then to 24/7, when ``hub.ticketing`` is absent or a
    policy/calendar is missing.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._by_policy: dict[str | None, Any] = {}

    async def load(self) -> None:
        try:
            from hub.ticketing.business_hours import ALWAYS, BusinessHours
        except ImportError:  # ticketing not installed: business hours = calendar hours
            self._by_policy = {}
            return
        calendars: dict[str, Any] = {}
        async for doc in self.store["business_hours"].find({}).limit(10_000):
            try:
                calendars[doc["_id"]] = BusinessHours.from_doc(doc)
            except Exception:  # a calendar ticketing would also refuse: treat as 24/7, say so
                log.warning("unreadable business hours", extra={"business_hours_id": doc.get("_id")})
        self._by_policy = {None: ALWAYS}
        async for doc in (
            self.store["sla_policies"].find({}, {"business_hours_id": 1, "default": 1}).limit(10_000)
        ):
            hours = calendars.get(doc.get("business_hours_id") or "", ALWAYS)
            self._by_policy[doc["_id"]] = hours
            if doc.get("default"):
                self._by_policy[None] = hours

    def between(self, conv: dict[str, Any], start: datetime, end: datetime) -> float:
        policy_id = (conv.get("sla") or {}).get("policy_id")
        hours = self._by_policy.get(policy_id) or self._by_policy.get(None)
        if hours is None:
            return (end - start).total_seconds()
        return float(hours.between(start, end))


async def contact_types(store: Store, contact_ids: set[str]) -> dict[str, tuple[str, str]]:
    """contact id → (surviving contact id, its type), following ``merged_into`` (at most 5 hops)."""
    docs: dict[str, dict[str, Any]] = {}
    wanted = {c for c in contact_ids if c}
    for _ in range(6):
        wanted -= set(docs)
        if not wanted:
            break
        # FerretDB v1 tests a large $in list against every document (no _id index pushdown for
        # $in): 18k ids × 20k contacts took minutes. Past a few hundred ids one plain scan is cheaper.
        flt = {"_id": {"$in": sorted(wanted)}} if len(wanted) <= IN_LIMIT else {}
        found = [
            d
            async for d in store.contacts.find(flt, {"type": 1, "merged_into": 1}).limit(MAX_CONTACT_SCAN)
            if flt or d["_id"] in wanted
        ]
        for d in found:
            docs[d["_id"]] = d
        wanted = {d["merged_into"] for d in found if d.get("merged_into")}
    out: dict[str, tuple[str, str]] = {}
    for cid in contact_ids:
        current, seen = cid, set()
        while current in docs and docs[current].get("merged_into") and current not in seen:
            seen.add(current)
            current = docs[current]["merged_into"]
        ctype = str((docs.get(current) or docs.get(cid) or {}).get("type") or "consumer")
        out[cid] = (current, ctype)
    return out


async def attach_gaps(store: Store, convs: list[dict[str, Any]]) -> None:
    """Set each conversation's ``_gaps`` (next-response waits, with who answered), ``_first_by`` and
    ``_last_by`` (the agents of its first and last public replies) from its messages."""
    if not convs:
        return
    ids = {c["_id"] for c in convs}
    if len(ids) <= MSG_IN_LIMIT:
        flt: dict[str, Any] = {"conversation_id": {"$in": sorted(ids)}}
    else:  # a conversation's messages are never older than the conversation
        flt = {"created_at": {"$gte": min(c["created_at"] for c in convs)}}
    by_conv: dict[str, list[dict[str, Any]]] = {}
    async for m in store.messages.find(flt, MSG_FIELDS).limit(MAX_MESSAGES).batch_size(BATCH):
        if m.get("conversation_id") in ids:
            by_conv.setdefault(m["conversation_id"], []).append(m)
    for c in convs:
        c["_gaps"], c["_first_by"], c["_last_by"] = agent_work(by_conv.get(c["_id"], ()))


async def conversations_created(store: Store, start: datetime, end: datetime,
                                extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    flt = {"created_at": {"$gte": start, "$lt": end}, **(extra or {})}
    return [
        d async for d in store.conversations.find(flt, CONV_FIELDS).limit(MAX_CONVERSATIONS).batch_size(BATCH)
    ]


async def groups_between(store: Store, start: datetime, end: datetime, calendars: Calendars | None = None,
                         extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The on-the-fly path: conversations created in [start, end) → groups."""
    convs = await conversations_created(store, start, end, extra)
    return await groups_of(store, convs, calendars)


async def groups_of(
    store: Store, convs: list[dict[str, Any]], calendars: Calendars | None = None
) -> list[dict[str, Any]]:
    if calendars is None:
        calendars = Calendars(store)
        await calendars.load()
    contacts = await contact_types(store, {str(c["contact_id"]) for c in convs if c.get("contact_id")})
    await attach_gaps(store, convs)
    return group_conversations(convs, contacts, calendars.between)


__all__ = [
    "Calendars",
    "attach_gaps",
    "contact_types",
    "conversations_created",
    "groups_between",
    "groups_of",
]
