"""An admin deletes a ticket: consoles that showed it are told (ids only) so they drop it, and the
console's replay log keeps nothing of its content."""

from __future__ import annotations

import json

from hub import keys
from hub.models import Role


async def test_a_deleted_ticket_is_dropped_by_open_consoles_with_nothing_of_its_content(
        client, agents, api, ingest) -> None:
    agent = await agents((await api.user(Role.agent))["access_token"])
    first = await ingest("Please delete my venue booking for 12 May, PIN 55123")
    conversation_id = first["conversation"]["id"]
    await agent.wait_for(lambda: agent.events("message.created"))

    admin = await api.user(Role.admin)
    resp = await client.delete(f"/api/v1/conversations/{conversation_id}", headers=admin["headers"])
    assert resp.status in (200, 204), await resp.text()

    [deleted] = await agent.wait_for(lambda: agent.events("conversation.deleted"), timeout=10)
    assert deleted["data"]["conversation_id"] == conversation_id
    assert deleted["data"]["number"] == first["conversation"]["number"]
    assert "55123" not in json.dumps(deleted) and "conversation" not in deleted["data"]

    await client.server.app[keys.EXTENSIONS]["agent_console"]["forwarder"].drain()
    logged = [d async for d in client.server.app[keys.STORE]["console_events"].find({})]
    assert "55123" not in json.dumps(logged, default=str)
    assert [d["name"] for d in logged if conversation_id in json.dumps(d, default=str)] == [
        "conversation.deleted"
    ]
