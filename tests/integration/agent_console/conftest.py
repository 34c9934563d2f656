"""Console fixtures: python-socketio clients connected to the test server's ``/agents`` namespace."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from hub import keys
from hub.models import Channel, IdentityKind, Role, new_id

NS = "/agents"


class Agent:
    """A connected console client that records everything the server sends."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: list[tuple[str, Any]] = []
        self.frames: list[str] = []
        self._arrived = asyncio.Event()

        self.refused: Any = None

        @self.sio.on("connect_error", namespace=NS)
        async def _refused(data: Any) -> None:
            self.refused = data

        @self.sio.on("*", namespace=NS)
        async def _any(event: str, data: Any) -> None:
            self.frames.append(event)
            if event == "events":  # a batch of logged events: recorded one by one
                self.received.extend(("event", d) for d in data)
            else:
                self.received.append((event, data))
            self._arrived.set()

    async def connect(self, token: str | None) -> None:
        auth = {"token": token} if token is not None else None
        await self.sio.connect(
            self.url, namespaces=[NS], auth=auth, transports=["websocket"], wait_timeout=15
        )

    async def call(self, event: str, *data: Any, timeout: float = 5) -> Any:  # noqa: ASYNC109  sio.call's
        return await self.sio.call(event, data[0] if len(data) == 1 else data or None, namespace=NS,
                                   timeout=timeout) if data else await self.sio.call(event, namespace=NS,
                                                                                    timeout=timeout)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        return [d for e, d in self.received if e == "event" and (name is None or d["name"] == name)]

    def of(self, kind: str) -> list[Any]:
        return [d for e, d in self.received if e == kind]

    async def wait_for(self, check: Callable[[], Any], timeout: float = 5) -> Any:  # noqa: ASYNC109  a deadline
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    "timed out; received "
                    f"{[(e, d.get('name') if isinstance(d, dict) else d) for e, d in self.received]}"
                )
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


@pytest.fixture
async def agents(client: TestClient[Any, Any]) -> AsyncIterator[Callable[..., Any]]:
    url = str(client.make_url("/")).rstrip("/")
    made: list[Agent] = []

    async def connect(token: str | None) -> Agent:
        agent = Agent(url)
        made.append(agent)
        try:
            await agent.connect(token)
        except socketio.exceptions.ConnectionError as exc:
            raise socketio.exceptions.ConnectionError(f"{exc}: {agent.refused}") from None
        return agent

    yield connect
    for agent in made:
        await agent.close()


@pytest.fixture
def ingest(client: TestClient[Any, Any], api: Any) -> Callable[..., Any]:
    admin: dict[str, Any] = {}

    async def send(text: str = "Hello, is my venue booked?", phone: str = "+27821234567",
                   external_id: str | None = None) -> dict[str, Any]:
        if not admin:
            admin.update(await api.user(Role.admin))
        body = {"channel": Channel.sms.value, "external_id": external_id or new_id(),
                "sender": {"kind": IdentityKind.phone.value, "value": phone}, "text": text}
        resp = await client.post("/api/v1/inbound", json=body, headers=admin["headers"])
        assert resp.status in (200, 201), await resp.text()
        return await resp.json()

    return send


async def team_agent(client: TestClient[Any, Any], name: str, team_ids: list[str]) -> str:
    """An agent of the given teams, signed in: their access token."""
    email = f"{name.lower()}-{new_id()}@example.com"
    await client.server.app[keys.USERS].create(email, "password1", Role.agent, name=name, team_ids=team_ids)
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": "password1"})
    return str((await r.json())["access_token"])
