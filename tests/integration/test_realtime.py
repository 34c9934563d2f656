"""Socket.IO websockets and permessage-deflate (``BERRY_WS_DEFLATE``): browsers offer it; by default
the hub declines (each frame would be compressed again for every socket: ~7 ms of hub CPU per
inbound message at 500 agents), and a client that offered it still gets every event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.models import Channel, IdentityKind, Role, new_id
from hub.settings import Settings
from tests.conftest import running

HANDSHAKE = "/socket.io/?EIO=4&transport=websocket"


async def negotiated(client: TestClient[Any, Any]) -> int:
    """The deflate window the server accepted for a browser-like offer (0: none)."""
    ws = await client.ws_connect(HANDSHAKE, compress=15)
    try:
        opening = await ws.receive_str(timeout=10)
        assert opening.startswith("0{") and '"sid"' in opening  # engine.io's open packet
        return ws.compress
    finally:
        await ws.close()


@pytest.fixture
async def deflating(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(settings.model_copy(update={"ws_deflate": True}))
    async with running(app) as test_client:
        yield test_client


async def test_websockets_decline_deflate_by_default(client: TestClient[Any, Any]) -> None:
    assert await negotiated(client) == 0


async def test_the_setting_turns_deflate_back_on(deflating: TestClient[Any, Any]) -> None:
    assert await negotiated(deflating) == 15  # the check above can fail


async def test_a_client_that_offered_deflate_gets_its_events(client: TestClient[Any, Any], api: Any) -> None:
    admin, agent = await api.user(Role.admin), await api.user(Role.agent)
    arrived: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sio = socketio.AsyncClient(reconnection=False, websocket_extra_options={"compress": 15})

    async def on_events(envelopes: list[dict[str, Any]]) -> None:
        for envelope in envelopes:
            await arrived.put(envelope)

    sio.on("event", arrived.put, namespace="/agents")
    sio.on("events", on_events, namespace="/agents")
    await sio.connect(str(client.make_url("/")).rstrip("/"), namespaces=["/agents"],
                      auth={"token": agent["access_token"]}, transports=["websocket"], wait_timeout=15)
    try:
        body = {"channel": Channel.sms.value, "external_id": new_id(), "text": "deflate or not",
                "sender": {"kind": IdentityKind.phone.value, "value": "+27821234567"}}
        resp = await client.post("/api/v1/inbound", json=body, headers=admin["headers"])
        assert resp.status == 201, await resp.text()

        async def message_created() -> dict[str, Any]:
            while (envelope := await arrived.get())["name"] != "message.created":
                pass
            return envelope

        envelope = await asyncio.wait_for(message_created(), 30)
        assert envelope["data"]["message"]["text"] == "deflate or not"
    finally:
        await sio.disconnect()
