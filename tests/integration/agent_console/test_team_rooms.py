"""Socket rooms follow team changes live: an agent added to a team (by the team's members or by
their own ``team_ids``) starts receiving its tickets' events on the open socket, catch-up included,
and one removed stops receiving them — no reconnect."""

from __future__ import annotations

from typing import Any

from hub import keys
from hub.models import Role

from .conftest import team_agent


async def _user_id(client: Any, token: str) -> str:
    return str(client.server.app[keys.TOKENS].verify_access(token).user_id)


async def test_sockets_join_and_leave_team_rooms_when_membership_changes(client, api, agents, ingest) -> None:
    admin = await api.user(Role.admin)
    vera_token = await team_agent(client, "Vera", ["venues"])
    carl_token = await team_agent(client, "Carl", [])
    vera_id, carl_id = await _user_id(client, vera_token), await _user_id(client, carl_token)
    vera, carl = await agents(vera_token), await agents(carl_token)
    assert "team:venues" in (await vera.call("hello"))["rooms"]

    async def routed(text: str, team_id: str, phone: str = "+27829990001") -> str:
        conversation_id = (await ingest(text, phone=phone))["conversation"]["id"]
        resp = await client.patch(
            f"/api/v1/conversations/{conversation_id}", json={"team_id": team_id}, headers=admin["headers"]
        )
        assert resp.status == 200, await resp.text()
        return str(conversation_id)

    def got(agent: Any, text: str) -> bool:
        return any(e["data"].get("message", {}).get("text") == text for e in agent.events("message.created"))

    # a team is made with Vera and Carl in it: both sockets join its room at once
    resp = await client.post(
        "/api/v1/teams",
        headers=admin["headers"],
        json={
            "name": "Catering",
            "members": [{"user_id": vera_id, "capacity": 0}, {"user_id": carl_id, "capacity": 0}],
        },
    )  # no auto-assignment
    assert resp.status == 201, await resp.text()
    team_id = (await resp.json())["id"]
    await vera.wait_for(lambda: any(team_id in d["team_ids"] for d in vera.of("teams")), timeout=15)
    assert f"team:{team_id}" in (await vera.call("hello"))["rooms"]
    conversation_id = await routed("Menu for 80 guests?", team_id)
    await vera.wait_for(lambda: got(vera, "Menu for 80 guests?"), timeout=15)
    opened = await vera.call("open", {"conversation_id": conversation_id})
    assert opened["ok"], opened  # what the socket may open follows its rooms too
    caught = await vera.call("catch_up", {"last_id": 0})
    assert any(e["data"]["conversation_id"] == conversation_id for e in caught["events"])

    # Vera leaves the team: her socket leaves the room; Carl (still in it) shows the event was sent
    resp = await client.patch(
        f"/api/v1/teams/{team_id}",
        headers=admin["headers"],
        json={"members": [{"user_id": carl_id, "capacity": 0}]},
    )
    assert resp.status == 200, await resp.text()
    await vera.wait_for(
        lambda: vera.of("teams") and team_id not in vera.of("teams")[-1]["team_ids"], timeout=15
    )
    await vera.call("close", {"conversation_id": conversation_id})
    await routed("And a vegan option?", team_id)
    await carl.wait_for(lambda: got(carl, "And a vegan option?"), timeout=15)
    await client.server.app[keys.EXTENSIONS]["agent_console"]["forwarder"].drain()
    assert not got(vera, "And a vegan option?")
    assert (await vera.call("open", {"conversation_id": conversation_id}))["error"]["code"] == "not_found"
    caught = await vera.call("catch_up", {"last_id": 0})
    # (only the content-free notice that the shared inbox lost it to the team remains hers)
    assert {e["name"] for e in caught["events"] if e["data"]["conversation_id"] == conversation_id} == {
        "conversation.transferred"
    }

    # her own team_ids (PATCH /users) count the same: she joins "hall" live
    resp = await client.patch(
        f"/api/v1/users/{vera_id}", headers=admin["headers"], json={"team_ids": ["venues", "hall"]}
    )
    assert resp.status == 200, await resp.text()
    await vera.wait_for(lambda: any("hall" in d["team_ids"] for d in vera.of("teams")), timeout=15)
    hall_ticket = await routed("Is the hall free on Friday?", "hall", phone="+27829990002")
    await routed("Still free?", "hall", phone="+27829990002")  # a message while routed to the team
    await vera.wait_for(lambda: got(vera, "Still free?"), timeout=15)
    await client.server.app[keys.EXTENSIONS]["agent_console"]["forwarder"].drain()
    assert not got(carl, "Still free?")
    assert (await vera.call("open", {"conversation_id": hall_ticket}))["ok"]
