"""The hub's VAPID key pair (RFC 8292): push services accept a message only with a JWT signed by
the key the browser subscribed with (its public half is the ``applicationServerKey``).

``BERRY_VAPID_PRIVATE_KEY`` (PEM) wins; otherwise a key is generated once and stored encrypted
with the platform's secrets box (``console_push_keys``, ``_id`` "vapid": an ``_id`` insert, so two
nodes starting at once end up with the same key). Rotated with the other stored secrets.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

from hub.store import Store, register

COLLECTION = "console_push_keys"
TOKEN_TTL_S = 12 * 3600  # RFC 8292 says at most 24 hours

register(COLLECTION)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class VapidKeys:
    def __init__(self, store: Store, box: Any, configured_pem: str, subject: str) -> None:
        self.store, self.box, self.configured_pem, self.subject = store, box, configured_pem, subject
        self._vapid: Vapid02 | None = None

    async def load(self) -> Vapid02:
        if self._vapid is None:
            pem = self.configured_pem.strip() or await self._stored()
            self._vapid = Vapid02.from_pem(pem.encode())
        return self._vapid

    async def _stored(self) -> str:
        col = self.store[COLLECTION]
        doc = await col.find_one({"_id": "vapid"})
        if doc is None:
            fresh = Vapid02()
            fresh.generate_keys()
            await self.store.claim(
                COLLECTION, "vapid", {"private_enc": self.box.encrypt(fresh.private_pem().decode())}
            )
            doc = await col.find_one({"_id": "vapid"})  # ours, or the node's that got there first
        assert doc is not None
        return str(self.box.decrypt(doc["private_enc"]))

    async def public_key(self) -> str:
        """The ``applicationServerKey``: the uncompressed P-256 point, base64url."""
        vapid = await self.load()
        return b64url(
            vapid.public_key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    async def authorization(self, endpoint: str) -> str:
        """``vapid t=<JWT>, k=<public key>`` for a push to ``endpoint`` (aud = its origin)."""
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + TOKEN_TTL_S,
            "sub": self.subject,
        }
        headers = (await self.load()).sign(claims)
        return str(headers["Authorization"])

    async def reencrypt(self) -> int:
        doc = await self.store[COLLECTION].find_one({"_id": "vapid"})
        if doc is None:
            return 0
        await self.store[COLLECTION].update_one(
            {"_id": "vapid"}, {"$set": {"private_enc": self.box.rotate(doc["private_enc"])}}
        )
        return 1


__all__ = ["VapidKeys", "b64url"]
