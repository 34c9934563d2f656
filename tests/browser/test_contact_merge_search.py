"""The contact panel's merge box finds a nameless duplicate by its number, typed the local way."""

from __future__ import annotations

from hub import keys
from hub.models import Role

from .test_console import inbound, make_agent, sign_in


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
    assert (await store.contacts.find_one({"_id": twin_id}))["merged_into"] == first["conversation"]["contact_id"]
    assert page.errors == []
