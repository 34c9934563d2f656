"""The supervisor's bot switch per inbox, in real Chromium, on a hub whose bot is on (the Rasa
engine: a client only, no server needed, since no customer writes here)."""

from __future__ import annotations

from typing import Any

import pytest

from hub import keys
from hub.models import Role

from .test_console import make_agent, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hub_settings_extra() -> dict[str, Any]:
    return {"bot_engine": "rasa", "rasa_url": "http://127.0.0.1:9"}


async def test_a_supervisor_switches_the_bot_off_and_on_for_an_inbox(new_page, hub_url, hub) -> None:
    service = hub.server.app[keys.EXTENSIONS]["bot"]
    boss = await make_agent(hub, "Nomsa", Role.supervisor)
    page = await new_page()
    await sign_in(page, hub_url, boss)
    await page.click("#view-supervisor")
    await page.wait_for_selector("#bot-inboxes input[data-inbox=whatsapp]")
    box = {inbox: page.locator(f"#bot-inboxes input[data-inbox={inbox}]") for inbox in ("whatsapp", "email")}
    assert await box["whatsapp"].is_checked() and not await box["email"].is_checked()  # BERRY_BOT_INBOXES
    await box["whatsapp"].uncheck()
    await page.wait_for_selector("#bot-inboxes input[data-inbox=whatsapp]:not(:checked):not([disabled])")
    assert "whatsapp" not in service.inboxes
    assert await hub.server.app[keys.STORE]["bot_inboxes"].find_one({"_id": "whatsapp"}) == {
        "_id": "whatsapp", "enabled": False}
    await page.locator("#bot-inboxes input[data-inbox=whatsapp]").check()
    await page.wait_for_selector("#bot-inboxes input[data-inbox=whatsapp]:checked:not([disabled])")
    assert "whatsapp" in service.inboxes
    assert await page.locator("#bot-inboxes .error").text_content() == ""
    assert page.errors == []


async def test_the_handoff_banner_shows_what_the_bot_learnt_live_and_after_a_reload(new_page, hub_url,
                                                                                    hub) -> None:
    from hub.events import BotHandoff

    from .test_console import inbound

    app = hub.server.app
    email = await make_agent(hub, "Lindiwe")
    page = await new_page()
    await sign_in(page, hub_url, email)
    await page.click("#view-all")
    created = await inbound(hub, "refund my R8k deposit for BE-10234", name="Sizwe Dube", channel="email",
                            kind="email", value="sizwe@example.co.za")  # an inbox the bot leaves alone
    conversation_id = created["conversation"]["id"]
    bot_state = {"active": False, "intents": [{"intent": "refund_request", "confidence": 0.91}],
                 "entities": {"booking_ref": "BE-10234", "amount": "R 8 000"}, "articles": ["kb-refund"],
                 "handoff": {"reason": "refund_over_limit"}}
    await app[keys.STORE].conversations.update_one({"_id": conversation_id}, {"$set": {"bot": bot_state}})
    conversation = await app[keys.CONVERSATIONS].get(conversation_id)
    summary = {"reason": "refund_over_limit", "intents": ["refund_request"],
               "entities": bot_state["entities"],
               "articles": ["kb-refund"], "article_titles": {"kb-refund": "How refunds work"}}
    await app[keys.BUS].publish(BotHandoff(conversation=conversation, reason="refund_over_limit",
                                           summary=summary))
    item = page.locator(f'#inbox-list li.handoff[data-id="{conversation_id}"]')
    await item.wait_for()
    await item.click()
    banner = page.locator("#handoff")
    await banner.wait_for()
    text = await banner.text_content()
    assert "Intents: refund_request" in text and "booking ref BE-10234" in text and "amount R 8 000" in text
    assert "Articles offered: How refunds work" in text
    await page.reload()  # no event now: the conversation's own bot state (no note here: article ids)
    await page.click("#view-all")
    await page.locator(f'#inbox-list li.handoff[data-id="{conversation_id}"]').click()
    await page.locator("#handoff").wait_for()
    text = await page.locator("#handoff").text_content()
    assert "Intents: refund_request" in text and "amount R 8 000" in text and "kb-refund" in text
    # the bot's private handoff note carries the summary with the titles: the banner reads it first
    from hub.auth import Principal
    from hub.models import AuthorType

    bot = Principal(role=Role.admin, user_id="bot", name="Berry bot")
    await app[keys.CONVERSATIONS].reply(conversation_id, bot, "Bot handoff: refund_over_limit", private=True,
                                        author_type=AuthorType.bot, meta={"bot_summary": summary})
    await page.reload()
    await page.click("#view-all")
    await page.locator(f'#inbox-list li.handoff[data-id="{conversation_id}"]').click()
    await page.locator("#handoff:has-text('How refunds work')").wait_for()
    assert page.errors == []
