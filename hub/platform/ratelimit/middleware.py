"""Rate-limit middlewares: ``limit_ip`` runs before authentication (every /api request, including
ones with bad credentials, and the help center's searches and form posts), ``limit_principal``
after it (per user or per API key). Both add the ``RateLimit-Limit/Remaining/Reset`` headers; a
refused request gets 429 problem+json with ``Retry-After``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from hub import keys
from hub.api.problem import problem

from ..appkeys import RATE_LIMITER
from ..settings import PLATFORM_SETTINGS, parse_rate
from .backends import Decision

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EXEMPT = ("/api/docs",)
HELP_SEARCH = re.compile(r"^/help/(?:search\.json|[a-z]{2}/search)$")
DECISION: web.RequestKey[Decision] = web.RequestKey("ratelimit_decision")


def client_ip(request: web.Request) -> str:
    """The caller's IP; ``X-Forwarded-For`` only when configured (behind a trusted proxy), and only
    if it parses as an IP address (the value becomes part of a counter key)."""
    settings = request.app[PLATFORM_SETTINGS]
    if settings.ratelimit_trust_forwarded:
        first = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        try:
            return str(ipaddress.ip_address(first))
        except ValueError:
            pass
    return request.remote or "unknown"


def _limited(decision: Decision) -> web.Response:
    return problem(429, "Too many requests", f"rate limit of {decision.limit} requests exceeded; "
                   f"retry in {max(1, decision.retry_after_s)} s", headers=decision.headers())


def _applies(request: web.Request) -> bool:
    settings = request.app[PLATFORM_SETTINGS]
    if not settings.ratelimit_enabled:
        return False
    if request.path.startswith("/api/"):
        return not request.path.startswith(EXEMPT)
    # The help center's anonymous work counts too: its searches (the query encoder: /kb/search's
    # cost, which is limited) and its form posts (a contact form opens a ticket, others sign in,
    # vote, reply). Unlimited, one address opened 100 tickets in 7 s. Its pages are not counted.
    help_work = request.method == "POST" or bool(HELP_SEARCH.match(request.path))
    return request.path.startswith("/help/") and help_work


@web.middleware
async def limit_ip(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _applies(request):
        return await handler(request)
    limit, window = parse_rate(request.app[PLATFORM_SETTINGS].ratelimit_ip)
    decision = await request.app[RATE_LIMITER].hit(f"ip:{client_ip(request)}", limit, window)
    if not decision.allowed:
        return _limited(decision)
    request[DECISION] = decision
    return await handler(request)


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Response-prepare signal: error responses made further out (problem+json) get them too."""
    decision = request.get(DECISION)
    if decision is not None:
        for name, value in decision.headers().items():
            response.headers.setdefault(name, value)


@web.middleware
async def limit_principal(request: web.Request, handler: Handler) -> web.StreamResponse:
    principal = request.get(keys.PRINCIPAL)
    if principal is None or not _applies(request):
        return await handler(request)
    settings = request.app[PLATFORM_SETTINGS]
    if principal.api_key_id:
        key, rate = f"key:{principal.api_key_id}", settings.ratelimit_api_key
    else:
        key, rate = f"user:{principal.user_id}", settings.ratelimit_user
    limit, window = parse_rate(rate)
    decision = await request.app[RATE_LIMITER].hit(key, limit, window)
    if not decision.allowed:
        return _limited(decision)
    ip_decision = request.get(DECISION)
    if ip_decision is None or decision.remaining < ip_decision.remaining:
        request[DECISION] = decision  # the headers show the tighter of the two limits
    return await handler(request)


def install(app: web.Application) -> None:
    """``limit_ip`` right before ``authenticate``; ``limit_principal`` last."""
    from hub.api.middleware import authenticate

    middlewares = app.middlewares
    position = next((i for i, m in enumerate(middlewares) if m is authenticate), len(middlewares))
    middlewares.insert(position, limit_ip)
    middlewares.append(limit_principal)
    app.on_response_prepare.append(add_headers)
