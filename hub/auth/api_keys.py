"""API keys for integrations: ``bk_<prefix>_<secret>``, shown once, stored as a SHA-256 digest.

API keys are long random secrets, so a fast digest is the right tool (argon2 is for passwords
people choose); the prefix finds the record without scanning.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from hub.errors import NotFound, Unauthorized
from hub.models import ApiKey, Role, utcnow
from hub.store import Store

from .permissions import Principal

PREFIX = "bk_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, name: str, role: Role, created_by: str | None) -> tuple[ApiKey, str]:
        prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        key = ApiKey(name=name, prefix=prefix, secret_hash=_digest(secret), role=role, created_by=created_by)
        await self.store.api_keys.insert_one(key.to_doc())
        return key, f"{PREFIX}{prefix}_{secret}"

    async def verify(self, token: str) -> Principal:
        try:
            prefix, secret = token.removeprefix(PREFIX).split("_", 1)
        except ValueError as exc:
            raise Unauthorized("malformed API key") from exc
        doc = await self.store.api_keys.find_one({"prefix": prefix})
        if doc is None or not hmac.compare_digest(doc["secret_hash"], _digest(secret)):
            raise Unauthorized("invalid API key")
        key = ApiKey.from_doc(doc)
        if key.revoked_at is not None:
            raise Unauthorized("API key revoked")
        await self.store.api_keys.update_one({"_id": key.id}, {"$set": {"last_used_at": utcnow()}})
        return Principal(role=key.role, api_key_id=key.id, name=key.name)

    async def revoke(self, key_id: str) -> None:
        # by lone _id, then the check: {_id, revoked_at} would scan on FerretDB. Two concurrent
        # revocations both succeed; the key is revoked either way.
        doc = await self.store.api_keys.find_one({"_id": key_id}, {"revoked_at": 1})
        if doc is None or doc.get("revoked_at") is not None:
            raise NotFound(f"API key {key_id} not found or already revoked")
        await self.store.api_keys.update_one({"_id": key_id}, {"$set": {"revoked_at": utcnow()}})

    async def revoke_created_by(self, user_id: str) -> list[str]:
        """Revoke the live keys a user created (their deactivation): the ids revoked. A key acts
        with the role it was given, so it must not outlive the person answerable for it."""
        ids = [d["_id"] async for d in self.store.api_keys.find(
            {"created_by": user_id, "revoked_at": None}, {"_id": 1})]
        if ids:
            await self.store.api_keys.update_many({"_id": {"$in": ids}}, {"$set": {"revoked_at": utcnow()}})
        return ids

    async def get(self, key_id: str) -> ApiKey:
        doc = await self.store.api_keys.find_one({"_id": key_id})
        if doc is None:
            raise NotFound(f"API key {key_id} not found")
        return ApiKey.from_doc(doc)

    async def rename(self, key_id: str, name: str) -> ApiKey:
        await self.get(key_id)
        await self.store.api_keys.update_one({"_id": key_id}, {"$set": {"name": name}})
        return await self.get(key_id)

    async def list(self) -> list[ApiKey]:
        return [ApiKey.from_doc(d) async for d in self.store.api_keys.find().sort("_id", -1)]
