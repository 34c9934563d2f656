"""Dropping a database that other clients are still reading and writing must not kill FerretDB.

Stock FerretDB v1.24 removed the file while connections were still in use; the next write opened
the name again and two SQLite connections shared its -wal/-shm unaware of each other, until one
truncated the memory the other had mapped (SIGBUS: CI's whole run lost its server). Our own server
here, so a regression fails this test and not the rest of the session."""

from __future__ import annotations

import asyncio
import time

from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from hub.store import EmbeddedFerretDB

NAMES = [f"t_drop_{k}" for k in range(3)]


async def test_drops_racing_reads_and_upserts_leave_the_server_up_and_the_data_whole(
        own_ferretdb: EmbeddedFerretDB) -> None:
    server = own_ferretdb
    clients = [AsyncMongoClient(server.url, serverSelectionTimeoutMS=3000) for _ in range(4)]
    stop = asyncio.Event()
    writes = drops = refused = 0

    async def writer(client: AsyncMongoClient, n: int) -> None:
        nonlocal writes, refused
        i = 0
        while not stop.is_set():
            db = client[NAMES[i % len(NAMES)]]
            try:
                await db.things.update_one({"_id": n}, {"$inc": {"n": 1}}, upsert=True)
                await db.other.find_one({"_id": n})
                writes += 1
            except OperationFailure as exc:  # a write inside a drop's window is refused, never lost silently
                assert "being dropped" in str(exc) or "database is closed" in str(exc), exc
                refused += 1
            i += 1

    async def dropper(client: AsyncMongoClient) -> None:
        nonlocal drops
        while not stop.is_set():
            for name in NAMES:
                await client.drop_database(name)
                drops += 1
            await asyncio.sleep(0.001)

    try:
        tasks = [asyncio.create_task(writer(clients[n % 4], n)) for n in range(16)]
        tasks.append(asyncio.create_task(dropper(clients[0])))
        deadline = time.monotonic() + 10  # the unpatched server died within 1.5–7.5 s in 3 of 3 runs
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            assert server.process is not None and server.process.poll() is None, (
                "FerretDB died:\n" + server.log_path.read_text(errors="replace")[-3000:])
            for task in tasks:  # a writer's unexpected error ends the test at once
                if task.done():
                    task.result()
        stop.set()
        await asyncio.gather(*tasks)
        assert drops > 100 and writes > 1000, (drops, writes)

        # after the storm every database works and holds exactly what is written into it
        for name in NAMES:
            await clients[1].drop_database(name)
            await clients[1][name].things.insert_many([{"_id": k} for k in range(50)])
            assert await clients[2][name].things.count_documents({}) == 50
    finally:
        stop.set()
        for client in clients:
            await client.close()
