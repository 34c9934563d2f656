"""REST follows the console's team privacy (hub/auth/visibility.py): an agent sees unrouted
tickets, their teams' tickets and tickets assigned to them; another team's ticket is 404 on every
route that names it, and lists leave it out with full pages and a working cursor."""

from __future__ import annotations

from typing import Any

from hub import keys
from hub.models import Channel, InboundMessage, Role, SenderIdentity, new_id

from ...conftest import Api

V1 = "/api/v1"


async def _member_of(api: Api, team_ids: list[str]) -> dict[str, Any]:
    email = f"agent-{new_id()}@example.com"
    user = await api.app[keys.USERS].create(email, "correct horse", Role.agent, "Agent", team_ids)
    resp = await api.client.post(f"{V1}/auth/login", json={"email": email, "password": "correct horse"})
    return {"id": user.id, "headers": {"Authorization": f"Bearer {(await resp.json())['access_token']}"}}


async def _ticket(
    api: Api, admin: dict[str, str], team_id: str | None, assignee_id: str | None = None
) -> str:
    inbound = InboundMessage(
        channel=Channel.api,
        external_id=new_id(),
        text="secret plans",
        sender=SenderIdentity(kind="email", value=f"{new_id()}@example.com"),
    )
    result = await api.app[keys.INBOX].ingest(inbound)
    changes: dict[str, Any] = {"team_id": team_id} if team_id else {}
    if assignee_id:
        changes["assignee_id"] = assignee_id
    if changes:
        resp = await api.client.patch(
            f"{V1}/conversations/{result.conversation.id}", json=changes, headers=admin
        )
        assert resp.status == 200, await resp.text()
    return result.conversation.id


async def test_agents_do_not_see_other_teams_tickets(api: Api) -> None:
    admin = (await api.user(Role.admin))["headers"]
    teams = [
        await (await api.client.post(f"{V1}/teams", json={"name": n}, headers=admin)).json()
        for n in ("Venues", "Catering")
    ]
    mine, theirs = teams[0]["id"], teams[1]["id"]
    agent = await _member_of(api, [mine])
    open_ = await _ticket(api, admin, None)
    ours = await _ticket(api, admin, mine)
    hidden = [await _ticket(api, admin, theirs) for _ in range(4)]
    assigned_to_me = await _ticket(api, admin, theirs, agent["id"])

    resp = await api.client.get(f"{V1}/conversations?limit=200", headers=agent["headers"])
    seen = {c["id"] for c in (await resp.json())["items"]}
    assert {open_, ours, assigned_to_me} <= seen and not seen & set(hidden)

    # pages of one: full pages, no duplicates, never a hidden ticket, the cursor walks to the end
    walked: list[str] = []
    cursor = None
    for _ in range(20):
        url = f"{V1}/conversations?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = await (await api.client.get(url, headers=agent["headers"])).json()
        walked += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(walked) == len(set(walked)) and set(walked) == seen

    for url in (f"/conversations/{hidden[0]}", f"/conversations/{hidden[0]}/messages"):
        assert (await api.client.get(V1 + url, headers=agent["headers"])).status == 404, url
    reply = await api.client.post(
        f"{V1}/conversations/{hidden[0]}/messages", json={"text": "x"}, headers=agent["headers"]
    )
    patch = await api.client.patch(
        f"{V1}/conversations/{hidden[0]}", json={"priority": "high"}, headers=agent["headers"]
    )
    assert reply.status == 404 and patch.status == 404
    message = await api.app[keys.STORE].messages.find_one({"conversation_id": hidden[0]})
    assert (await api.client.get(f"{V1}/messages/{message['_id']}", headers=agent["headers"])).status == 404
    assert (await api.client.get(f"{V1}/messages/{message['_id']}", headers=admin)).status == 200
    assert await api.app[keys.STORE].messages.count_documents({"conversation_id": hidden[0]}) == 1  # no reply

    supervisor = (await api.user(Role.supervisor))["headers"]
    everything = await (await api.client.get(f"{V1}/conversations?limit=200", headers=supervisor)).json()
    assert set(hidden) <= {c["id"] for c in everything["items"]}


async def test_the_queues_leave_out_another_teams_tickets(api: Api) -> None:
    """GET /queue and GET /teams/{id}/queue showed an agent another team's waiting tickets in full
    (subject, contact, SLA) although GET /conversations/{id} answered 404 for them."""
    admin = (await api.user(Role.admin))["headers"]
    made = [await api.client.post(f"{V1}/teams", json={"name": n}, headers=admin) for n in ("Billing", "VIP")]
    mine, theirs = [(await resp.json())["id"] for resp in made]
    agent = await _member_of(api, [mine])
    shared, ours, hidden = await _ticket(api, admin, None), await _ticket(api, admin, mine), await _ticket(
        api, admin, theirs)

    seen = {c["id"] for c in await (await api.client.get(f"{V1}/queue", headers=agent["headers"])).json()}
    assert {shared, ours} <= seen and hidden not in seen
    everyone = {c["id"] for c in await (await api.client.get(f"{V1}/queue", headers=admin)).json()}
    assert {shared, ours, hidden} <= everyone
    resp = await api.client.get(f"{V1}/teams/{theirs}/queue", headers=agent["headers"])
    assert resp.status == 404
    resp = await api.client.get(f"{V1}/teams/{mine}/queue", headers=agent["headers"])
    assert resp.status == 200 and [c["id"] for c in await resp.json()] == [ours]
