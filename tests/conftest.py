"""Shared fixtures: one real FerretDB server per test session, a fresh database per test, and the
hub application served by aiohttp's test server against it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from hub import keys
from hub.app import create_app
from hub.models import Role, new_id
from hub.settings import Settings
from hub.store import EmbeddedFerretDB, Store

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# the bot's idle sweep would resolve conversations that tests ingested with old timestamps at an
# unpredictable moment; the test of the sweep calls it itself
os.environ.setdefault("BERRY_BOT_RESOLVE_IDLE_H", "0")
# an agent whose socket dropped goes offline at once (the grace is tested on its own)
os.environ.setdefault("BERRY_CONSOLE_OFFLINE_GRACE_S", "0")


_SESSION_SERVERS: list[EmbeddedFerretDB] = []
_SLOW_SHUTDOWNS: list[str] = []  # teardowns that gave up waiting: printed in the session's summary


@pytest.fixture(scope="session")
def ferretdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedFerretDB]:
    """The real MongoDB-compatible server every store test talks to (or BERRY_TEST_MONGODB_URL)."""
    server = EmbeddedFerretDB(tmp_path_factory.mktemp("ferretdb"))
    server.start()
    _SESSION_SERVERS.append(server)
    yield server
    _SESSION_SERVERS.remove(server)
    server.stop()


def pytest_runtest_logfinish(nodeid: str) -> None:
    """If the session's FerretDB died, stop here and show why: every later store test would only
    wait out its server-selection timeout (CI once spent 45 minutes doing that)."""
    for server in _SESSION_SERVERS:
        if server.process is not None and (code := server.process.poll()) is not None:
            pytest.exit(f"FerretDB exited with code {code} by the end of {nodeid}; its log "
                        f"({server.log_path}):\n{server.exit_report()}", returncode=1)


@pytest.fixture
def own_ferretdb(tmp_path: Path) -> Iterator[EmbeddedFerretDB]:
    """A FerretDB of the test's own, for tests that kill, restart or crash it."""
    server = EmbeddedFerretDB(tmp_path / "ferretdb")
    server.start()
    yield server
    server.stop()


async def until(
    check: Callable[[], Awaitable[bool]], within_s: float = 20.0, what: str = "the condition"
) -> None:
    """Wait for ``check()`` to hold, asking every 20 ms; fail after ``within_s``."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def altered(signed: str) -> str:
    """``signed`` with its last hex digit changed: a tampered signature that never equals the original
    (writing "0" over it left it unchanged one time in sixteen)."""
    return signed[:-1] + ("1" if signed[-1] == "0" else "0")


@pytest.fixture(scope="session")
def mongodb_url(ferretdb: EmbeddedFerretDB) -> str:
    return os.environ.get("BERRY_TEST_MONGODB_URL") or ferretdb.url


async def drop_database(mongodb_url: str, name: str) -> None:
    """Drop a test's database once nothing writes to it any more: a write racing the drop is
    refused, or creates the database again behind the test's back."""
    # bounded: FerretDB's drop waits up to 30 s for the database's connections still in use
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url, serverSelectionTimeoutMS=5000,
                                                     socketTimeoutMS=90_000)
    try:
        await client.drop_database(name)
    except PyMongoError as exc:  # a left-over test database costs nothing; a hung session does
        _SLOW_SHUTDOWNS.append(f"dropping {name} failed: {exc!r}\n")
    finally:
        await client.close()


@pytest.fixture
async def db_name(mongodb_url: str) -> AsyncIterator[str]:
    """A fresh database per test, dropped after every fixture built on it (apps, their background
    tasks, stores) has shut down."""
    name = f"t_{new_id()}"
    yield name
    await drop_database(mongodb_url, name)


@pytest.fixture
async def store(mongodb_url: str, db_name: str) -> AsyncIterator[Store]:
    s = Store.connect(mongodb_url, db_name)
    await s.ensure_indexes()
    yield s
    await s.close()


@pytest.fixture
def settings(mongodb_url: str, db_name: str, tmp_path: Path) -> Settings:
    return Settings(mongodb_url=mongodb_url, mongodb_db=db_name, var_dir=tmp_path / "var", log_json=True,
                    bot_engine="off", inline_worker=False, argon2_time_cost=1, argon2_memory_kib=1024,
                    _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with running(create_app(settings)) as test_client:
        yield test_client


@contextlib.asynccontextmanager
async def running(app: web.Application, **server: Any) -> AsyncIterator[TestClient[Any, Any]]:
    """The one way tests start and stop an app: serve it on aiohttp's test server (``server``:
    TestServer's options, e.g. port) and yield its client; however the block ends, the app closes
    through shut_down, which gives up after SHUTDOWN_S and reports what was stuck."""
    test_client = TestClient(TestServer(app, **server))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await shut_down(test_client)


SHUTDOWN_S = 60


async def shut_down(test_client: TestClient[Any, Any]) -> None:
    """Close the app; if its shutdown is still waiting after SHUTDOWN_S, keep the stack of every task
    for the session's summary and go on. CI once waited out pytest-timeout's 600 s in this teardown
    (after the test had passed) and the thread dump could not say which cleanup was stuck."""
    closing = asyncio.ensure_future(test_client.close())
    await asyncio.wait({closing}, timeout=SHUTDOWN_S)
    if closing.done():
        closing.result()
        return
    stacks = io.StringIO()
    for task in asyncio.all_tasks():
        print(f"--- {task.get_name()} {task.get_coro()!r}", file=stacks)
        task.print_stack(limit=12, file=stacks)
    closing.cancel()
    _SLOW_SHUTDOWNS.append(f"the app's shutdown was still waiting after {SHUTDOWN_S} s:\n{stacks.getvalue()}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for report in _SLOW_SHUTDOWNS:
        terminalreporter.section("a test's teardown did not finish")
        terminalreporter.write(report)


class Api:
    """Signs in as a role and calls the API with its token."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client
        self.app = client.server.app

    async def user(
        self, role: Role, email: str | None = None, password: str = "correct horse"
    ) -> dict[str, Any]:
        email = email or f"{role.value}-{new_id()}@example.com"
        user = await self.app[keys.USERS].create(email, password, role, name=role.value.title())
        resp = await self.client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        return {"user": user, "headers": {"Authorization": f"Bearer {body['access_token']}"}, **body}


@pytest.fixture
def api(client: TestClient[Any, Any]) -> Api:
    return Api(client)
