"""An open console socket does not outlive its user's sign-in: deactivation, a role change, a
password change or signing out that one session disconnects it at once (``user.signed_out``), and
every event re-checks the sign-in as REST does, so a revocation that publishes nothing stops the
socket too. The cross-node case is in ``test_multinode``."""

from __future__ import annotations

from typing import Any

import pytest
import socketio

from agent_console import namespace
from hub import keys
from hub.models import Role


async def _connected_then_cut(client: Any, api: Any, agents: Any, role: Role, change: Any) -> Any:
    admin = await api.user(Role.admin)
    user = await api.user(role)
    agent = await agents(user["access_token"])
    assert (await agent.call("list", {"view": "all"}))["ok"]
    resp = await change(client, admin, user)
    assert resp.status in (200, 204), await resp.text()
    # no event needed: the server disconnects the socket, and says why first
    await agent.wait_for(lambda: not agent.sio.connected or None, timeout=5)
    assert agent.of("signed_out"), agent.received
    with pytest.raises(socketio.exceptions.ConnectionError, match="unauthorized"):
        await agents(user["access_token"])  # the old token cannot come back either
    return agent


async def test_deactivation_disconnects_the_open_socket(client, api, agents) -> None:
    async def deactivate(client: Any, admin: Any, user: Any) -> Any:
        return await client.delete(f"/api/v1/users/{user['user']['id']}", headers=admin["headers"])

    agent = await _connected_then_cut(client, api, agents, Role.agent, deactivate)
    assert "deactivated" in agent.of("signed_out")[0]["reason"]


async def test_a_patch_deactivation_role_or_password_change_disconnects_too(client, api, agents) -> None:
    for role, body in (
        (Role.agent, {"active": False}),
        (Role.supervisor, {"role": "agent"}),
        (Role.agent, {"password": "a new long password"}),
    ):

        async def patch(client: Any, admin: Any, user: Any, body: dict = body) -> Any:
            return await client.patch(
                f"/api/v1/users/{user['user']['id']}", json=body, headers=admin["headers"]
            )

        await _connected_then_cut(client, api, agents, role, patch)


async def test_signing_out_one_session_disconnects_only_its_sockets(client, api, agents) -> None:
    user = await api.user(Role.agent)
    second = await (await client.post("/api/v1/auth/login", json={
        "email": user["user"]["email"], "password": "correct horse"})).json()
    laptop, phone = await agents(user["access_token"]), await agents(second["access_token"])
    session_id = client.server.app[keys.TOKENS].verify_access(user["access_token"]).session_id
    resp = await client.delete(f"/api/v1/auth/sessions/{session_id}",
                               headers={"Authorization": f"Bearer {second['access_token']}"})
    assert resp.status == 204, await resp.text()
    # the idle socket of that sign-in goes without sending anything (it used to get ticket events
    # until its next heartbeat); the other sign-in's socket stays, untold
    await laptop.wait_for(lambda: not laptop.sio.connected or None, timeout=5)
    assert laptop.of("signed_out")[0]["reason"] == "signed out of this session"
    assert (await phone.call("list", {"view": "all"}))["ok"] and phone.sio.connected
    assert not phone.of("signed_out")


async def test_every_event_rechecks_the_sign_in(client, api, agents, monkeypatch) -> None:
    monkeypatch.setattr(namespace, "LIVE_CHECK_S", 0.0)  # no cache: the next event sees it
    user = await api.user(Role.agent)
    agent = await agents(user["access_token"])
    assert (await agent.call("heartbeat"))["ok"]
    tokens = client.server.app[keys.TOKENS]
    session_id = tokens.verify_access(user["access_token"]).session_id
    await tokens.revoke_session(session_id, user["user"]["id"], reason=None)  # no bus event
    answer = await agent.call("list", {"view": "all"})
    assert answer["ok"] is False and answer["error"]["code"] == "unauthorized", answer
    assert "session revoked" in answer["error"]["detail"]
    await agent.wait_for(lambda: not agent.sio.connected or None, timeout=5)


async def test_a_user_deactivated_behind_the_api_s_back_is_refused_at_the_next_event(
    client, api, agents, monkeypatch
) -> None:
    monkeypatch.setattr(namespace, "LIVE_CHECK_S", 0.0)
    user = await api.user(Role.agent)
    agent = await agents(user["access_token"])
    await client.server.app[keys.STORE].users.update_one(
        {"_id": user["user"]["id"]}, {"$set": {"active": False}}
    )
    answer = await agent.call("reply", {"conversation_id": "0" * 24, "text": "hi", "client_id": "abcdefgh"})
    assert answer["ok"] is False and answer["error"]["code"] == "unauthorized", answer
