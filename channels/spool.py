"""A durable file spool for verified inbound payloads the store could not take yet.

A webhook is spooled (write to a temp file, fsync, rename) before it is ingested and removed once
the store accepted it. If the store is down the webhook answers 503 (Twilio retries when the URL
carries connection overrides) and a background drainer ingests the spooled copy when the store is
back; ingest is idempotent on the provider id, so a retried webhook plus the drained copy store
one message. Nothing verified is lost, whether or not the provider retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, directory: Path,
                 dead_letter: Callable[[str, dict[str, Any], str], Awaitable[None]] | None = None) -> None:
        self.directory = directory
        self.dead_letter = dead_letter
        # keys a request of this process is ingesting right now: the drainer leaves them alone
        # (their age alone is no guide: a slow ingest outlives any fixed minimum age)
        self._busy: set[str] = set()
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    async def hold(self, key: str, payload: dict[str, Any]) -> Path:
        """Keep ``payload`` durably, held by the caller until ``release`` or ``done``. The write and
        fsync run in a thread: a request waits for its own fsync, but the event loop serves other
        requests meanwhile (fsync on a busy disk takes milliseconds)."""
        self._busy.add(key)  # marked here, in the loop: the drainer never sees it unheld
        return await asyncio.to_thread(self._write, key, payload)

    async def done(self, key: str) -> None:
        """``remove`` with the unlink in a thread (a journaled metadata write)."""
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)
        self._busy.discard(key)

    def _write(self, key: str, payload: dict[str, Any]) -> Path:
        path = self._path(key)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")  # unique per writer
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"key": key, "payload": payload}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    def release(self, key: str) -> None:
        """The caller is done with ``key``; a copy still on disk is the drainer's from now on."""
        self._busy.discard(key)

    def remove(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        self._busy.discard(key)

    def pending(self, min_age_s: float = 0.0) -> list[tuple[str, dict[str, Any]]]:
        """Entries oldest first; ``min_age_s`` skips those a live request may still be ingesting."""
        out = []
        now = time.time()
        entries = []
        for path in self.directory.glob("*.json"):
            try:
                entries.append((path.stat().st_mtime, path))
            except FileNotFoundError:  # removed by its request meanwhile
                continue
        for mtime, path in sorted(entries):
            if min_age_s and now - mtime < min_age_s:  # 0: every entry (erasure, tests)
                continue
            try:
                entry = json.loads(path.read_text(encoding="utf-8"))
                out.append((entry["key"], entry["payload"]))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError):
                log.exception("unreadable spool entry", extra={"path": str(path)})
        return out

    @staticmethod
    def is_retryable(exc: Exception) -> bool:
        from pymongo.errors import PyMongoError

        from channels.base import ChannelError
        from hub.errors import Conflict, HubError, StoreUnavailable
        # unknown errors count as passing (kept for the next round); input that can never be
        # ingested (a payload missing its sender or form) would otherwise block the spool forever
        permanent = (HubError, ValueError, ChannelError, KeyError, TypeError)
        return isinstance(exc, (PyMongoError, StoreUnavailable, Conflict, OSError)) or not isinstance(
            exc, permanent
        )

    async def drain_one(self, key: str, payload: dict[str, Any], exc: Exception) -> None:
        """A payload that can never be ingested: keep it as a dead letter (visible to admins)."""
        if self.dead_letter is not None:
            await self.dead_letter(key, payload, repr(exc))
            self.remove(key)

    async def drain(
        self, process: Callable[[dict[str, Any]], Awaitable[object]], min_age_s: float = 0.0
    ) -> int:
        """Process every entry no request of this process holds (``min_age_s`` covers requests of
        other processes on this node); keep those that fail (the store is still down). Returns done count."""
        done = 0
        for key, payload in self.pending(min_age_s):
            if key in self._busy:  # a request of this process is ingesting it right now
                continue
            try:
                await process(payload)
            except Exception as exc:
                if self.is_retryable(exc):
                    log.warning("spooled payload not ingested yet", extra={"key": key, "error": repr(exc)})
                    return done  # the store is likely still down: try again next round
                log.error(
                    "spooled payload cannot be ingested: dead letter", extra={"key": key, "error": repr(exc)}
                )
                if self.dead_letter is None:
                    return done
                await self.dead_letter(key, payload, repr(exc))
                self.remove(key)
                continue
            self.remove(key)
            done += 1
        return done
