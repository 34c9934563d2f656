"""Team privacy on the ticketing action routes (assign, snooze, merge, notes, tags, custom fields,
SLA, canned responses, macros, WhatsApp templates): the router checks every path naming a
``{conversation_id}`` against ``hub/auth/visibility.py``, so another team's ticket is 404 to an
agent on each of them — and nothing changes — while its own team, the assignee, supervisors and
admins act on it; a customer only on their own tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub import keys
from hub.models import Role

from ...conftest import Api
from .test_privacy_of_teams import V1, _member_of, _ticket

ACTIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/assign", {"team_id": None}),
    ("POST", "/snooze", {"until": (datetime.now(UTC) + timedelta(days=1)).isoformat()}),
    ("POST", "/notes", {"text": "psst"}),
    ("POST", "/tags", {"add": ["vip"]}),
    ("PATCH", "/custom-fields", {"fields": {"order": "A1"}}),
    ("GET", "/sla", None),
    ("POST", "/canned/{canned}", None),
    ("POST", "/whatsapp-template", {"content_sid": "HX" + "0" * 32}),
]


async def _call(
    api: Api, method: str, cid: str, suffix: str, body: Any, headers: dict[str, str], canned: str
) -> int:
    url = f"{V1}/conversations/{cid}{suffix.replace('{canned}', canned)}"
    resp = await api.client.request(method, url, json=body, headers=headers)
    return resp.status


@pytest.fixture
async def world(api: Api) -> dict[str, Any]:
    admin = (await api.user(Role.admin))["headers"]
    teams = [
        (await (await api.client.post(f"{V1}/teams", json={"name": n}, headers=admin)).json())["id"]
        for n in ("Venues", "Catering")
    ]
    canned = await api.client.post(
        f"{V1}/canned-responses", headers=admin, json={"shortcut": "hi", "title": "Hi", "text": "Hello!"}
    )
    assert canned.status == 201, await canned.text()
    return {
        "admin": admin,
        "mine": teams[0],
        "theirs": teams[1],
        "canned": (await canned.json())["id"],
        "agent": await _member_of(api, [teams[0]]),
    }


async def test_another_teams_ticket_is_404_on_every_action_and_unchanged(
    api: Api, world: dict[str, Any]
) -> None:
    hidden = await _ticket(api, world["admin"], world["theirs"])
    store = api.app[keys.STORE]
    before = await store.conversations.find_one({"_id": hidden})
    messages = await store.messages.count_documents({"conversation_id": hidden})
    for method, suffix, body in ACTIONS:
        status = await _call(api, method, hidden, suffix, body, world["agent"]["headers"], world["canned"])
        assert status == 404, (method, suffix, status)
    mine = await _ticket(api, world["admin"], world["mine"])
    for route, body in (("merge", {"into": hidden}),):  # a visible ticket into a hidden one: 404 too
        resp = await api.client.post(
            f"{V1}/conversations/{mine}/{route}", json=body, headers=world["agent"]["headers"]
        )
        assert resp.status == 404, await resp.text()
    preview = await api.client.post(
        f"{V1}/canned-responses/{world['canned']}/preview",
        json={"conversation_id": hidden},
        headers=world["agent"]["headers"],
    )
    assert preview.status == 404
    after = await store.conversations.find_one({"_id": hidden})
    assert after == before
    assert await store.messages.count_documents({"conversation_id": hidden}) == messages


@pytest.mark.parametrize("who", ["member", "assignee", "supervisor", "admin"])
async def test_who_may_act_on_a_team_ticket(api: Api, world: dict[str, Any], who: str) -> None:
    if who == "member":
        headers, team = world["agent"]["headers"], world["mine"]
        cid = await _ticket(api, world["admin"], team)
    elif who == "assignee":
        headers = world["agent"]["headers"]
        cid = await _ticket(api, world["admin"], world["theirs"], world["agent"]["id"])
    else:
        headers = (await api.user(Role(who)))["headers"]
        cid = await _ticket(api, world["admin"], world["theirs"])
    for method, suffix, body in ACTIONS:
        if suffix in ("/assign", "/whatsapp-template"):
            continue  # assign is covered by test_privacy_of_teams; templates need a WhatsApp ticket
        status = await _call(api, method, cid, suffix, body, headers, world["canned"])
        assert status < 300, (who, method, suffix, status)
    resp = await api.client.post(
        f"{V1}/canned-responses/{world['canned']}/preview", json={"conversation_id": cid}, headers=headers
    )
    assert resp.status == 200 and (await resp.json())["text"] == "Hello!"


async def test_a_customer_acts_only_on_their_own_tickets(api: Api, world: dict[str, Any]) -> None:
    customer = (await api.user(Role.customer))["headers"]
    cid = await _ticket(api, world["admin"], None)  # an unrouted ticket every agent sees
    # a customer has no ticketing permission (403) and another contact's ticket is not theirs
    assert (await api.client.get(f"{V1}/conversations/{cid}", headers=customer)).status == 404
    assert await _call(api, "POST", cid, "/notes", {"text": "x"}, customer, world["canned"]) == 403
    assert await _call(api, "GET", cid, "/sla", None, customer, world["canned"]) == 403


async def test_unknown_and_hostile_conversation_ids(api: Api, world: dict[str, Any]) -> None:
    agent = world["agent"]["headers"]
    for cid in ("nope", "%24ne", "..%2F..%2Fusers", "x" * 2000):
        assert await _call(api, "POST", cid, "/notes", {"text": "x"}, agent, world["canned"]) == 404, cid
    assert await api.app[keys.STORE].messages.count_documents({}) == 0


async def test_membership_counts_as_the_team_document_says_now(api: Api, world: dict[str, Any]) -> None:
    """The token lists the user's teams as of sign-in; a team's members change in the team:
    an agent added to "their" team after signing in acts on its tickets at once, and loses them
    when removed."""
    hidden = await _ticket(api, world["admin"], world["theirs"])
    agent = world["agent"]
    assert (await api.client.get(f"{V1}/conversations/{hidden}", headers=agent["headers"])).status == 404
    add = await api.client.patch(
        f"{V1}/teams/{world['theirs']}", headers=world["admin"], json={"members": [{"user_id": agent["id"]}]}
    )
    assert add.status == 200, await add.text()
    assert (await api.client.get(f"{V1}/conversations/{hidden}", headers=agent["headers"])).status == 200
    listed = await (await api.client.get(f"{V1}/conversations?limit=200", headers=agent["headers"])).json()
    assert hidden in {c["id"] for c in listed["items"]}
    assert (
        await _call(api, "POST", hidden, "/notes", {"text": "mine now"}, agent["headers"], world["canned"])
        == 201
    )
    drop = await api.client.patch(
        f"{V1}/teams/{world['theirs']}", headers=world["admin"], json={"members": []}
    )
    assert drop.status == 200
    assert (await api.client.get(f"{V1}/conversations/{hidden}", headers=agent["headers"])).status == 404
