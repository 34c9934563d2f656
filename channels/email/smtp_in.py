"""Inbound SMTP listener (aiosmtpd) on the hub's own event loop: a mail is answered 250 only after
it was ingested, 451 (the sender's MTA retries) when the store is down, 552 over the size limit."""

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
        lambda: SMTP(handler, data_size_limit=max_bytes, enable_SMTPUTF8=True, hostname="berry-hub"), host, port)
