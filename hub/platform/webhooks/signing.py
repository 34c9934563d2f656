"""Webhook signatures (Stripe-like): ``Berry-Signature: t=<unix seconds>,v1=<hex>`` where
``v1 = HMAC-SHA256(secret, f"{t}." + raw body)``. Receivers recompute it over the raw bytes,
compare in constant time, and refuse a ``t`` outside their tolerance (replay window); the
``Berry-Delivery`` id lets them drop a delivery they already processed.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from hub.models import is_digits

HEADER = "Berry-Signature"
TOLERANCE_S = 300
MAX_T_DIGITS = 12


class SignatureError(ValueError):
    """The signature header is missing, malformed, wrong, or outside the replay window."""


def sign(secret: str, body: bytes, timestamp: int | None = None, *, also: tuple[str, ...] = ()) -> str:
    """The header for ``body``; ``also``: older secrets still honoured during a rotation, each adding
    its own ``v1`` (a receiver checking with either secret accepts the delivery)."""
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + body
    macs = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in (secret, *also)]
    return ",".join([f"t={t}", *(f"v1={mac}" for mac in macs)])


def verify(secret: str, header: str, body: bytes, *, tolerance_s: int = TOLERANCE_S,
           now: float | None = None) -> int:
    """Check a ``Berry-Signature`` header; returns its timestamp or raises ``SignatureError``.
    Several ``v1`` values are allowed (sent during a secret rotation); one must match."""
    if not header or len(header) > 1024:
        raise SignatureError("missing or oversized signature header")
    t_value, macs = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            t_value = value
        elif key == "v1":
            macs.append(value)
    # at most 12 digits: a longer t (ours never are before the year 33658) used to escape as an
    # OverflowError from the float comparison below instead of this SignatureError
    if t_value is None or not is_digits(t_value) or len(t_value) > MAX_T_DIGITS or not macs:
        raise SignatureError("malformed signature header")
    t = int(t_value)
    current = time.time() if now is None else now
    if abs(current - t) > tolerance_s:
        raise SignatureError("timestamp outside the tolerance window (replayed or clock skew)")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, m) for m in macs):
        raise SignatureError("signature does not match")
    return t
