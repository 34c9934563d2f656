"""Contacts through the API: create, find by identity, 360 profile, merge, delete."""

from __future__ import annotations

from hub import keys
from hub.models import Role

from ...conftest import Api


async def test_contact_lifecycle_and_merge(api: Api) -> None:
    admin = await api.user(Role.admin)
    h = admin["headers"]
    a = await (await api.client.post("/api/v1/contacts", headers=h, json={
        "name": "Thandi Nkosi", "tags": ["wedding"], "identities": [{"kind": "email", "value": "Thandi@Example.com"}]})).json()
    inbound = await (await api.client.post("/api/v1/inbound", headers=h, json={
        "channel": "whatsapp", "external_id": "w1", "sender": {"kind": "whatsapp", "value": "+27821234567"},
        "sender_name": "T", "text": "hi"})).json()
    b_id = inbound["message"]["contact_id"]
    assert b_id != a["id"]
    found = await (await api.client.get("/api/v1/contacts?identity_kind=email&identity_value=thandi@example.com",
                                        headers=h)).json()
    assert [c["id"] for c in found["items"]] == [a["id"]] and found["next_cursor"] is None
    merged = await api.client.post(f"/api/v1/contacts/{b_id}/merge", headers=h, json={"into": a["id"]})
    assert merged.status == 200
    profile = await (await api.client.get(f"/api/v1/contacts/{a['id']}", headers=h)).json()
    assert {i["id"] for i in profile["identities"]} == {"email:thandi@example.com", "whatsapp:+27821234567"}
    assert [c["id"] for c in profile["conversations"]] == [inbound["conversation"]["id"]]
    # the old id leads to the survivor; a new WhatsApp message lands on the merged contact's ticket
    assert (await (await api.client.get(f"/api/v1/contacts/{b_id}", headers=h)).json())["contact"]["id"] == a["id"]
    again = await (await api.client.post("/api/v1/inbound", headers=h, json={
        "channel": "whatsapp", "external_id": "w2", "sender": {"kind": "whatsapp", "value": "+27821234567"},
        "text": "still there?"})).json()
    assert again["message"]["contact_id"] == a["id"]
    assert again["conversation"]["id"] == inbound["conversation"]["id"]
    # delete: refused while conversations exist, allowed for a contact without any
    resp = await api.client.delete(f"/api/v1/contacts/{a['id']}", headers=h)
    assert resp.status == 409
    lone = await (await api.client.post("/api/v1/contacts", headers=h, json={
        "name": "Lone", "identities": [{"kind": "phone", "value": "+27829999999"}]})).json()
    assert (await api.client.delete(f"/api/v1/contacts/{lone['id']}", headers=h)).status == 204
    assert await api.app[keys.STORE].identities.find_one({"_id": "phone:+27829999999"}) is None
    agent = await api.user(Role.agent)
    assert (await api.client.post(f"/api/v1/contacts/{a['id']}/merge", headers=agent["headers"],
                                  json={"into": lone["id"]})).status == 403


async def test_profile_hides_other_teams_tickets_and_says_when_there_are_more(api: Api) -> None:
    from hub.models import Channel, Conversation, InboundMessage, SenderIdentity, new_id
    admin = await api.user(Role.admin)
    team = await (await api.client.post("/api/v1/teams", json={"name": "VIP desk"}, headers=admin["headers"])).json()
    agent = await api.user(Role.agent)  # not in the VIP desk
    sender = SenderIdentity(kind="email", value="naledi@example.com")
    tickets = [await api.app[keys.INBOX].ingest(InboundMessage(
        channel=Channel.api, external_id=new_id(), sender=sender, thread_key=new_id(), text=text))
        for text in ("Where is my invoice?", "Secret VIP gala plans")]
    contact_id, hidden = tickets[0].contact.id, tickets[1].conversation.id
    routed = await api.client.patch(f"/api/v1/conversations/{hidden}", json={"team_id": team["id"]},
                                    headers=admin["headers"])
    assert routed.status == 200, await routed.text()
    resp = await api.client.get(f"/api/v1/contacts/{contact_id}", headers=agent["headers"])
    assert resp.status == 200 and "Secret VIP gala" not in await resp.text()
    profile = await resp.json()
    assert [c["id"] for c in profile["conversations"]] == [tickets[0].conversation.id]
    assert (await api.client.get(f"/api/v1/conversations/{hidden}", headers=agent["headers"])).status == 404
    seen_by_admin = await (await api.client.get(f"/api/v1/contacts/{contact_id}", headers=admin["headers"])).json()
    assert {c["id"] for c in seen_by_admin["conversations"]} == {c.conversation.id for c in tickets}
    assert seen_by_admin["conversations_next_cursor"] is None
    # past 100 tickets the profile hands over a cursor that the conversations list continues
    await api.app[keys.STORE].conversations.insert_many([Conversation(
        number=1000 + n, contact_id=contact_id, channel=Channel.api, thread_key=f"old-{n}").to_doc()
        for n in range(100)])
    profile = await (await api.client.get(f"/api/v1/contacts/{contact_id}", headers=agent["headers"])).json()
    assert len(profile["conversations"]) == 100 and profile["conversations_next_cursor"]
    rest = await (await api.client.get(
        f"/api/v1/conversations?contact_id={contact_id}&cursor={profile['conversations_next_cursor']}",
        headers=agent["headers"])).json()
    walked = {c["id"] for c in profile["conversations"] + rest["items"]}
    assert len(walked) == 101 and hidden not in walked and rest["next_cursor"] is None
