"""Right to be forgotten (GDPR art. 17, POPIA s. 24): erase or anonymize everything personal
about a contact, keep the non-personal skeleton (ids, times, statuses, channels) so reports and
references still work, then publish ``contact.erased`` for holders of derived copies (search
index, bot trackers) and record an audit entry holding ids and counts only.

No transactions on FerretDB: every step is idempotent and filtered by the contact ids, so an
erasure interrupted half-way is completed by running it again (``erasures`` tracks its state).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from hub.audit import Audit
from hub.auth import Tokens
from hub.events import EventBus
from hub.models import utcnow
from hub.store import Store, register, upsert

from ..blobs import delete_blobs
from ..events import ContactErased
from .subject import gather, searches_of

log = logging.getLogger(__name__)
register("erasures")  # _id = contact id
DEAD_LETTER_SCAN = 20_000
# Replay logs of other packages whose events carry message texts and names, trimmed to a short
# window by their owner (agent_console/eventlog.py keeps 24 h): a bounded scan by the ids.
EVENT_LOGS = ("console_events",)
EVENT_LOG_SCAN = 200_000


async def erase_contact(store: Store, bus: EventBus, audit: Audit, contact_id: str, actor: str,
                        tokens: Tokens) -> dict[str, int]:
    """``tokens``: signs the contact's portal users out everywhere (as ``DELETE /users/{id}`` does),
    so their access tokens and help-center cookies stop working at once, not at their expiry."""
    subject = await gather(store, contact_id)
    ids = {"$in": subject.contact_ids}
    now = utcnow()
    await upsert(store["erasures"], {"_id": contact_id},
                 {"_id": contact_id, "state": "running", "started_at": now, "by": actor}, replace=True)
    identity_values = [str(i.get("value", "")) for i in subject.identities] + [
        i["_id"] for i in subject.identities
    ]
    names = [c.get("name", "") for c in subject.contacts if c.get("name")]
    counts: dict[str, int] = {}

    # attachments first: the messages still say where they are
    counts["attachments"] = await delete_blobs(store, subject.blob_ids)

    result = await store.messages.update_many({"contact_id": ids}, {"$set": {
        "text": "", "html": None, "subject": None, "attachments": [], "meta": {}, "external_id": None,
        "error": None, "erased": True}})
    counts["messages"] = result.matched_count
    for conversation in subject.conversations:
        await store.conversations.update_one({"_id": conversation["_id"]}, {"$set": {
            "subject": "", "tags": [], "custom_fields": {}, "thread_key": f"erased:{conversation['_id']}",
            "csat": None, "bot": {}, "erased": True}})
    counts["conversations"] = len(subject.conversations)
    counts["conversation_threads"] = (
        await store["conversation_threads"].delete_many({"contact_id": ids})
    ).deleted_count
    counts["identities"] = (await store.identities.delete_many({"contact_id": ids})).deleted_count
    counts["consents"] = (await store["consents"].delete_many({"contact_id": ids})).deleted_count
    # what they typed into the help center's search (analytics need no one's searches but the anonymous)
    counts["search_queries"] = (await store["search_queries"].delete_many(searches_of(subject))).deleted_count
    for user in subject.users:
        await tokens.revoke_user(user["_id"])  # first: it revokes the families not yet marked revoked
        await store.users.update_one(
            {"_id": user["_id"]},
            {
                "$set": {
                    "email": f"erased+{user['_id']}@erased.invalid",
                    "name": "",
                    "password_hash": "",
                    "active": False,
                }
            },
        )
        await store["refresh_tokens"].update_many({"user_id": user["_id"]}, {"$set": {"revoked": True}})
    counts["users"] = len(subject.users)
    # their sign-ins' IP and browser (revoke_user above keeps what cuts the tokens: revoked_sessions)
    counts["sessions"] = (await store["sessions"].delete_many(
        {"user_id": {"$in": [u["_id"] for u in subject.users]}})).deleted_count
    result = await store.contacts.update_many({"_id": ids}, {"$set": {
        "name": "", "language": None, "tags": [], "custom_fields": {}, "consent": {}, "vip": False,
        "erased": True, "erased_at": now, "updated_at": now,
        "merge_record": None}})  # a merge's record keeps names and fields from before it
    await store["contact_merge_records"].delete_many({"source_id": ids})  # its own fields before a merge
    counts["contacts"] = result.matched_count
    # audit entries keep who/what/when, not the personal values they carried
    result = await store.audit_log.update_many({"target_id": {"$in": subject.audit_targets},
                                                "scrubbed": {"$ne": True}},
                                               {"$set": {"before": None, "after": None, "scrubbed": True}})
    counts["audit_scrubbed"] = result.modified_count
    counts["webhook_deliveries"] = await _scrub_deliveries(store, subject.contact_ids)
    counts["dead_letters"] = await _drop_dead_letters(store, identity_values + names)
    counts["logged_events"] = await drop_logged_events(
        store, subject.contact_ids + subject.conversation_ids + subject.message_ids)

    await store["erasures"].update_one(
        {"_id": contact_id}, {"$set": {"state": "done", "finished_at": utcnow(), "counts": counts}}
    )
    await audit.record(actor, "contact.erase", "contact", contact_id, after={"counts": counts})
    await bus.publish(ContactErased(contact_id=contact_id, conversation_ids=subject.conversation_ids,
                                    message_ids=subject.message_ids, identities=identity_values))
    log.info("contact erased", extra={"contact": contact_id, "counts": counts})
    return counts


async def _scrub_deliveries(store: Store, contact_ids: list[str]) -> int:
    return await scrub_deliveries(store, contact_ids, "erased")


async def scrub_deliveries(store: Store, ids: list[str], mark: str) -> int:
    """Webhook delivery logs keep the signed body (event data with names and texts): the bodies
    naming one of ``ids`` become ``{}``, flagged ``mark`` (erased, redacted, deleted)."""
    col = store["webhook_deliveries"]
    n = 0
    for one in ids:  # ids are hex ObjectIds: safe inside a regex
        result = await col.update_many(
            {"body": {"$regex": re.escape(one)}}, {"$set": {"body": "{}", mark: True}}
        )
        n += result.modified_count
    return n


async def drop_logged_events(store: Store, ids: list[str]) -> int:
    """Events naming the contact, its conversations or messages leave the replay logs (a client
    catching up skips the gap; the erased data is gone from the store anyway)."""
    dropped = 0
    for name in EVENT_LOGS:
        doomed = []
        async for doc in store[name].find({}, {"data": 1}).sort("_id", -1).limit(EVENT_LOG_SCAN):
            text = json.dumps(doc.get("data"), default=str)
            if any(i in text for i in ids):
                doomed.append(doc["_id"])
        if doomed:
            dropped += (await store[name].delete_many({"_id": {"$in": doomed}})).deleted_count
    return dropped


async def _drop_dead_letters(store: Store, needles: list[str]) -> int:
    """Payloads the hub could not parse may carry the person's address or name: a bounded scan."""
    needles = [n for n in needles if len(n) >= 4]
    if not needles:
        return 0
    doomed: list[Any] = []
    async for doc in store["dead_letters"].find().sort("_id", -1).limit(DEAD_LETTER_SCAN):
        text = json.dumps(doc, default=str)
        if any(n in text for n in needles):
            doomed.append(doc["_id"])
    if doomed:
        await store["dead_letters"].delete_many({"_id": {"$in": doomed}})
    return len(doomed)
