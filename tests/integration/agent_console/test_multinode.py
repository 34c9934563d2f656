"""Two hub processes on one FerretDB and one real redis-server: a message ingested through node A
reaches an agent whose socket is connected to node B, and the event log ids stay unique."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.auth import Users
from hub.models import Role, new_id
from hub.store import Store

from .conftest import Agent
from .nodes import HubNode, RedisServer

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def two_nodes(mongodb_url: str, redis_server: RedisServer,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubNode, HubNode, str]]:
    db = f"mn_{new_id()}"
    base: Path = tmp_path_factory.mktemp("nodes")
    a = HubNode("a", base / "a", mongodb_url, db, redis_server.url).start()
    try:
        b = HubNode("b", base / "b", mongodb_url, db, redis_server.url).start()
    except Exception:
        a.stop()
        raise
    yield a, b, db
    a.stop()
    b.stop()


async def connected(url: str, token: str) -> Agent:
    """A client on ``url``; a node busy warming up on a loaded machine may drop the first handshake."""
    for attempt in range(3):
        agent = Agent(url)
        try:
            await agent.connect(token)
            return agent
        except Exception:
            await agent.close()
            if attempt == 2:
                raise
            await asyncio.sleep(2)
    raise AssertionError("unreachable")


async def login(session: aiohttp.ClientSession, node: HubNode, email: str) -> str:
    async with session.post(
        f"{node.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    ) as r:
        assert r.status == 200, await r.text()
        return str((await r.json())["access_token"])


async def test_message_ingested_on_node_a_reaches_an_agent_on_node_b(
    two_nodes: Any, mongodb_url: str
) -> None:
    a, b, db = two_nodes
    store = Store.connect(mongodb_url, db)
    users = Users(store)
    admin_email, agent_email = f"admin-{new_id()}@example.com", f"agent-{new_id()}@example.com"
    await users.create(admin_email, PASSWORD, Role.admin, name="Admin")
    await users.create(agent_email, PASSWORD, Role.agent, name="Bea")
    async with aiohttp.ClientSession() as http:
        admin_token = await login(http, a, admin_email)
        on_b = await connected(b.url, await login(http, b, agent_email))
        on_a = await connected(a.url, await login(http, a, agent_email))
        try:
            texts = [f"cross-node {i}" for i in range(5)]
            for i, text in enumerate(texts):
                body = {"channel": "sms", "external_id": f"mn-{i}-{new_id()}",
                        "sender": {"kind": "phone", "value": "+27829990000"}, "text": text}
                node = a if i % 2 == 0 else b  # webhooks land on either node
                async with http.post(f"{node.url}/api/v1/inbound", json=body,
                                     headers={"Authorization": f"Bearer {admin_token}"}) as r:
                    assert r.status == 201, await r.text()
            for agent in (on_b, on_a):
                await agent.wait_for(
                    lambda agent=agent: len(agent.events("message.created")) == 5, timeout=30
                )
                got = [e["data"]["message"]["text"] for e in agent.events("message.created")]
                assert sorted(got) == texts and len(got) == 5  # each exactly once
            ids = [e["id"] for e in on_b.events()]
            assert len(ids) == len(set(ids))
            # a reconnect on the other node catches up from the shared log
            await on_b.close()
            missed = {"channel": "sms", "external_id": f"mn-late-{new_id()}",
                      "sender": {"kind": "phone", "value": "+27829990000"}, "text": "while you were away"}
            async with http.post(f"{a.url}/api/v1/inbound", json=missed,
                                 headers={"Authorization": f"Bearer {admin_token}"}) as r:
                assert r.status == 201
            again = await connected(a.url, await login(http, a, agent_email))

            def texts_of(events: list[dict]) -> list[str]:
                return [e["data"]["message"]["text"] for e in events if e["name"] == "message.created"]

            deadline = asyncio.get_running_loop().time() + 15  # logged through the flush window
            while True:
                caught = await again.call("catch_up", {"last_id": max(ids)})
                if texts_of(caught["events"]) or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.05)
            assert texts_of(caught["events"]) == ["while you were away"]
            await again.close()
        finally:
            await on_a.close()
            await on_b.close()
            await store.close()


async def test_deactivation_through_node_a_disconnects_the_socket_on_node_b(two_nodes: Any,
                                                                            mongodb_url: str) -> None:
    a, b, db = two_nodes
    store = Store.connect(mongodb_url, db)
    users = Users(store)
    admin_email, agent_email = f"admin-{new_id()}@example.com", f"agent-{new_id()}@example.com"
    await users.create(admin_email, PASSWORD, Role.admin, name="Admin")
    agent_id = (await users.create(agent_email, PASSWORD, Role.agent, name="Bea")).id
    async with aiohttp.ClientSession() as http:
        admin_token = await login(http, a, admin_email)
        on_b = await connected(b.url, await login(http, b, agent_email))
        try:
            assert (await on_b.call("heartbeat"))["ok"]
            async with http.delete(f"{a.url}/api/v1/users/{agent_id}",
                                   headers={"Authorization": f"Bearer {admin_token}"}) as r:
                assert r.status == 204, await r.text()
            # no event from the client: node B drops the socket because node A told it (Redis)
            await on_b.wait_for(lambda: not on_b.sio.connected or None, timeout=10)
            assert on_b.of("signed_out")
        finally:
            await on_b.close()
            await store.close()
