"""``Idempotency-Key`` on creates: a client that retries a create (timeout, dropped connection)
gets the first answer again instead of a second resource.

The key is scoped to the caller (user or API key). The first request claims
``sha256(actor, key)`` with an ``_id`` insert (the one race-free primitive on FerretDB v1),
runs, and stores its response. Then, for 24 hours:

- same key, same request (method, path, query, parsed body) → the stored response, with
  ``Idempotent-Replayed: true``; the handler does not run again;
- same key, different request → 422 (a key names one request);
- same key while the first request still runs → 409 with ``Retry-After: 1``.

A request that fails (4xx/5xx) stores nothing: the key is released and a retry runs afresh.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web

from hub import keys
from hub.errors import Conflict, InvalidInput
from hub.models import utcnow
from hub.store import ix, register

COLLECTION = "idempotency_keys"
TTL = timedelta(hours=24)
PENDING_TIMEOUT = timedelta(seconds=60)  # a request still "running" after this died with its node
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII: no header injection, bounded
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")

register(COLLECTION, ix(("created_at", 1)), expire=("created_at", timedelta(hours=24)))


def fingerprint(request: web.Request, body: Any) -> str:
    """The request as the client sent it: method, path, query and JSON body (key order ignored)."""
    canonical = json.dumps(body, sort_keys=True, default=str)
    query = sorted(request.query.items())
    return hashlib.sha256(f"{request.method}\n{request.path}\n{query}\n{canonical}".encode()).hexdigest()


@dataclass
class Attempt:
    app: web.Application
    claim_id: str
    replay: web.Response | None = None

    async def finish(self, response: web.StreamResponse) -> None:
        """Store a successful answer for replays; anything else releases the key."""
        if (
            not isinstance(response, web.Response)
            or not 200 <= response.status < 300
            or response.body is None
        ):
            await self.abandon()
            return
        body = response.body if isinstance(response.body, bytes) else None
        if body is None:
            await self.abandon()
            return
        headers = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
        await self.app[keys.STORE][COLLECTION].update_one(
            {"_id": self.claim_id},
            {"$set": {"state": "done", "status": response.status, "headers": headers, "body": body}},
        )

    async def abandon(self) -> None:
        await self.app[keys.STORE][COLLECTION].delete_one({"_id": self.claim_id})


async def begin(request: web.Request, actor: str, key: str, print_: str) -> Attempt:
    if not KEY_RE.fullmatch(key):
        raise InvalidInput("Idempotency-Key must be 1-255 visible ASCII characters", field="Idempotency-Key")
    store = request.app[keys.STORE]
    claim_id = hashlib.sha256(f"{actor}\n{key}".encode()).hexdigest()
    for _ in range(3):
        now = utcnow()
        if await store.claim(
            COLLECTION, claim_id, {"fingerprint": print_, "state": "pending", "created_at": now}
        ):
            return Attempt(request.app, claim_id)
        doc = await store[COLLECTION].find_one({"_id": claim_id})
        if doc is None:  # released between our insert and our read: try again
            continue
        created = doc["created_at"]
        created = created if created.tzinfo else created.replace(tzinfo=now.tzinfo)
        stale = now - created > (PENDING_TIMEOUT if doc.get("state") == "pending" else TTL)
        if stale:
            # One taker per stale claim (an _id claim: a {_id, created_at} delete scans on FerretDB
            # and is no compare-and-delete there); the others read again.
            marker = f"stale:{claim_id}:{doc['created_at'].isoformat()}"
            if await store.claim(COLLECTION, marker, {"state": "marker", "created_at": now}):
                await store[COLLECTION].delete_one({"_id": claim_id})
            continue
        if doc["fingerprint"] != print_:
            raise InvalidInput(
                "this Idempotency-Key was used for a different request; use a new key",
                field="Idempotency-Key",
            )
        if doc.get("state") != "done":
            raise _InProgress("a request with this Idempotency-Key is still being processed; retry shortly")
        return Attempt(request.app, claim_id, replay=_replay(doc))
    raise _InProgress("this Idempotency-Key is contended; retry shortly")


class _InProgress(Conflict):
    retry_after = 1


def _replay(doc: dict[str, Any]) -> web.Response:
    headers = {**doc.get("headers", {}), "Idempotent-Replayed": "true"}
    content_type = headers.pop("Content-Type", "application/json").split(";")[0]
    return web.Response(
        body=bytes(doc["body"]), status=int(doc["status"]), headers=headers, content_type=content_type
    )


__all__ = ["Attempt", "begin", "fingerprint"]
