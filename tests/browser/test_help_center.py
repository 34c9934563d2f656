"""The help center in real Chromium: search as you type, article page, "was this helpful?",
provider-only articles, the contact form opening a ticket, hostile HTML never executed, phone width."""

from __future__ import annotations

from typing import Any

import pytest

from hub import keys
from hub.auth import Principal
from hub.models import Channel, InboundMessage, Role, new_id
from hub.models.inbound import SenderIdentity
from knowledge_base.models import ArticleIn
from knowledge_base.seed import import_default
from knowledge_base.sync import index_article

from .conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def seeded(hub: Any) -> Any:
    report = await import_default(hub.server.app)
    assert not report.errors
    return hub.server.app


async def sign_in(page: Any, hub_url: str, hub: Any, role: Role) -> None:
    email = f"{role.value}-{new_id()}@example.com"
    await hub.server.app[keys.USERS].create(email, "correct horse battery", role, name=f"Test {role.value}")
    await page.goto(f"{hub_url}/help/signin?next=/help/en")
    await page.fill("#email", email)
    await page.fill("#password", "correct horse battery")
    await page.click("form.stack button[type=submit]")
    await page.wait_for_url(f"{hub_url}/help/en")


async def instant_titles(page: Any, text: str) -> list[str]:
    await page.fill("#q", "")
    await page.type("#q", text, delay=20)
    await page.wait_for_selector("#instant:not([hidden])")
    await page.wait_for_function("q => document.querySelector('#q').value === q", arg=text)
    await page.wait_for_timeout(400)  # debounce + last response
    return [t.split("\n")[0] for t in await page.locator("#instant a").all_inner_texts()]


async def test_search_as_you_type_article_and_helpful_vote(new_page: Any, hub_url: str, seeded: Any) -> None:
    page = await new_page()
    await page.goto(f"{hub_url}/help/en")
    await page.type("#q", "refu", delay=40)  # a prefix, typed like a person
    first = page.locator("#instant a").first
    await first.wait_for()
    assert (await first.inner_text()).startswith("How refunds work")
    await screenshot(page, "help-center-instant-search")
    await first.click()
    await page.wait_for_url(f"{hub_url}/help/en/articles/how-refunds-work")
    assert await page.locator("h1").inner_text() == "How refunds work"
    assert await page.locator("aside li a").count() >= 1  # related articles
    await page.get_by_role("button", name="Yes", exact=True).click()
    await page.locator("#feedback .thanks").wait_for(state="visible")
    await screenshot(page, "help-center-article")
    votes = [d async for d in seeded[keys.STORE]["article_feedback"].find({})]
    assert [v["helpful"] for v in votes] == [True]
    await page.reload()  # the vote is remembered by this browser: thanked, no buttons
    assert await page.locator("#feedback [role=status]").inner_text() == "Thanks for your feedback!"
    assert await page.get_by_role("button", name="Yes", exact=True).count() == 0
    await page.click("a[hreflang=af]")  # language switcher → the Afrikaans translation
    await page.wait_for_url(f"{hub_url}/help/af/articles/hoe-terugbetalings-werk")
    assert await page.locator("html").get_attribute("lang") == "af"
    assert page.errors == []


async def test_provider_sees_provider_articles_and_customer_does_not(
    new_page: Any, hub_url: str, hub: Any, seeded: Any
) -> None:
    customer = await new_page()
    await sign_in(customer, hub_url, hub, Role.customer)
    assert "When and how providers get paid" not in await instant_titles(customer, "payouts")
    assert (await customer.goto(f"{hub_url}/help/en/articles/provider-payouts")).status == 404

    provider = await new_page()
    await sign_in(provider, hub_url, hub, Role.provider)
    assert "When and how providers get paid" in await instant_titles(provider, "payouts")
    await provider.goto(f"{hub_url}/help/en/articles/provider-payouts")
    assert await provider.locator("h1").inner_text() == "When and how providers get paid"
    assert (await provider.goto(f"{hub_url}/help/en/articles/agent-refund-escalation-playbook")).status == 404


async def test_contact_form_opens_a_ticket(new_page: Any, hub_url: str, seeded: Any) -> None:
    page = await new_page()
    await page.goto(f"{hub_url}/help/en/articles/cancel-a-booking")
    await page.get_by_role("link", name="Contact us").click()
    await page.fill("#name", "Lerato Dlamini")
    await page.fill("#email", f"lerato-{new_id()}@example.co.za")
    await page.fill("#subject", "Venue cancelled on me")
    await page.fill("#message", "My venue cancelled two weeks before the wedding. What now?")
    await page.get_by_role("button", name="Send message").click()
    number = await page.locator(".ticket").inner_text()
    doc = await seeded[keys.STORE].conversations.find_one({"number": int(number.lstrip("#"))})
    assert doc is not None and doc["subject"] == "Venue cancelled on me"


async def test_hostile_article_and_query_are_never_executed(new_page: Any, hub_url: str, seeded: Any) -> None:
    kb = seeded[keys.EXTENSIONS]["knowledge_base"]
    body = (
        'Pay safely.\n\n<script>window.__xss = "script"</script>\n\n'
        '<img src="x" onerror="window.__xss = \'img\'">\n\n'
        '[click me](javascript:window.__xss="link")\n\n<a href="javascript:window.__xss=\'a\'">also me</a>'
    )
    article = await kb.articles.create(
        ArticleIn(title="Hostile deposit article", body=body, status="published", slug=f"hostile-{new_id()}"),
        None,
    )
    await index_article(kb.store, kb.backend, article.id)
    page = await new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await page.goto(f"{hub_url}{article.url}")
    for link in await page.locator(".body a").all():
        await link.click()
    await page.goto(
        f"{hub_url}/help/en/search?q=" + '"><script>window.__xss=1</script><img src=x onerror=alert(1)>'
    )
    await instant_titles(page, '<img src=x onerror="window.__xss=2">deposit')
    assert await page.evaluate("window.__xss") is None
    assert dialogs == [] and page.errors == []


async def test_phone_width_has_no_horizontal_scroll(new_page: Any, hub_url: str, seeded: Any) -> None:
    page = await new_page(width=360, height=740)
    for path in ("/help/en", "/help/en/articles/cancel-a-booking", "/help/en/contact"):
        await page.goto(f"{hub_url}{path}")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360, path
    await page.goto(f"{hub_url}/help/en")
    await screenshot(page, "help-center-phone")


async def test_portal_sign_in_own_tickets_and_reply(
    new_page: Any, hub_url: str, hub: Any, seeded: Any
) -> None:
    app = hub.server.app
    tickets = []
    for email, subject in (
        ("naledi@example.co.za", "Marquee arrived late"),
        ("pieter@example.co.za", "Not mine"),
    ):
        result = await app[keys.INBOX].ingest(
            InboundMessage(
                channel=Channel.email,
                external_id=f"<{new_id()}@mail>",
                sender=SenderIdentity(kind="email", value=email),
                subject=subject,
                text=f"{subject}, please help",
            )
        )
        tickets.append(result.conversation)
    mine, other = tickets
    await app[keys.CONVERSATIONS].reply(
        mine.id, Principal(role=Role.agent, user_id="a1"), "Sorry! Which day was it?"
    )
    email = f"naledi-{new_id()}@example.com"
    await app[keys.USERS].create(
        email, "correct horse battery", Role.customer, name="Naledi", contact_id=mine.contact_id
    )

    page = await new_page()
    await page.goto(f"{hub_url}/help/en")
    await page.get_by_role("link", name="Sign in").click()
    await page.fill("#email", email)
    await page.fill("#password", "wrong password!")
    await page.get_by_role("button", name="Sign in").click()
    assert "wrong" in await page.get_by_role("alert").inner_text()
    await page.fill("#password", "correct horse battery")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="My tickets").click()
    await page.wait_for_url(f"{hub_url}/help/en/tickets")
    listed = await page.locator("ul.tickets li a").all_inner_texts()
    assert listed == [f"#{mine.number} Marquee arrived late"]  # only her own ticket
    await page.get_by_role("link", name="Marquee arrived late").click()
    assert "Sorry! Which day was it?" in await page.locator(".thread").inner_text()
    await page.get_by_label("Your answer").fill("Saturday 14 March, two hours late.")
    await page.get_by_role("button", name="Send reply").click()
    await page.locator(".msg.mine").filter(has_text="two hours late").wait_for()
    await screenshot(page, "help-center-portal-ticket")
    messages = await app[keys.CONVERSATIONS].messages(mine.id)
    assert messages[-1].text == "Saturday 14 March, two hours late." and messages[-1].direction.value == "in"
    assert (await page.goto(f"{hub_url}/help/en/tickets/{other.id}")).status == 404
    assert page.errors == []


async def test_still_need_help_opens_the_chat_widget(
    new_page: Any, hub_url: str, hub: Any, seeded: Any
) -> None:
    page = await new_page()
    await page.goto(f"{hub_url}/help/en/articles/cancel-a-booking")
    await page.locator("footer").get_by_role("button", name="Chat with us").click()
    await page.get_by_role("dialog").wait_for(state="visible")
    await page.get_by_label("Message").fill("My venue cancelled, can you help me find another?")
    await page.get_by_role("button", name="Send").click()
    await page.locator(".berry-chat-mine").filter(has_text="venue cancelled").wait_for()
    doc = await hub.server.app[keys.STORE].messages.find_one(
        {"text": "My venue cancelled, can you help me find another?"}
    )
    assert doc is not None and doc["channel"] == "webchat"
    assert doc["meta"]["page"] == "/help/en/articles/cancel-a-booking"
    assert page.errors == []


RECORD_WEBM = """async () => {
  const canvas = Object.assign(document.createElement("canvas"), {width: 160, height: 90});
  const ctx = canvas.getContext("2d");
  const recorder = new MediaRecorder(canvas.captureStream(15), {mimeType: "video/webm"});
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const done = new Promise((resolve) => { recorder.onstop = resolve; });
  recorder.start();
  for (let i = 0; i < 15; i++) {
    ctx.fillStyle = `hsl(${i * 24}, 60%, 50%)`; ctx.fillRect(0, 0, 160, 90);
    await new Promise((r) => setTimeout(r, 60));
  }
  recorder.stop(); await done;
  const bytes = new Uint8Array(await new Blob(chunks, {type: "video/webm"}).arrayBuffer());
  let s = ""; bytes.forEach((b) => { s += String.fromCharCode(b); });
  return btoa(s);
}"""


async def test_video_tutorial_plays_and_its_transcript_and_faq_are_searched(
    new_page: Any, hub_url: str, hub: Any, seeded: Any
) -> None:
    import base64

    admin = await hub.server.app[keys.USERS].create(
        f"admin-{new_id()}@example.com", "correct horse battery", Role.admin
    )
    headers = {"Authorization": "Bearer " + hub.server.app[keys.TOKENS].access_token(admin)}
    page = await new_page()
    await page.goto(f"{hub_url}/help/en")
    webm = base64.b64decode(await page.evaluate(RECORD_WEBM))  # a real WebM, recorded by Chromium itself
    up = await hub.post(
        "/api/v1/kb/media",
        data=webm,
        headers={**headers, "Content-Type": "video/webm", "X-Filename": "quote.webm"},
    )
    blob = (await up.json())["blob_id"]
    kb = hub.server.app[keys.EXTENSIONS]["knowledge_base"]
    for body in (
        {
            "title": "Video: request a quote",
            "kind": "video",
            "status": "published",
            "slug": f"video-quote-{new_id()}",
            "video": {
                "blob_id": blob,
                "transcript": "Tap Request quote, pick the marquee size and the date.",
            },
        },
        {
            "title": "Marquee FAQ",
            "kind": "faq",
            "status": "published",
            "slug": f"marquee-faq-{new_id()}",
            "faq": [{"question": "Do marquees need pegs?", "answer": "Yes, or water weights on paving."}],
        },
    ):
        resp = await hub.post("/api/v1/articles", json=body, headers=headers)
        assert resp.status == 201, await resp.text()
        await index_article(kb.store, kb.backend, (await resp.json())["id"])

    await page.goto(f"{hub_url}/help/en")
    assert "Video: request a quote" in await instant_titles(page, "marquee size")  # transcript words
    await page.locator("#instant a", has_text="Video: request a quote").click()
    video = page.locator("figure.video video")
    await page.wait_for_function("() => document.querySelector('figure.video video').readyState >= 1")
    assert await video.evaluate("v => v.videoWidth") == 160  # our media route served a playable video
    await page.get_by_text("Transcript").click()
    assert "pick the marquee size" in await page.locator("#transcript").inner_text()
    await page.goto(f"{hub_url}/help/en")
    assert "Marquee FAQ" in await instant_titles(page, "water weights")  # an FAQ answer
    await page.locator("#instant a", has_text="Marquee FAQ").click()
    assert await page.locator(".faq summary").inner_text() == "Do marquees need pegs?"
    assert page.errors == []



TEXT_BOX = """([sel, needle]) => {  // the on-screen box of needle's first occurrence in the element's text
  const walk = document.createTreeWalker(document.querySelector(sel), NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const i = n.data.indexOf(needle);
    if (i < 0) continue;
    const range = document.createRange();
    range.setStart(n, i); range.setEnd(n, i + needle.length);
    const r = range.getBoundingClientRect();
    return {left: r.left, right: r.right};
  }
  return null;
}"""


async def test_a_bidi_control_in_a_search_query_stays_inside_the_heading(
    new_page: Any, hub_url: str, seeded: Any
) -> None:
    # U+202E (right-to-left override) at the start of a query flipped the heading's closing quote
    # to the left of the query ("Results for ”etouq“")
    page = await new_page()
    await page.goto(f"{hub_url}/help/en/search?q=%E2%80%AEetouq")
    typed = await page.evaluate(TEXT_BOX, ["main h1", "etouq"])
    closing = await page.evaluate(TEXT_BOX, ["main h1", "\u201d"])
    assert typed and closing and closing["left"] >= typed["right"] - 0.5, (typed, closing)
    assert "\u2068\u202eetouq\u2069" in await page.title()  # isolated in the tab's title too
    assert page.errors == []


async def test_search_as_you_type_in_afrikaans_offers_the_english_answer_marked(
    new_page: Any, hub_url: str, seeded: Any
) -> None:
    # no Afrikaans article is about passwords: the English one is offered, marked "In Engels"
    page = await new_page()
    await page.goto(f"{hub_url}/help/af")
    await page.type("#q", "password", delay=20)
    hit = page.locator("#instant a[href='/help/en/articles/reset-your-password']")
    await hit.wait_for()
    assert await hit.get_attribute("lang") == "en"
    note = hit.locator(".tag")
    assert await note.inner_text() == "In Engels" and await note.get_attribute("lang") == "af"
    assert page.errors == []
