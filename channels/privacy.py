"""Right to be forgotten, channel side: on ``contact.erased`` drop what the channels hold about the
person beyond the messages the platform already erased (hub/platform/privacy/erase.py):

- ``voice_calls``: the call log (caller number, transcription) of their calls;
- ``chat_sockets``: a web-chat visitor still connected;
- blobs (GridFS) the messages no longer point at: raw e-mails (tagged with the sender address),
  web-chat uploads (tagged with the visitor id), whatever else carries their address;
- ``inbound_keys`` whose id names them (a web-chat visitor id, an e-mail Message-ID);
- spooled webhooks (this node's ``var/spool``) and dead letters mentioning them.

Found by the identity values the event carries (in-process only) and the contact id. Idempotent:
running it again finds nothing more.

Other nodes' spools: the event (and the addresses in it) never leaves this process, so the eraser
also records a keyed hash of each erased address (the normalized value of each identity key:
``+2782…`` whichever channel it was known on) in ``erased_identities`` (HMAC-SHA256 with
``BERRY_JWT_SECRET``: the store keeps no address, and a stored hash cannot be tested against
guessed phone numbers without the key). Every node's spool drainer looks the sender of a payload
up there by ``_id`` before ingesting it and drops a payload received before the erasure. Kept
``ERASED_KEEP`` (a spool entry waits seconds to minutes for the store, not months).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from hub.models import utcnow
from hub.platform.events import ContactErased
from hub.store import Store, register, upsert

from .spool import Spool

log = logging.getLogger(__name__)
MIN_NEEDLE = 4  # shorter values would match unrelated data
SCAN_LIMIT = 20_000
ERASED_KEEP = timedelta(days=90)
register("erased_identities", expire=("at", ERASED_KEEP))  # _id = HMAC of a normalized address


class ErasedIdentities:
    """Which addresses (normalized identity values: ``+27…``, an e-mail address) were erased, and
    when — as keyed hashes only."""

    def __init__(self, store: Store, secret: str) -> None:
        self.col, self.key = (
            store["erased_identities"],
            hashlib.sha256(b"berry-erased:" + secret.encode()).digest(),
        )

    def _mac(self, address: str) -> str:
        return hmac.new(self.key, address.encode(), hashlib.sha256).hexdigest()

    async def record(self, addresses: list[str], at: datetime) -> int:
        for address in addresses:
            await upsert(self.col, {"_id": self._mac(address)}, {"$set": {"at": at}})
        return len(addresses)

    async def covers(self, address: str, received_at: datetime | None) -> bool:
        """True if ``address`` was erased after ``received_at`` (unknown: assume before)."""
        doc = await self.col.find_one({"_id": self._mac(address)})
        return doc is not None and (received_at is None or received_at <= doc["at"])


def needles_of(event: ContactErased) -> list[str]:
    values = {v for v in event.identities if len(v) >= MIN_NEEDLE}
    values |= {v.split(":", 1)[1] for v in list(values) if ":" in v}  # "phone:+27…" → "+27…"
    values |= {v.lstrip("+") for v in list(values) if v.startswith("+")}  # WhatsApp/forms without "+"
    return sorted(v for v in values | {event.contact_id} if len(v) >= MIN_NEEDLE)


class ChannelEraser:
    def __init__(self, store: Store, spool: Spool, erased: ErasedIdentities, bucket: str = "blobs") -> None:
        self.store, self.spool, self.erased, self.files = store, spool, erased, f"{bucket}.files"
        self.bucket = bucket

    async def on_contact_erased(self, event: ContactErased) -> dict[str, int]:
        needles = needles_of(event)
        # the normalized values of the identity keys ("phone:+27…" → "+27…"): other nodes' spools
        addresses = sorted(
            {v.split(":", 1)[1] for v in event.identities if ":" in v and not v.startswith("+")}
        )
        counts = {
            "erased_identities": await self.erased.record(addresses, utcnow()),
            "voice_calls": (
                await self.store["voice_calls"].delete_many({"from": {"$in": needles}})
            ).deleted_count,
            "chat_sockets": (
                await self.store["chat_sockets"].delete_many({"visitor": {"$in": needles}})
            ).deleted_count,
            "blobs": await self._blobs(needles),
            "inbound_keys": await self._inbound_keys(event.message_ids, needles),
            "spool": self._spool(needles),
            "dead_letters": await self._dead_letters(needles),
        }
        log.info("channel data erased", extra={"contact": event.contact_id, "counts": counts})
        return counts

    async def _blobs(self, needles: list[str]) -> int:
        """Blobs tagged with one of the person's addresses (``metadata.sender`` / ``metadata.visitor``)."""
        flt = {"$or": [{"metadata.sender": {"$in": needles}}, {"metadata.visitor": {"$in": needles}}]}
        ids = [d["_id"] async for d in self.store.db[self.files].find(flt, {"_id": 1}).limit(SCAN_LIMIT)]
        if ids:  # GridFS delete = the file document and its chunks
            await self.store.db[f"{self.bucket}.chunks"].delete_many({"files_id": {"$in": ids}})
            await self.store.db[self.files].delete_many({"_id": {"$in": ids}})
        return len(ids)

    async def _inbound_keys(self, message_ids: list[str], needles: list[str]) -> int:
        """Idempotency claims are kept (a late provider retry must not re-create the message) unless
        their id itself names the person (``webchat:<visitor>:…``, ``email:<…@their.domain>``)."""
        if not message_ids:
            return 0
        pattern = re.compile("|".join(re.escape(n) for n in needles), re.IGNORECASE) if needles else None
        doomed: list[Any] = []
        async for doc in self.store.inbound_keys.find({"message_id": {"$in": message_ids}}, {"_id": 1}):
            if pattern is not None and pattern.search(str(doc["_id"])):
                doomed.append(doc["_id"])
        if doomed:
            await self.store.inbound_keys.delete_many({"_id": {"$in": doomed}})
        return len(doomed)

    def _spool(self, needles: list[str]) -> int:
        count = 0
        for key, payload in self.spool.pending():
            text = json.dumps(payload, ensure_ascii=False)
            if any(n in text for n in needles):
                self.spool.remove(key)
                count += 1
        return count

    async def _dead_letters(self, needles: list[str]) -> int:
        """Channel dead letters may hold addresses the platform's scan did not know (a visitor id)."""
        doomed: list[ObjectId | str] = []
        async for doc in self.store["dead_letters"].find().sort("_id", -1).limit(SCAN_LIMIT):
            if any(n in json.dumps(doc, default=str, ensure_ascii=False) for n in needles):
                doomed.append(doc["_id"])
        if doomed:
            await self.store["dead_letters"].delete_many({"_id": {"$in": doomed}})
        return len(doomed)
