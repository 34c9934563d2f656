"""Conditional requests (RFC 9110 §13): strong ``ETag`` on reads, ``If-Match`` on updates.

A resource's ETag is a hash of the JSON its ``GET`` route returns to the caller, so every
resource with a GET route gets ETags without a version field in its documents. ``PATCH``, ``PUT``
and ``DELETE`` on a path that also has a GET route are *conditional*:

- ``If-Match`` that names no current ETag → 412 (someone changed it since you read it);
- no ``If-Match`` → the update goes ahead, unless ``BERRY_API_REQUIRE_IF_MATCH`` → 428.

Checking then writing is two steps, and FerretDB v1 does not serialize read-modify-write, so
the winner among concurrent updates of the same version is decided by an ``_id`` insert
(``Store.claim``) of ``(path, etag)``: one wins, the others get 412. The claim is released when
the update fails or changes nothing (the version is then still current).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from hub import keys
from hub.errors import HubError
from hub.models import utcnow
from hub.store import register

CLAIMS = "etag_claims"
register(CLAIMS, expire=("at", timedelta(days=1)))  # a claimed version is history after that


class PreconditionFailed(HubError):
    status = 412
    title = "Precondition failed"


class PreconditionRequired(HubError):
    status = 428
    title = "Precondition required"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _tags(header: str) -> list[str]:
    """``"a", W/"b"`` → ``['"a"', 'W/"b"']``; the weak prefix is kept so it never strong-matches."""
    return [t.strip() for t in header.split(",") if t.strip()]


def if_match_ok(header: str, current: str) -> bool:
    return any(t == "*" or t == current for t in _tags(header))


def not_modified(request: web.Request, current: str) -> bool:
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    return any(t == "*" or t.removeprefix("W/") == current for t in _tags(header))


@dataclass
class Claim:
    """The won right to change the version ``etag`` of ``path``; ``release`` gives it back."""

    app: web.Application
    claim_id: str
    etag: str

    async def release(self) -> None:
        await self.app[keys.STORE][CLAIMS].delete_one({"_id": self.claim_id})


async def check(request: web.Request, current: str | None) -> Claim | None:
    """Apply ``If-Match`` against the current ETag (None: the resource has no JSON representation)."""
    header = request.headers.get("If-Match")
    if header is None:
        settings = request.app.get(keys.SETTINGS)
        if settings is not None and getattr(settings, "api_require_if_match", False):
            raise PreconditionRequired("send If-Match with the ETag of your last read of this resource")
        return None
    if len(header) > 1000:
        raise PreconditionFailed("If-Match header too long")
    if current is None or not if_match_ok(header, current):
        raise PreconditionFailed("the resource changed since you read it (ETag mismatch); read it again")
    claim_id = hashlib.sha256(f"{request.path}\n{current}".encode()).hexdigest()
    if not await request.app[keys.STORE].claim(
        CLAIMS, claim_id, {"path": request.path[:500], "at": utcnow()}
    ):
        raise PreconditionFailed("a concurrent update of the same version won; read it again")
    return Claim(request.app, claim_id, current)


__all__ = ["PreconditionFailed", "PreconditionRequired", "check", "etag_of", "if_match_ok", "not_modified"]
