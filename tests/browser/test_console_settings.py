"""The console's settings in real Chromium: an admin creates a team, a user in it, an API key (its
secret shown once) and a webhook; demoting the last admin is refused with the hub's reason; a
supervisor reads users (no API keys or webhooks) and keeps the canned responses; an agent sees no
settings at all; an SLA policy is created and an inbox's support hours set; a business-hours
calendar, an automation rule (JSON; an edit over another admin's change is refused) and a retention
period are written (refusals show the hub's reason); a save refused because another admin changed the
item shows their version beside the typed one (use theirs, or keep mine and save); retention is run
on request, once confirmed, and lists what it removed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub import keys
from hub.models import Role, new_id, utcnow
from hub.ticketing.business_hours import BusinessHours
from hub.ticketing.canned import CannedResponse
from hub.ticketing.rules import Rule
from hub.ticketing.teams import Member, Team

from .conftest import screenshot
from .test_console import PASSWORD, make_agent, sign_in

pytestmark = pytest.mark.browser


async def member_ids(store: Any, team_id: str) -> list[str]:
    return [m["user_id"] for m in (await store["teams"].find_one({"_id": team_id}))["members"]]


async def test_admin_creates_team_user_key_and_webhook_and_sees_a_refusal(new_page, hub_url,
                                                                         hub: Any) -> None:
    store = hub.server.app[keys.STORE]
    admin_email = await make_agent(hub, "Ada", Role.admin)  # the module's only admin
    admin = await store.users.find_one({"email": admin_email})
    page = await new_page()
    await sign_in(page, hub_url, admin_email)
    await page.click("#view-settings")
    await page.wait_for_selector("#settings-users #users-table")
    assert page.url.endswith("/console/settings/users")

    # the last admin cannot demote themself: the hub's 409 reason is shown, the role stays
    own_role = page.locator(f'#users-table tr[data-user="{admin["_id"]}"] select.role')
    await own_role.select_option("agent")
    await page.wait_for_selector("#settings-error:has-text('last active admin')")
    assert await own_role.input_value() == "admin"
    assert (await store.users.find_one({"_id": admin["_id"]}))["role"] == "admin"

    # a team, then a user in it (keyboard-reachable, labelled fields)
    await page.click("#settings-tab-teams")
    await page.locator("#team-form").get_by_label("Name").fill("Sound crew")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#teams-list .team:has-text('Sound crew')")
    assert await page.evaluate("document.activeElement.id") == "team-name"  # ready for the next one
    team = await store["teams"].find_one({"name": "Sound crew"})

    await page.click("#settings-tab-users")
    form = page.locator("#user-form")
    await form.get_by_label("Name").fill("Bongani Khumalo")
    await form.get_by_label("E-mail").fill("bongani@example.com")
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_label("Role").select_option("supervisor")
    await form.get_by_label("Sound crew").check()
    await form.get_by_role("button", name="Create").click()
    await page.wait_for_selector("#settings-notice:has-text('bongani@example.com')")
    await page.wait_for_selector("#users-table tr:has-text('Bongani Khumalo'):has-text('Sound crew')")
    user = await store.users.find_one({"email": "bongani@example.com"})
    assert user["role"] == "supervisor" and user["team_ids"] == [team["_id"]]
    team = await store["teams"].find_one({"_id": team["_id"]})
    assert [m["user_id"] for m in team["members"]] == [user["_id"]]  # routing picks from members

    # an API key: its secret is shown once, with a copy button
    await page.click("#settings-tab-keys")
    await page.locator("#key-form").get_by_label("Name").fill("Ticketing bridge")
    await page.locator("#key-form").get_by_role("button", name="Create").click()
    secret = await page.locator("#settings-secret").input_value()
    stored = await store.api_keys.find_one({"name": "Ticketing bridge"})
    assert secret.startswith(f"bk_{stored['prefix']}_") and secret not in str(stored)
    await page.click("#settings-copy")
    await page.wait_for_selector("#settings-secret-box :text('Copied.')")
    await page.wait_for_selector("#keys-table tr:has-text('Ticketing bridge')")
    await screenshot(page, "console-settings-keys")
    await page.click("#settings-tab-webhooks")
    await page.wait_for_selector("#settings-webhooks #webhook-form")
    assert await page.locator("#settings-secret").count() == 0  # gone for good once you move on

    # a webhook: the signing secret shown once too
    form = page.locator("#webhook-form")
    await form.get_by_label("URL").fill("https://hooks.example.com/berry")
    await form.get_by_label("Events").fill("message.created, conversation.created")
    await form.get_by_role("button", name="Create").click()
    await page.wait_for_selector("#webhooks-list .webhook:has-text('hooks.example.com')")
    hook = await store["webhooks"].find_one({"url": "https://hooks.example.com/berry"})
    assert sorted(hook["events"]) == ["conversation.created", "message.created"]
    first = await page.locator("#settings-secret").input_value()
    webhook = page.locator(f'#webhooks-list [data-webhook="{hook["_id"]}"]')
    page.once("dialog", lambda dialog: dialog.accept())  # rotating asks first: the old secret stops working
    await webhook.get_by_role("button", name="Rotate secret").click()
    renewed = "(old) => (document.querySelector('#settings-secret')?.value ?? old) !== old"
    await page.wait_for_function(renewed, arg=first)  # the new secret, shown once in its place
    await webhook.get_by_role("button", name="Recent deliveries").click()
    await webhook.locator(".deliveries :text('No deliveries yet.')").wait_for()
    await webhook.get_by_role("button", name="Disable").click()
    await page.wait_for_selector(f'[data-webhook="{hook["_id"]}"] .badge:has-text("Disabled")')
    assert (await store["webhooks"].find_one({"_id": hook["_id"]}))["active"] is False

    # deactivating asks first, then the user is kept but inactive
    await page.click("#settings-tab-users")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.locator(f'#users-table tr[data-user="{user["_id"]}"] button.deactivate').click()
    await page.wait_for_selector(f'#users-table tr.inactive[data-user="{user["_id"]}"]')
    assert (await store.users.find_one({"_id": user["_id"]}))["active"] is False
    assert page.errors == []


async def test_supervisor_reads_users_and_an_agent_sees_no_settings(new_page, hub_url, hub: Any) -> None:
    store = hub.server.app[keys.STORE]
    supervisor = await make_agent(hub, "Sipho", Role.supervisor)
    agent = await make_agent(hub, "Naledi")
    naledi = await store.users.find_one({"email": agent})
    team_id = new_id()  # Thabo is in the team both ways: his own team list and the team's members
    thabo = await store.users.find_one({"email": await make_agent(hub, "Thabo", teams=[team_id])})
    team = await hub.server.app[keys.EXTENSIONS]["ticketing"].teams.create(Team(
        id=team_id, name="Catering", members=[Member(user_id=naledi["_id"]), Member(user_id=thabo["_id"])]))
    page = await new_page()
    await sign_in(page, hub_url, supervisor)
    await page.goto(f"{hub_url}/console/settings/keys")  # a deep link to a tab it may not read
    await page.wait_for_selector("#settings-users #users-table tr:has-text('Sipho')")
    admin_only = "#settings-tab-keys, #settings-tab-webhooks, #user-form, select.role"
    assert await page.locator(admin_only).count() == 0

    # team members: a supervisor moves a team's members; a user's own team list is an admin's to change
    await page.click("#settings-tab-teams")
    card = page.locator(f'#teams-list [data-team="{team.id}"]')
    await card.get_by_role("button", name="Remove Naledi from Catering").click()
    await card.locator("li:has-text('Naledi')").wait_for(state="detached")
    assert await member_ids(store, team.id) == [thabo["_id"]]
    await card.get_by_role("button", name="Remove Thabo from Catering").click()
    await page.wait_for_selector("#settings-error:has-text('may not users:write')")
    assert (await store.users.find_one({"_id": thabo["_id"]}))["team_ids"] == [team.id]  # refused: nothing
    assert await member_ids(store, team.id) == [thabo["_id"]]  # changed, not half the removal
    await card.get_by_label("Add a member to Catering").select_option(naledi["_id"])
    await card.get_by_role("button", name="Add member").click()
    await card.locator("li:has-text('Naledi')").wait_for()
    assert await member_ids(store, team.id) == [thabo["_id"], naledi["_id"]]

    # canned responses: a supervisor writes one, edits it, deletes it; a bad template keeps the form
    await page.click("#settings-tab-canned")
    form = page.locator("#canned-form")
    await form.get_by_label("Shortcut").fill("venue-hours")
    await form.get_by_label("Title").fill("Venue hours")
    await form.get_by_label("Text").fill("Hi {{contact.first_name|there}}, we open at {{venue.time}}.")
    await form.get_by_role("button", name="Create").click()
    await page.wait_for_selector("#settings-error:has-text('unknown variable')")
    await form.get_by_label("Text").fill("Hi {{contact.first_name|there}}, we open at 08:00.")
    await form.get_by_role("button", name="Create").click()
    await page.get_by_role("button", name="Edit /venue-hours").click()
    await page.wait_for_selector("#canned-form h3:has-text('Edit /venue-hours')")
    await page.locator("#canned-form").get_by_label("Title").fill("Venue opening hours")
    await page.locator("#canned-form").get_by_role("button", name="Save").click()
    await page.wait_for_selector("#canned-table tr:has-text('Venue opening hours')")
    saved = await store["canned_responses"].find_one({"shortcut": "venue-hours"})
    assert saved["title"] == "Venue opening hours" and saved["text"].endswith("we open at 08:00.")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Delete /venue-hours").click()
    await page.wait_for_selector("#canned-table", state="detached")
    assert await store["canned_responses"].count_documents({"shortcut": "venue-hours"}) == 0

    other = await new_page()
    await sign_in(other, hub_url, agent)
    assert await other.locator("#view-settings").count() == 0
    await other.goto(f"{hub_url}/console/settings/users")
    await other.wait_for_selector("#conn[data-state=live]")
    assert await other.locator("#settings").is_hidden()
    assert other.url == f"{hub_url}/console/"
    assert await other.locator("#users-table").count() == 0
    assert page.errors == [] and other.errors == []


async def test_sla_policy_and_inbox_hours_saved_and_refusals_shown(new_page, hub_url, hub: Any) -> None:
    store = hub.server.app[keys.STORE]
    hours = BusinessHours(name="Office hours", timezone="Africa/Johannesburg",
                          week={d: [("08:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")})
    await store["business_hours"].insert_one(hours.to_doc())
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Palesa", Role.admin))
    await page.goto(f"{hub_url}/console/settings/sla")
    form = page.locator("#sla-form")
    await form.get_by_label("Name").fill("Events desk")
    await form.get_by_label("Business hours").select_option(label="Office hours (Africa/Johannesburg)")
    await form.get_by_role("button", name="Create").click()  # no target at all: the hub's 422 reason
    await page.wait_for_selector("#settings-error:has-text('needs targets for at least one priority')")
    assert await form.get_by_label("Name").input_value() == "Events desk"  # the form keeps what was typed

    await form.get_by_label("First response target for Urgent, in minutes").fill("15")
    await form.get_by_label("Resolution target for Urgent, in minutes").fill("240")
    await form.get_by_label("Default policy").check()
    await form.get_by_role("button", name="Create").click()
    row = page.locator("#sla-table tr:has-text('Events desk')")
    await row.locator(":text('First response 15 min · Resolution 4 h')").wait_for()
    assert "Office hours" in await row.inner_text()
    assert await row.locator(".badge:text('Default')").count() == 1
    saved = await store["sla_policies"].find_one({"name": "Events desk"})
    assert saved["business_hours_id"] == hours.id and saved["default"] is True
    urgent = {k: v for k, v in saved["targets"]["urgent"].items() if v}
    assert urgent == {"first_response": 15, "resolution": 240}
    assert await form.get_by_label("Name").input_value() == ""  # saved: empty for the next one
    await screenshot(page, "console-settings-sla")

    # inboxes: support hours saved as the hub checks them (a malformed one refused, the text kept); the
    # bot switch shows the hub's refusal on a hub running without the bot
    await page.click("#settings-tab-inboxes")
    voice = page.locator('#inboxes-list [data-inbox="voice"]')
    await voice.get_by_label("Support hours", exact=True).fill("weekdays 8 till late")
    await voice.get_by_role("button", name="Save the support hours of Voice").click()
    await page.wait_for_selector("#settings-error:has-text('not like')")
    assert await voice.get_by_label("Support hours", exact=True).input_value() == "weekdays 8 till late"
    await voice.get_by_label("Support hours", exact=True).fill("Mon-Fri 08:00-17:00; Sat 09:00-13:00")
    await voice.get_by_label("Time zone").fill("Africa/Johannesburg")
    await voice.get_by_role("button", name="Save the support hours of Voice").click()
    await page.wait_for_selector("#settings-notice:has-text('Voice saved.')")
    stored = await store["channel_inboxes"].find_one({"_id": "voice"})
    assert (stored["business_hours"], stored["timezone"]) == ("Mon-Fri 08:00-17:00; Sat 09:00-13:00",
                                                             "Africa/Johannesburg")
    # another admin changes the inbox meanwhile: this page's save (the whole inbox) is refused, not
    # written over theirs
    await store["channel_inboxes"].update_one({"_id": "voice"}, {"$set": {"greeting": "Hello from admin 2"}})
    await voice.get_by_label("Support hours", exact=True).fill("Mon-Fri 07:00-18:00")
    await voice.get_by_role("button", name="Save the support hours of Voice").click()
    await page.wait_for_selector("#settings-error:has-text('another admin changed this')")
    stored = await store["channel_inboxes"].find_one({"_id": "voice"})
    assert (stored["greeting"], stored["business_hours"]) == ("Hello from admin 2",
                                                              "Mon-Fri 08:00-17:00; Sat 09:00-13:00")
    await page.get_by_role("button", name="Turn the bot on for Web chat").click()
    await page.wait_for_selector("#settings-error:has-text('the bot is off on this hub')")
    await screenshot(page, "console-settings-inboxes")
    assert page.errors == []


async def test_business_hours_rule_and_retention_written_with_refusals_shown(new_page, hub_url,
                                                                             hub: Any) -> None:
    store = hub.server.app[keys.STORE]
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Zanele", Role.admin))
    await page.goto(f"{hub_url}/console/settings/hours")
    form = page.locator("#hours-form")
    await form.get_by_label("Name").fill("Harbour office")
    await form.get_by_label("Time zone").fill("Africa/Johannesburg")
    await form.get_by_label("Monday").fill("08:00-17:00")
    await form.get_by_label("Tuesday").fill("08:00-12:00, 13:00-17:00")
    await form.get_by_label("Holidays").fill("2026-12-25 2026-12-26")
    await form.get_by_role("button", name="Create").click()
    row = page.locator("#hours-table tr:has-text('Harbour office')")
    await row.locator(":text('Tuesday: 08:00–12:00, 13:00–17:00')").wait_for()
    saved = await store["business_hours"].find_one({"name": "Harbour office"})
    assert saved["timezone"] == "Africa/Johannesburg" and set(saved["week"]) == {"mon", "tue"}
    assert len(saved["holidays"]) == 2

    # a rule written as JSON: text that is not JSON, then a condition the hub refuses (its reason
    # shown, the form kept), then saved, listed readably and switched off
    await page.click("#settings-tab-rules")
    form = page.locator("#rule-form")
    await form.get_by_label("Name").fill("Refunds")
    rule_json = form.get_by_label("Trigger, conditions and actions (JSON)")
    await rule_json.fill('{"trigger": {"type": "message.created"},')
    await form.get_by_role("button", name="Create").click()
    await page.wait_for_selector("#settings-error:has-text('Not valid JSON')")
    refused = ('{"trigger": {"type": "message.created"}, "conditions": [{"field": "mood", "op": "eq",'
               ' "value": "angry"}], "actions": [{"type": "add_tag", "params": {"tag": "refund"}}]}')
    await rule_json.fill(refused)
    await form.get_by_role("button", name="Create").click()
    await page.wait_for_selector("#settings-error:has-text(\"unknown field 'mood'\")")
    assert await rule_json.input_value() == refused  # the form keeps what was typed
    assert await form.get_by_label("Name").input_value() == "Refunds"
    assert await store["automation_rules"].count_documents({"name": "Refunds"}) == 0
    await rule_json.fill(refused.replace('"mood", "op": "eq", "value": "angry"',
                                         '"text", "op": "contains", "value": "refund"'))
    await form.get_by_role("button", name="Create").click()
    row = page.locator("#rules-table tr:has-text('Refunds')")
    await row.locator(":text('text contains refund')").wait_for()
    assert "A message arrives" in await row.inner_text() and "Add tag (tag: refund)" in await row.inner_text()
    assert (await store["automation_rules"].find_one({"name": "Refunds"}))["enabled"] is True
    await page.get_by_role("button", name="Disable Refunds").click()
    await row.locator(".badge:text('Disabled')").wait_for()
    assert (await store["automation_rules"].find_one({"name": "Refunds"}))["enabled"] is False
    # an edit opened, then another admin changes the rule: this page's save is refused with the hub's
    # reason (not written over theirs), and the form keeps what was typed
    await page.get_by_role("button", name="Edit Refunds").click()
    await form.locator("h3:text-is('Edit rule Refunds')").wait_for()
    await form.get_by_label("Name").fill("Refunds desk")
    await store["automation_rules"].update_one({"name": "Refunds"}, {"$set": {"order": 7}})
    await form.get_by_role("button", name="Save").click()
    await page.wait_for_selector("#settings-error:has-text('another admin changed this')")
    assert await form.get_by_label("Name").input_value() == "Refunds desk"
    assert (await store["automation_rules"].find_one({"order": 7}))["name"] == "Refunds"
    await form.get_by_role("button", name="Cancel").click()
    await screenshot(page, "console-settings-rules")

    # retention: past the hub's limit is refused with that limit, the number kept; then saved
    await page.click("#settings-tab-privacy")
    audit = page.locator("#retention-form").get_by_label("Audit log (days)")
    await audit.fill("40000")
    await page.locator("#retention-form").get_by_role("button", name="Save").click()
    await page.wait_for_selector("#settings-error:has-text('36500')")
    assert await audit.input_value() == "40000"
    await audit.fill("400")
    await page.locator("#retention-form").get_by_role("button", name="Save").click()
    await page.wait_for_selector("#settings-notice:has-text('Retention saved.')")
    assert (await store["retention_policies"].find_one({"_id": "current"}))["audit"] == 400
    assert await audit.input_value() == "400"
    await screenshot(page, "console-settings-privacy")
    assert page.errors == []


async def test_edit_conflict_shows_theirs_beside_mine_then_use_theirs_or_keep_mine(new_page, hub_url,
                                                                                   hub: Any) -> None:
    """A save refused with 412 (another admin changed the item) shows their version beside what was
    typed: "Use theirs" shows it and saves over it; "Keep mine and save" saves what was typed with the
    new ETag, leaving their change of what the form does not edit (the inbox's greeting) as it is."""
    store = hub.server.app[keys.STORE]
    canned = CannedResponse(shortcut="deposit", title="Deposit", text="The deposit is 30%.")
    await store["canned_responses"].insert_one({**canned.model_dump(exclude={"id"}), "_id": canned.id})
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Ayanda", Role.admin))
    await page.goto(f"{hub_url}/console/settings/canned")
    await page.get_by_role("button", name="Edit /deposit").click()
    form = page.locator("#canned-form")
    await form.locator("h3:has-text('Edit /deposit')").wait_for()
    await form.get_by_label("Title").fill("Deposit (mine)")
    await store["canned_responses"].update_one({"_id": canned.id}, {"$set": {"text": "The deposit is 50%."}})
    await form.get_by_role("button", name="Save").click()
    await page.wait_for_selector("#settings-error:has-text('another admin changed this')")
    box = page.locator("#canned-form-conflict")
    assert await box.locator("tbody tr").count() == 1  # the one field they changed
    row = box.locator("tr[data-field=text]")
    assert (await row.locator(".theirs").inner_text(), await row.locator(".mine").inner_text()) == (
        "The deposit is 50%.", "Not changed by you: theirs is kept")
    assert await form.get_by_label("Title").input_value() == "Deposit (mine)"  # kept until chosen
    assert (await store["canned_responses"].find_one({"_id": canned.id}))["title"] == "Deposit"
    await screenshot(page, "console-settings-conflict")
    await box.get_by_role("button", name="Use theirs").click()
    await page.wait_for_selector("#settings-notice:has-text('Their version is shown')")
    assert await form.get_by_label("Text").input_value() == "The deposit is 50%."
    assert await form.get_by_label("Title").input_value() == "Deposit"
    await form.get_by_label("Title").fill("Deposit terms")
    await form.get_by_role("button", name="Save").click()  # read with their ETag: no 412
    await page.wait_for_selector("#canned-table tr:has-text('Deposit terms')")
    saved = await store["canned_responses"].find_one({"_id": canned.id})
    assert (saved["title"], saved["text"]) == ("Deposit terms", "The deposit is 50%.")

    # the same box on an inbox card (a PUT of the whole inbox): keep mine saves the typed hours over
    # their version, so their greeting stays
    await page.click("#settings-tab-inboxes")
    sms = page.locator('#inboxes-list [data-inbox="sms"]')
    await sms.get_by_label("Support hours", exact=True).fill("Mon-Fri 09:00-16:00")
    await store["channel_inboxes"].update_one({"_id": "sms"}, {"$set": {"greeting": "Sawubona from admin 2"}},
                                              upsert=True)
    await sms.get_by_role("button", name="Save the support hours of SMS").click()
    await page.wait_for_selector("#settings-error:has-text('another admin changed this')")
    row = page.locator("#inbox-sms-form-conflict tr[data-field=greeting]")
    assert (await row.locator(".theirs").inner_text(), await row.locator(".mine").inner_text()) == (
        "Sawubona from admin 2", "Not changed by you: theirs is kept")
    await page.locator("#inbox-sms-form-conflict").get_by_role("button", name="Keep mine and save").click()
    await page.wait_for_selector("#settings-notice:has-text('SMS saved.')")
    stored = await store["channel_inboxes"].find_one({"_id": "sms"})
    assert (stored["greeting"], stored["business_hours"]) == ("Sawubona from admin 2", "Mon-Fri 09:00-16:00")
    assert await page.locator("#inbox-sms-form-conflict").count() == 0
    assert page.errors == []


async def test_keep_mine_saves_only_the_fields_this_admin_changed_over_theirs(new_page, hub_url,
                                                                               hub: Any) -> None:
    """A three-way merge: "Keep mine and save" sends their version with only the fields this admin
    changed from the item as first loaded (a rule's name; not its order and actions, which the other
    admin changed meanwhile; a calendar's name, not its holidays). The list then shows what was saved."""
    store = hub.server.app[keys.STORE]
    rule = Rule(name="Deposit checks", order=100, trigger={"type": "message.created"},
                actions=[{"type": "add_tag", "params": {"tag": "refund"}}])
    await store["automation_rules"].insert_one(rule.to_doc())
    hours = BusinessHours(name="Branch", timezone="Africa/Johannesburg", week={"mon": [("08:00", "17:00")]})
    await store["business_hours"].insert_one(hours.to_doc())
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Naledi", Role.admin))
    await page.goto(f"{hub_url}/console/settings/rules")
    await page.get_by_role("button", name="Edit Deposit checks", exact=True).click()
    form = page.locator("#rule-form")
    await form.locator("h3:has-text('Deposit checks')").wait_for()
    await form.get_by_label("Name").fill("Deposit questions")
    await store["automation_rules"].update_one({"_id": rule.id}, {"$set": {
        "order": 5, "actions": [{"type": "add_tag", "params": {"tag": "money"}}]}})
    await form.get_by_role("button", name="Save").click()
    await page.wait_for_selector("#settings-error:has-text('another admin changed this')")
    assert "ETag" not in await page.locator("#settings-error").inner_text()
    box = page.locator("#rule-form-conflict")
    assert sorted(await box.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.field)")) == [
        "actions", "order"]
    order = box.locator("tr[data-field=order]")
    assert await order.get_attribute("data-changed") == "theirs"
    assert await order.locator(".mine").inner_text() == "Not changed by you: theirs is kept"
    name_box = await order.locator("th .name").bounding_box()  # the field's name on one line
    assert name_box and name_box["height"] < 30
    await box.get_by_role("button", name="Keep mine and save").click()
    await page.wait_for_selector("#rules-table tr:has-text('Deposit questions')")
    saved = await store["automation_rules"].find_one({"_id": rule.id})
    assert (saved["name"], saved["order"]) == ("Deposit questions", 5)
    assert saved["actions"][0]["params"] == {"tag": "money"}
    assert await page.locator("#rules-table tr:has-text('Deposit questions')", has_text="#5").count() == 1

    await page.click("#settings-tab-hours")
    await page.get_by_role("button", name="Edit Branch", exact=True).click()
    form = page.locator("#hours-form")
    await form.locator("h3:has-text('Branch')").wait_for()
    await form.get_by_label("Name").fill("Branch Durban")
    await store["business_hours"].update_one({"_id": hours.id}, {"$set": {"holidays": ["2026-12-25"]}})
    await form.get_by_role("button", name="Save").click()
    box = page.locator("#hours-form-conflict")
    await box.wait_for()
    assert await box.locator("tbody tr").count() == 1
    await box.get_by_role("button", name="Keep mine and save").click()
    await page.wait_for_selector("#hours-table tr:has-text('Branch Durban')")
    saved = await store["business_hours"].find_one({"_id": hours.id})
    assert (saved["name"], [str(d)[:10] for d in saved["holidays"]]) == ("Branch Durban", ["2026-12-25"])
    assert await page.locator("#hours-table tr:has-text('Branch Durban')", has_text="2026-12-25").count() == 1
    assert page.errors == []


async def test_run_retention_now_asks_first_then_shows_what_it_removed(new_page, hub_url, hub: Any) -> None:
    store = hub.server.app[keys.STORE]
    old = utcnow() - timedelta(days=400)
    await store["dead_letters"].delete_many({"created_at": {"$lt": utcnow() - timedelta(days=90)}})
    await store["dead_letters"].insert_many([{"_id": new_id(), "created_at": old} for _ in range(2)])
    page = await new_page()
    await sign_in(page, hub_url, await make_agent(hub, "Lerato", Role.admin))
    await page.goto(f"{hub_url}/console/settings/privacy")
    run = page.get_by_role("button", name="Run retention now")
    page.once("dialog", lambda dialog: dialog.dismiss())
    await run.click()
    await page.wait_for_timeout(300)
    assert await store["dead_letters"].count_documents({"created_at": old}) == 2  # not confirmed: nothing run
    # a run going (here: another node's claim) is refused with the hub's reason
    await store["retention_runs"].insert_one({"_id": "running", "started_at": utcnow(), "token": "other"})
    page.once("dialog", lambda dialog: dialog.accept())
    await run.click()
    await page.wait_for_selector("#settings-error:has-text('already going')")
    assert await store["dead_letters"].count_documents({"created_at": old}) == 2
    await store["retention_runs"].delete_one({"_id": "running"})
    page.once("dialog", lambda dialog: dialog.accept())
    await run.click()
    await page.wait_for_selector("#settings-notice:has-text('Retention run done.')")
    counts = page.locator("#retention-run-counts")
    unusable = "Unusable inbound channel messages: 2 deleted"  # dead_letters: not jobs
    assert await counts.locator("[data-kind=dead_letters]").inner_text() == unusable
    kept = "Message text: kept (0 days: no limit)"
    assert await counts.locator("[data-kind=messages]").inner_text() == kept
    await screenshot(page, "console-settings-retention-run")
    assert await store["dead_letters"].count_documents({"created_at": old}) == 0
    entry = await store.audit_log.find_one({"action": "privacy.retention.run"}, sort=[("at", -1)])
    assert entry is not None and entry["after"]["done"]["dead_letters"] == 2
    assert page.errors == []
