"""IP allow-lists per role: a principal whose role has an allow-list may call the API only from
those networks (403 otherwise). Runs after authentication; the IP is the rate limiter's
``client_ip`` (``X-Forwarded-For`` only when trusted)."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from functools import lru_cache

from aiohttp import web

from hub import keys
from hub.errors import Forbidden

from ..ratelimit import client_ip
from ..settings import PLATFORM_SETTINGS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def allowed(ip: str, cidrs: list[str]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in _networks(tuple(cidrs)))


@web.middleware
async def enforce_allowlist(request: web.Request, handler: Handler) -> web.StreamResponse:
    principal = request.get(keys.PRINCIPAL)
    if principal is not None:
        cidrs = request.app[PLATFORM_SETTINGS].ip_allowlist.get(principal.role.value)
        if cidrs and not allowed(client_ip(request), cidrs):
            raise Forbidden(f"role {principal.role.value} may not call the API from this network")
    return await handler(request)
