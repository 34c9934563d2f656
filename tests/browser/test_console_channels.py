"""End to end through real channels: a customer writes through the web-chat widget (in its own
Chromium page) and through a signed Twilio SMS webhook; the agent sees each within a second without
reloading, replies, and the customer receives the reply (the widget shows it; the Twilio stand-in
gets the outbound SMS through the outbox)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from hub.models import utcnow
from tests.integration.channels.conftest import (  # noqa: F401
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC,
    SMS_FROM,
    TEMPLATE_SID,
    WA_FROM,
    post_signed,
    sms_form,
    smtp_sink,
)
from tests.integration.channels.standin import TwilioStandIn

from .conftest import screenshot
from .test_console import inbound, make_agent, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def standin() -> AsyncIterator[TwilioStandIn]:
    server = TwilioStandIn(ACCOUNT_SID, AUTH_TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def hub_settings_extra(standin: TwilioStandIn, smtp_sink: tuple[int, Any]) -> dict[str, Any]:  # noqa: F811
    return {"inline_worker": True, "public_url": PUBLIC, "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN, "twilio_api_base": standin.url, "twilio_sms_from": SMS_FROM,
            "twilio_whatsapp_from": WA_FROM, "smtp_host": "127.0.0.1", "smtp_port": smtp_sink[0],
            "email_address": "support@berry.test",
            "whatsapp_templates": [{"name": "follow_up", "content_sid": TEMPLATE_SID,
                                    "body": "Hi {{1}}, we have an update on your booking."}]}


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
    await item.wait_for(timeout=5000)  # live, no reload (latency: bench/console_fanout.py)
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
    await item.wait_for(timeout=5000)
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


async def _eventually(check: Any, seconds: float = 10) -> Any:
    for _ in range(int(seconds * 10)):
        result = check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_email_reply_with_subject_cc_and_an_attached_file(new_page, hub_url, hub, smtp_sink,  # noqa: F811
                                                                tmp_path) -> None:
    agent = await new_page()
    await sign_in(agent, hub_url, await make_agent(hub, "Mpho"))
    await agent.click("#view-all")
    created = await inbound(hub, "Could you send the quote as a PDF?", channel="email", kind="email",
                            value="lindiwe@example.co.za", name="Lindiwe", subject="Quote for 80 guests")
    await agent.goto(f"{hub_url}/console/c/{created['conversation']['id']}")
    await agent.wait_for_selector("#reply-cc")
    assert await agent.input_value("#reply-subject") == "Re: Quote for 80 guests"
    quote = tmp_path / "quote.pdf"
    quote.write_bytes(b"%PDF-1.4 80 guests")
    await agent.set_input_files("#reply-file", str(quote))
    await agent.wait_for_selector("#reply-files li.file:has-text('quote.pdf')")
    await agent.fill("#reply-cc", "planner@example.com")
    await agent.fill("#reply-text", "Quote attached, valid for 30 days.")
    await screenshot(agent, "console-email-reply")
    await agent.click("#send")
    link = "#messages .msg.out:has-text('Quote attached') .attachments a:has-text('quote.pdf')"
    await agent.wait_for_selector(link)
    async with agent.expect_download() as download_info:  # fetched with the agent's token, not a bare link
        await agent.click(link)
    download = await download_info.value
    assert download.suggested_filename == "quote.pdf"
    assert Path(await download.path()).read_bytes() == b"%PDF-1.4 80 guests"  # noqa: ASYNC240  a tiny file
    _, collector = smtp_sink
    raw = await _eventually(
        lambda: next((r for _, _, r in collector.mails if b"valid for 30 days" in r), None)
    )
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Cc"] == "planner@example.com" and mail["Subject"].startswith("Re: Quote for 80 guests")
    assert [(a.get_filename(), a.get_content()) for a in mail.iter_attachments()] == [
        ("quote.pdf", b"%PDF-1.4 80 guests")
    ]
    # an SMS reply has no Cc, and takes files (as MMS media: test_files_on_web_chat_and_sms)
    sms = await inbound(hub, "And for SMS?", phone="+27825550999")
    await agent.goto(f"{hub_url}/console/c/{sms['conversation']['id']}")
    await agent.wait_for_selector("#reply-text")
    assert not await agent.is_disabled("#attach") and await agent.locator("#reply-cc").count() == 0
    assert agent.errors == []


async def test_files_on_web_chat_and_sms(new_page, hub_url, hub, standin, tmp_path) -> None:
    agent = await new_page()
    await sign_in(agent, hub_url, await make_agent(hub, "Lerato"))
    await agent.click("#view-all")
    # the customer sends a photo through the widget
    customer = await new_page(width=420, height=700)
    await send_photo(customer, hub_url, tmp_path / "marquee site.png", "Here is where the marquee goes")
    # the visitor's own file is a link in their bubble at once (a signed /media/ link, no reload)
    mine = customer.locator(
        ".berry-chat-mine:has-text('marquee goes') a.berry-chat-file:has-text('marquee site.png')"
    )
    await mine.wait_for()
    assert "/media/" in (await mine.get_attribute("href") or "")
    item = agent.locator("#inbox-list li.item:has-text('marquee goes')")
    await item.wait_for()
    await item.click()
    their_file = "#messages .msg.in:has-text('marquee goes') .attachments a:has-text('marquee site.png')"
    await agent.wait_for_selector(their_file)
    async with agent.expect_download() as download_info:
        await agent.click(their_file)
    # a tiny file, read after the download finished
    assert Path(  # noqa: ASYNC240
        await (await download_info.value).path()).read_bytes() == b"\x89PNG\r\n\x1a\n marquee site"
    # the agent answers with a PDF: the widget shows a link that opens without signing in
    plan = tmp_path / "layout.pdf"
    plan.write_bytes(b"%PDF-1.4 marquee layout")
    await agent.set_input_files("#reply-file", str(plan))
    await agent.wait_for_selector("#reply-files li.file:has-text('layout.pdf')")
    await agent.fill("#reply-text", "Layout attached")
    # the ticket changes meanwhile (here: its priority): the thread re-renders, the draft and file stay
    await agent.select_option("#priority", "high")
    # the event came
    await agent.wait_for_selector("#inbox-list li.item:has-text('marquee goes') .badge.pr-high")
    assert await agent.input_value("#reply-text") == "Layout attached"
    assert await agent.locator("#reply-files li.file:has-text('layout.pdf')").count() == 1
    await agent.click("#send")
    link = customer.locator(".berry-chat-agent:has-text('Layout attached') a.berry-chat-file")
    await link.wait_for(timeout=10000)
    assert await link.text_content() == "layout.pdf"
    await screenshot(customer, "chat-widget-file")
    href = await link.get_attribute("href")
    assert href.startswith(f"{PUBLIC}/media/")  # the hub's public URL; fetched here on the test server
    body = await customer.evaluate(
        "async (u) => { const r = await fetch(u); return [r.status, await r.text()]; }",
        href.removeprefix(PUBLIC),
    )
    assert body == [200, "%PDF-1.4 marquee layout"]
    # an SMS reply with a photo goes to Twilio with the file as a signed MediaUrl
    form = sms_form(Body="Can you send the venue map?", From="+27825550777", MessageSid="SM" + "7" * 32)
    assert (await post_signed(hub, "/webhooks/twilio/sms", form)).status == 200
    sms_item = agent.locator("#inbox-list li.item:has-text('venue map')")
    await sms_item.wait_for()
    await sms_item.click()
    await agent.wait_for_selector("#messages .msg.in:has-text('venue map')")
    venue = tmp_path / "map.jpg"
    venue.write_bytes(b"\xff\xd8\xff venue map")
    await agent.set_input_files("#reply-file", str(venue))
    await agent.wait_for_selector("#reply-files li.file:has-text('map.jpg')")
    await agent.fill("#reply-text", "Map attached")
    await agent.wait_for_selector("text=MMS with 1 file(s)")  # not counted as SMS segments
    await screenshot(agent, "console-sms-file")
    await agent.click("#send")
    sent = await _eventually(
        lambda: [m for m in standin.messages.values() if m.get("body") == "Map attached"]
    )
    assert sent[0]["num_media"] == "1" and sent[0]["to"] == "+27825550777"
    [media_url] = [r["MediaUrl"] for r in standin.requests if r.get("Body") == ["Map attached"]][0]
    fetched = await hub.get(media_url.removeprefix(PUBLIC))
    assert fetched.status == 200 and await fetched.read() == b"\xff\xd8\xff venue map"
    assert agent.errors == [] and customer.errors == []


async def test_whatsapp_outside_the_window_offers_only_templates(new_page, hub_url, hub, standin) -> None:
    agent = await new_page()
    await sign_in(agent, hub_url, await make_agent(hub, "Naledi"))
    created = await inbound(hub, "Is my booking confirmed?", channel="whatsapp", kind="whatsapp",
                            value="+27825551234", name="Ayanda")
    conversation_id = created["conversation"]["id"]
    await hub.server.app[keys.STORE].messages.update_many(  # the customer last wrote 25 hours ago
        {"conversation_id": conversation_id}, {"$set": {"created_at": utcnow() - timedelta(hours=25)}})
    await agent.goto(f"{hub_url}/console/c/{conversation_id}")
    await agent.wait_for_selector("#channel-hint[data-state=closed]")
    assert await agent.is_disabled("#reply-text")  # free text would be refused by WhatsApp
    await agent.click("#send")  # nothing chosen yet: told, nothing sent
    assert "Choose a template first" in await agent.text_content("#send-status")
    await agent.select_option("#wa-template", TEMPLATE_SID)
    await agent.fill("#wa-templates input.var", "Ayanda")
    assert await agent.text_content("#wa-preview") == "Hi Ayanda, we have an update on your booking."
    await screenshot(agent, "console-whatsapp-template")
    await agent.click("#send")
    await agent.wait_for_selector("#messages .msg.out:has-text('Hi Ayanda, we have an update')")
    sent = await _eventually(
        lambda: [m for m in standin.messages.values() if m.get("content_sid") == TEMPLATE_SID]
    )
    assert sent[0]["to"] == "whatsapp:+27825551234"
    # a note is still free text
    await agent.click("#tab-note")
    assert not await agent.is_disabled("#reply-text")
    assert agent.errors == []



async def test_a_file_sent_before_the_chat_session_begins_waits_for_it(new_page, hub_url, tmp_path) -> None:
    # the visitor's token arrives with the socket's "session" event; a file picked and sent before
    # that (a fast visitor, a slow network) used to be uploaded without one and refused
    customer = await new_page(width=420, height=700)
    held: list[str | bytes] = []
    sockets: list[Any] = []

    def route(page_side: Any) -> None:  # the real hub behind, the session event held back
        server = page_side.connect_to_server()
        sockets.append(page_side)

        def from_server(message: str | bytes) -> None:
            if sockets and '"session"' in str(message) and not held:
                held.append(message)
            else:
                page_side.send(message)

        server.on_message(from_server)
        page_side.on_message(server.send)

    await customer.route_web_socket("**/socket.io/**", route)
    uploads: list[str] = []
    customer.on("request", lambda r: uploads.append(r.url) if r.url.endswith("/chat/attachments") else None)
    await send_photo(customer, hub_url, tmp_path / "stage plan.png", "The stage goes here")
    for _ in range(100):
        if held:
            break
        await customer.wait_for_timeout(100)
    assert held, "the hub never sent the session event"
    await customer.wait_for_timeout(500)
    assert uploads == []  # waiting for the token, not sent without one
    sockets[-1].send(held[0])  # the session begins
    mine = customer.locator(
        ".berry-chat-mine:has-text('stage goes') a.berry-chat-file:has-text('stage plan.png')"
    )
    await mine.wait_for()
    assert len(uploads) == 1
    assert await customer.locator("#berry-chat:has-text('Upload refused')").count() == 0


async def send_photo(customer: Any, hub_url: str, photo: Path, text: str) -> None:
    """Open the demo page's widget and send ``text`` with a small PNG named like ``photo``."""
    await customer.goto(f"{hub_url}/chat/demo")
    await customer.click('#berry-chat button[aria-label="Open support chat"]')
    photo.write_bytes(b"\x89PNG\r\n\x1a\n " + photo.stem.encode())  # noqa: ASYNC240  a few bytes
    await customer.set_input_files('#berry-chat input[type="file"]', str(photo))
    await customer.fill('#berry-chat input[name="message"]', text)
    await customer.press('#berry-chat input[name="message"]', "Enter")
