"""A stand-in for a Web Push service (FCM, Mozilla autopush…), which is a third-party service the
tests cannot reach. It speaks RFC 8030's wire format and checks what a real one checks, written
here from the RFCs rather than with the library the hub sends with:

- ``POST /push/<token>``: 201 + ``Location`` when accepted; 404 for an unknown subscription, 410
  for one that expired (``gone``); 400 without ``TTL``, with a bad ``Urgency``/``Topic`` or content
  coding; 413 over 4096 bytes; 503 while ``fail_next`` > 0 (a push service having a bad moment).
- VAPID (RFC 8292): ``Authorization: vapid t=<JWT>, k=<key>`` — ``k`` must be the
  ``applicationServerKey`` the browser subscribed with, the ES256 signature must verify with it,
  ``aud`` must be this service's origin, ``exp`` in the future and at most 24 hours ahead, ``sub``
  a ``mailto:`` or ``https:`` contact; else 403.
- The payload is decrypted the way the browser does (RFC 8291 key derivation, RFC 8188
  aes128gcm record), with the subscription's private key and auth secret, so a test reads what
  the agent's browser would show.
"""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

URGENCIES = {"very-low", "low", "normal", "high"}
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


@dataclass
class Browser:
    """One subscription as the browser holds it: its ECDH key pair and auth secret."""

    token: str
    application_server_key: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 §3.4 + RFC 8188 §2: one aes128gcm record."""
        salt, rs, idlen = body[:16], struct.unpack("!I", body[16:20])[0], body[20]
        sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), body[21 : 21 + idlen])
        record = body[21 + idlen :]
        if len(record) > rs:
            raise ValueError("more than one record")
        shared = self.private_key.exchange(ec.ECDH(), sender)
        ikm = _hkdf(
            self.auth,
            shared,
            b"WebPush: info\x00" + _point(self.private_key.public_key()) + _point(sender),
            32,
        )
        cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        padded = AESGCM(cek).decrypt(nonce, record, None)
        plain = padded.rstrip(b"\x00")
        if not plain.endswith(b"\x02"):
            raise ValueError("last record lacks its delimiter")
        return plain[:-1]


class PushService:
    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.gone: set[str] = set()
        self.delivered: list[dict[str, Any]] = []
        self.refused: list[tuple[int, str]] = []
        self.fail_next = 0
        self.origin = ""
        self.app = web.Application()
        self.app.router.add_post("/push/{token}", self.receive)

    def subscribe(self, application_server_key: str) -> tuple[Browser, dict[str, Any]]:
        """What ``PushManager.subscribe`` gives the page: ``PushSubscription.toJSON()``."""
        browser = Browser(b64url(os.urandom(24)), application_server_key)
        self.browsers[browser.token] = browser
        return browser, {
            "endpoint": f"{self.origin}/push/{browser.token}",
            "expirationTime": None,
            "keys": {
                "p256dh": b64url(_point(browser.private_key.public_key())),
                "auth": b64url(browser.auth),
            },
        }

    def messages(self, browser: Browser) -> list[dict[str, Any]]:
        return [m for m in self.delivered if m["token"] == browser.token]

    def _refuse(self, status: int, reason: str) -> web.Response:
        self.refused.append((status, reason))
        return web.Response(status=status, text=reason)

    async def receive(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token in self.gone:
            return self._refuse(410, "subscription expired")
        browser = self.browsers.get(token)
        if browser is None:
            return self._refuse(404, "no such subscription")
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=503, headers={"Retry-After": "1"}, text="try later")
        ttl = request.headers.get("TTL", "")
        if not ttl.isdigit():
            return self._refuse(400, "TTL header required")
        urgency = request.headers.get("Urgency", "normal")
        topic = request.headers.get("Topic")
        if urgency not in URGENCIES or (topic is not None and not TOPIC.match(topic)):
            return self._refuse(400, "bad Urgency or Topic")
        claims = self._check_vapid(request.headers.get("Authorization", ""), browser)
        if isinstance(claims, str):
            return self._refuse(403, claims)
        body = await request.read()
        if len(body) > 4096:
            return self._refuse(413, "payload too large")
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return self._refuse(400, "content coding must be aes128gcm")
        try:
            plain = browser.decrypt(body)
        except Exception as exc:  # what the browser would do: drop a message it cannot decrypt
            return self._refuse(400, f"cannot decrypt: {exc!r}")
        message_id = b64url(os.urandom(9))
        self.delivered.append(
            {
                "id": message_id,
                "token": token,
                "payload": json.loads(plain),
                "ttl": int(ttl),
                "urgency": urgency,
                "topic": topic,
                "claims": claims,
            }
        )
        return web.Response(status=201, headers={"Location": f"{self.origin}/message/{message_id}"})

    def _check_vapid(self, header: str, browser: Browser) -> dict[str, Any] | str:
        match = re.fullmatch(r"vapid\s+t=([^,\s]+)\s*,\s*k=([A-Za-z0-9_-]+)", header.strip())
        if not match:
            return "Authorization: vapid t=..., k=... required"
        token, key = match.groups()
        if key != browser.application_server_key:
            return "k is not the key this subscription was made with"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                public,
                algorithms=["ES256"],
                audience=self.origin,
                options={"require": ["exp", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            return f"JWT: {exc}"
        if claims["exp"] > time.time() + 24 * 3600:
            return "exp more than 24 hours ahead"
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            return "sub must be a mailto: or https: contact"
        return claims
