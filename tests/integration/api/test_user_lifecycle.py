"""What a user's token may still do after an admin changes the user: a role change, a removed team
and a deactivation end their sign-ins at once; a deactivated user's API keys go with them; nobody
locks themselves or the hub out (self-deactivation, the last active admin)."""

from __future__ import annotations

from typing import Any

from hub import keys
from hub.models import Role

from ...conftest import Api


async def _admins(api: Api) -> list[str]:
    return [
        d["_id"] async for d in api.app[keys.STORE].users.find({"role": "admin", "active": {"$ne": False}})
    ]


async def test_a_role_change_ends_the_old_tokens_at_once(api: Api) -> None:
    admin = await api.user(Role.admin)
    boss = await api.user(Role.supervisor)
    assert (await api.client.get("/api/v1/audit", headers=boss["headers"])).status == 200
    resp = await api.client.patch(
        f"/api/v1/users/{boss['user']['id']}", json={"role": "agent"}, headers=admin["headers"]
    )
    assert resp.status == 200, await resp.text()
    resp = await api.client.get("/api/v1/audit", headers=boss["headers"])
    assert resp.status == 401, await resp.text()
    resp = await api.client.post("/api/v1/teams", json={"name": "Coup"}, headers=boss["headers"])
    assert resp.status == 401
    resp = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": boss["refresh_token"]})
    assert resp.status == 401  # they sign in again, and get the new role
    again = await api.client.post(
        "/api/v1/auth/login", json={"email": boss["user"]["email"], "password": "correct horse"}
    )
    assert (await again.json())["user"]["role"] == "agent"


async def test_removal_from_a_team_ends_the_tokens_that_list_it(api: Api) -> None:
    admin = await api.user(Role.admin)
    email = "vera@example.com"
    vera = await api.app[keys.USERS].create(email, "correct horse", Role.agent, team_ids=["venues"])
    login = await api.client.post("/api/v1/auth/login", json={"email": email, "password": "correct horse"})
    headers = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
    resp = await api.client.patch(
        f"/api/v1/users/{vera.id}", json={"team_ids": ["venues", "hall"]}, headers=admin["headers"]
    )
    assert resp.status == 200
    assert (await api.client.get("/api/v1/auth/me", headers=headers)).status == 200  # a team gained: kept
    resp = await api.client.patch(
        f"/api/v1/users/{vera.id}", json={"team_ids": ["hall"]}, headers=admin["headers"]
    )
    assert resp.status == 200
    assert (await api.client.get("/api/v1/auth/me", headers=headers)).status == 401


async def test_patch_deactivation_cuts_tokens_and_nobody_deactivates_themselves(api: Api) -> None:
    admin = await api.user(Role.admin)
    agent = await api.user(Role.agent)
    me = admin["user"]["id"]
    for resp in (
        await api.client.patch(f"/api/v1/users/{me}", json={"active": False}, headers=admin["headers"]),
        await api.client.delete(f"/api/v1/users/{me}", headers=admin["headers"]),
    ):
        assert resp.status == 409 and "yourself" in (await resp.json())["detail"]
    assert (await api.client.get("/api/v1/auth/me", headers=admin["headers"])).status == 200
    resp = await api.client.patch(
        f"/api/v1/users/{agent['user']['id']}", json={"active": False}, headers=admin["headers"]
    )
    assert resp.status == 200
    assert (await api.client.get("/api/v1/auth/me", headers=agent["headers"])).status == 401


async def test_the_last_active_admin_can_be_neither_deactivated_nor_demoted(api: Api) -> None:
    first = await api.user(Role.admin)
    second = await api.user(Role.admin)
    for other in await _admins(api):  # leave exactly these two
        if other not in (first["user"]["id"], second["user"]["id"]):
            await api.app[keys.USERS].update(other, {"active": False})
    resp = await api.client.delete(f"/api/v1/users/{second['user']['id']}", headers=first["headers"])
    assert resp.status == 204, await resp.text()
    # the first is the last active admin now: not even they may demote themselves
    resp = await api.client.patch(
        f"/api/v1/users/{first['user']['id']}", json={"role": "supervisor"}, headers=first["headers"]
    )
    assert resp.status == 409 and "last active admin" in (await resp.json())["detail"]
    # an API key (no user) cannot remove the last admin either
    key = await api.client.post(
        "/api/v1/api-keys", json={"name": "ops", "role": "admin"}, headers=first["headers"]
    )
    key_headers = {"X-Api-Key": (await key.json())["key"]}
    for resp in (
        await api.client.delete(f"/api/v1/users/{first['user']['id']}", headers=key_headers),
        await api.client.patch(
            f"/api/v1/users/{first['user']['id']}", json={"active": False}, headers=key_headers
        ),
    ):
        assert resp.status == 409 and "last active admin" in (await resp.json())["detail"], await resp.text()
    assert (await api.client.get("/api/v1/auth/me", headers=first["headers"])).status == 200


async def test_deactivating_a_user_revokes_the_api_keys_they_created(api: Api) -> None:
    boss = await api.user(Role.admin)
    ops = await api.user(Role.admin)
    made: dict[str, Any] = {}
    for name, role in (("crm", "admin"), ("widget", "agent")):
        resp = await api.client.post(
            "/api/v1/api-keys", json={"name": name, "role": role}, headers=ops["headers"]
        )
        made[name] = await resp.json()
    mine = await api.client.post(
        "/api/v1/api-keys", json={"name": "boss's", "role": "agent"}, headers=boss["headers"]
    )
    mine_key = (await mine.json())["key"]
    crm = {"X-Api-Key": made["crm"]["key"]}
    assert (await api.client.get("/api/v1/users", headers=crm)).status == 200
    resp = await api.client.delete(f"/api/v1/users/{ops['user']['id']}", headers=boss["headers"])
    assert resp.status == 204
    resp = await api.client.post(
        "/api/v1/users",
        headers=crm,
        json={"email": "mole@example.com", "password": "long enough", "role": "admin"},
    )
    assert resp.status == 401 and (await resp.json())["detail"] == "API key revoked"
    assert (await api.client.get("/api/v1/users", headers={"X-Api-Key": made["widget"]["key"]})).status == 401
    assert (await api.client.get("/api/v1/conversations", headers={"X-Api-Key": mine_key})).status == 200
    audit = [
        d
        async for d in api.app[keys.STORE].audit_log.find(
            {"target_id": {"$in": [ops["user"]["id"], made["crm"]["id"], made["widget"]["id"]]}}
        )
    ]
    by_action = {(d["action"], d["target_id"]): d for d in audit}
    assert by_action[("user.deactivate", ops["user"]["id"])]["after"]["api_keys_revoked"] == 2
    assert {("api_key.revoke", made["crm"]["id"]), ("api_key.revoke", made["widget"]["id"])} <= set(by_action)
    # PATCH active=false does the same, and says how many in its audit entry
    key = await api.client.post(
        "/api/v1/api-keys", json={"name": "x", "role": "agent"}, headers=boss["headers"]
    )
    other = await api.user(Role.admin)
    resp = await api.client.patch(
        f"/api/v1/users/{boss['user']['id']}", json={"active": False}, headers=other["headers"]
    )
    assert resp.status == 200
    assert (
        await api.client.get("/api/v1/conversations", headers={"X-Api-Key": (await key.json())["key"]})
    ).status == 401
    entry = await api.app[keys.STORE].audit_log.find_one(
        {"action": "user.update", "target_id": boss["user"]["id"]}
    )
    assert entry["after"]["api_keys_revoked"] == 2
    # values, not their str()
    assert entry["before"] == {"active": True} and entry["after"]["active"] is False
    resp = await api.client.patch(f"/api/v1/users/{boss['user']['id']}", json={"role": None},
                                  headers=other["headers"])
    assert resp.status == 422 and (await resp.json())["field"] == "role"
    assert (await api.app[keys.STORE].users.find_one({"_id": boss["user"]["id"]}))["role"] == "admin"


async def test_identity_value_without_its_kind_is_a_400(api: Api) -> None:
    admin = await api.user(Role.admin)
    for _ in range(2):
        await api.client.post(
            "/api/v1/contacts", json={"name": "Ann", "identities": []}, headers=admin["headers"]
        )
    for query, missing in (("identity_value=x", "identity_kind"), ("identity_kind=phone", "identity_value")):
        resp = await api.client.get(f"/api/v1/contacts?{query}", headers=admin["headers"])
        assert resp.status == 400, await resp.text()
        body = await resp.json()
        assert body["field"] == missing and missing in body["detail"]


async def test_demoting_an_admin_revokes_the_api_keys_they_created(api: Api) -> None:
    """A demoted admin may no longer create keys, so the admin keys they made must not outlive
    the role: an admin key of a supervisor could make its maker an admin again."""
    boss = await api.user(Role.admin)
    ops = await api.user(Role.admin)
    made = await (await api.client.post(
        "/api/v1/api-keys", json={"name": "crm", "role": "admin"}, headers=ops["headers"])).json()
    crm = {"X-Api-Key": made["key"]}
    assert (await api.client.get("/api/v1/users", headers=crm)).status == 200
    resp = await api.client.patch(f"/api/v1/users/{ops['user']['id']}", json={"role": "supervisor"},
                                  headers=boss["headers"])
    assert resp.status == 200, await resp.text()
    resp = await api.client.patch(f"/api/v1/users/{ops['user']['id']}", json={"role": "admin"}, headers=crm)
    assert resp.status == 401 and (await resp.json())["detail"] == "API key revoked"
    audit = api.app[keys.STORE].audit_log
    entry = await audit.find_one({"action": "api_key.revoke", "target_id": made["id"]})
    assert entry["after"]["reason"] == f"creator {ops['user']['id']} now supervisor"
    update = await audit.find_one({"action": "user.update", "target_id": ops["user"]["id"]})
    assert update["after"]["api_keys_revoked"] == 1
    # a change that keeps the right to hold keys (a new name) revokes nothing
    key = await (await api.client.post(
        "/api/v1/api-keys", json={"name": "erp", "role": "agent"}, headers=boss["headers"])).json()
    other = await api.user(Role.admin)
    assert (await api.client.patch(f"/api/v1/users/{boss['user']['id']}", json={"name": "Boss"},
                                   headers=other["headers"])).status == 200
    assert (await api.client.get("/api/v1/conversations", headers={"X-Api-Key": key["key"]})).status == 200


async def test_two_admins_demoting_each_other_at_once_leave_an_admin(api: Api) -> None:
    """Both pass the first count of admins (two); the second count, after the writes, finds none
    and undoes them: at least one of the two stays an admin, and every refusal is a 409."""
    import asyncio

    for _ in range(3):
        first = await api.user(Role.admin)
        second = await api.user(Role.admin)
        for other in await _admins(api):  # leave exactly these two
            if other not in (first["user"]["id"], second["user"]["id"]):
                await api.app[keys.USERS].update(other, {"active": False})
        answers = await asyncio.gather(*(
            api.client.patch(f"/api/v1/users/{them['user']['id']}", json={"role": "agent"},
                             headers=me["headers"])
            for me, them in ((first, second), (second, first))))
        assert sorted(r.status for r in answers) in ([200, 401], [200, 409], [409, 409]), answers
        assert await api.app[keys.STORE].users.count_documents(
            {"role": "admin", "active": {"$ne": False}}) >= 1
