"""Secure response headers on every response (an ``on_response_prepare`` signal, so error pages,
static files and redirects get them too). HSTS only when the request came over https (directly
or, with ``BERRY_RATELIMIT_TRUST_FORWARDED``, per ``X-Forwarded-Proto``)."""

from __future__ import annotations

from aiohttp import web

from ..settings import PLATFORM_SETTINGS


async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    settings = request.app[PLATFORM_SETTINGS]
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    h.setdefault("Content-Security-Policy", settings.content_security_policy)
    forwarded = request.headers.get("X-Forwarded-Proto", "") if settings.ratelimit_trust_forwarded else ""
    if request.secure or forwarded == "https":
        h.setdefault("Strict-Transport-Security", f"max-age={settings.hsts_max_age}; includeSubDomains")
    if request.path.startswith("/api/") and "Cache-Control" not in h:
        h["Cache-Control"] = "no-store"


def install(app: web.Application) -> None:
    app.on_response_prepare.append(secure_headers)
