"""Inbound SMTP listener (aiosmtpd) on the hub's own event loop: a mail is answered 250 only after
it was ingested, 451 (the sender's MTA retries) when the store is down, 552 over the size limit.

``SmtpListener.apply`` (re)binds it whenever the configuration changes — ``BERRY_SMTP_LISTEN_PORT``
overlaid by the admin's e-mail inbox (``settings.smtp_listen_port``, 0 = off) — on every node, as
an MX may point at each of them; a port that cannot be bound is shown to the admin, not fatal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from pymongo.errors import PyMongoError

from channels.base import ChannelError
from hub.errors import StoreUnavailable

log = logging.getLogger(__name__)


class IngestHandler:
    def __init__(self, process: Callable[[bytes], Awaitable[Any]], accept_domains: set[str]) -> None:
        self.process = process
        self.accept_domains = accept_domains

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if self.accept_domains and address.rsplit("@", 1)[-1].lower() not in self.accept_domains:
            return "550 5.1.1 not a support mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        try:
            await self.process(raw)
        except (PyMongoError, StoreUnavailable):
            return "451 4.3.0 temporarily unable to store the message; try again later"
        except ChannelError as exc:
            return f"550 5.6.0 {exc.detail}"[:200]
        except Exception:
            log.exception("inbound SMTP: unexpected error")
            return "451 4.3.0 temporary failure"
        return "250 2.0.0 OK: queued"


async def start_listener(process: Callable[[bytes], Awaitable[Any]], *, host: str, port: int, max_bytes: int,
                         accept_domains: set[str]) -> asyncio.base_events.Server:
    handler = IngestHandler(process, accept_domains)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, data_size_limit=max_bytes, enable_SMTPUTF8=True, hostname="berry-hub"),
        host,
        port,
    )


class SmtpListener:
    """At most one listening server, moved when the port or the accepted domain changes."""

    def __init__(self, process: Callable[[bytes], Awaitable[Any]], *, host: str, max_bytes: int) -> None:
        self.process, self.host, self.max_bytes = process, host, max_bytes
        self.wanted: tuple[int, str] | None = None
        self.server: asyncio.base_events.Server | None = None
        self.last_error: str | None = None

    async def apply(self, port: int, domain: str) -> bool:
        """Listen on ``port`` for mail to ``domain`` (0: not at all). True when something changed."""
        if (port, domain) == self.wanted and (self.server is not None or not port):
            return False
        await self.stop()
        self.wanted = (port, domain)
        if port:
            try:
                self.server = await start_listener(
                    self.process,
                    host=self.host,
                    port=port,
                    max_bytes=self.max_bytes,
                    accept_domains={domain} if domain else set(),
                )
                log.info("SMTP listener started", extra={"port": port})
            except OSError as exc:  # in use, privileged: the admin sees why no mail arrives
                self.last_error = f"cannot listen on port {port}: {exc.strerror or exc}"
                log.warning("SMTP listener not started: %s", self.last_error)
        return True

    def status(self) -> dict[str, Any]:
        port = self.wanted[0] if self.wanted else 0
        return {"listening": self.server is not None, "port": port, "last_error": self.last_error}

    async def stop(self) -> None:
        server, self.server, self.wanted, self.last_error = self.server, None, None, None
        if server is not None:
            server.close()
            await server.wait_closed()
