"""The embedded FerretDB is started again when it exits, with what it had acknowledged."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from hub.settings import Settings
from hub.store import EmbeddedFerretDB, open_store
from tests.conftest import until


async def test_a_killed_server_is_restarted_on_its_port_with_its_data(
        own_ferretdb: EmbeddedFerretDB, caplog: pytest.LogCaptureFixture) -> None:
    server = own_ferretdb
    watch = asyncio.create_task(server.supervise(every=0.1))
    client: AsyncMongoClient = AsyncMongoClient(server.url, serverSelectionTimeoutMS=1000)
    try:
        await client.sup.things.insert_one({"_id": "acknowledged"})
        first = server.process
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)  # as the SIGBUS of a bad build would

        async def back() -> bool:
            try:
                return await client.sup.things.find_one({"_id": "acknowledged"}) is not None
            except Exception:  # noqa: BLE001 — down until restarted
                return False

        with caplog.at_level(logging.WARNING, logger="hub.store.embedded"):
            await until(back, what="the restarted server to answer")
        assert server.process is not None and server.process.pid != first.pid
        records = [r for r in caplog.records if r.name == "hub.store.embedded"]
        assert [r.message for r in records] == ["ferretdb exited", "ferretdb restarted"]
        assert records[0].code == -signal.SIGKILL  # type: ignore[attr-defined]
    finally:
        watch.cancel()
        await client.close()


async def test_a_server_that_keeps_exiting_is_given_up_on(
        own_ferretdb: EmbeddedFerretDB, caplog: pytest.LogCaptureFixture) -> None:
    server = own_ferretdb
    server.binary = Path("/bin/false")  # every restart exits at once
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGKILL)
    with caplog.at_level(logging.ERROR, logger="hub.store.embedded"):
        await asyncio.wait_for(server.supervise(every=0.05, give_up_after=2), timeout=30)
    records = [r for r in caplog.records if r.name == "hub.store.embedded"]
    assert [r.message for r in records] == [
        "ferretdb exited",
        "ferretdb restart failed",
        "ferretdb restart failed",
        "ferretdb keeps exiting; not restarted again",
    ]
    assert records[-1].restarts == 2  # type: ignore[attr-defined]


async def test_the_embedded_store_is_supervised_while_open(tmp_path: Path) -> None:
    settings = Settings(mongodb_url="", mongodb_db="sup", var_dir=tmp_path / "var", _env_file=None)  # type: ignore[call-arg]
    async with open_store(settings) as store:
        await store.db.things.insert_one({"_id": 1})
        assert any(t.get_name() == "ferretdb-supervise" and not t.done() for t in asyncio.all_tasks())
    assert not any(t.get_name() == "ferretdb-supervise" and not t.done() for t in asyncio.all_tasks())
