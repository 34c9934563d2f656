"""Contacts through the API: create, find by identity, 360 profile, merge, delete."""

from __future__ import annotations

import os
from typing import Any

import pytest

from hub import keys
from hub.models import Message, Role

from ...conftest import Api


async def test_contact_lifecycle_and_merge(api: Api) -> None:
    admin = await api.user(Role.admin)
    h = admin["headers"]
    a = await (
        await api.client.post(
            "/api/v1/contacts",
            headers=h,
            json={
                "name": "Thandi Nkosi",
                "tags": ["wedding"],
                "identities": [{"kind": "email", "value": "Thandi@Example.com"}],
            },
        )
    ).json()
    inbound = await (await api.client.post("/api/v1/inbound", headers=h, json={
        "channel": "whatsapp", "external_id": "w1", "sender": {"kind": "whatsapp", "value": "+27821234567"},
        "sender_name": "T", "text": "hi"})).json()
    b_id = inbound["message"]["contact_id"]
    assert b_id != a["id"]
    found = await (
        await api.client.get(
            "/api/v1/contacts?identity_kind=email&identity_value=thandi@example.com", headers=h
        )
    ).json()
    assert [c["id"] for c in found["items"]] == [a["id"]] and found["next_cursor"] is None
    merged = await api.client.post(f"/api/v1/contacts/{b_id}/merge", headers=h, json={"into": a["id"]})
    assert merged.status == 200
    profile = await (await api.client.get(f"/api/v1/contacts/{a['id']}", headers=h)).json()
    assert {i["id"] for i in profile["identities"]} == {"email:thandi@example.com", "whatsapp:+27821234567"}
    assert [c["id"] for c in profile["conversations"]] == [inbound["conversation"]["id"]]
    # the old id leads to the survivor; a new WhatsApp message lands on the merged contact's ticket
    assert (await (await api.client.get(f"/api/v1/contacts/{b_id}", headers=h)).json())["contact"]["id"] == a[
        "id"
    ]
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
    team = await (
        await api.client.post("/api/v1/teams", json={"name": "VIP desk"}, headers=admin["headers"])
    ).json()
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
    seen_by_admin = await (
        await api.client.get(f"/api/v1/contacts/{contact_id}", headers=admin["headers"])
    ).json()
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


async def _inbound(api: Api, h: dict[str, str], number: str, external_id: str) -> dict[str, Any]:
    resp = await api.client.post("/api/v1/inbound", headers=h, json={
        "channel": "sms", "external_id": external_id, "sender": {"kind": "phone", "value": number},
        "text": "hi"})
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def test_a_removed_identity_is_never_answered_and_its_next_message_is_a_new_contact(api: Api) -> None:
    from hub.events import ContactUpdated
    from hub.outbox import Outbox, PermanentSendError
    store, h = api.app[keys.STORE], (await api.user(Role.agent))["headers"]
    channel = (await api.user(Role.admin))["headers"]  # a custom channel's key may ingest
    wrong, right = "+27821234567", "+27829990000"
    first = await _inbound(api, channel, wrong, "s1")
    contact_id, ticket = first["message"]["contact_id"], first["conversation"]["id"]
    added = await api.client.post(f"/api/v1/contacts/{contact_id}/identities", headers=h,
                                  json={"kind": "phone", "value": right})
    assert added.status == 201, await added.text()
    with api.app[keys.BUS].capture() as events:  # the URL's value is normalized like a typed one
        removed = await api.client.delete(f"/api/v1/contacts/{contact_id}/identities/phone/082 123 4567",
                                          headers=h)
    assert removed.status == 204, await removed.text()
    assert [(type(e), e.changes) for e in events] == [
        (ContactUpdated, {"identity_removed": f"phone:{wrong}"})]
    profile = await (await api.client.get(f"/api/v1/contacts/{contact_id}", headers=h)).json()
    assert [i["id"] for i in profile["identities"]] == [f"phone:{right}"]
    assert [c["id"] for c in profile["conversations"]] == [ticket]  # the history stays
    audit = await store.audit_log.find_one({"action": "contact.identity.remove", "target_id": contact_id})
    assert audit["before"] == {"identity": f"phone:{wrong}"}

    outbox = Outbox(store, api.app[keys.BUS], api.app[keys.JOBS], {})

    async def recipient() -> str:
        resp = await api.client.post(f"/api/v1/conversations/{ticket}/messages", headers=h,
                                     json={"text": "Hi!"})
        assert resp.status == 201, await resp.text()
        doc = await store.messages.find_one({"_id": (await resp.json())["id"]})
        return (await outbox.build(Message.from_doc(doc))).to

    assert await recipient() == right  # the ticket's number is no longer theirs: their other one
    # the removed number writes again: a new contact and a new ticket, not the old contact's thread
    again = await _inbound(api, channel, wrong, "s2")
    assert again["message"]["contact_id"] != contact_id
    assert again["conversation"]["id"] != ticket and again["conversation"]["contact_id"] != contact_id
    assert await store.messages.count_documents({"conversation_id": ticket, "direction": "in"}) == 1
    assert await recipient() == right  # the number's new owner is never answered in the old ticket
    last = await api.client.delete(f"/api/v1/contacts/{contact_id}/identities/phone/{right}", headers=h)
    assert last.status == 204  # the last identity may go: the contact stays, with none
    with pytest.raises(PermanentSendError):
        await recipient()
    assert (await api.client.get(f"/api/v1/contacts/{contact_id}", headers=h)).status == 200


async def test_removing_an_identity_refuses_foreign_and_malformed_ones(api: Api) -> None:
    store, h = api.app[keys.STORE], (await api.user(Role.agent))["headers"]
    mine = await (await api.client.post("/api/v1/contacts", headers=h, json={
        "name": "Mine", "identities": [{"kind": "phone", "value": "+27821234567"}]})).json()
    theirs = await (await api.client.post("/api/v1/contacts", headers=h, json={
        "name": "Theirs", "identities": [{"kind": "email", "value": "theirs@example.com"}]})).json()
    base = f"/api/v1/contacts/{mine['id']}/identities"
    for path, status, field in (
            ("/email/Theirs@Example.com", 404, None),  # another contact's
            ("/phone/+27820000000", 404, None),  # nobody's
            ("/fax/12345", 422, "kind"),
            ("/phone/not a number", 422, "value"),
            ("/email/%24ne", 422, "value"),
            ("/chat/a%00b", 422, "value"),
            ("/external/%24gt", 422, "value"),
            ("/external/{\"$gt\":\"\"}", 404, None),  # the router's: no such path
            ("/chat/" + "a" * 400, 422, "value"),
            ("/email/a%2Fb@example.com", 404, None)):  # an escaped slash is part of the value
        resp = await api.client.delete(base + path, headers=h)
        assert resp.status == status, (path, await resp.text())
        assert (await resp.json()).get("field") == field, path
    gone = await api.client.delete("/api/v1/contacts/nobody/identities/phone/+27821234567", headers=h)
    assert gone.status == 404
    portal = await api.user(Role.customer)
    assert (await api.client.delete(base + "/phone/+27821234567", headers=portal["headers"])).status == 403
    # nothing was lost
    assert (await store.identities.find_one({"_id": "phone:+27821234567"}))["contact_id"] == mine["id"]
    theirs_still = await store.identities.find_one({"_id": "email:theirs@example.com"})
    assert theirs_still["contact_id"] == theirs["id"]


async def test_adding_or_removing_an_identity_moves_the_contacts_updated_at(api: Api) -> None:
    h = (await api.user(Role.agent))["headers"]
    contact = await (await api.client.post("/api/v1/contacts", headers=h, json={
        "name": "Lindi", "identities": [{"kind": "phone", "value": "+27821110000"}]})).json()
    url = f"/api/v1/contacts/{contact['id']}"

    async def updated_at() -> tuple[str, str]:
        resp = await api.client.get(url, headers=h)
        return (await resp.json())["contact"]["updated_at"], resp.headers.get("ETag", "")

    before = await updated_at()
    added = await api.client.post(url + "/identities", headers=h,
                                  json={"kind": "email", "value": "l@example.com"})
    assert added.status == 201, await added.text()
    after_add = await updated_at()
    assert after_add[0] > before[0] and after_add[1] != before[1]
    removed = await api.client.delete(url + "/identities/email/l@example.com", headers=h)
    assert removed.status == 204, await removed.text()
    assert (await updated_at())[0] > after_add[0]
