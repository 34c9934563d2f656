"""End to end through real channels: a customer writes through the web-chat widget (in its own
Chromium page) and through a signed Twilio SMS webhook; the agent sees each within a second without
reloading, replies, and the customer receives the reply (the widget shows it; the Twilio stand-in
gets the outbound SMS through the outbox)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC, SMS_FROM, post_signed, sms_form
from tests.integration.channels.standin import TwilioStandIn

from .conftest import screenshot
from .test_console import make_agent, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def standin() -> AsyncIterator[TwilioStandIn]:
    server = TwilioStandIn(ACCOUNT_SID, AUTH_TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def hub_settings_extra(standin: TwilioStandIn) -> dict[str, Any]:
    return {"inline_worker": True, "public_url": PUBLIC, "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN, "twilio_api_base": standin.url, "twilio_sms_from": SMS_FROM}


async def test_web_chat_customer_and_agent_talk_live(new_page, hub_url, hub) -> None:
    agent = await new_page()
    await sign_in(agent, hub_url, await make_agent(hub, "Zanele"))
    await agent.click("#view-all")
    customer = await new_page(width=420, height=700)
    await customer.goto(f"{hub_url}/chat/demo")
    await customer.click('#berry-chat button[aria-label="Open support chat"]')
    await customer.fill('#berry-chat input[name="message"]', "Hi! Do you have a jumping castle for Sunday?")
    await customer.press('#berry-chat input[name="message"]', "Enter")
    item = agent.locator("#inbox-list li.item:has-text('jumping castle')")
    await item.wait_for(timeout=1000)  # live, no reload, within a second
    await item.click()
    await agent.wait_for_selector("#messages .msg.in:has-text('jumping castle')")
    await agent.fill("#reply-text", "We do — the big one is free on Sunday.")
    await agent.click("#send")
    await customer.wait_for_selector(".berry-chat-agent:has-text('big one is free')", timeout=10000)
    await screenshot(agent, "console-webchat")
    assert agent.errors == []


async def test_signed_sms_webhook_reaches_the_agent_and_the_reply_reaches_twilio(new_page, hub_url, hub,
                                                                                 standin) -> None:
    agent = await new_page()
    await sign_in(agent, hub_url, await make_agent(hub, "Sipho"))
    await agent.click("#view-all")
    form = sms_form(Body="Can the photographer arrive at 9 instead of 10?", From="+27825550123")
    resp = await post_signed(hub, "/webhooks/twilio/sms", form)
    assert resp.status == 200, await resp.text()
    item = agent.locator("#inbox-list li.item:has-text('photographer')")
    await item.wait_for(timeout=1000)
    await item.click()
    await agent.fill("#reply-text", "Yes, 9 is fine — see you then!")
    await agent.click("#send")
    for _ in range(100):  # the outbox worker sends it through the Twilio REST API (stand-in)
        sent = [m for m in standin.messages.values() if m.get("body") == "Yes, 9 is fine — see you then!"]
        if sent:
            break
        await asyncio.sleep(0.1)
    assert sent and sent[0]["to"] == "+27825550123"
    assert agent.errors == []
