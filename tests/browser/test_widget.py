"""The chat widget in real Chromium against the real hub: a message the hub refuses is never
silently dropped (a rate-limited one waits in the transcript, marked, and is delivered in order by
itself or with "Retry"; a too-long one goes back to the input with the hub's reason), and the
widget speaks en/af/zu (``data-lang``, else the browser's language, else English)."""

from __future__ import annotations

from typing import Any

import pytest

from hub import keys
from hub.models import Channel, new_id

pytestmark = pytest.mark.browser

OPEN = "Open support chat"


async def open_widget(page: Any, url: str, opener: str = OPEN, ready: str = "We're") -> None:
    await page.goto(url)
    await page.get_by_role("button", name=opener).click()
    await page.locator(".berry-chat-status").filter(has_text=ready).wait_for()  # the session began


async def send_all(page: Any, texts: list[str]) -> None:
    box = page.get_by_label("Message")
    for text in texts:  # as fast as a visitor can type and press Enter
        await box.fill(text)
        await box.press("Enter")


async def received(hub: Any, tag: str) -> list[str]:
    """The visitor's messages the hub stored, oldest first."""
    docs = hub.server.app[keys.STORE].messages.find({"channel": "webchat", "direction": "in"})
    return [d["text"] async for d in docs.sort("created_at", 1) if d["text"].startswith(tag)]


async def test_rate_limited_messages_stay_and_are_sent_in_order_when_the_limit_allows(
        hub: Any, hub_url: str, new_page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from channels.webchat import namespace
    monkeypatch.setattr(namespace, "RATE", (3, 3.0))  # 3 per 3 s (the hub's is 10 per 10 s)
    page = await new_page(width=900, height=700)
    await open_widget(page, hub_url + "/chat/demo")
    tag = f"burst {new_id()[-6:]}"
    texts = [f"{tag} #{i}" for i in range(6)]
    await send_all(page, texts)
    # the 4th was refused (429): it stays in the transcript, says so, and offers "Retry"
    await page.locator(".berry-chat-note").filter(has_text="Not sent — trying again in").wait_for()
    await page.get_by_role("button", name="Retry").wait_for()
    assert await page.locator(".berry-chat-pending").filter(has_text=f"{tag} #3").count() == 1
    assert await page.get_by_label("Message").input_value() == ""
    # ... and all six arrive, in the order typed, once the limit allows (no click needed)
    await page.locator(".berry-chat-mine").filter(has_text=f"{tag} #5").wait_for(timeout=20000)
    assert await page.locator(".berry-chat-mine").all_inner_texts() == texts
    assert await page.locator(".berry-chat-pending, .berry-chat-failed").count() == 0
    assert await received(hub, tag) == texts
    assert page.errors == []


async def test_retry_sends_a_refused_message_at_once(hub: Any, hub_url: str, new_page: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from channels.webchat import namespace
    monkeypatch.setattr(namespace, "RATE", (2, 60.0))
    page = await new_page(width=900, height=700)
    await open_widget(page, hub_url + "/chat/demo")
    tag = f"retry {new_id()[-6:]}"
    texts = [f"{tag} #{i}" for i in range(4)]
    await send_all(page, texts)
    await page.get_by_role("button", name="Retry").wait_for()
    assert await page.locator(".berry-chat-mine").count() == 2
    assert await page.locator(".berry-chat-pending").all_inner_texts() == texts[2:]  # kept, in order
    assert await received(hub, tag) == texts[:2]
    monkeypatch.setattr(namespace, "RATE", (10, 10.0))  # the limit is lifted long before the countdown ends
    await page.get_by_role("button", name="Retry").click()
    await page.locator(".berry-chat-mine").filter(has_text=f"{tag} #3").wait_for(timeout=5000)
    assert await page.locator(".berry-chat-mine").all_inner_texts() == texts
    assert await received(hub, tag) == texts
    assert page.errors == []


async def test_a_message_refused_for_good_goes_back_to_the_input_with_the_reason(
        hub: Any, hub_url: str, new_page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = hub.server.app[keys.EXTENSIONS]["channels"].registry[Channel.webchat]
    monkeypatch.setattr(adapter, "max_chars", 40)  # the input's own limit (4000) keeps longer ones out
    page = await new_page(width=900, height=700)
    await open_widget(page, hub_url + "/chat/demo")
    tag = f"long {new_id()[-6:]}"
    text = f"{tag} " + "we need a marquee for two hundred guests on Saturday"
    await send_all(page, [text])
    reason = "Not sent: the message is longer than 40 characters"  # the hub's limit, in the widget's words
    await page.locator(".berry-chat-status").filter(has_text=reason).wait_for()
    box = page.get_by_label("Message")
    assert await box.input_value() == text  # to edit, not lost
    assert await page.locator(".berry-chat-pending, .berry-chat-mine").count() == 0
    await box.fill(f"{tag} marquee, 200 guests, Sat")
    await box.press("Enter")
    await page.locator(".berry-chat-mine").filter(has_text="marquee, 200 guests").wait_for()
    assert await received(hub, tag) == [f"{tag} marquee, 200 guests, Sat"]
    assert page.errors == []


async def test_a_refusal_is_said_in_the_visitor_s_language(
        hub: Any, hub_url: str, new_page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = hub.server.app[keys.EXTENSIONS]["channels"].registry[Channel.webchat]
    monkeypatch.setattr(adapter, "max_chars", 40)
    page = await new_page(width=900, height=700, locale="af-ZA")
    await open_widget(page, hub_url + "/chat/demo", opener="Maak die hulpklets oop", ready="Ons is")
    box = page.get_by_label("Boodskap")
    await box.fill("Ons soek 'n tent vir tweehonderd gaste op Saterdag, asseblief")
    await box.press("Enter")
    # was: "Nie gestuur nie: message longer than 40 characters", the hub's English
    reason = "Nie gestuur nie: die boodskap is langer as 40 karakters"
    await page.locator(".berry-chat-status").filter(has_text=reason).wait_for()
    assert page.errors == []


async def test_the_widget_speaks_afrikaans_with_data_lang(hub: Any, hub_url: str, new_page: Any) -> None:
    page = await new_page(width=900, height=700, locale="en-US")  # data-lang wins over the browser
    await open_widget(page, hub_url + "/chat/demo?lang=af", opener="Maak die hulpklets oop", ready="Ons is")
    assert await page.locator("#berry-chat").get_attribute("lang") == "af"
    status = await page.locator(".berry-chat-status").inner_text()
    assert status in ("Ons is aanlyn", "Ons is vanlyn — ons antwoord per e-pos"), status
    box = page.get_by_label("Boodskap")
    assert await box.get_attribute("placeholder") == "Tik 'n boodskap…"
    tag = f"af {new_id()[-6:]}"
    await box.fill(f"{tag} Het julle 'n springkasteel?")
    await page.get_by_role("button", name="Stuur", exact=True).click()
    await page.locator(".berry-chat-mine").filter(has_text="springkasteel").wait_for()
    assert await page.get_by_role("button", name="Send", exact=True).count() == 0
    assert page.errors == []


@pytest.mark.parametrize(("locale", "send"), [("zu-ZA", "Thumela"), ("af", "Stuur"), ("fr-FR", "Send")])
async def test_without_data_lang_the_browsers_language_then_english(hub: Any, hub_url: str, new_page: Any,
                                                                    locale: str, send: str) -> None:
    page = await new_page(width=900, height=700, locale=locale)
    await page.goto(hub_url + "/chat/demo")
    await page.locator("#berry-chat > button").click()  # the launcher
    await page.get_by_role("button", name=send, exact=True).wait_for()
    assert page.errors == []
