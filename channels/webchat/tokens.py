"""Signed visitor tokens (``v1.<visitor>.<expires>.<hmac>``) and the host site's identity HMAC.

A token proves which visitor a browser is; a token edited to name another visitor fails the HMAC.
The host site may vouch for a signed-in user by sending ``user_hash = HMAC-SHA256(identity
secret, user_id + "|" + email)``; only then is the visitor linked to the contact owning that
e-mail. The e-mail is inside the signature: a hash of the user id alone would let any signed-in
user of the host site claim another person's e-mail and read the replies meant for them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

TTL_S = 180 * 24 * 3600


def new_visitor_id() -> str:
    return "v" + secrets.token_hex(12)


def issue(secret: str, visitor_id: str, *, now: float | None = None) -> str:
    expires = int((now or time.time()) + TTL_S)
    body = f"v1.{visitor_id}.{expires}"
    return f"{body}.{_mac(secret, body)}"


def verify(secret: str, token: str, *, now: float | None = None) -> str | None:
    """The visitor id the token was issued for, or None (forged, altered, expired, garbage)."""
    if not isinstance(token, str) or len(token) > 256:
        return None
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != "v1":
        return None
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(secret, body), parts[3]):
        return None
    try:
        if int(parts[2]) < (now or time.time()):
            return None
    except ValueError:
        return None
    return parts[1]


def identity_hash(secret: str, user_id: str, email: str) -> str:
    return hmac.new(secret.encode(), f"{user_id}|{email}".encode(), hashlib.sha256).hexdigest()


def verify_identity(secret: str, user_id: str, email: str, user_hash: str) -> bool:
    """A user id with "|" is refused: the signed text must name one (user id, e-mail) pair."""
    return (bool(secret) and bool(user_id) and bool(email) and "|" not in user_id
            and hmac.compare_digest(identity_hash(secret, user_id, email), str(user_hash)))


def _mac(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()[:32]
