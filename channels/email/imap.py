"""IMAP polling with aioimaplib: nothing missed, nothing ingested twice, across restarts.

The cursor (``email_cursors``: UIDVALIDITY + last UID done) advances only after a message was
ingested, so a crash re-fetches at most the message in flight (ingest is idempotent on
Message-ID). A changed UIDVALIDITY (mailbox recreated) restarts from UID 1; the same
idempotency keeps that from duplicating anything. Between polls the poller waits in IDLE when
the server offers it (new mail wakes it at once), else it sleeps ``poll_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aioimaplib

from hub.periodic import raise_if_cancelling
from hub.store import Store, register, upsert

log = logging.getLogger(__name__)
register("email_cursors")  # _id = "user@host:port/mailbox"
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH = re.compile(rb"UID (\d+).*?RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+).*?UID (\d+)")


class ImapPoller:
    def __init__(
        self,
        store: Store,
        process: Callable[[bytes, int], Awaitable[Any]],
        *,
        host: str,
        port: int,
        user: str,
        password: str,
        mailbox: str = "INBOX",
        poll_s: float = 30.0,
        max_bytes: int = 25 * 1024 * 1024,
        use_idle: bool = True,
    ) -> None:
        self.store, self.process = store, process
        self.host, self.port, self.user, self.password, self.mailbox = host, port, user, password, mailbox
        self.poll_s, self.max_bytes, self.use_idle = poll_s, max_bytes, use_idle
        self.cursor_id = f"{user}@{host}:{port}/{mailbox}"
        self._stop = asyncio.Event()
        self.polls = 0
        self.last_error: str | None = None  # shown to the admin (wrong password, host unreachable…)

    async def _cursor(self) -> dict[str, Any]:
        return await self.store["email_cursors"].find_one({"_id": self.cursor_id}) or {}

    async def _advance(self, uidvalidity: int, uid: int) -> None:
        await upsert(self.store["email_cursors"], {"_id": self.cursor_id},
                     {"$set": {"uidvalidity": uidvalidity, "last_uid": uid}})

    async def connect(self) -> aioimaplib.IMAP4:
        imap = aioimaplib.IMAP4(self.host, self.port, timeout=30)
        await imap.wait_hello_from_server()
        resp = await imap.login(self.user, self.password)
        if resp.result != "OK":
            raise ConnectionError(f"IMAP login failed: {resp.lines[-1]!r}")
        return imap

    async def poll_once(self, imap: aioimaplib.IMAP4) -> int:
        """Fetch and ingest every message after the cursor. Returns how many were processed."""
        resp = await imap.select(self.mailbox)
        if resp.result != "OK":
            raise ConnectionError(f"cannot select {self.mailbox}: {resp.lines[-1]!r}")
        match = next((m for line in resp.lines if isinstance(line, bytes | bytearray)
                      if (m := _UIDVALIDITY.search(line))), None)
        uidvalidity = int(match.group(1)) if match else 0
        cursor = await self._cursor()
        last = int(cursor.get("last_uid", 0))
        if cursor and cursor.get("uidvalidity") != uidvalidity:
            log.warning("UIDVALIDITY changed: rescanning the mailbox", extra={"mailbox": self.cursor_id})
            last = 0
        resp = await imap.uid("fetch", f"{last + 1}:*", "(UID RFC822.SIZE)")
        found: list[tuple[int, int]] = []
        for line in resp.lines:
            if isinstance(line, bytes | bytearray) and (m := _FETCH.search(line)):
                uid, size = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
                if int(uid) > last:  # "n:*" always returns the newest message, even below n
                    found.append((int(uid), int(size)))
        done = 0
        for uid, size in sorted(found):
            part = "BODY.PEEK[]" if size <= self.max_bytes else "BODY.PEEK[HEADER]"
            fetched = await imap.uid("fetch", str(uid), f"({part})")
            raw = next((bytes(x) for x in fetched.lines if isinstance(x, bytearray)), None)
            if raw is None:
                log.warning("IMAP fetch returned no message", extra={"uid": uid})
                continue
            await self.process(raw, size)  # over the limit: headers only, recorded with a note
            await self._advance(uidvalidity, uid)
            done += 1
        if not cursor or cursor.get("uidvalidity") != uidvalidity:
            await self._advance(
                uidvalidity, max([last, *[u for u, _ in found]]) if done == len(found) else last
            )
        self.polls += 1
        return done

    async def _wait(self, imap: aioimaplib.IMAP4, idle: bool) -> None:
        if not idle:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.poll_s)
            return
        waiter = await imap.idle_start(timeout=self.poll_s)
        stop = asyncio.ensure_future(self._stop.wait())
        push = asyncio.ensure_future(imap.wait_server_push(timeout=self.poll_s + 5))
        await asyncio.wait({stop, push}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stop, push):
            task.cancel()
        imap.idle_done()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(waiter, 10)

    async def run(self) -> None:
        while not self._stop.is_set():
            imap = None
            try:
                imap = await self.connect()
                idle = self.use_idle and imap.has_capability("IDLE")
                while not self._stop.is_set():
                    # a cancel swallowed by a round (the ingest, the store, the IDLE wait's end) ends it
                    raise_if_cancelling()
                    await self.poll_once(imap)
                    self.last_error = None
                    raise_if_cancelling()
                    await self._wait(imap, idle)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = str(exc)[:500] or repr(exc)
                log.warning(
                    "IMAP poll failed; retrying: %r",
                    exc,
                    extra={"mailbox": self.cursor_id, "error": repr(exc)},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), min(self.poll_s, 10))
            finally:
                if imap is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(imap.logout(), 5)

    def stop(self) -> None:
        self._stop.set()
