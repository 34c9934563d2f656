"""CSRF protection for cookie sessions (the help center's sign-in cookie, any form a package
serves): a state-changing request that carries cookies must come from our own origin. The check
uses the ``Origin`` header (``Referer`` when there is none), as OWASP recommends for
"verifying origin with standard headers"; browsers send one of them on every cross-site POST.
Requests without cookies (the bearer/API-key API, provider webhooks) are not affected."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from hub import keys
from hub.api.problem import problem

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def trusted_origins(request: web.Request) -> set[str]:
    origins = {f"{request.scheme}://{request.host}".lower()}
    settings = request.app.get(keys.SETTINGS)
    if settings is not None and settings.public_url:
        origins.add(_origin_of(settings.public_url))
    return origins


@web.middleware
async def csrf_origin_check(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in SAFE or not request.cookies:
        return await handler(request)
    claimed = request.headers.get("Origin") or request.headers.get("Referer") or ""
    if claimed and (claimed == "null" or _origin_of(claimed) not in trusted_origins(request)):
        return problem(403, "Forbidden", "cross-site request refused (Origin does not match this site)")
    return await handler(request)
