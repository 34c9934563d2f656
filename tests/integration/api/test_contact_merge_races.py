"""Merges and unmerges that race each other or the customer: one wins, the others get a 409 that
says why, and nothing ends on a merged-away contact (``Contacts.merge``, ``unmerge``, ``Inbox.ingest``)."""

from __future__ import annotations

import asyncio
from typing import Any

from hub import keys
from hub.errors import Conflict
from hub.events import ContactsUnmerged, MessageCreated
from hub.models import IdentityKind, Role

from ...conftest import Api


async def _contact(api: Api, h: dict[str, str], name: str, email: str, tag: str) -> str:
    resp = await api.client.post("/api/v1/contacts", headers=h, json={
        "name": name, "tags": [tag], "identities": [{"kind": "email", "value": email}]})
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["id"])


async def _merge(api: Api, h: dict[str, str], source: str, target: str) -> tuple[int, Any]:
    resp = await api.client.post(f"/api/v1/contacts/{source}/merge", headers=h, json={"into": target})
    return resp.status, await resp.json()


async def _mail(api: Api, h: dict[str, str], sender: str, external_id: str) -> int:
    resp = await api.client.post("/api/v1/inbound", headers=h, json={
        "channel": "email", "external_id": external_id, "sender": {"kind": "email", "value": sender},
        "subject": f"question {external_id}", "thread_key": f"mail:{external_id}", "text": "hello?"})
    return resp.status


async def test_two_merges_in_opposite_directions_one_wins_and_no_loop(api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    contacts = api.app[keys.CONTACTS]
    for run in range(3):
        a = await _contact(api, h, f"Ayanda {run}", f"ayanda{run}@example.com", "a")
        b = await _contact(api, h, f"Bongi {run}", f"bongi{run}@example.com", "b")
        (one, first), (other, second) = await asyncio.gather(_merge(api, h, a, b), _merge(api, h, b, a))
        assert sorted([one, other]) == [200, 409], (first, second)
        refused = first if one == 409 else second
        assert "merge" in refused["detail"] or "merged" in refused["detail"], refused
        survivor = first["id"] if one == 200 else second["id"]
        for contact_id in (a, b):  # both lead to the survivor: no loop
            profile = await api.client.get(f"/api/v1/contacts/{contact_id}", headers=h)
            assert profile.status == 200, await profile.text()
            assert (await profile.json())["contact"]["id"] == survivor
        for email in (f"ayanda{run}@example.com", f"bongi{run}@example.com"):
            found = await contacts.find_by_identity(IdentityKind.email, email)
            assert found is not None and found.id == survivor
        listed = await api.client.get(f"/api/v1/contacts?q=ayanda{run}@", headers=h)
        assert listed.status == 200, await listed.text()
        assert [c["id"] for c in (await listed.json())["items"]] == [survivor]
        assert await _mail(api, h, f"ayanda{run}@example.com", f"after-{run}") == 201


async def test_one_contact_merged_into_two_targets_at_once_goes_to_one(api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    contacts = api.app[keys.CONTACTS]

    async def merge(source: str, target: str) -> str:
        try:
            return (await contacts.merge(source, target)).id
        except Conflict as exc:
            return f"409 {exc.detail}"

    for run in range(6):  # the Contacts.merge calls interleave at every await
        x = await _contact(api, h, f"Xolani {run}", f"xolani{run}@example.com", "from-x")
        targets = [await _contact(api, h, f"T{n} {run}", f"t{n}.{run}@example.com", f"t{n}")
                   for n in range(3)]
        results = await asyncio.gather(*[merge(x, target) for target in targets])
        ran = [target for target, result in zip(targets, results, strict=True) if result == target]
        assert len(ran) == 1, results  # one merge ran, the others were refused
        winner = ran[0]
        for target, result in zip(targets, results, strict=True):
            if target != winner:
                assert result.startswith("409 ") and winner in result, result  # names the merge under way
                now = await (await api.client.get(f"/api/v1/contacts/{target}", headers=h)).json()
                assert "from-x" not in now["contact"]["tags"]
        undone = await api.client.post(f"/api/v1/contacts/{x}/unmerge", headers=h)
        assert undone.status == 200, await undone.text()
        assert (await undone.json())["target_id"] == winner


async def test_mail_written_during_a_merge_ends_on_the_survivor_and_unmerge_keeps_tickets_whole(
        api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    store = api.app[keys.STORE]
    for run in range(3):
        survivor = await _contact(api, h, f"Thandi {run}", f"thandi{run}@example.com", "t")
        duplicate = await _contact(api, h, f"Sipho {run}", f"sipho{run}@example.com", "s")
        mails = [_mail(api, h, f"sipho{run}@example.com", f"r{run}-m{i}") for i in range(8)]
        merged, *statuses = await asyncio.gather(_merge(api, h, duplicate, survivor), *mails)
        assert merged[0] == 200 and statuses == [201] * 8
        # nothing is left on the merged-away contact, where nobody would see it
        assert await store.conversations.count_documents({"contact_id": duplicate}) == 0
        assert await store.messages.count_documents({"contact_id": duplicate}) == 0
        assert await store.messages.count_documents({"contact_id": survivor}) == 8
        undone = await api.client.post(f"/api/v1/contacts/{duplicate}/unmerge", headers=h)
        assert undone.status == 200, await undone.text()
        # every ticket is whole: its messages are on the ticket's contact, all of them back on Sipho
        async for ticket in store.conversations.find({"contact_id": {"$in": [survivor, duplicate]}}):
            owners = {m["contact_id"] async for m in store.messages.find({"conversation_id": ticket["_id"]})}
            assert owners == {ticket["contact_id"]}, (ticket["_id"], ticket["contact_id"], owners)
        assert await store.conversations.count_documents({"contact_id": duplicate}) == 8
        assert await store.messages.count_documents({"contact_id": duplicate}) == 8


async def test_parallel_unmerges_one_succeeds_the_others_get_409(api: Api) -> None:
    h = (await api.user(Role.admin))["headers"]
    store = api.app[keys.STORE]
    for run in range(2):
        survivor = await _contact(api, h, f"Lindi {run}", f"lindi{run}@example.com", "l")
        duplicate = await _contact(api, h, f"Musa {run}", f"musa{run}@example.com", "m")
        assert (await _merge(api, h, duplicate, survivor))[0] == 200

        async def unmerge() -> int:
            # gathered below, in this iteration
            resp = await api.client.post(f"/api/v1/contacts/{duplicate}/unmerge", headers=h)  # noqa: B023
            if resp.status == 409:
                detail = (await resp.json())["detail"]
                assert "being unmerged" in detail or "not merged" in detail, detail
            return resp.status

        with api.app[keys.BUS].capture() as events:
            statuses = await asyncio.gather(*[unmerge() for _ in range(5)])
        assert sorted(statuses) == [200, 409, 409, 409, 409]
        assert len([e for e in events if isinstance(e, ContactsUnmerged)]) == 1
        audit = {"action": "contact.unmerge", "target_id": duplicate}
        assert await store.audit_log.count_documents(audit) == 1


async def test_a_merge_interrupted_after_its_claim_blocks_other_merges_until_run_again(api: Api) -> None:
    """The claim stays while a merge is unfinished (no transactions: a re-run finishes it): another
    merge of the contact, or into it, is refused naming the unfinished one; the same merge run again
    finishes and can be undone."""
    h = (await api.user(Role.admin))["headers"]
    contacts, store = api.app[keys.CONTACTS], api.app[keys.STORE]
    survivor = await _contact(api, h, "Thandi", "thandi@example.com", "t")
    duplicate = await _contact(api, h, "Sipho", "sipho@example.com", "s")
    other = await _contact(api, h, "Zanele", "zanele@example.com", "z")
    # the first run: claim, record, identities moved, then the process died
    assert await contacts._claim_merge(duplicate, survivor) == {}
    await contacts._record_merge(await contacts.get(duplicate), await contacts.get(survivor))
    await store.identities.update_many({"contact_id": duplicate}, {"$set": {"contact_id": survivor}})
    for source, target in ((duplicate, other), (other, duplicate), (survivor, other)):
        status, body = await _merge(api, h, source, target)
        assert status == 409 and "being merged into" in body["detail"], (source, target, body)
    status, body = await _merge(api, h, duplicate, survivor)
    assert status == 200, body
    assert await store.conversations.count_documents({"contact_id": duplicate}) == 0
    undone = await api.client.post(f"/api/v1/contacts/{duplicate}/unmerge", headers=h)
    assert undone.status == 200, await undone.text()
    assert (await undone.json())["restored"]["identities"] == ["email:sipho@example.com"]
    assert (await _merge(api, h, duplicate, other))[0] == 200  # the claim went with the unmerge


async def test_mail_written_while_a_merge_is_under_way_lands_on_the_survivor_at_once(api: Api) -> None:
    """A message whose sender was resolved before the merge's first pass but written after it: the
    merge marks the source before that pass, and the ingest reads the contact after its writes, so
    the ticket moves itself to the survivor (and its events say so); the finished merge clears the
    mark, and later mail goes to the survivor directly."""
    h = (await api.user(Role.admin))["headers"]
    contacts, store = api.app[keys.CONTACTS], api.app[keys.STORE]
    survivor = await _contact(api, h, "Thandi", "thandi@example.com", "t")
    duplicate = await _contact(api, h, "Sipho", "sipho@example.com", "s")
    # the merge has claimed and marked the source; its passes have not reached this sender yet
    await contacts._claim_merge(duplicate, survivor)
    await contacts._mark_merging(duplicate, survivor)
    with api.app[keys.BUS].capture() as events:
        assert await _mail(api, h, "sipho@example.com", "during") == 201
    created = [e for e in events if isinstance(e, MessageCreated)]
    assert [(e.message.contact_id, e.conversation.contact_id, e.contact and e.contact.id)
            for e in created] == [(survivor, survivor, survivor)]
    assert await store.conversations.count_documents({"contact_id": duplicate}) == 0
    assert await store.messages.count_documents({"contact_id": survivor}) == 1
    status, body = await _merge(api, h, duplicate, survivor)  # the merge, run again, finishes
    assert status == 200, body
    assert "merging" not in (await store.contacts.find_one({"_id": duplicate}) or {})
    assert await _mail(api, h, "sipho@example.com", "after") == 201
    assert await store.messages.count_documents({"contact_id": survivor}) == 2


async def test_a_consent_recorded_while_a_merge_is_under_way_lands_on_the_survivor_at_once(api: Api) -> None:
    """A consent recorded through the privacy API on a contact that a merge has marked (its passes
    may be done already): the record and the state go to the survivor at once, as a STOP's do, and
    the merge run again keeps them there."""
    h = (await api.user(Role.admin))["headers"]
    contacts, store = api.app[keys.CONTACTS], api.app[keys.STORE]
    survivor = await _contact(api, h, "Thandi", "thandi@example.com", "t")
    duplicate = await _contact(api, h, "Sipho", "sipho@example.com", "s")
    await contacts._claim_merge(duplicate, survivor)
    await contacts._mark_merging(duplicate, survivor)
    resp = await api.client.post(f"/api/v1/contacts/{duplicate}/consents", headers=h, json={
        "purpose": "marketing", "granted": False, "source": "phone call"})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["contact_id"] == survivor
    assert await store["consents"].count_documents({"contact_id": survivor, "purpose": "marketing"}) == 1
    consent = (await store.contacts.find_one({"_id": survivor}) or {}).get("consent", {})
    assert consent.get("marketing", {}).get("granted") is False, consent
    status, body = await _merge(api, h, duplicate, survivor)
    assert status == 200 and body["consent"]["marketing"]["granted"] is False, body
