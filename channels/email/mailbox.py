"""The IMAP mailbox the hub polls, as configured now: settings (``BERRY_IMAP_…``) overlaid by the
admin's e-mail inbox (host, port, user, mailbox, and the encrypted ``imap_password``).

``MailboxSupervisor.apply`` is called whenever the configuration is (re)loaded — at start-up,
after an admin saves the inbox, and by every node's periodic inbox refresh — and restarts the
poller only when the effective mailbox changed, so a running hub picks up new credentials
without a restart. Two nodes polling the same mailbox are harmless: ingest is idempotent on
Message-ID and each node keeps the same UID cursor document.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hub.store import Store

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
    """Owns at most one running ``ImapPoller`` and swaps it when the configuration changes."""

    def __init__(self, store: Store, ingest: Callable[[bytes, int], Awaitable[Any]], *, poll_s: float,
                 max_bytes: int) -> None:
        self.store, self.ingest, self.poll_s, self.max_bytes = store, ingest, poll_s, max_bytes
        self.config: MailboxConfig | None = None
        self.poller: ImapPoller | None = None
        self._task: asyncio.Task[None] | None = None

    async def apply(self, config: MailboxConfig | None) -> bool:
        """Start, restart or stop the poller for ``config``. Returns True when something changed."""
        if config == self.config and (config is None or self._task is not None):
            return False
        await self.stop()
        self.config = config
        if config is not None:
            self.poller = ImapPoller(self.store, self.ingest, host=config.host, port=config.port, user=config.user,
                                     password=config.password, mailbox=config.mailbox, poll_s=self.poll_s,
                                     max_bytes=self.max_bytes)
            self._task = asyncio.create_task(self.poller.run())
            log.info("IMAP poller started", extra={"mailbox": self.poller.cursor_id})
        return True

    def status(self) -> dict[str, Any]:
        """For the admin's inbox view: is the mailbox being read, and the last error if not."""
        if self.poller is None:
            return {"polling": False}
        return {"polling": True, "mailbox": self.poller.cursor_id, "polls": self.poller.polls,
                "last_error": self.poller.last_error}

    async def stop(self) -> None:
        poller, task = self.poller, self._task
        self.poller, self._task, self.config = None, None, None
        if poller is None or task is None:
            return
        poller.stop()
        # asyncio.wait, not wait_for: a cancellation of the caller (shutdown) must propagate
        done, _ = await asyncio.wait({task}, timeout=10)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=5)
