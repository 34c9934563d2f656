"""The contact panel's merge box finds a nameless duplicate by its number, typed the local way; its
history pages past the profile's newest 100 conversations; an identity is removed once confirmed; a merge is
undone from the survivor's panel; the panel follows another agent's edits live."""

from __future__ import annotations

from datetime import timedelta

from hub import keys
from hub.models import Channel, Conversation, IdentityKind, Role, utcnow

from .test_console import admin_headers, inbound, make_agent, sign_in


async def test_merge_box_finds_a_nameless_sms_contact_by_number(new_page, hub_url, hub) -> None:
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Lindiwe", Role.supervisor))
    first = await inbound(hub, "Do you do birthdays?", phone="+27820000501", name="Naledi Khumalo")
    twin = await inbound(hub, "It's me from my other phone", phone="+27820000502", name="")
    await page.goto(f"{hub_url}/console/c/{first['conversation']['id']}")
    merge = page.locator("details.merge")
    await merge.locator("summary").click()
    await merge.locator("input").fill("082 000 0502")
    await merge.locator(".merge-results li:has-text('+27820000502')").wait_for()  # its number, not its id
    page.once("dialog", lambda dialog: dialog.accept())
    await merge.locator("button:has-text('Merge')").first.click()
    await page.wait_for_selector(".contact .ok, p.ok")
    store = hub.server.app[keys.STORE]
    twin_id = twin["conversation"]["contact_id"]
    survivor = first["conversation"]["contact_id"]
    assert (await store.contacts.find_one({"_id": twin_id}))["merged_into"] == survivor
    # undone from the survivor's panel: the twin is a contact again, with its number and its ticket
    await page.locator(".contact ul.identities li:has-text('+27820000502')").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Undo the merge of +27820000502").click()
    back = "is a contact again (identities back: 1, conversations back: 1)"
    await page.wait_for_selector(f".contact .unmerged:has-text('{back}')")
    await page.locator(".contact ul.identities li:has-text('+27820000502')").wait_for(state="detached")
    assert await page.locator(".contact ul.merged-from").count() == 0
    assert (await store.contacts.find_one({"_id": twin_id}))["merged_into"] is None
    assert (await store.conversations.find_one({"_id": twin["conversation"]["id"]}))["contact_id"] == twin_id
    assert page.errors == []


async def test_history_shows_older_conversations_past_the_first_hundred(new_page, hub_url, hub) -> None:
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Zanele", Role.supervisor))
    first = await inbound(hub, "Same again for Saturday?", phone="+27820000601", name="Regular Customer")
    contact_id = first["conversation"]["contact_id"]
    now = utcnow()  # 130 older tickets, seeded straight into the store (the oldest is #50129)
    await hub.server.app[keys.STORE].conversations.insert_many([Conversation(
        number=50000 + n, contact_id=contact_id, channel=Channel.api, thread_key=f"old-{n}",
        last_message_at=now - timedelta(hours=n + 1)).to_doc() for n in range(130)])
    await page.goto(f"{hub_url}/console/c/{first['conversation']['id']}")
    history = page.locator(".contact ul.history li")
    await page.wait_for_selector(f".contact ul.history a:text-is('#{first['conversation']['number']}')")
    assert await history.count() == 100  # the profile's newest 100
    more = page.get_by_role("button", name="Show older conversations")
    await more.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".contact ul.history a:text-is('#50129')")
    assert await history.count() == 131 and await more.is_hidden()  # all there, each once; nothing more
    assert await page.evaluate("document.activeElement.textContent") == "#50099"  # the first one added
    assert page.errors == []


async def test_an_identity_is_removed_from_the_panel_once_confirmed(new_page, hub_url, hub) -> None:
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Sibusiso"))
    first = await inbound(hub, "Is the hall free on the 12th?", phone="+27820000701", name="Ayanda Zulu")
    contact_id = first["conversation"]["contact_id"]
    await hub.server.app[keys.CONTACTS].add_identity(contact_id, IdentityKind.email, "ayanda@example.com")
    store = hub.server.app[keys.STORE]
    await page.goto(f"{hub_url}/console/c/{first['conversation']['id']}")
    remove = page.get_by_role("button", name="Remove +27820000701 from this contact")
    page.once("dialog", lambda dialog: dialog.dismiss())
    await remove.click()
    await page.wait_for_timeout(300)
    assert await store.identities.find_one({"_id": "phone:+27820000701"}) is not None  # not confirmed
    page.once("dialog", lambda dialog: dialog.accept())
    await remove.click()
    await page.locator(".contact ul.identities li:has-text('+27820000701')").wait_for(state="detached")
    assert await store.identities.find_one({"_id": "phone:+27820000701"}) is None
    assert await page.locator(".contact ul.identities li:has-text('ayanda@example.com')").count() == 1
    assert page.errors == []


async def test_a_supervisor_moves_the_open_ticket_to_another_contact(new_page, hub_url, hub) -> None:
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Thabo", Role.supervisor))
    ticket = (await inbound(hub, "Booking for my sister", phone="+27820000801",
                            name="Lerato Mokoena"))["conversation"]
    sister = (await inbound(hub, "Hi, it's Palesa", phone="+27820000802",
                            name="Palesa Mokoena"))["conversation"]
    await page.goto(f"{hub_url}/console/c/{ticket['id']}")
    move = page.locator("details.move")
    await move.locator("summary").click()
    await move.locator("input").fill("Palesa")
    page.once("dialog", lambda dialog: dialog.accept())
    await move.locator(".merge-results li:has-text('Palesa Mokoena') button").click()
    await page.wait_for_selector(f".contact .moved:has-text('Moved #{ticket['number']} to Palesa Mokoena')")
    assert await page.locator("#contact-name").text_content() == "Palesa Mokoena"
    await page.wait_for_selector(f"#thread-title:has-text('Palesa Mokoena · #{ticket['number']}')")
    store = hub.server.app[keys.STORE]
    assert (await store.conversations.find_one({"_id": ticket["id"]}))["contact_id"] == sister["contact_id"]
    # her panel lists it now
    await page.locator(f".contact ul.history a:text-is('#{ticket['number']}')").wait_for()
    assert page.errors == []


async def test_a_ticket_both_wrote_in_moves_from_the_unmerge_result(new_page, hub_url, hub) -> None:
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Nomsa", Role.supervisor))
    mail = {"channel": "email", "kind": "email"}
    bobs = (await inbound(hub, "Venue?", name="Bob Dlamini", value="bob@example.com", thread_key="mail:b1",
                          **mail))["conversation"]
    alice = (await inbound(hub, "Menu?", name="Alice Zulu", value="alice@example.com", thread_key="mail:a1",
                           **mail))["conversation"]["contact_id"]
    resp = await hub.post(f"/api/v1/contacts/{alice}/merge", json={"into": bobs["contact_id"]},
                          headers=await admin_headers(hub))
    assert resp.status == 200, await resp.text()
    await inbound(hub, "Me too", name="Alice Zulu", value="alice@example.com", thread_key="mail:b1", **mail)
    await page.goto(f"{hub_url}/console/c/{bobs['id']}")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Undo the merge of Alice Zulu").click()
    line = page.locator(f".contact .unmerged p.mixed:has-text('Both people wrote in #{bobs['number']}')")
    await line.wait_for()
    assert await line.get_by_role("link", name=f"Open #{bobs['number']}").count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    await line.get_by_role("button", name="Move it to Alice Zulu").click()
    await page.wait_for_selector(f".contact .moved:has-text('Moved #{bobs['number']} to Alice Zulu')")
    assert await page.locator("#contact-name").text_content() == "Alice Zulu"
    store = hub.server.app[keys.STORE]
    assert (await store.conversations.find_one({"_id": bobs["id"]}))["contact_id"] == alice
    assert page.errors == []


async def test_a_bidi_control_in_a_name_or_subject_stays_inside_it(new_page, hub_url, hub) -> None:
    # U+202E (right-to-left override) in a name flipped "· Undo merge" after it, in a subject the time
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Mpho", Role.supervisor))
    mail = {"channel": "email", "kind": "email"}
    bobs = (await inbound(hub, "Venue?", name="Bob", value="bob@example.com", thread_key="mail:c1",
                          subject="Quote \u202eetouq", **mail))["conversation"]
    evil = (await inbound(hub, "Hi", name="\u202eEve", value="eve@example.com", thread_key="mail:c2",
                          **mail))["conversation"]["contact_id"]
    resp = await hub.post(f"/api/v1/contacts/{evil}/merge", json={"into": bobs["contact_id"]},
                          headers=await admin_headers(hub))
    assert resp.status == 200, await resp.text()
    await page.goto(f"{hub_url}/console/c/{bobs['id']}")
    line = page.locator(".contact ul.merged-from li")
    await line.wait_for()
    name = await line.locator("strong").bounding_box()
    undo = await line.get_by_role("button").bounding_box()
    assert name and undo and undo["x"] >= name["x"] + name["width"]  # still after the name, not flipped
    entry = page.locator(".contact ul.history li", has_text="Quote")
    subject = await entry.locator(".subject").bounding_box()
    when = await entry.locator(".muted").last.bounding_box()
    assert subject and when and when["x"] >= subject["x"] + subject["width"]
    assert page.errors == []


async def test_removing_an_identity_gone_meanwhile_reloads_the_panel(new_page, hub_url, hub) -> None:
    # a stale second tab: the identity was removed elsewhere; the 404 no longer leaves it listed
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Lwazi"))
    first = await inbound(hub, "Hall on the 3rd?", phone="+27820000801", name="Kagiso")
    contact_id = first["conversation"]["contact_id"]
    await hub.server.app[keys.CONTACTS].add_identity(contact_id, IdentityKind.email, "kagiso@example.com")
    await page.goto(f"{hub_url}/console/c/{first['conversation']['id']}")
    remove = page.get_by_role("button", name="Remove kagiso@example.com from this contact")
    await remove.wait_for()
    # removed behind this tab's back: straight from the store, so no contact.updated redraws the
    # panel first (as for a tab that missed the event)
    await hub.server.app[keys.STORE].identities.delete_one({"_id": "email:kagiso@example.com"})
    page.once("dialog", lambda dialog: dialog.accept())
    await remove.click()
    await page.wait_for_selector("#contact-identity-error:has-text('no longer on this contact')")
    assert await page.locator(".contact ul.identities li:has-text('kagiso@example.com')").count() == 0
    assert await page.locator(".contact ul.identities li:has-text('+27820000801')").count() == 1
    assert page.errors == []


async def test_the_open_panel_follows_another_agents_edits_live(new_page, hub_url, hub) -> None:
    """Someone else renames and tags the contact, adds an address, merges a duplicate into it: the panel
    beside the chat (and the thread's title) show it without a reload, and the draft stays."""
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Sizwe"))
    first = (await inbound(hub, "Is the marquee still free?", phone="+27820000901",
                           name="Ayanda K"))["conversation"]
    twin = (await inbound(hub, "Same person, other phone", phone="+27820000902", name=""))["conversation"]
    contact_id, headers = first["contact_id"], await admin_headers(hub)
    await page.goto(f"{hub_url}/console/c/{first['id']}")
    await page.wait_for_selector("#contact-name:text-is('Ayanda K')")
    await page.fill("#reply-text", "Let me check the marquee")
    resp = await hub.patch(f"/api/v1/contacts/{contact_id}", headers=headers,
                           json={"name": "Ayanda Khumalo", "tags": ["wedding"]})
    assert resp.status == 200, await resp.text()
    await page.wait_for_selector("#contact-name:text-is('Ayanda Khumalo')")
    await page.wait_for_selector(".contact .tags .tag:text-is('wedding')")
    await page.wait_for_selector(f"#thread-title:text-is('Ayanda Khumalo · #{first['number']}')")
    assert await page.input_value("#reply-text") == "Let me check the marquee"
    resp = await hub.post(f"/api/v1/contacts/{contact_id}/identities", headers=headers,
                          json={"kind": "email", "value": "ak@example.com"})
    assert resp.status == 201, await resp.text()
    await page.locator(".contact ul.identities li:has-text('ak@example.com')").wait_for()
    # the duplicate's own ticket open: merged into Ayanda, it is hers now, and so is the panel
    await page.goto(f"{hub_url}/console/c/{twin['id']}")
    await page.locator(".contact ul.identities li:has-text('+27820000902')").wait_for()
    resp = await hub.post(f"/api/v1/contacts/{twin['contact_id']}/merge", json={"into": contact_id},
                          headers=headers)
    assert resp.status == 200, await resp.text()
    await page.wait_for_selector("#contact-name:text-is('Ayanda Khumalo')")
    await page.wait_for_selector(f"#thread-title:text-is('Ayanda Khumalo · #{twin['number']}')")
    for address in ("+27820000901", "+27820000902", "ak@example.com"):
        await page.locator(f".contact ul.identities li:has-text('{address}')").wait_for()
    assert page.errors == []


async def test_an_edit_over_another_agents_change_shows_both_and_lets_the_agent_choose(new_page, hub_url,
                                                                                         hub) -> None:
    """The contact form saves with If-Match: a rename made by someone else meanwhile is not overwritten
    (412); the three-way box shows theirs beside mine, "Keep mine and save" saves mine with their other
    change kept, "Use theirs" shows their version. A new message in the history meanwhile (the profile's
    ETag changes, nothing the form edits does) is no conflict: saved without a box."""
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Busi"))
    first = (await inbound(hub, "Is the hall free in May?", phone="+27820000951",
                           name="Lerato M"))["conversation"]
    contact_id, headers = first["contact_id"], await admin_headers(hub)
    store = hub.server.app[keys.STORE]
    await page.goto(f"{hub_url}/console/c/{first['id']}")
    await page.wait_for_selector("#contact-name:text-is('Lerato M')")
    await page.click("#contact-edit")
    await page.fill("#contact-name-input", "Lerato Mahlangu")
    resp = await hub.patch(f"/api/v1/contacts/{contact_id}", headers=headers,
                           json={"name": "Lerato Molefe", "tags": ["vip-venue"]})
    assert resp.status == 200, await resp.text()
    await page.click(".contact form.edit button[type=submit]")
    box = page.locator(".contact form.edit .conflict")
    await box.wait_for(timeout=5000)
    assert (await store.contacts.find_one({"_id": contact_id}))["name"] == "Lerato Molefe"  # theirs stands
    name_row = box.locator("tr[data-field=name]")
    assert await name_row.get_attribute("data-changed") == "both"
    assert await name_row.locator(".theirs").inner_text() == "Lerato Molefe"
    assert await name_row.locator(".mine").inner_text() == "Lerato Mahlangu"
    assert await box.locator("tr[data-field=tags]").get_attribute("data-changed") == "theirs"
    assert "someone else changed this contact" in (await page.locator("#contact-edit-error").inner_text())
    await box.get_by_role("button", name="Keep mine and save").click()
    await page.wait_for_selector("#contact-name:text-is('Lerato Mahlangu')")
    saved = await store.contacts.find_one({"_id": contact_id})
    assert saved["name"] == "Lerato Mahlangu" and saved["tags"] == ["vip-venue"]  # their tag kept
    await page.wait_for_selector(".contact .tags .tag:text-is('vip-venue')")

    # only the history changed meanwhile (a new message): saved at once, no box
    await page.click("#contact-edit")
    await page.fill("#contact-tags-input", "vip-venue, may")
    await inbound(hub, "Also, parking?", phone="+27820000951", name="Lerato M")
    await page.click(".contact form.edit button[type=submit]")
    await page.wait_for_selector(".contact .tags .tag:text-is('may')")
    assert (await store.contacts.find_one({"_id": contact_id}))["tags"] == ["vip-venue", "may"]

    # "Use theirs": the form shows their version, nothing typed is saved
    await page.click("#contact-edit")
    await page.fill("#contact-name-input", "L. Mahlangu")
    resp = await hub.patch(f"/api/v1/contacts/{contact_id}", headers=headers, json={"type": "provider"})
    assert resp.status == 200, await resp.text()
    await page.fill("#contact-tags-input", "may")
    await page.select_option(".contact form.edit select", "consumer")
    await page.click(".contact form.edit button[type=submit]")
    await box.wait_for(timeout=5000)
    assert await box.locator("tr[data-field=type] .theirs").inner_text() == "Provider"
    await box.get_by_role("button", name="Use theirs").click()
    await box.wait_for(state="detached")
    assert await page.input_value("#contact-name-input") == "Lerato Mahlangu"
    assert await page.input_value(".contact form.edit select") == "provider"
    assert (await store.contacts.find_one({"_id": contact_id}))["type"] == "provider"
    assert page.errors == []
