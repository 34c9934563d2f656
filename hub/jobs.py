"""Background jobs leased from MongoDB: no broker, any number of ``python -m hub worker`` processes.

A job is a document in ``jobs`` (its record: kind, payload, state, attempts, last error; the ``_id``
is the job's key, so a keyed job is queued once). Jobs that can still run are also listed in
``job_queue`` (``_id``, kind, next_at) — the only collection a worker searches, so leasing costs
what the live queue holds, not every job ever run (FerretDB scans whatever it filters). A worker
leases the oldest due entry by claiming ``<job>:<attempt>`` (see ``Store.claim``), runs the handler
registered for its ``kind``, and marks it done; on failure it is retried with exponential back-off
until ``max_attempts``, then kept as ``dead`` (visible to admins, re-queueable). A worker that dies
mid-job loses its lease, and the job runs again elsewhere: handlers must be idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from hub.models import new_id, utcnow
from hub.store import Store, ix, register, upsert

log = logging.getLogger(__name__)
# Done jobs go after a week; dead ones stay until requeued or deleted (no finished_at).
register("jobs", ix(("state", 1), ("next_at", 1)), ix(("kind", 1), ("state", 1)),
         expire=("finished_at", timedelta(days=7)))
register("job_queue", ix(("next_at", 1)))  # _id = job id: the jobs that can still run
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
        self.queue = store["job_queue"]

    async def enqueue(self, kind: str, payload: dict[str, Any] | None = None, *, at: datetime | None = None,
                      key: str | None = None, max_attempts: int = 8) -> str:
        """Queue a job; with ``key`` the same job is queued once (``_id`` = key)."""
        now = utcnow()
        job_id, next_at = key or new_id(), at or now
        doc = {"_id": job_id, "kind": kind, "payload": payload or {}, "state": "ready",
               "next_at": next_at, "attempts": 0, "max_attempts": max_attempts, "created_at": now,
               "owner": None, "lease_until": None, "last_error": None}
        try:
            await self.col.insert_one(doc)
        except DuplicateKeyError:
            return job_id
        await self._schedule(job_id, kind, next_at)
        return job_id

    async def _schedule(self, job_id: str, kind: str, at: datetime) -> None:
        # races repair() and other schedulers of the same job: hence the race-safe upsert
        await upsert(self.queue, {"_id": job_id}, {"$set": {"kind": kind, "next_at": at}})

    async def lease(self, owner: str, kinds: list[str]) -> dict[str, Any] | None:
        """Lease the oldest due job. The lease is a claim ``<job>:<attempt>`` (see ``Store.claim``),
        so two workers never run the same attempt, even on FerretDB."""
        now = utcnow()
        due = {"kind": {"$in": kinds}, "next_at": {"$lte": now}}
        async for entry in self.queue.find(due).sort("next_at", 1).limit(5):
            job = await self.col.find_one({"_id": entry["_id"]})
            if job is None or job["state"] in ("done", "dead"):
                await self.queue.delete_one({"_id": entry["_id"]})  # finished elsewhere: tidy the queue
                continue
            if job["state"] == "running" and job["lease_until"] and job["lease_until"] > now:
                continue  # leased meanwhile by another worker
            attempt = job["attempts"] + 1
            if await self.store.claim("job_claims", f"{job['_id']}:{attempt}", {"owner": owner, "at": now}):
                update = {"state": "running", "owner": owner, "lease_until": now + LEASE, "attempts": attempt}
                await self.col.update_one({"_id": job["_id"]}, {"$set": update})
                # back in the queue when the lease runs out, should this worker die
                await self.queue.update_one({"_id": job["_id"]}, {"$set": {"next_at": now + LEASE}})
                return {**job, **update}
        return None

    async def _still_ours(self, job: dict[str, Any]) -> bool:
        """A lease taken over by another worker after expiry is theirs to finish. (Read by ``_id``, then
        compared: stock FerretDB scans for ``{_id, owner}``; our build would use the index either way.)"""
        current = await self.col.find_one({"_id": job["_id"]}, {"owner": 1})
        return current is not None and current.get("owner") == job["owner"]

    async def complete(self, job: dict[str, Any]) -> None:
        if not await self._still_ours(job):
            return
        await self.col.update_one({"_id": job["_id"]},
                                  {"$set": {"state": "done", "finished_at": utcnow(), "lease_until": None}})
        await self.queue.delete_one({"_id": job["_id"]})

    async def fail(self, job: dict[str, Any], error: str) -> None:
        if not await self._still_ours(job):
            return
        dead = job["attempts"] >= job["max_attempts"]
        # since requeue
        tries = job["attempts"] - (job["max_attempts"] - job.get("budget", job["max_attempts"]))
        next_at = utcnow() + backoff(tries)
        await self.col.update_one({"_id": job["_id"]}, {"$set": {
            "state": "dead" if dead else "ready", "last_error": error[:2000], "lease_until": None,
            "next_at": next_at}})
        if dead:
            await self.queue.delete_one({"_id": job["_id"]})
        else:
            await self._schedule(job["_id"], job["kind"], next_at)

    async def forget(self, match: dict[str, Any]) -> int:
        """Delete the jobs matching ``match`` (e.g. those of a deleted ticket), queued, done or dead,
        with their queue entries; returns how many. A worker running one finishes it and finds it
        gone (``complete``/``fail`` check the job first)."""
        ids = [d["_id"] async for d in self.col.find(match, {"_id": 1})]
        if not ids:
            return 0
        await self.queue.delete_many({"_id": {"$in": ids}})
        attempts = "|".join(re.escape(str(i)) for i in ids)  # claims "<job>:<attempt>"
        await self.store["job_claims"].delete_many({"_id": {"$regex": f"^({attempts}):"}})
        return int((await self.col.delete_many({"_id": {"$in": ids}})).deleted_count)

    async def dead(self, limit: int = 100) -> list[dict[str, Any]]:
        return [d async for d in self.col.find({"state": "dead"}).sort("next_at", -1).limit(limit)]

    async def requeue(self, job_id: str) -> bool:
        """A dead job gets a fresh budget of attempts. Attempts keep counting up: the claims of the
        attempts it already made exist, so numbering from 1 again would never win a lease."""
        job = await self.col.find_one({"_id": job_id})
        if job is None or job["state"] != "dead":
            return False
        budget = job.get("budget", job["max_attempts"])
        now = utcnow()
        await self.col.update_one({"_id": job_id}, {"$set": {
            "state": "ready", "next_at": now, "max_attempts": job["attempts"] + budget, "budget": budget}})
        await self._schedule(job_id, job["kind"], now)
        return True

    async def repair(self) -> int:
        """Queue again every job that can run but is missing from the queue (its enqueuer died between
        the two inserts). A scan of ``jobs``: run when a worker starts, not per lease."""
        queued = {d["_id"] async for d in self.queue.find({}, {"_id": 1})}
        missing = [d async for d in self.col.find({"state": {"$in": ["ready", "running"]}},
                                                  {"kind": 1, "next_at": 1, "lease_until": 1})
                   if d["_id"] not in queued]
        for d in missing:
            await self._schedule(d["_id"], d["kind"], d.get("lease_until") or d["next_at"])
        return len(missing)


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
        log.info("worker started", extra={"owner": self.owner, "kinds": sorted(self.handlers),
                                          "requeued": await self.jobs.repair()})
        while not self._stop.is_set():
            if not self.handlers or not await self.run_once():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.idle_sleep)
