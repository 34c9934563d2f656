"""Contacts through the API: create, find by identity, 360 profile, merge, delete."""

from __future__ import annotations

import os

import pytest

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


async def test_search_finds_a_nameless_contact_by_number_or_address(api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]

    async def inbound(channel: str, kind: str, value: str) -> str:
        resp = await api.client.post("/api/v1/inbound", headers=h, json={
            "channel": channel, "external_id": f"{channel}-{value}", "sender": {"kind": kind, "value": value},
            "text": "hi"})
        assert resp.status in (200, 201), await resp.text()
        return str((await resp.json())["message"]["contact_id"])

    sms = await inbound("sms", "phone", "+27821234567")  # no name: only the number
    whatsapp = await inbound("whatsapp", "whatsapp", "+27835550000")
    mail = await inbound("email", "email", "Lerato.M@Example.co.za")
    named = await (await api.client.post("/api/v1/contacts", headers=h, json={
        "name": "Sipho 082 Dlamini", "identities": [{"kind": "email", "value": "sipho@example.org"}]})).json()

    async def search(q: str) -> set[str]:
        resp = await api.client.get("/api/v1/contacts", params={"q": q}, headers=h)
        assert resp.status == 200, await resp.text()
        return {c["id"] for c in (await resp.json())["items"]}

    for q in ("+27821234567", "082 123 4567", "0821234567", "27 82 123", "082-123", "+27 (0)82 123 4567"):
        assert await search(q) == {sms}, q
    assert await search("083 555") == {whatsapp}
    for q in ("lerato.m@example.co.za", "LERATO.M@EX", "lerato"):
        assert await search(q) == {mail}, q
    assert await search("sipho") == {named["id"]}  # names still match, and addresses as typed
    assert await search("Dlamini") == {named["id"]}
    assert await search("0821") == {sms}  # a number is an address: "082" in a name does not match
    assert await search("+2799") == set()
    # a merged-away contact is not offered again: its number leads to the survivor
    merged = await api.client.post(f"/api/v1/contacts/{sms}/merge", headers=h, json={"into": named["id"]})
    assert merged.status == 200, await merged.text()
    assert await search("082 123 4567") == {named["id"]}


@pytest.mark.skipif(bool(os.environ.get("BERRY_TEST_MONGODB_URL")),
                    reason="the plan checked is FerretDB/SQLite's")
async def test_search_by_identity_seeks_indexes(api: Api) -> None:
    """Each prefix is a seek on the (kind, value) index and the contacts are read by _id: no scan of
    either collection, however many contacts there are."""
    from hub.contacts import PREFIX_ORDER, from_prefix, identity_prefixes
    store = api.app[keys.STORE]
    await store.identities.insert_many([{"_id": f"phone:+2782{n:07d}", "contact_id": f"c{n}", "kind": "phone",
                                         "value": f"+2782{n:07d}"} for n in range(300)])
    await store.contacts.insert_many([{"_id": f"c{n}", "name": "", "merged_into": None} for n in range(300)])
    for kind, prefix in identity_prefixes("082 000 010"):
        out = await store.db.command("explain", {"find": "identities", "filter": from_prefix(kind, prefix),
                                                 "sort": dict(PREFIX_ORDER), "limit": 200})
        found = " ".join(out["queryPlanner"]["Plan"])
        assert "USING INDEX" in found and "<expr>>?" in found and "SCAN" not in found, (kind, found)
    flt = await api.app[keys.CONTACTS].search_filter("082 000 010")
    assert len(flt["_id"]["$in"]) == 10 and "$or" not in flt
    out = await store.db.command("explain", {"find": "contacts", "filter": flt, "sort": {"_id": -1},
                                             "limit": 51})
    found = " ".join(out["queryPlanner"]["Plan"])
    assert "USING INDEX" in found and "SCAN" not in found, found


async def test_identity_errors_name_the_field_and_the_owner(api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    owner = await (await api.client.post("/api/v1/contacts", headers=h, json={
        "name": "Thandi", "identities": [{"kind": "phone", "value": "082 123 4567"}]})).json()
    bad = await api.client.post("/api/v1/contacts", headers=h, json={"name": "X", "identities": [
        {"kind": "email", "value": "x@example.com"}, {"kind": "phone", "value": "not a number"}]})
    assert bad.status == 422 and (await bad.json())["field"] == "identities[1].value"
    taken = await api.client.post("/api/v1/contacts", headers=h, json={"name": "Y", "identities": [
        {"kind": "email", "value": "y@example.com"}, {"kind": "phone", "value": "+27821234567"}]})
    body = await taken.json()
    assert taken.status == 409 and body["field"] == "identities[1].value" and owner["id"] in body["detail"]
    rolled_back = await api.app[keys.STORE].identities.find_one({"_id": "email:y@example.com"})
    assert rolled_back is None
    other = await (await api.client.post("/api/v1/contacts", headers=h, json={"name": "Z"})).json()
    added = await api.client.post(f"/api/v1/contacts/{other['id']}/identities", headers=h,
                                  json={"kind": "phone", "value": "0821234567"})
    body = await added.json()
    assert added.status == 409 and body["field"] == "value" and owner["id"] in body["detail"]
    wrong = await api.client.post(f"/api/v1/contacts/{other['id']}/identities", headers=h,
                                  json={"kind": "phone", "value": "12"})
    assert wrong.status == 422 and (await wrong.json())["field"] == "value"
