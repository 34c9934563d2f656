"""A contact's changes reach the consoles that may show its contact panel: ``contact.updated``,
``contact.merged`` (and ``contact.unmerged``) go, as ids and changed field names only, to the rooms
of the contact's tickets; an agent who sees none of them gets nothing, live or on catch-up."""

from __future__ import annotations

from typing import Any

from hub.models import Role

from .conftest import team_agent


async def test_contact_events_go_as_ids_to_who_sees_one_of_its_tickets(client, api, agents, ingest) -> None:
    admin = await api.user(Role.admin)
    vera, carl = await agents(await team_agent(client, "Vera", ["venues"])), \
        await agents(await team_agent(client, "Carl", ["catering"]))

    async def routed(phone: str, team_id: str | None) -> dict[str, Any]:
        conversation = (await ingest("Is the hall free in May?", phone=phone))["conversation"]
        if team_id:
            resp = await client.patch(f"/api/v1/conversations/{conversation['id']}",
                                      json={"team_id": team_id}, headers=admin["headers"])
            assert resp.status == 200, await resp.text()
        return dict(conversation)

    contact_id = (await routed("+27829991001", "venues"))["contact_id"]
    resp = await client.patch(f"/api/v1/contacts/{contact_id}", headers=admin["headers"],
                              json={"name": "Ayanda Zulu", "custom_fields": {"id_number": "8001015009087"}})
    assert resp.status == 200, await resp.text()
    resp = await client.post(f"/api/v1/contacts/{contact_id}/identities", headers=admin["headers"],
                             json={"kind": "email", "value": "ayanda@example.com"})
    assert resp.status == 201, await resp.text()

    def contact_events(agent: Any) -> list[dict[str, Any]]:
        return [e["data"] for e in agent.events() if e["name"].startswith("contact.")]

    await vera.wait_for(lambda: len(contact_events(vera)) == 2)
    assert contact_events(vera) == [
        {"contact_id": contact_id, "changed": ["custom_fields", "name"], "conversation_id": None},
        {"contact_id": contact_id, "changed": ["identity_added"], "conversation_id": None}]
    assert "8001015009087" not in str(vera.received)  # no values: the panel fetches what it may show

    # a ticket everyone sees comes after: Carl got it, and nothing of the venues contact before it
    await routed("+27829991002", None)
    await carl.wait_for(lambda: carl.events("message.created"))
    assert contact_events(carl) == []

    # a duplicate with a catering ticket merged in: both teams' agents get the merge
    twin_id = (await routed("+27829991003", "catering"))["contact_id"]
    resp = await client.post(f"/api/v1/contacts/{twin_id}/merge", json={"into": contact_id},
                             headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    merged = {"source_id": twin_id, "target_id": contact_id, "conversation_id": None}
    for agent in (vera, carl):
        await agent.wait_for(lambda a=agent: any(e == merged for e in contact_events(a)))

    # catch-up replays them to the same people
    vera_caught = [e["data"] for e in (await vera.call("catch_up", {"last_id": 0}))["events"]
                   if e["name"].startswith("contact.")]
    carl_caught = [e["data"] for e in (await carl.call("catch_up", {"last_id": 0}))["events"]
                   if e["name"].startswith("contact.")]
    assert vera_caught == contact_events(vera)[:2] + [merged]
    assert carl_caught == [merged]
