"""Team privacy beyond the conversation routes: attachments (``GET /api/v1/blobs/{id}``), canned
responses (list, get, preview, apply) and WhatsApp templates refuse another team's ticket or
item with the same 404 as a missing one, per role (``hub/auth/visibility.py``)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from bson import ObjectId

from hub import keys
from hub.models import Role, new_id
from tests.integration.channels.conftest import TEMPLATE_SID

from .conftest import team_agent


async def _upload(client: Any, headers: dict[str, str], data: bytes) -> str:
    resp = await client.post(
        "/api/v1/console/attachments?filename=plan.pdf",
        data=data,
        headers={**headers, "Content-Type": "application/pdf"},
    )
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["blob_id"])


async def _inbound(
    client: Any, admin: dict[str, Any], team_id: str | None, channel: str = "sms", blob_id: str | None = None,
    phone: str | None = None,
) -> str:
    sender = {
        "kind": "whatsapp" if channel == "whatsapp" else "phone",
        "value": phone or f"+2782{random.randrange(10**7):07d}",
    }
    body: dict[str, Any] = {
        "channel": channel,
        "external_id": new_id(),
        "sender": sender,
        "text": "Floor plan attached",
    }
    if blob_id:
        body["attachments"] = [
            {"filename": "plan.pdf", "content_type": "application/pdf", "blob_id": blob_id}
        ]
    resp = await client.post("/api/v1/inbound", json=body, headers=admin["headers"])
    assert resp.status == 201, await resp.text()
    conversation_id = str((await resp.json())["conversation"]["id"])
    if team_id:
        resp = await client.patch(
            f"/api/v1/conversations/{conversation_id}", json={"team_id": team_id}, headers=admin["headers"]
        )
        assert resp.status == 200, await resp.text()
    return conversation_id


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def people(client: Any, api: Any) -> dict[str, dict[str, str]]:
    """Headers per role: venues agents (two), catering, no team, supervisor, admin, customer."""
    admin = await api.user(Role.admin)
    return {
        "admin": admin["headers"],
        "admin_full": admin,
        "supervisor": (await api.user(Role.supervisor))["headers"],
        "vera": _bearer(await team_agent(client, "Vera", ["venues"])),
        "vusi": _bearer(await team_agent(client, "Vusi", ["venues", "catering"])),
        "carl": _bearer(await team_agent(client, "Carl", ["catering"])),
        "nia": _bearer(await team_agent(client, "Nia", [])),
        "customer": (await api.user(Role.customer))["headers"],
    }


async def test_an_attachment_is_served_only_to_who_may_see_its_conversation(client, people) -> None:
    pdf = b"%PDF-1.4 venue floor plan"
    blob_id = await _upload(client, people["admin"], pdf)
    await _inbound(client, people["admin_full"], "venues", blob_id=blob_id)
    expected = {
        "admin": 200,
        "supervisor": 200,
        "vera": 200,
        "vusi": 200,
        "carl": 404,
        "nia": 404,
        "customer": 403,
    }
    got = {}
    for who in expected:
        resp = await client.get(f"/api/v1/blobs/{blob_id}", headers=people[who])
        got[who] = resp.status
        if resp.status == 200:
            assert await resp.read() == pdf
        elif resp.status == 404:  # the same answer as for a file that does not exist
            assert (await resp.json())["detail"] == "no such attachment"
    assert got == expected
    assert (await client.get(f"/api/v1/blobs/{blob_id}")).status == 401
    for bad in (str(ObjectId()), "not-an-id", "0" * 24, "%00", "a" * 500):
        assert (await client.get(f"/api/v1/blobs/{bad}", headers=people["vera"])).status == 404, bad


async def test_a_shared_ticket_moved_to_a_team_takes_its_files_with_it(client, people) -> None:
    blob_id = await _upload(client, people["admin"], b"%PDF-1.4 shared")
    conversation_id = await _inbound(client, people["admin_full"], None, blob_id=blob_id)
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["carl"])).status == 200
    resp = await client.patch(
        f"/api/v1/conversations/{conversation_id}", json={"team_id": "venues"}, headers=people["admin"]
    )
    assert resp.status == 200
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["carl"])).status == 404
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["vera"])).status == 200


async def test_a_merged_tickets_files_follow_its_messages(client, people) -> None:
    """Merging moves the messages, so their files are shown in the target now (and no longer in
    the source): the target's team gets them, the source's team loses them."""
    phone = f"+2783{random.randrange(10**7):07d}"
    blob_id = await _upload(client, people["admin"], b"%PDF-1.4 quote")
    source = await _inbound(client, people["admin_full"], "venues", blob_id=blob_id, phone=phone)
    resp = await client.patch(
        f"/api/v1/conversations/{source}", json={"status": "closed"}, headers=people["admin"]
    )
    assert resp.status == 200, await resp.text()
    target = await _inbound(client, people["admin_full"], "catering", phone=phone)
    assert source != target, "a second ticket of the same contact was expected"
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["carl"])).status == 404
    resp = await client.post(
        f"/api/v1/conversations/{source}/merge", json={"into": target}, headers=people["admin"]
    )
    assert resp.status == 200, await resp.text()
    files = client.server.app[keys.STORE]["blobs.files"]
    assert (await files.find_one({"_id": ObjectId(blob_id)}))["metadata"]["conversation_ids"] == [target]
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["carl"])).status == 200
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["vera"])).status == 404
    # a record written before merges were followed still points at the source: read through it
    await files.update_one({"_id": ObjectId(blob_id)}, {"$set": {"metadata.conversation_ids": [source]}})
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["carl"])).status == 200


async def test_an_upload_is_its_uploaders_until_a_message_shows_it(client, people) -> None:
    blob_id = await _upload(client, people["vera"], b"%PDF-1.4 draft")
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["vera"])).status == 200
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["vusi"])).status == 404  # same team
    files = client.server.app[keys.STORE]["blobs.files"]
    for _ in range(3):  # asked again and again: looked up in the messages once
        assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["carl"])).status == 404
    assert (await files.find_one({"_id": ObjectId(blob_id)}))["metadata"]["scanned"] is True
    # sent later, it is recorded with its conversation and its team sees it
    await _inbound(client, people["admin_full"], "catering", blob_id=blob_id)
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["carl"])).status == 200


async def test_a_file_stored_before_conversations_were_recorded_is_looked_up_once(client, people) -> None:
    blob_id = await _upload(client, people["admin"], b"%PDF-1.4 old")
    conversation_id = await _inbound(client, people["admin_full"], "venues", blob_id=blob_id)
    files = client.server.app[keys.STORE]["blobs.files"]
    doc = await files.find_one({"_id": ObjectId(blob_id)})
    assert doc["metadata"]["conversation_ids"] == [conversation_id]  # recorded when the message was stored
    await files.update_one({"_id": ObjectId(blob_id)}, {"$unset": {"metadata.conversation_ids": ""}})
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["carl"])).status == 404
    assert (await files.find_one({"_id": ObjectId(blob_id)}))["metadata"]["conversation_ids"] == [
        conversation_id
    ]
    assert (await client.get(f"/api/v1/blobs/{blob_id}", headers=people["vera"])).status == 200


async def test_canned_responses_are_shared_or_their_teams(client, people) -> None:
    ids = {}
    for shortcut, team in (("thanks", None), ("venue-map", "venues"), ("menu", "catering")):
        resp = await client.post(
            "/api/v1/canned-responses",
            headers=people["admin"],
            json={
                "shortcut": shortcut,
                "title": shortcut,
                "text": "Hi {{contact.first_name|there}}, " + shortcut,
                "team_id": team,
            },
        )
        assert resp.status == 201, await resp.text()
        ids[shortcut] = (await resp.json())["id"]

    async def listed(who: str) -> set[str]:
        resp = await client.get("/api/v1/canned-responses", headers=people[who])
        assert resp.status == 200
        return {c["shortcut"] for c in (await resp.json())["items"]}

    assert await listed("vera") == {"thanks", "venue-map"}
    assert await listed("carl") == {"thanks", "menu"}
    assert (
        await listed("vusi")
        == await listed("supervisor")
        == await listed("admin")
        == {"thanks", "venue-map", "menu"}
    )
    assert await listed("nia") == {"thanks"}
    assert (
        await client.get(f"/api/v1/canned-responses/{ids['venue-map']}", headers=people["carl"])
    ).status == 404
    assert (
        await client.get(f"/api/v1/canned-responses/{ids['venue-map']}", headers=people["vera"])
    ).status == 200

    shared_ticket = await _inbound(client, people["admin_full"], None)
    venues_ticket = await _inbound(client, people["admin_full"], "venues")

    async def preview(who: str, canned: str, conversation_id: str) -> int:
        resp = await client.post(
            f"/api/v1/canned-responses/{ids[canned]}/preview",
            headers=people[who],
            json={"conversation_id": conversation_id},
        )
        return resp.status

    async def apply(who: str, canned: str, conversation_id: str) -> int:
        resp = await client.post(
            f"/api/v1/conversations/{conversation_id}/canned/{ids[canned]}", headers=people[who]
        )
        return resp.status

    assert await preview("vera", "venue-map", venues_ticket) == 200
    assert await preview("carl", "venue-map", shared_ticket) == 404  # another team's canned response
    assert await preview("carl", "thanks", venues_ticket) == 404  # another team's ticket
    assert await preview("supervisor", "menu", venues_ticket) == 200
    assert await apply("carl", "venue-map", shared_ticket) == 404
    assert await apply("carl", "thanks", venues_ticket) == 404
    messages = client.server.app[keys.STORE].messages
    assert (
        await messages.count_documents(
            {"conversation_id": venues_ticket, "meta.canned_id": {"$exists": True}}
        )
        == 0
    )
    assert await apply("vera", "venue-map", venues_ticket) == 201
    assert (
        await messages.count_documents({"conversation_id": venues_ticket, "meta.canned_id": ids["venue-map"]})
        == 1
    )


async def test_a_whatsapp_template_cannot_be_sent_into_another_teams_ticket(client, people) -> None:
    ticket = await _inbound(client, people["admin_full"], "venues", channel="whatsapp")
    body = {"content_sid": TEMPLATE_SID, "variables": {"1": "Lerato"}}
    carl = await client.post(
        f"/api/v1/conversations/{ticket}/whatsapp-template", json=body, headers=people["carl"]
    )
    assert carl.status == 404
    assert await client.server.app[keys.STORE].messages.count_documents({"conversation_id": ticket}) == 1


async def test_an_agent_added_to_a_team_after_signing_in_gets_its_files_and_canned_responses(
        client, people) -> None:
    """The token lists the teams as of sign-in; the team document says who is in it now."""
    from hub.ticketing.teams import Member, Team

    app = client.server.app
    user = await app[keys.USERS].create(f"zola-{new_id()}@example.com", "password1", Role.agent, name="Zola")
    login = await client.post("/api/v1/auth/login", json={"email": user.email, "password": "password1"})
    zola = _bearer((await login.json())["access_token"])
    blob_id = await _upload(client, people["admin"], b"%PDF-1.4 venues only")
    await _inbound(client, people["admin_full"], "venues", blob_id=blob_id)
    made = await client.post("/api/v1/canned-responses", headers=people["admin"], json={
        "shortcut": "venue-deposit", "title": "Deposit", "text": "A 30% deposit holds the date.",
        "team_id": "venues"})
    canned_id = (await made.json())["id"]

    async def sees() -> tuple[int, int, bool]:
        listed = await (await client.get("/api/v1/canned-responses", headers=zola)).json()
        return ((await client.get(f"/api/v1/blobs/{blob_id}", headers=zola)).status,
                (await client.get(f"/api/v1/canned-responses/{canned_id}", headers=zola)).status,
                canned_id in {c["id"] for c in listed["items"]})

    assert await sees() == (404, 404, False)
    await app[keys.EXTENSIONS]["ticketing"].teams.create(Team(id="venues", name="Venues",
                                                              members=[Member(user_id=user.id)]))
    assert await sees() == (200, 200, True)


async def test_a_macro_sends_no_canned_text_of_another_team(client, people) -> None:
    """A macro runs as the agent who clicked it: a canned reply of a team they are not in is refused
    (the action fails, nothing is sent), and another team's macro is as missing as an unknown one."""
    canned = await client.post("/api/v1/canned-responses", headers=people["admin"], json={
        "shortcut": "venue-secret", "title": "Venue access", "text": "Gate code 4711"})
    assert canned.status == 201, await canned.text()
    canned_id = (await canned.json())["id"]
    macro = await client.post("/api/v1/macros", headers=people["admin"], json={
        "name": "Send access", "actions": [{"type": "canned_reply", "params": {"canned_id": canned_id}},
                                           {"type": "add_tag", "params": {"tag": "access"}}]})
    assert macro.status == 201, await macro.text()
    await client.server.app[keys.STORE]["canned_responses"].update_one(
        {"_id": canned_id}, {"$set": {"team_id": "venues"}})  # moved to the team after the macro was saved
    macro_id = (await macro.json())["id"]
    shared_ticket = await _inbound(client, people["admin_full"], None)

    resp = await client.post(
        f"/api/v1/conversations/{shared_ticket}/macros/{macro_id}", headers=people["carl"]
    )
    assert resp.status == 200, await resp.text()
    assert [(a["type"], a["ok"]) for a in (await resp.json())["actions"]] == [
        ("canned_reply", False), ("add_tag", True)]
    messages = client.server.app[keys.STORE].messages
    assert (
        await messages.count_documents({"conversation_id": shared_ticket, "meta.canned_id": canned_id}) == 0
    )

    resp = await client.post(
        f"/api/v1/conversations/{shared_ticket}/macros/{macro_id}", headers=people["vera"]
    )
    assert [a["ok"] for a in (await resp.json())["actions"]] == [True, True]
    assert (
        await messages.count_documents({"conversation_id": shared_ticket, "meta.canned_id": canned_id}) == 1
    )

    from hub.ticketing.teams import Team

    await client.server.app[keys.STORE]["teams"].insert_one(Team(id="catering", name="Catering").to_doc())
    catering = await client.post("/api/v1/macros", headers=people["admin"], json={
        "name": "Menu", "team_id": "catering", "actions": [{"type": "add_tag", "params": {"tag": "menu"}}]})
    assert catering.status == 201, await catering.text()
    catering_id = (await catering.json())["id"]
    resp = await client.post(
        f"/api/v1/conversations/{shared_ticket}/macros/{catering_id}", headers=people["vera"]
    )
    assert resp.status == 404
    listed = await (await client.get("/api/v1/macros", headers=people["vera"])).json()
    assert {m["id"] for m in listed["items"]} == {macro_id}
    resp = await client.post(
        f"/api/v1/conversations/{shared_ticket}/macros/{catering_id}", headers=people["carl"]
    )
    assert resp.status == 200 and [a["ok"] for a in (await resp.json())["actions"]] == [True]
