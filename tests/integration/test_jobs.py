"""The MongoDB-leased job queue against real FerretDB: one runner per attempt, retries, dead letters."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.jobs import Jobs, Worker
from hub.store import Store


async def test_concurrent_workers_run_each_job_once(store: Store) -> None:
    jobs = Jobs(store)
    for i in range(20):
        await jobs.enqueue("count", {"i": i})
    seen: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        seen.append(payload["i"])
        await asyncio.sleep(0)

    workers = [Worker(jobs, {"count": handler}) for _ in range(4)]

    async def drain(worker: Worker) -> None:
        while await worker.run_once():
            pass

    await asyncio.gather(*(drain(w) for w in workers))
    assert sorted(seen) == list(range(20))
    assert await store["jobs"].count_documents({"state": "done"}) == 20


async def test_failing_job_retries_with_backoff_then_is_dead(store: Store) -> None:
    jobs = Jobs(store)
    job_id = await jobs.enqueue("boom", max_attempts=2)

    async def boom(_: dict[str, Any]) -> None:
        raise RuntimeError("provider down")

    worker = Worker(jobs, {"boom": boom})
    assert await worker.run_once()
    job = await store["jobs"].find_one({"_id": job_id})
    assert job["state"] == "ready" and job["attempts"] == 1 and "provider down" in job["last_error"]
    assert not await worker.run_once()  # backing off: not due yet
    await store["jobs"].update_one({"_id": job_id}, {"$set": {"next_at": job["created_at"]}})
    assert await worker.run_once()
    assert [d["_id"] for d in await jobs.dead()] == [job_id]
    assert await jobs.requeue(job_id)
    assert (await store["jobs"].find_one({"_id": job_id}))["state"] == "ready"


async def test_keyed_job_is_queued_once(store: Store) -> None:
    jobs = Jobs(store)
    await asyncio.gather(*(jobs.enqueue("sweep", key="sweep:2026-11-25T10") for _ in range(5)))
    assert await store["jobs"].count_documents({}) == 1
