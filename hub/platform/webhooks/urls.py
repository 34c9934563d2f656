"""Webhook target URLs: ``check_url`` validates the text, ``check_resolved`` refuses targets on
loopback/private networks at delivery time (SSRF), unless ``webhook_allow_private`` is set, and
``GuardedResolver`` applies the same rule to the addresses the HTTP client actually connects to
(so a DNS answer that changes between the check and the connect — rebinding — is refused too)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from hub.errors import InvalidInput

MAX_URL = 2048


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address in the last 32 bits
COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible (::1 and :: are in it too)


def _is_private(ip: str) -> bool:
    """Not a public unicast address. An IPv6 address that carries an IPv4 one (IPv4-mapped
    ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d``, 6to4 ``2002:AABB:CCDD::``, IPv4-compatible
    ``::a.b.c.d``) is judged by that IPv4 address: Python calls NAT64 and 6to4 global whatever
    they carry, but a NAT64 gateway or 6to4 relay delivers to the embedded address."""
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is None and (addr in NAT64 or addr in COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFF_FFFF)
        addr = embedded or addr
    return not addr.is_global or addr.is_multicast


def check_url(url: str, *, allow_private: bool) -> str:
    if len(url) > MAX_URL or any(c in url for c in "\r\n\t ") or any(ord(c) < 32 for c in url):
        raise InvalidInput("URL too long or contains whitespace/control characters", field="url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("URL must be http(s)://host/…", field="url")
    if parts.username or parts.password:
        raise InvalidInput("URL must not carry credentials", field="url")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise InvalidInput("URL has an invalid port", field="url") from exc
    if not allow_private:
        host = parts.hostname.rstrip(".")  # "localhost." is localhost
        if host == "localhost" or host.endswith(".localhost"):
            raise InvalidInput("URL must not point at this machine", field="url")
        try:
            if _is_private(_numeric_ipv4(host) or host):
                raise InvalidInput("URL must not point at a private network", field="url")
        except ValueError:
            pass  # a name: checked again when resolved at delivery time
    return url


def _numeric_ipv4(host: str) -> str | None:
    """The address of an IPv4 host the resolver reads without DNS in its other spellings
    (``127.1``, ``2130706433``, ``0x7f.1``, ``0``), as ``getaddrinfo`` does at delivery time."""
    if not host or any(c not in "0123456789abcdefxABCDEFX." for c in host):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


async def check_resolved(url: str, *, allow_private: bool) -> None:
    """Resolve the host and refuse private addresses (DNS may change after the URL was saved)."""
    if allow_private:
        return
    parts = urlsplit(url)
    infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443,
                                                         type=socket.SOCK_STREAM)
    for info in infos:
        if _is_private(str(info[4][0])):
            raise PermissionError(f"{parts.hostname} resolves to a private address")


class GuardedResolver(ThreadedResolver):
    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        if not self.allow_private and any(_is_private(r["host"]) for r in results):
            raise OSError(f"{host} resolves to a private address")
        return results
