"""The embeddable chat widget in real Chromium: a host page loads /chat/widget.js, the visitor
chats, an agent's reply arrives live, history survives a reload, message text never runs as HTML."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub import keys
from hub.models import Role
from tests.browser.conftest import browser, new_page, screenshot  # noqa: F401  (fixtures)

from .conftest import run_jobs

pytestmark = pytest.mark.browser


async def test_widget_chat_in_chromium(client: TestClient[Any, Any], new_page: Any) -> None:  # noqa: F811
    from tests.conftest import Api

    from .test_webchat import agent_online
    await agent_online(client)
    admin = (await Api(client).user(Role.admin))["headers"]
    resp = await client.put("/api/v1/channels/inboxes/webchat", headers=admin,
                            json={"greeting": "Sawubona! Ask us about venues, DJs and catering."})
    assert resp.status == 200
    hub_url = str(client.make_url("/")).rstrip("/")
    page = await new_page(width=900, height=700)
    await page.goto(hub_url + "/chat/demo")
    await page.get_by_role("button", name="Open support chat").click()
    await page.locator(".berry-chat-status").filter(has_text="We're online").wait_for()
    await page.locator(".berry-chat-agent").filter(has_text="Sawubona! Ask us about venues").wait_for()
    await page.get_by_label("Message").fill("Can I book a jumping castle for Sunday?")
    await page.get_by_role("button", name="Send").click()
    await page.locator(".berry-chat-mine").filter(has_text="jumping castle").wait_for()
    store = client.server.app[keys.STORE]
    doc = await store.messages.find_one({"channel": "webchat"})
    assert doc["text"] == "Can I book a jumping castle for Sunday?" and doc["meta"]["page"] == "/chat/demo"
    agent = (await Api(client).user(Role.agent))["headers"]
    hostile = '<img src=x onerror="document.title=\'pwned\'"> Yes, we have one!'
    await client.post(
        f"/api/v1/conversations/{doc['conversation_id']}/messages", json={"text": hostile}, headers=agent
    )
    await run_jobs(client)
    bubble = page.locator(".berry-chat-agent").filter(has_text="Yes, we have one!")
    await bubble.wait_for()
    assert await bubble.inner_text() == hostile and await page.title() != "pwned"
    await screenshot(page, "chat-widget")
    await page.reload()
    await page.get_by_role("button", name="Open support chat").click()
    await page.locator(".berry-chat-agent").filter(has_text="Yes, we have one!").wait_for()
    assert await page.locator(".berry-chat-mine").count() == 1  # history, not duplicated
    assert page.errors == []
    assert await store.contacts.count_documents({}) == 1  # the same visitor after the reload


async def test_the_bots_choices_are_buttons_that_send_their_text(client: TestClient[Any, Any],
                                                                 new_page: Any) -> None:  # noqa: F811
    from bot.service import BOT
    from hub.models import AuthorType

    from .test_webchat import agent_online
    await agent_online(client)
    app = client.server.app
    page = await new_page(width=900, height=700)
    await page.goto(str(client.make_url("/chat/demo")))
    await page.get_by_role("button", name="Open support chat").click()
    await page.get_by_label("Message").fill("the party got cancelled so where is my money")
    await page.get_by_role("button", name="Send").click()
    await page.locator(".berry-chat-mine").filter(has_text="where is my money").wait_for()
    first = await app[keys.STORE].messages.find_one({"channel": "webchat"})
    hostile = '<img src=x onerror="document.title=\'pwned\'">'
    buttons = [{"title": "Getting a refund", "payload": "/refund_request"},
               {"title": hostile, "payload": "/x"}, {"title": "Something else: a person, please",
                                                     "payload": "/request_human"}]
    text = ("Refunds: https://help.berry.example/refunds. Not a link: javascript:alert(1)\n"
            "Is it about one of these?")
    await app[keys.CONVERSATIONS].reply(first["conversation_id"], BOT, text,
                                        author_type=AuthorType.bot, meta={"bot": True, "buttons": buttons})
    await run_jobs(client)
    # an http(s) address is a link (without the sentence's full stop); nothing else is markup
    bubble = page.locator(".berry-chat-agent").filter(has_text="Is it about one of these?")
    await bubble.wait_for()
    assert await bubble.inner_text() == text
    links = bubble.locator("a")
    assert await links.count() == 1 and await links.get_attribute("href") == "https://help.berry.example/refunds"
    choices = page.locator(".berry-chat-choices button")
    await choices.first.wait_for()
    assert await choices.all_inner_texts() == [b["title"] for b in buttons]  # text, never HTML
    # still open after a reload: the history brings the latest message's choices back
    await page.reload()
    await page.get_by_role("button", name="Open support chat").click()
    await choices.first.wait_for()
    assert await choices.count() == 3
    await choices.filter(has_text="Getting a refund").click()
    await page.locator(".berry-chat-mine").filter(has_text="Getting a refund").wait_for()
    assert await page.locator(".berry-chat-choices").count() == 0  # answered: the choices are gone
    sent = [d["text"] async for d in app[keys.STORE].messages.find({"direction": "in"}).sort("created_at", 1)]
    assert sent == ["the party got cancelled so where is my money", "Getting a refund"]
    # a reload shows the history; the choices were answered, so they do not come back
    await page.reload()
    await page.get_by_role("button", name="Open support chat").click()
    await page.locator(".berry-chat-mine").filter(has_text="Getting a refund").wait_for()
    assert await page.locator(".berry-chat-choices").count() == 0
    assert await page.title() != "pwned" and page.errors == []
