"""Secrets encrypted at rest: Fernet tokens under a ``MultiFernet`` of the keys in settings.

The first key encrypts; every key decrypts, so a key is rotated by putting a new one first, running
``rotate`` over the stored values (``POST /api/v1/platform/secrets/rotate``), then dropping the old
key. Other packages (channel credentials) use the same box: ``app[keys.EXTENSIONS]["secrets"]``.
"""

from __future__ import annotations

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hub.errors import HubError

log = logging.getLogger(__name__)


class SecretError(HubError):
    title = "Secret cannot be decrypted"


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    @classmethod
    def from_settings(cls, secret_keys: str, fallback: str) -> SecretBox:
        keys = [k.strip() for k in secret_keys.split(",") if k.strip()]
        if not keys:
            log.warning("BERRY_SECRET_KEYS unset: deriving the secrets key from BERRY_JWT_SECRET (dev only)")
            keys = [
                base64.urlsafe_b64encode(
                    hashlib.sha256(b"berry-secrets:" + fallback.encode()).digest()
                ).decode()
            ]
        return cls(keys)

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError) as exc:
            raise SecretError("stored secret does not decrypt with any configured key") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except (InvalidToken, ValueError) as exc:
            raise SecretError("stored secret does not decrypt with any configured key") from exc
