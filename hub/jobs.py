"""Background jobs leased from MongoDB: no broker, any number of ``python -m hub worker`` processes.

A job is a document in ``jobs``. A worker leases the oldest due job with one
``find_one_and_update`` (owner, lease_until), runs the handler registered for its ``kind``, and
marks it done; on failure it is retried with exponential back-off until ``max_attempts``, then kept
as ``dead`` (visible to admins, re-queueable). A worker that dies mid-job loses its lease, and the
job runs again elsewhere: handlers must be idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from hub.models import new_id, utcnow
from hub.store import Store, ix, register

log = logging.getLogger(__name__)
# Done jobs go after a week; dead ones stay until requeued or deleted (no finished_at).
register("jobs", ix(("state", 1), ("next_at", 1)), ix(("kind", 1), ("state", 1)),
         expire=("finished_at", timedelta(days=7)))
# _id = "<job id>:<attempt>": which worker runs that attempt. Useless once the attempt's lease is
# over; expiring it also frees an attempt whose worker died between claiming and marking the job.
register("job_claims", expire=("at", timedelta(hours=1)))

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]
LEASE = timedelta(seconds=60)


def backoff(attempt: int, base: float = 2.0, cap: float = 3600.0) -> timedelta:
    return timedelta(seconds=min(cap, base ** attempt))


class Jobs:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.col = store["jobs"]

    async def enqueue(self, kind: str, payload: dict[str, Any] | None = None, *, at: datetime | None = None,
                      key: str | None = None, max_attempts: int = 8) -> str:
        """Queue a job; with ``key`` the same job is queued once (``_id`` = key)."""
        now = utcnow()
        doc = {"_id": key or new_id(), "kind": kind, "payload": payload or {}, "state": "ready",
               "next_at": at or now, "attempts": 0, "max_attempts": max_attempts, "created_at": now,
               "owner": None, "lease_until": None, "last_error": None}
        try:
            await self.col.insert_one(doc)
        except DuplicateKeyError:
            pass
        return str(doc["_id"])

    async def lease(self, owner: str, kinds: list[str]) -> dict[str, Any] | None:
        """Lease the oldest due job. The lease is a claim ``<job>:<attempt>`` (see ``Store.claim``),
        so two workers never run the same attempt, even on FerretDB."""
        now = utcnow()
        due = {"kind": {"$in": kinds}, "$or": [{"state": "ready", "next_at": {"$lte": now}},
                                               {"state": "running", "lease_until": {"$lt": now}}]}
        async for job in self.col.find(due).sort("next_at", 1).limit(5):
            attempt = job["attempts"] + 1
            if await self.store.claim("job_claims", f"{job['_id']}:{attempt}", {"owner": owner, "at": now}):
                update = {"state": "running", "owner": owner, "lease_until": now + LEASE, "attempts": attempt}
                await self.col.update_one({"_id": job["_id"]}, {"$set": update})
                return {**job, **update}
        return None

    async def complete(self, job: dict[str, Any]) -> None:
        await self.col.update_one({"_id": job["_id"], "owner": job["owner"]},
                                  {"$set": {"state": "done", "finished_at": utcnow(), "lease_until": None}})

    async def fail(self, job: dict[str, Any], error: str) -> None:
        dead = job["attempts"] >= job["max_attempts"]
        tries = job["attempts"] - (job["max_attempts"] - job.get("budget", job["max_attempts"]))  # since requeue
        await self.col.update_one({"_id": job["_id"], "owner": job["owner"]}, {"$set": {
            "state": "dead" if dead else "ready", "last_error": error[:2000], "lease_until": None,
            "next_at": utcnow() + backoff(tries)}})

    async def dead(self, limit: int = 100) -> list[dict[str, Any]]:
        return [d async for d in self.col.find({"state": "dead"}).sort("next_at", -1).limit(limit)]

    async def requeue(self, job_id: str) -> bool:
        """A dead job gets a fresh budget of attempts. Attempts keep counting up: the claims of the
        attempts it already made exist, so numbering from 1 again would never win a lease."""
        job = await self.col.find_one({"_id": job_id, "state": "dead"})
        if job is None:
            return False
        budget = job.get("budget", job["max_attempts"])
        result = await self.col.update_one({"_id": job_id, "state": "dead"}, {"$set": {
            "state": "ready", "next_at": utcnow(), "max_attempts": job["attempts"] + budget, "budget": budget}})
        return result.modified_count == 1


class Worker:
    """Runs jobs of the registered kinds until stopped."""

    def __init__(self, jobs: Jobs, handlers: dict[str, JobHandler], *, idle_sleep: float = 0.5) -> None:
        self.jobs = jobs
        self.handlers = handlers
        self.idle_sleep = idle_sleep
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run_once(self) -> bool:
        job = await self.jobs.lease(self.owner, list(self.handlers))
        if job is None:
            return False
        try:
            await self.handlers[job["kind"]](job["payload"])
        except Exception as exc:
            log.warning("job failed", extra={"job": job["_id"], "kind": job["kind"], "error": repr(exc)})
            await self.jobs.fail(job, repr(exc))
        else:
            await self.jobs.complete(job)
        return True

    async def run(self) -> None:
        log.info("worker started", extra={"owner": self.owner, "kinds": sorted(self.handlers)})
        while not self._stop.is_set():
            if not self.handlers or not await self.run_once():
                try:
                    await asyncio.wait_for(self._stop.wait(), self.idle_sleep)
                except TimeoutError:
                    pass
