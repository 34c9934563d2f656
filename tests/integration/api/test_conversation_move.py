"""Moving a ticket to another contact: ``POST /conversations/{id}/move`` (the tickets an unmerge lists
under ``mixed``, or one filed under the wrong person): the ticket, its messages and threads move, the
outbox answers the new contact, and a target that cannot take it is refused with the reason."""

from __future__ import annotations

from typing import Any

from hub import keys
from hub.events import ContactUpdated, ConversationUpdated
from hub.models import Role

from ...conftest import Api
from .test_contact_unmerge import NUMBER, _call, _mail, _reply_to, _whatsapp


async def _mixed_ticket(api: Api, h: dict[str, str]) -> tuple[str, str, str]:
    """The QA case: Alice merged into Bob by mistake, Alice wrote in Bob's thread, the merge undone:
    Bob's ticket holds both and is listed under ``mixed``. Returns (alice, bob, the ticket)."""
    bob = await _call(api, "POST", "/contacts", h, 201, json={
        "name": "Bob", "identities": [{"kind": "email", "value": "bob@example.com"}]})
    alice = (await _mail(api, h, "a1", "alice@example.com", "a1"))["message"]["contact_id"]
    ticket = (await _mail(api, h, "b1", "bob@example.com", "b1"))["conversation"]["id"]
    await _call(api, "POST", f"/contacts/{alice}/merge", h, 200, json={"into": bob["id"]})
    await _mail(api, h, "a3", "alice@example.com", "b1")
    undone = await _call(api, "POST", f"/contacts/{alice}/unmerge", h, 200)
    assert undone["mixed"] == [ticket]
    return alice, bob["id"], ticket


async def test_a_mixed_ticket_moves_with_its_messages_and_thread_and_replies_go_to_the_new_contact(
        api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    store = api.app[keys.STORE]
    alice, bob, ticket = await _mixed_ticket(api, h)
    assert await _reply_to(api, h, ticket) == "bob@example.com"  # Bob's ticket: Bob's address

    with api.app[keys.BUS].capture() as events:
        moved = await _call(api, "POST", f"/conversations/{ticket}/move", h, 200, json={"contact_id": alice})
    assert moved["id"] == ticket and moved["contact_id"] == alice
    assert (await store.conversations.find_one({"_id": ticket}))["contact_id"] == alice
    assert {m["contact_id"] async for m in store.messages.find({"conversation_id": ticket})} == {alice}
    assert (await store["conversation_threads"].find_one({"_id": "email|mail:b1"}))["contact_id"] == alice
    updated = [e for e in events if isinstance(e, ConversationUpdated)]
    assert [(e.conversation.id, e.changes, e.previous) for e in updated] == [
        (ticket, {"contact_id": alice}, {"contact_id": bob})]
    assert sorted(e.contact_id for e in events if isinstance(e, ContactUpdated)) == sorted([alice, bob])
    audit = await store.audit_log.find_one({"action": "conversation.move", "target_id": ticket})
    assert audit["before"] == {"contact_id": bob} and audit["after"]["contact_id"] == alice
    # the outbox answers the ticket's address the new contact owns (Alice wrote last; Bob too)
    assert await _reply_to(api, h, ticket) == "alice@example.com"
    profiles = {c: await _call(api, "GET", f"/contacts/{c}", h, 200) for c in (alice, bob)}
    assert ticket in [c["id"] for c in profiles[alice]["conversations"]]
    assert ticket not in [c["id"] for c in profiles[bob]["conversations"]]
    # Alice answering on the ticket's e-mail thread lands on it, as hers
    again = await _mail(api, h, "a4", "alice@example.com", "b1")
    assert again["conversation"]["id"] == ticket and again["message"]["contact_id"] == alice


async def test_a_number_the_new_contact_does_not_own_stops_leading_into_the_moved_ticket(api: Api) -> None:
    """An SMS/WhatsApp thread is keyed on the sender's number: it is forgotten when the ticket moves to
    someone else, so the number's owner gets a ticket of their own next time (not a seat in the other
    person's); the moved ticket is answered on the new contact's own number, or refused without one."""
    h = (await api.user(Role.admin))["headers"]
    store = api.app[keys.STORE]
    bongani = await _whatsapp(api, h, "w1", "hi")
    ticket, owner = bongani["conversation"]["id"], bongani["message"]["contact_id"]
    thandi = await _call(api, "POST", "/contacts", h, 201, json={
        "name": "Thandi", "identities": [{"kind": "email", "value": "thandi@example.com"}]})
    await _call(api, "POST", f"/conversations/{ticket}/move", h, 200, json={"contact_id": thandi["id"]})
    assert await store["conversation_threads"].find_one({"_id": f"whatsapp|whatsapp:{NUMBER}"}) is None
    refused = await _reply_to(api, h, ticket)
    assert refused.startswith("refused: ") and "whatsapp address" in refused
    later = await _whatsapp(api, h, "w2", "me again")
    assert later["message"]["contact_id"] == owner and later["conversation"]["id"] != ticket
    assert later["conversation"]["contact_id"] == owner
    await _call(api, "POST", f"/contacts/{thandi['id']}/identities", h, 201, json={
        "kind": "whatsapp", "value": "+27829999999"})
    assert await _reply_to(api, h, ticket) == "+27829999999"


async def test_moving_to_the_tickets_own_contact_changes_nothing(api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    store = api.app[keys.STORE]
    alice, _, ticket = await _mixed_ticket(api, h)
    await _call(api, "POST", f"/conversations/{ticket}/move", h, 200, json={"contact_id": alice})
    before = await store.conversations.find_one({"_id": ticket})
    with api.app[keys.BUS].capture() as events:
        again = await _call(api, "POST", f"/conversations/{ticket}/move", h, 200, json={"contact_id": alice})
    assert again["contact_id"] == alice and events == []
    assert await store.conversations.find_one({"_id": ticket}) == before
    assert await store.audit_log.count_documents({"action": "conversation.move", "target_id": ticket}) == 1


async def test_a_target_that_cannot_take_the_ticket_is_refused_with_the_reason(api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    store = api.app[keys.STORE]
    alice, bob, ticket = await _mixed_ticket(api, h)

    async def refused(body: Any, status: int, path: str = f"/conversations/{ticket}/move") -> dict[str, Any]:
        resp = await api.client.post(f"/api/v1{path}", headers=h, json=body)
        assert resp.status == status, await resp.text()
        return await resp.json()  # type: ignore[no-any-return]

    for body in ({}, {"contact_id": ""}, {"contact_id": 5}, {"contact_id": alice, "into": bob}):
        problem = await refused(body, 422)
        assert "contact_id" in str(problem) or "into" in str(problem), problem
    assert "contact_id" in str(await refused({}, 422))
    gone = await refused({"contact_id": "no-such-contact"}, 404)
    assert "no-such-contact" in gone["detail"]
    carol = await _call(api, "POST", "/contacts", h, 201, json={
        "name": "Carol", "identities": [{"kind": "email", "value": "carol@example.com"}]})
    await _call(api, "POST", f"/contacts/{carol['id']}/merge", h, 200, json={"into": alice})
    merged = await refused({"contact_id": carol["id"]}, 409)
    assert f"merged into {alice}" in merged["detail"]
    dave = await _call(api, "POST", "/contacts", h, 201, json={
        "name": "Dave", "identities": [{"kind": "email", "value": "dave@example.com"}]})
    await _call(api, "POST", f"/contacts/{dave['id']}/erase", h, 200, json={"confirm": dave["id"]})
    erased = await refused({"contact_id": dave["id"]}, 409)
    assert "erased" in erased["detail"]
    await refused({"contact_id": alice}, 404, "/conversations/no-such-ticket/move")
    second = (await _mail(api, h, "b2", "bob@example.com", "b2"))["conversation"]["id"]
    await _call(api, "POST", f"/conversations/{second}/merge", h, 200, json={"into": ticket})
    folded = await refused({"contact_id": alice}, 409, f"/conversations/{second}/move")
    assert f"merged into {ticket}" in folded["detail"]
    # nothing moved
    assert (await store.conversations.find_one({"_id": ticket}))["contact_id"] == bob
    assert await store.audit_log.count_documents({"action": "conversation.move"}) == 0


async def test_supervisors_and_admins_move_tickets_agents_do_not(api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    alice, bob, ticket = await _mixed_ticket(api, h)
    agent = (await api.user(Role.agent))["headers"]
    resp = await api.client.post(f"/api/v1/conversations/{ticket}/move", headers=agent,
                                 json={"contact_id": alice})
    assert resp.status == 403, await resp.text()
    assert (await api.app[keys.STORE].conversations.find_one({"_id": ticket}))["contact_id"] == bob
    supervisor = (await api.user(Role.supervisor))["headers"]
    moved = await _call(api, "POST", f"/conversations/{ticket}/move", supervisor, 200,
                        json={"contact_id": alice})
    assert moved["contact_id"] == alice
