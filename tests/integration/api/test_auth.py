"""Sign-in, tokens, API keys and roles through the real app on FerretDB."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt

from hub import keys
from hub.models import Role, utcnow

from ...conftest import Api


async def test_login_me_and_wrong_password(api: Api) -> None:
    admin = await api.user(Role.admin, "boss@example.com")
    resp = await api.client.get("/api/v1/auth/me", headers=admin["headers"])
    assert resp.status == 200 and (await resp.json())["email"] == "boss@example.com"
    resp = await api.client.post(
        "/api/v1/auth/login", json={"email": "boss@example.com", "password": "nope nope"}
    )
    assert resp.status == 401
    assert resp.content_type == "application/problem+json"
    assert (await resp.json())["detail"] == "wrong e-mail or password"


async def test_missing_forged_and_expired_tokens_are_refused(api: Api) -> None:
    resp = await api.client.get("/api/v1/conversations")
    assert resp.status == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
    agent = await api.user(Role.agent)
    claims = jwt.decode(agent["access_token"], options={"verify_signature": False})
    forged = jwt.encode(
        {**claims, "role": "admin"}, "another-secret-another-secret-another", algorithm="HS256"
    )
    resp = await api.client.get("/api/v1/users", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status == 401 and (await resp.json())["detail"] == "invalid token"
    secret = api.app[keys.SETTINGS].jwt_secret.get_secret_value()
    expired = jwt.encode({**claims, "exp": utcnow() - timedelta(seconds=1)}, secret, algorithm="HS256")
    resp = await api.client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {expired}"})
    assert (resp.status, (await resp.json())["detail"]) == (401, "token expired")
    resp = await api.client.get("/api/v1/conversations", headers={"Authorization": "Basic abc"})
    assert resp.status == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(api: Api) -> None:
    user = await api.user(Role.agent)
    first = user["refresh_token"]
    resp = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert resp.status == 200
    second = (await resp.json())["refresh_token"]
    assert second != first
    replay = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert replay.status == 401 and "reuse" in (await replay.json())["detail"]
    # the stolen family is dead: the legitimate newer token no longer works either
    resp = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": second})
    assert resp.status == 401


async def test_role_without_permission_gets_403(api: Api) -> None:
    agent = await api.user(Role.agent)
    resp = await api.client.post("/api/v1/users", headers=agent["headers"],
                                 json={"email": "x@example.com", "password": "long enough", "role": "admin"})
    assert resp.status == 403
    body = await resp.json()
    assert body["title"] == "Forbidden" and "users:write" in body["detail"]
    assert await api.app[keys.STORE].users.count_documents({"email": "x@example.com"}) == 0


async def test_api_key_is_shown_once_works_and_stops_when_revoked(api: Api) -> None:
    admin = await api.user(Role.admin)
    resp = await api.client.post(
        "/api/v1/api-keys", headers=admin["headers"], json={"name": "crm sync", "role": "agent"}
    )
    assert resp.status == 201
    created = await resp.json()
    secret = created["key"]
    stored = await api.app[keys.STORE].api_keys.find_one({"_id": created["id"]})
    assert secret not in str(stored)  # only a digest is kept
    listed = await (await api.client.get("/api/v1/api-keys", headers=admin["headers"])).json()
    assert all("key" not in k for k in listed)
    resp = await api.client.get("/api/v1/conversations", headers={"X-Api-Key": secret})
    assert resp.status == 200
    await api.client.delete(f"/api/v1/api-keys/{created['id']}", headers=admin["headers"])
    resp = await api.client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {secret}"})
    assert (resp.status, (await resp.json())["detail"]) == (401, "API key revoked")
    resp = await api.client.get("/api/v1/conversations", headers={"X-Api-Key": "bk_nonsense"})
    assert resp.status == 401


async def test_portal_user_sees_only_own_tickets(api: Api) -> None:
    admin = await api.user(Role.admin)
    inbound: dict[str, Any] = {
        "channel": "sms",
        "sender": {"kind": "phone", "value": "+27820000001"},
        "text": "hi",
    }
    mine = await (await api.client.post("/api/v1/inbound", headers=admin["headers"],
                                        json={**inbound, "external_id": "a"})).json()
    other = await (await api.client.post("/api/v1/inbound", headers=admin["headers"], json={
        **inbound, "external_id": "b", "sender": {"kind": "phone", "value": "+27820000002"}})).json()
    users = api.app[keys.USERS]
    await users.create(
        "cust@example.com", "correct horse", Role.customer, contact_id=mine["message"]["contact_id"]
    )
    login = await (
        await api.client.post(
            "/api/v1/auth/login", json={"email": "cust@example.com", "password": "correct horse"}
        )
    ).json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    page = await (await api.client.get("/api/v1/conversations", headers=headers)).json()
    assert [c["id"] for c in page["items"]] == [mine["conversation"]["id"]]
    resp = await api.client.get(f"/api/v1/conversations/{other['conversation']['id']}", headers=headers)
    assert resp.status == 404
    resp = await api.client.patch(f"/api/v1/conversations/{mine['conversation']['id']}", headers=headers,
                                  json={"status": "resolved"})
    assert resp.status == 403


async def test_concurrent_refreshes_with_one_token_never_let_two_through(api: Api) -> None:
    import asyncio

    user = await api.user(Role.agent)
    answers = await asyncio.gather(
        *(
            api.client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]})
            for _ in range(6)
        )
    )
    statuses = sorted(a.status for a in answers)
    assert statuses.count(200) <= 1 and set(statuses) <= {200, 401}, statuses
    # the losers were a reuse: the whole sign-in is revoked, a winner's new token included
    for winner in (a for a in answers if a.status == 200):
        again = await api.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": (await winner.json())["refresh_token"]}
        )
        assert again.status == 401
