"""``X-Twilio-Signature`` checks with the SDK's ``RequestValidator``.

Twilio signs the URL it was configured with, so the URL is rebuilt from ``BERRY_PUBLIC_URL`` (the
hub may sit behind a reverse proxy that changes scheme, host and port) plus the path and query
the hub received. A handed-out URL carries a connection-override fragment (``#rc=5&rp=all``) that
never reaches the server; the check accepts the signature of the URL with or without it.

JSON bodies are signed differently: the URL carries ``bodySHA256`` (hex SHA-256 of the body) and
the signature covers the URL only. The raw body is then handed to the validator as a string, so
it checks both the hash and the signature; a body changed after signing fails either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from multidict import MultiDict
from twilio.request_validator import RequestValidator, get_signature_algorithm

from channels.base import SignatureInvalid

SIGNATURE = "X-Twilio-Signature"
SIGNATURE_SETTINGS = "X-Twilio-Webhooks-Signature-Settings"


def signed_urls(public_base: str, path_qs: str, overrides: str) -> list[str]:
    url = public_base.rstrip("/") + path_qs
    return [url, f"{url}#{overrides}"] if overrides else [url]


def verify_signature(auth_token: str, urls: list[str], params: MultiDict[str], headers: Mapping[str, str],
                     body: bytes | None = None) -> None:
    """Raise ``SignatureInvalid`` unless one of ``urls`` with ``params`` (or, for a ``bodySHA256``
    URL, with ``body``) matches the signature."""
    get = headers.get
    signature = get(SIGNATURE, "")
    if not signature:
        raise SignatureInvalid("missing X-Twilio-Signature")
    if not auth_token:
        raise SignatureInvalid("Twilio is not configured (no auth token)")
    algorithm = get_signature_algorithm(get(SIGNATURE_SETTINGS, ""))
    validator = RequestValidator(auth_token)
    signed: MultiDict[str] | str = params
    if "bodySHA256" in parse_qs(urlsplit(urls[0]).query):
        if body is None:
            raise SignatureInvalid("bodySHA256 given but no body to check")
        try:
            signed = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SignatureInvalid("body is not UTF-8") from exc
    if not any(validator.validate(url, signed, signature, algorithm) for url in urls):
        raise SignatureInvalid("X-Twilio-Signature does not match this request")
