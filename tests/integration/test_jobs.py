"""The MongoDB-leased job queue against real FerretDB: one runner per attempt, retries, dead letters."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from hub.jobs import Jobs, Worker
from hub.models import utcnow
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
    await store["job_queue"].update_one({"_id": job_id}, {"$set": {"next_at": job["created_at"]}})
    assert await worker.run_once()
    assert [d["_id"] for d in await jobs.dead()] == [job_id]
    assert await jobs.requeue(job_id)
    assert (await store["jobs"].find_one({"_id": job_id}))["state"] == "ready"


async def test_keyed_job_is_queued_once(store: Store) -> None:
    jobs = Jobs(store)
    await asyncio.gather(*(jobs.enqueue("sweep", key="sweep:2026-11-25T10") for _ in range(5)))
    assert await store["jobs"].count_documents({}) == 1


async def test_a_requeued_dead_job_runs_again_with_a_fresh_budget(store: Store) -> None:
    jobs = Jobs(store)
    job_id = await jobs.enqueue("flaky", max_attempts=1)
    calls: list[int] = []

    async def flaky(_: dict[str, Any]) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("provider down")

    worker = Worker(jobs, {"flaky": flaky})
    assert await worker.run_once()
    assert [d["_id"] for d in await jobs.dead()] == [job_id]
    assert not await jobs.requeue("no-such-job")

    assert await jobs.requeue(job_id)
    assert await worker.run_once()  # leased again although attempt 1's claim exists
    assert [d["_id"] for d in await jobs.dead()] == [job_id]  # one more attempt was its budget
    assert await jobs.requeue(job_id)
    assert await worker.run_once()
    job = await store["jobs"].find_one({"_id": job_id})
    assert (job["state"], job["attempts"], len(calls)) == ("done", 3, 3)


async def test_a_claim_left_by_a_worker_that_died_before_marking_the_job_expires(store: Store) -> None:
    jobs = Jobs(store)
    job_id = await jobs.enqueue("work")
    await store.claim(
        "job_claims", f"{job_id}:1", {"owner": "dead-worker", "at": utcnow() - timedelta(hours=2)}
    )
    ran: list[str] = []

    async def work(payload: dict[str, Any]) -> None:
        ran.append("x")

    worker = Worker(jobs, {"work": work})
    assert not await worker.run_once()  # attempt 1 is held by the dead worker's claim
    await store.expire()
    assert await worker.run_once() and ran == ["x"]


async def test_expire_deletes_only_what_the_declarations_call_too_old(store: Store) -> None:
    jobs = Jobs(store)
    now = utcnow()
    old_done, new_done, dead = [await jobs.enqueue("k") for _ in range(3)]
    for job_id, age in ((old_done, timedelta(days=8)), (new_done, timedelta(days=6))):
        await store["jobs"].update_one({"_id": job_id}, {"$set": {"state": "done", "finished_at": now - age}})
    await store["jobs"].update_one({"_id": dead}, {"$set": {"state": "dead"}})
    await store.claim("job_claims", "old:1", {"at": now - timedelta(hours=2)})
    await store.claim("job_claims", "new:1", {"at": now - timedelta(minutes=5)})

    deleted = await store.expire(now)

    assert deleted["jobs"] == 1 and deleted["job_claims"] == 1
    assert {d["_id"] async for d in store["jobs"].find({})} == {new_done, dead}
    assert [d["_id"] async for d in store["job_claims"].find({})] == ["new:1"]


async def test_leasing_searches_only_the_live_queue_and_repair_refills_it(store: Store) -> None:
    jobs = Jobs(store)
    ran: list[str] = []

    async def work(payload: dict[str, Any]) -> None:
        ran.append(payload["n"])

    worker = Worker(jobs, {"work": work})
    for n in range(3):
        await jobs.enqueue("work", {"n": n})
    while await worker.run_once():
        pass
    assert sorted(ran) == [0, 1, 2]
    assert await store["job_queue"].count_documents({}) == 0  # done jobs leave the queue
    assert await store["jobs"].count_documents({"state": "done"}) == 3  # their record stays

    # an enqueuer that died between the two inserts: the job is recorded but not queued
    await store["jobs"].insert_one({"_id": "orphan", "kind": "work", "payload": {"n": 9}, "state": "ready",
                                    "next_at": utcnow(), "attempts": 0, "max_attempts": 8, "owner": None,
                                    "lease_until": None, "last_error": None, "created_at": utcnow()})
    assert not await worker.run_once()
    assert await jobs.repair() == 1 and await jobs.repair() == 0
    assert await worker.run_once() and ran[-1] == 9
