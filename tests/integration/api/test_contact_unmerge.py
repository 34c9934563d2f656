"""Undoing a contact merge: ``POST /contacts/{id}/unmerge`` moves back what the merge moved (from the
merge's record, ``contact_merge_records``) and takes back on the survivor only what came from the merged
contact."""

from __future__ import annotations

from typing import Any

from hub import keys
from hub.events import ContactsUnmerged
from hub.models import Message, Role, utcnow

from ...conftest import Api

NUMBER = "+27821234567"


async def _call(api: Api, method: str, path: str, h: dict[str, str], status: int, **kw: Any) -> Any:
    resp = await api.client.request(method, f"/api/v1{path}", headers=h, **kw)
    assert resp.status == status, await resp.text()
    return await resp.json() if resp.status != 204 else None


async def _whatsapp(api: Api, h: dict[str, str], external_id: str, text: str = "hi") -> dict[str, Any]:
    return await _call(api, "POST", "/inbound", h, 201, json={  # type: ignore[no-any-return]
        "channel": "whatsapp", "external_id": external_id, "sender": {"kind": "whatsapp", "value": NUMBER},
        "sender_name": "Bongani", "text": text})


async def _survivor_and_duplicate(api: Api, h: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Thandi (an e-mail ticket, tagged, a custom field) and Bongani, who wrote on WhatsApp (own tag,
    field and consent record): two people, about to be merged by mistake."""
    thandi = await _call(api, "POST", "/contacts", h, 201, json={
        "name": "Thandi", "tags": ["wedding"], "custom_fields": {"city": "Durban"},
        "identities": [{"kind": "email", "value": "thandi@example.com"}]})
    await _call(api, "POST", "/inbound", h, 201, json={
        "channel": "email", "external_id": "m1", "sender": {"kind": "email", "value": "thandi@example.com"},
        "text": "Venue?"})
    bongani = await _whatsapp(api, h, "w1")
    bongani_id = bongani["message"]["contact_id"]
    await _call(api, "PATCH", f"/contacts/{bongani_id}", h, 200, json={
        "tags": ["catering"], "custom_fields": {"budget": 5000}, "language": "zu"})
    await _call(api, "POST", f"/contacts/{bongani_id}/consents", h, 201, json={
        "purpose": "marketing", "granted": False, "source": "whatsapp"})
    return thandi, bongani


async def test_unmerge_moves_back_what_the_merge_moved_and_leaves_the_survivor_as_it_was(api: Api) -> None:
    admin = await api.user(Role.admin)
    h, store = admin["headers"], api.app[keys.STORE]
    thandi, bongani = await _survivor_and_duplicate(api, h)
    source, ticket = bongani["message"]["contact_id"], bongani["conversation"]["id"]
    before = await _call(api, "GET", f"/contacts/{thandi['id']}", h, 200)
    merged = await _call(api, "POST", f"/contacts/{source}/merge", h, 200, json={"into": thandi["id"]})
    assert set(merged["tags"]) == {"wedding", "catering"}
    assert merged["consent"]["marketing"]["granted"] is False
    await _whatsapp(api, h, "w2", "still there?")  # after the merge: on the moved ticket, as Thandi
    assert await store.messages.count_documents({"conversation_id": ticket, "contact_id": thandi["id"]}) == 2

    with api.app[keys.BUS].capture() as events:
        undone = await _call(api, "POST", f"/contacts/{source}/unmerge", h, 200)
    assert undone["source"]["id"] == source and undone["source"]["merged_into"] is None
    assert undone["restored"]["identities"] == [f"whatsapp:{NUMBER}"]
    assert undone["restored"]["conversations"] == [ticket]
    assert len(undone["restored"]["consents"]) == 1 and undone["left"] == {
        "identities": [], "conversations": [], "threads": [], "consents": []}
    assert [(type(e), e.source_id, e.target_id) for e in events] == [(ContactsUnmerged, source, thandi["id"])]
    audit = await store.audit_log.find_one({"action": "contact.unmerge", "target_id": source})
    assert audit["after"]["unmerged_from"] == thandi["id"]

    # the source is a contact again, with its own identity, ticket, messages and fields
    profile = await _call(api, "GET", f"/contacts/{source}", h, 200)
    assert profile["contact"]["id"] == source and profile["contact"]["name"] == "Bongani"
    assert profile["contact"]["tags"] == ["catering"]
    assert profile["contact"]["custom_fields"] == {"budget": 5000}
    assert [i["id"] for i in profile["identities"]] == [f"whatsapp:{NUMBER}"]
    assert [c["id"] for c in profile["conversations"]] == [ticket]
    assert await store.messages.count_documents({"conversation_id": ticket, "contact_id": source}) == 2
    assert await store["consents"].count_documents({"contact_id": source}) == 1
    # the survivor is as it was before the merge (only updated_at moved)
    after = await _call(api, "GET", f"/contacts/{thandi['id']}", h, 200)
    for doc in (before, after):
        doc["contact"].pop("updated_at")
    assert after == before
    # Bongani's next message is his again, on his own ticket
    again = await _whatsapp(api, h, "w3", "hello?")
    assert again["message"]["contact_id"] == source and again["conversation"]["id"] == ticket
    # a second unmerge has nothing to undo
    twice = await api.client.post(f"/api/v1/contacts/{source}/unmerge", headers=h)
    assert twice.status == 409 and "not merged" in (await twice.json())["detail"]


async def test_the_survivors_profile_lists_what_can_be_unmerged_for_those_who_may(api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    agent = (await api.user(Role.agent))["headers"]
    thandi, bongani = await _survivor_and_duplicate(api, h)
    source = bongani["message"]["contact_id"]
    assert (await _call(api, "GET", f"/contacts/{thandi['id']}", h, 200))["merged_from"] == []
    await _call(api, "POST", f"/contacts/{source}/merge", h, 200, json={"into": thandi["id"]})
    listed = (await _call(api, "GET", f"/contacts/{thandi['id']}", h, 200))["merged_from"]
    assert [(m["id"], m["name"], m["identities"]) for m in listed] == [(source, "Bongani", [NUMBER])]
    assert listed[0]["merged_at"]
    # an agent cannot unmerge: nothing listed
    assert (await _call(api, "GET", f"/contacts/{thandi['id']}", agent, 200))["merged_from"] == []
    await _call(api, "POST", f"/contacts/{source}/unmerge", h, 200)
    assert (await _call(api, "GET", f"/contacts/{thandi['id']}", h, 200))["merged_from"] == []


async def test_unmerge_leaves_what_changed_since_and_reports_it(api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    thandi, bongani = await _survivor_and_duplicate(api, h)
    source = bongani["message"]["contact_id"]
    await _call(api, "POST", f"/contacts/{source}/merge", h, 200, json={"into": thandi["id"]})
    # since the merge: the WhatsApp number was found to be Thandi's after all (removed, added again
    # to a third contact), and an agent set the budget on the survivor
    await _call(api, "DELETE", f"/contacts/{thandi['id']}/identities/whatsapp/{NUMBER}", h, 204)
    third = await _call(api, "POST", "/contacts", h, 201, json={
        "name": "Third", "identities": [{"kind": "whatsapp", "value": NUMBER}]})
    await _call(api, "PATCH", f"/contacts/{thandi['id']}", h, 200, json={
        "custom_fields": {"city": "Durban", "budget": 7000}})
    undone = await _call(api, "POST", f"/contacts/{source}/unmerge", h, 200)
    assert undone["restored"]["identities"] == [] and undone["left"]["identities"] == [f"whatsapp:{NUMBER}"]
    assert undone["restored"]["conversations"] == [bongani["conversation"]["id"]]
    survivor = undone["target"]
    assert survivor["custom_fields"] == {"city": "Durban", "budget": 7000}  # changed since: kept
    assert survivor["tags"] == ["wedding"] and survivor["language"] is None  # came only from the source
    assert "marketing" not in survivor["consent"]  # his withdrawal was never hers
    owner = await api.app[keys.STORE].identities.find_one({"_id": f"whatsapp:{NUMBER}"})
    assert owner["contact_id"] == third["id"]


async def test_unmerge_refuses_what_it_cannot_undo(api: Api) -> None:
    admin = await api.user(Role.admin)
    h, store = admin["headers"], api.app[keys.STORE]
    thandi, bongani = await _survivor_and_duplicate(api, h)
    source = bongani["message"]["contact_id"]
    never = await api.client.post(f"/api/v1/contacts/{thandi['id']}/unmerge", headers=h)
    assert never.status == 409 and "not merged" in (await never.json())["detail"]
    assert (await api.client.post("/api/v1/contacts/nobody/unmerge", headers=h)).status == 404
    await _call(api, "POST", f"/contacts/{source}/merge", h, 200, json={"into": thandi["id"]})
    agent = await api.user(Role.agent)  # may edit contacts, not merge or unmerge them
    refused = await api.client.post(f"/api/v1/contacts/{source}/unmerge", headers=agent["headers"])
    assert refused.status == 403
    # a merge made before merges were recorded: what moved cannot be told apart
    await store["contact_merge_records"].delete_many({"source_id": source})
    old = await api.client.post(f"/api/v1/contacts/{source}/unmerge", headers=h)
    assert old.status == 409 and "before merges were recorded" in (await old.json())["detail"]
    assert (await store.identities.find_one({"_id": f"whatsapp:{NUMBER}"}))["contact_id"] == thandi["id"]
    assert (await store.contacts.find_one({"_id": source}))["merged_into"] == thandi["id"]


async def test_an_interrupted_merge_run_again_records_everything_it_moved(api: Api) -> None:
    """A merge that stopped after moving the identities (no transactions on FerretDB) is finished by
    running it again, and its record holds the identities the first run moved and those the source
    got in between."""
    h = (await api.user(Role.admin))["headers"]
    store, contacts = api.app[keys.STORE], api.app[keys.CONTACTS]
    thandi, bongani = await _survivor_and_duplicate(api, h)
    source = bongani["message"]["contact_id"]
    # the first run: its record, then the identities moved, then the process died
    await contacts._record_merge(await contacts.get(source), await contacts.get(thandi["id"]))
    await store.identities.update_many({"contact_id": source}, {"$set": {"contact_id": thandi["id"]}})
    # not merged yet: an agent adds an address to the source meanwhile; the re-run records it too
    await _call(api, "POST", f"/contacts/{source}/identities", h, 201,
                json={"kind": "email", "value": "bongani@example.com"})
    await _call(api, "POST", f"/contacts/{source}/merge", h, 200, json={"into": thandi["id"]})
    undone = await _call(api, "POST", f"/contacts/{source}/unmerge", h, 200)
    assert undone["restored"]["identities"] == ["email:bongani@example.com", f"whatsapp:{NUMBER}"]
    assert undone["restored"]["conversations"] == [bongani["conversation"]["id"]]
    assert undone["target"]["tags"] == ["wedding"]


async def test_a_ticket_opened_after_the_merge_by_the_restored_number_goes_back_with_it(api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    thandi, bongani = await _survivor_and_duplicate(api, h)
    source, ticket = bongani["message"]["contact_id"], bongani["conversation"]["id"]
    await _call(api, "POST", f"/contacts/{source}/merge", h, 200, json={"into": thandi["id"]})
    await _call(api, "PATCH", f"/conversations/{ticket}", h, 200, json={"status": "closed"})
    later = await _whatsapp(api, h, "w2", "new question")  # a new ticket, on the survivor while merged
    assert later["conversation"]["id"] != ticket and later["conversation"]["contact_id"] == thandi["id"]
    undone = await _call(api, "POST", f"/contacts/{source}/unmerge", h, 200)
    assert undone["restored"]["conversations"] == sorted([ticket, later["conversation"]["id"]])
    assert undone["mixed"] == [] and undone["threads_detached"] == 0  # the thread went back with its ticket
    moved = await _call(api, "GET", f"/conversations/{later['conversation']['id']}", h, 200)
    assert moved["contact_id"] == source  # only Bongani's number wrote in it: his
    # the number's thread leads to his ticket, on his contact
    again = await _whatsapp(api, h, "w3", "hello?")
    assert again["message"]["contact_id"] == source
    assert again["conversation"]["id"] == later["conversation"]["id"]
    assert not await api.app[keys.STORE].conversations.find_one(
        {"contact_id": thandi["id"], "channel": "whatsapp"})


async def _mail(api: Api, h: dict[str, str], external_id: str, sender: str, thread: str) -> dict[str, Any]:
    return await _call(api, "POST", "/inbound", h, 201, json={  # type: ignore[no-any-return]
        "channel": "email", "external_id": external_id, "sender": {"kind": "email", "value": sender},
        "subject": f"about {thread}", "thread_key": f"mail:{thread}", "text": "hello"})


async def _reply_to(api: Api, h: dict[str, str], ticket: str) -> str:
    """Where the outbox would send an agent's reply on ``ticket`` (the address, or the refusal)."""
    from hub.outbox import Outbox, PermanentSendError
    store = api.app[keys.STORE]
    reply = await _call(api, "POST", f"/conversations/{ticket}/messages", h, 201, json={"text": "Answer"})
    outbox = Outbox(store, api.app[keys.BUS], api.app[keys.JOBS], {})
    try:
        return (await outbox.build(Message.from_doc(await store.messages.find_one({"_id": reply["id"]})))).to
    except PermanentSendError as exc:
        return f"refused: {exc.detail}"


async def test_unmerge_gives_back_tickets_the_restored_address_opened_after_the_merge(api: Api) -> None:
    """The QA case: Alice's mail after the merge of Alice into Bob opened a ticket on Bob; after the
    unmerge it is Alice's again (messages, thread), and an agent's reply on it goes to Alice. A ticket
    both wrote in stays with Bob and is listed under ``mixed``."""
    h = (await api.user(Role.admin))["headers"]
    store = api.app[keys.STORE]
    bob = await _call(api, "POST", "/contacts", h, 201, json={
        "name": "Bob", "identities": [{"kind": "email", "value": "bob@example.com"}]})
    first = await _mail(api, h, "a1", "alice@example.com", "a1")
    alice = first["message"]["contact_id"]
    bobs = await _mail(api, h, "b1", "bob@example.com", "b1")
    await _call(api, "POST", f"/contacts/{alice}/merge", h, 200, json={"into": bob["id"]})
    later = await _mail(api, h, "a2", "alice@example.com", "a2")  # a new subject: a ticket on Bob
    assert later["conversation"]["contact_id"] == bob["id"]
    await _mail(api, h, "a3", "alice@example.com", "b1")  # Alice writes in Bob's own thread too
    undone = await _call(api, "POST", f"/contacts/{alice}/unmerge", h, 200)
    assert undone["restored"]["conversations"] == sorted([first["conversation"]["id"],
                                                          later["conversation"]["id"]])
    assert undone["mixed"] == [bobs["conversation"]["id"]]
    ticket = later["conversation"]["id"]
    assert (await store.conversations.find_one({"_id": ticket}))["contact_id"] == alice
    assert {m["contact_id"] async for m in store.messages.find({"conversation_id": ticket})} == {alice}
    assert (await store["conversation_threads"].find_one({"_id": "email|mail:a2"}))["contact_id"] == alice
    assert await _reply_to(api, h, ticket) == "alice@example.com"
    assert await _reply_to(api, h, first["conversation"]["id"]) == "alice@example.com"
    assert await _reply_to(api, h, bobs["conversation"]["id"]) == "bob@example.com"  # Bob wrote there
    # Alice's next mail on her ticket's thread stays hers
    again = await _mail(api, h, "a4", "alice@example.com", "a2")
    assert again["message"]["contact_id"] == alice and again["conversation"]["id"] == ticket


async def test_an_email_ticket_whose_addresses_are_no_longer_the_contacts_is_not_answered_elsewhere(
        api: Api) -> None:
    """No fallback to the contact's other e-mail address when the ticket's own are gone: that address may
    be another person's. A ticket that never had a customer address still goes to the contact's."""
    h = (await api.user(Role.admin))["headers"]
    bob = await _call(api, "POST", "/contacts", h, 201, json={
        "name": "Bob", "identities": [{"kind": "email", "value": "bob@example.com"},
                                      {"kind": "email", "value": "shared@example.com"}]})
    wrote = await _mail(api, h, "s1", "shared@example.com", "s1")
    assert wrote["message"]["contact_id"] == bob["id"]
    await _call(api, "DELETE", f"/contacts/{bob['id']}/identities/email/shared@example.com", h, 204)
    refused = await _reply_to(api, h, wrote["conversation"]["id"])
    assert refused.startswith("refused: ") and "shared@example.com" in refused
    opened = await _call(api, "POST", "/conversations", h, 201, json={
        "contact_id": bob["id"], "channel": "email", "subject": "Your booking", "text": "Hello Bob"})
    assert await _reply_to(api, h, opened["id"]) == "bob@example.com"


async def test_editing_contacts_during_and_after_a_merge_keeps_what_unmerge_needs(api: Api) -> None:
    """A contact edit writes only the fields it changes: an agent editing the duplicate while its
    merge is unfinished (the process died after moving the identities) does not drop the merge's
    record and mark, so the merge run again and its unmerge still give the duplicate its number
    back; the survivor edited after the merge keeps its edit through the unmerge, and the ETag moves."""
    h = (await api.user(Role.admin))["headers"]
    store, contacts = api.app[keys.STORE], api.app[keys.CONTACTS]
    thandi, bongani = await _survivor_and_duplicate(api, h)
    source = bongani["message"]["contact_id"]
    await contacts._claim_merge(source, thandi["id"])
    await contacts._mark_merging(source, thandi["id"])
    await contacts._record_merge(await contacts.get(source), await contacts.get(thandi["id"]))
    await store.identities.update_many({"contact_id": source}, {"$set": {"contact_id": thandi["id"]}})
    edited = await _call(api, "PATCH", f"/contacts/{source}", h, 200, json={"name": "Bongani M."})
    assert edited["name"] == "Bongani M."
    doc = await store.contacts.find_one({"_id": source}) or {}
    assert doc.get("merging", {}).get("into") == thandi["id"], doc
    assert await store["contact_merge_records"].count_documents({"source_id": source, "kind": "item"})
    await _call(api, "POST", f"/contacts/{source}/merge", h, 200, json={"into": thandi["id"]})
    resp = await api.client.get(f"/api/v1/contacts/{thandi['id']}", headers=h)
    etag = resp.headers["ETag"]
    for tag, status in (('"stale"', 412), (etag, 200)):
        resp = await api.client.patch(f"/api/v1/contacts/{thandi['id']}", json={"vip": True},
                                      headers={**h, "If-Match": tag})
        assert resp.status == status, await resp.text()
    assert resp.headers["ETag"] != etag
    undone = await _call(api, "POST", f"/contacts/{source}/unmerge", h, 200)
    assert undone["restored"]["identities"] == [f"whatsapp:{NUMBER}"]
    assert undone["source"]["name"] == "Bongani"  # its own fields as before the merge
    assert undone["target"]["vip"] is True
    owner = await store.identities.find_one({"_id": f"whatsapp:{NUMBER}"}) or {}
    assert owner["contact_id"] == source


async def test_a_whole_document_write_to_the_duplicate_during_its_merge_keeps_what_unmerge_needs(
        api: Api) -> None:
    """FerretDB v1 rewrites a whole contact on update: a STOP's consent write for the duplicate that
    read it before the merge's record was written puts it back without anything the merge stored on
    it. The record lives in documents of its own, so the merge run again to finish and the unmerge
    still give the duplicate its number back (the old ``merge_record`` field was lost and the re-run
    recorded identities: [])."""
    h = (await api.user(Role.admin))["headers"]
    store, contacts = api.app[keys.STORE], api.app[keys.CONTACTS]
    thandi, bongani = await _survivor_and_duplicate(api, h)
    source = bongani["message"]["contact_id"]
    await contacts._claim_merge(source, thandi["id"])
    await contacts._mark_merging(source, thandi["id"])
    stale = await store.contacts.find_one({"_id": source})  # the STOP handler's read
    await contacts._record_merge(await contacts.get(source), await contacts.get(thandi["id"]))
    await contacts._move_source(source, thandi["id"])  # the first pass, then the process died
    assert stale is not None
    stale["consent"] = {**(stale.get("consent") or {}), "sms": {"opted_out": True, "at": utcnow()}}
    await store.contacts.replace_one({"_id": source}, stale)  # the STOP's whole-document write
    await _call(api, "POST", f"/contacts/{source}/merge", h, 200, json={"into": thandi["id"]})
    listed = await _call(api, "GET", f"/contacts/{thandi['id']}", h, 200)
    assert [m["id"] for m in listed["merged_from"]] == [source]
    assert listed["merged_from"][0]["identities"] == [NUMBER]
    undone = await _call(api, "POST", f"/contacts/{source}/unmerge", h, 200)
    assert undone["restored"]["identities"] == [f"whatsapp:{NUMBER}"]
    assert (await store.identities.find_one({"_id": f"whatsapp:{NUMBER}"}) or {})["contact_id"] == source
    assert await store["contact_merge_records"].count_documents({"source_id": source}) == 0


async def test_a_merge_recorded_on_the_contact_before_merge_records_still_unmerges(api: Api) -> None:
    """Contacts merged before ``contact_merge_records`` keep their record in the old ``merge_record``
    field: unmerge reads it there."""
    h = (await api.user(Role.admin))["headers"]
    store = api.app[keys.STORE]
    thandi, bongani = await _survivor_and_duplicate(api, h)
    source = bongani["message"]["contact_id"]
    await _call(api, "POST", f"/contacts/{source}/merge", h, 200, json={"into": thandi["id"]})
    records = store["contact_merge_records"]
    head = await records.find_one({"_id": source, "kind": "merge"}) or {}
    old = {k: v for k, v in head.items() if k not in ("_id", "kind", "source_id")}
    async for item in records.find({"source_id": source, "kind": "item"}):
        old.setdefault(item["name"], []).append(item["item_id"])
    await records.delete_many({"source_id": source})
    await store.contacts.update_one({"_id": source}, {"$set": {"merge_record": old}})
    listed = await _call(api, "GET", f"/contacts/{thandi['id']}", h, 200)
    assert [m["id"] for m in listed["merged_from"]] == [source]
    undone = await _call(api, "POST", f"/contacts/{source}/unmerge", h, 200)
    assert undone["restored"]["identities"] == [f"whatsapp:{NUMBER}"]
    assert "merge_record" not in (await store.contacts.find_one({"_id": source}) or {})
