"""Platform fixtures: the app with platform settings suited to tests, a real local webhook
receiver, and a worker that runs due jobs."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub import keys
from hub.app import create_app
from hub.jobs import Worker
from hub.models import utcnow
from hub.platform.secrets import SecretBox
from hub.platform.settings import PLATFORM_SETTINGS, PlatformSettings
from hub.settings import Settings
from hub.store import free_port
from tests.conftest import running


@pytest.fixture
def platform_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def platform_settings(platform_overrides: dict[str, Any]) -> PlatformSettings:
    values: dict[str, Any] = {
        "webhook_allow_private": True,
        "webhook_max_attempts": 2,
        "webhook_disable_after": 2,
        "webhook_timeout_s": 3.0,
        "ratelimit_ip": "10000/60",
        "ratelimit_user": "10000/60",
        "ratelimit_api_key": "10000/60",
        "secret_keys": SecretBox.new_key(),
        **platform_overrides,
    }
    return PlatformSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def client(
    settings: Settings, platform_settings: PlatformSettings
) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(settings)
    app[PLATFORM_SETTINGS] = platform_settings
    async with running(app) as test_client:  # bounded shutdown: a stuck cleanup is reported
        yield test_client


@dataclass
class Receiver:
    """A real HTTP server standing in for an integrator's endpoint."""

    url: str = ""
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def hook(request: web.Request) -> web.Response:
        rec.requests.append({"headers": dict(request.headers), "body": await request.read()})
        return web.Response(status=rec.status, text="ok" if rec.status < 300 else "nope")

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    rec.url = str(server.make_url("/hook"))
    yield rec
    await server.close()


async def run_jobs(app: web.Application, *, force_due: bool = True, rounds: int = 50) -> int:
    """Run due jobs until none is left; ``force_due`` skips back-off waits (tests only)."""
    worker = Worker(app[keys.JOBS], app[keys.JOB_HANDLERS])
    ran = 0
    for _ in range(rounds):
        if force_due:
            await app[keys.STORE]["job_queue"].update_many({}, {"$set": {"next_at": utcnow()}})
        if not await worker.run_once():
            break
        ran += 1
    return ran


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free port (installed by scripts/setup.d/10-redis.sh)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run scripts/setup.d/10-redis.sh")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)
