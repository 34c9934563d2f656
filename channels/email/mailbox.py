"""The IMAP mailbox the hub polls, as configured now: settings (``BERRY_IMAP_…``) overlaid by the
admin's e-mail inbox (host, port, user, mailbox, and the encrypted ``imap_password``).

``MailboxSupervisor.apply`` is called whenever the configuration is (re)loaded — at start-up,
after an admin saves the inbox, and by every node's periodic inbox refresh — and restarts the
poller only when the effective mailbox changed, so a running hub picks up new credentials
without a restart.

With several nodes, one polls a mailbox at a time: the holder of its lease (``channels.lease``,
renewed every third of ``BERRY_IMAP_LEASE_S``); the others stand by, show the holder's status, and
take over within one lease when it dies (at once when it stops gracefully). Should two ever poll
at once (a stalled holder), nothing doubles: ingest is idempotent on Message-ID and they share
the UID cursor document.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hub.store import Store

from ..lease import Lease
from .imap import ImapPoller

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    user: str
    password: str = ""
    mailbox: str = "INBOX"

    def __repr__(self) -> str:  # never log the password
        return f"MailboxConfig({self.user}@{self.host}:{self.port}/{self.mailbox})"


def effective_config(settings: Any, doc: dict[str, Any], secret: str | None) -> MailboxConfig | None:
    """The mailbox to poll, or None when e-mail polling is off (no host, or the inbox disabled)."""
    conf = doc.get("settings", {})
    host = str(conf.get("imap_host") or settings.imap_host)
    if not host or doc.get("enabled") is False:
        return None
    return MailboxConfig(host=host, port=int(conf.get("imap_port") or settings.imap_port),
                         user=str(conf.get("imap_user") or settings.imap_user),
                         password=secret or settings.imap_password.get_secret_value(),
                         mailbox=str(conf.get("imap_mailbox") or settings.imap_mailbox))


class MailboxSupervisor:
    """Holds the mailbox's lease while it can, and runs at most one ``ImapPoller`` while it does."""

    def __init__(
        self,
        store: Store,
        ingest: Callable[[bytes, int], Awaitable[Any]],
        *,
        poll_s: float,
        max_bytes: int,
        lease_s: float = 30.0,
        renew_s: float | None = None,
        node: str | None = None,
    ) -> None:
        self.store, self.ingest, self.poll_s, self.max_bytes = store, ingest, poll_s, max_bytes
        self.lease_s, self.renew_s = lease_s, renew_s or lease_s / 3
        self.node = node or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.config: MailboxConfig | None = None
        self.lease: Lease | None = None
        self.poller: ImapPoller | None = None
        self._task: asyncio.Task[None] | None = None  # the poller
        self._lead_task: asyncio.Task[None] | None = None  # renews the lease, starts/stops the poller
        self._stop = asyncio.Event()

    async def apply(self, config: MailboxConfig | None) -> bool:
        """Start, restart or stop polling ``config``. Returns True when something changed."""
        if config == self.config and (config is None or self._lead_task is not None):
            return False
        await self.stop()
        self.config = config
        if config is not None:
            self._stop = asyncio.Event()
            self.lease = Lease(
                self.store, f"imap:{cursor_id(config)}", self.node, timedelta(seconds=self.lease_s)
            )
            await self._step(config)  # the first try inline: the admin's save answers with the outcome
            self._lead_task = asyncio.create_task(self._lead(config))
        return True

    async def _step(self, config: MailboxConfig) -> None:
        assert self.lease is not None
        try:
            held = await self.lease.acquire(self._info())
        except Exception as exc:  # store down: can't renew, so another node may take over; stand down
            log.warning("mailbox lease not renewed: %r", exc, extra={"mailbox": cursor_id(config)})
            held = False
        if held and self._task is None:
            self.poller = ImapPoller(
                self.store,
                self.ingest,
                host=config.host,
                port=config.port,
                user=config.user,
                password=config.password,
                mailbox=config.mailbox,
                poll_s=self.poll_s,
                max_bytes=self.max_bytes,
            )
            self._task = asyncio.create_task(self.poller.run())
            log.info(
                "IMAP poller started (lease held)",
                extra={"mailbox": self.poller.cursor_id, "node": self.node},
            )
        elif not held and self._task is not None:
            log.warning(
                "mailbox lease lost: poller stopped", extra={"mailbox": cursor_id(config), "node": self.node}
            )
            await self._stop_poller()

    async def _lead(self, config: MailboxConfig) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.renew_s)
            if not self._stop.is_set():
                await self._step(config)

    def _info(self) -> dict[str, Any]:
        if self.poller is None:
            return {}
        return {"polls": self.poller.polls, "last_error": self.poller.last_error}

    def status(self) -> dict[str, Any]:
        """For the admin's inbox view, on any node: is the mailbox being read (by which node), and
        the last error if not (the holder publishes its status with each renewal)."""
        if self.config is None:
            return {"polling": False}
        if self.poller is not None:
            return {"polling": True, "mailbox": self.poller.cursor_id, "polls": self.poller.polls,
                    "last_error": self.poller.last_error, "node": self.node, "this_node": True}
        holder = self.lease.holder if self.lease else None
        if holder is None or not holder.live():
            return {"polling": False, "mailbox": cursor_id(self.config)}
        return {"polling": True, "mailbox": cursor_id(self.config), "polls": holder.info.get("polls", 0),
                "last_error": holder.info.get("last_error"), "node": holder.owner, "this_node": False}

    async def _stop_poller(self) -> None:
        poller, task = self.poller, self._task
        self.poller, self._task = None, None
        if poller is None or task is None:
            return
        poller.stop()
        # asyncio.wait, not wait_for: a cancellation of the caller (shutdown) must propagate
        done, _ = await asyncio.wait({task}, timeout=10)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=5)

    async def stop(self) -> None:
        """Stop polling and hand the lease over at once (another node need not wait it out)."""
        self._stop.set()
        lead, self._lead_task = self._lead_task, None
        if lead is not None:
            await asyncio.wait({lead}, timeout=10)
        held = self._task is not None
        await self._stop_poller()
        lease, self.lease, self.config = self.lease, None, None
        if lease is not None and held:
            try:
                await lease.release()
            except Exception as exc:  # the store is down: the lease runs out by itself
                log.warning("mailbox lease not released: %r", exc)


def cursor_id(config: MailboxConfig) -> str:
    return f"{config.user}@{config.host}:{config.port}/{config.mailbox}"
