"""Help-center pages over HTTP (no browser): rendering, visibility by role, search down, contact
form → ticket through Inbox.ingest, feedback, hostile input. The browser tests are in tests/browser."""

from __future__ import annotations

import re
from typing import Any

from hub import keys
from hub.models import Role
from knowledge_base.search import SearchUnavailable
from knowledge_base.seed import import_default


async def signed_in(client: Any, api: Any, role: Role) -> None:
    user = await api.user(role, password="correct horse battery")
    resp = await client.post(
        "/help/signin",
        data={"email": user["user"]["email"], "password": "correct horse battery", "next": "/help/en"},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"] == "/help/en"


async def test_an_outdated_popular_list_is_served_while_a_new_one_is_ranked(store: Any,
                                                                               monkeypatch: Any) -> None:
    """Only the first home page waits for the scan of the views; after the TTL the old list is
    served at once and a new one ranked in the background."""
    from knowledge_base import analytics

    stats = analytics.Analytics(store)
    await stats.record_view("a1", visitor="v1")
    assert await stats.popular() == ["a1"]
    monkeypatch.setattr(analytics, "POPULAR_TTL_S", 0.0)
    for i in range(3):
        await stats.record_view("a2", visitor=f"w{i}")
    assert await stats.popular() == ["a1"]  # outdated, at once …
    assert stats._renewing is not None
    await stats._renewing
    assert await stats.popular() == ["a2", "a1"]  # … and ranked anew


async def test_pages_render_with_security_headers(client: Any) -> None:
    await import_default(client.server.app)
    resp = await client.get("/help", allow_redirects=False, headers={"Accept-Language": "af-ZA,af;q=0.9"})
    assert resp.status == 302 and resp.headers["Location"] == "/help/af"
    home = await client.get("/help/en")
    html = await home.text()
    assert home.status == 200 and '<html lang="en">' in html and "How can we help?" in html
    assert "script-src 'self'" in home.headers["Content-Security-Policy"]
    assert 'href="/help/en/categories/payments"' in html and "Which payment methods can I use?" in html
    assert '<h2 id="popular">Articles</h2>' in html  # nothing read yet: not called popular
    article = await (await client.get("/help/en/articles/how-refunds-work")).text()
    assert "<strong>full refund</strong>" in article or "full refund" in article
    assert 'href="/help/af/articles/hoe-terugbetalings-werk"' in article  # language switcher → translation
    assert "Was this article helpful?" in article and "Related articles" in article
    af = await (await client.get("/help/af/articles/hoe-terugbetalings-werk")).text()
    assert '<html lang="af">' in af and "Was hierdie artikel nuttig?" in af
    assert (await client.get("/help/xx")).status == 404
    assert (await client.get("/help/en/articles/nope")).status == 404
    search = await (await client.get("/help/en/search", params={"q": "money back"})).text()
    assert "How refunds work" in search
    instant = await (await client.get("/help/search.json", params={"q": "refu", "locale": "en"})).json()
    assert instant["hits"][0]["url"] == "/help/en/articles/how-refunds-work"


async def test_home_lists_the_articles_most_readers_opened(client: Any, api: Any) -> None:
    """Ranked by distinct readers over 30 days: one visitor reloading a page twenty times is one
    reader; an article this reader may not see, or in another language, is left out; the first of
    each topic fill the rest of the twelve."""
    app = client.server.app
    await import_default(app)
    kb = app[keys.EXTENSIONS]["knowledge_base"]

    async def read(locale: str, slug: str, readers: int) -> None:
        article = await kb.articles.by_slug(locale, slug)
        for i in range(readers):
            await kb.analytics.record_view(article.id, visitor=f"visitor-{slug}-{i}")

    for _ in range(20):  # one reader, through the real page
        assert (await client.get("/help/en/articles/how-refunds-work")).status == 200
    await read("en", "leaving-a-review", 3)
    await read("en", "provider-payouts", 5)  # providers only
    await read("af", "kanselleer-n-bespreking", 4)
    html = await (await client.get("/help/en")).text()
    listed = re.findall(r'<li><a href="/help/en/articles/([^"]+)">', html)
    assert '<h2 id="popular">Popular articles</h2>' in html
    assert listed[:2] == ["leaving-a-review", "how-refunds-work"] and len(listed) == len(set(listed)) == 12
    assert "provider-payouts" not in listed
    await signed_in(client, api, Role.provider)
    html = await (await client.get("/help/en")).text()
    listed = re.findall(r'<li><a href="/help/en/articles/([^"]+)">', html)
    assert listed[:3] == ["provider-payouts", "leaving-a-review", "how-refunds-work"]
    af = await (await client.get("/help/af")).text()
    assert re.findall(r'<li><a href="/help/af/articles/([^"]+)">', af)[0] == "kanselleer-n-bespreking"
    assert '<h2 id="popular">Gewilde artikels</h2>' in af


async def test_visibility_providers_and_staff(client: Any, api: Any) -> None:
    await import_default(client.server.app)
    assert (await client.get("/help/en/articles/provider-payouts")).status == 404
    assert (await client.get("/help/en/articles/agent-refund-escalation-playbook")).status == 404
    anon_hits = await (await client.get("/help/search.json", params={"q": "payouts", "locale": "en"})).json()
    assert all("provider-payouts" not in h["url"] for h in anon_hits["hits"])
    await signed_in(client, api, Role.provider)
    assert (await client.get("/help/en/articles/provider-payouts")).status == 200
    assert (await client.get("/help/en/articles/agent-refund-escalation-playbook")).status == 404
    provider_hits = await (
        await client.get("/help/search.json", params={"q": "payouts", "locale": "en"})
    ).json()
    assert provider_hits["hits"][0]["url"] == "/help/en/articles/provider-payouts"
    await client.post("/help/signout")
    assert (await client.get("/help/en/articles/provider-payouts")).status == 404
    await signed_in(client, api, Role.agent)
    assert (await client.get("/help/en/articles/agent-refund-escalation-playbook")).status == 200
    bad = await client.post("/help/signin", data={"email": "x@y.z", "password": "nope"})
    assert bad.status == 401


async def test_contact_form_opens_one_ticket(client: Any) -> None:
    app = client.server.app
    page = await (await client.get("/help/en/contact?article=how-refunds-work")).text()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    form = {
        "nonce": nonce,
        "name": "Thandi Nkosi",
        "email": "thandi@example.co.za",
        "subject": "Refund for my DJ",
        "message": "The DJ cancelled, <script>alert(1)</script> when do I get my money?",
        "article": "how-refunds-work",
    }
    first = await client.post("/help/en/contact", data=form)
    text = await first.text()
    assert first.status == 200 and "Your ticket number is" in text and "<script>alert" not in text
    again = await client.post("/help/en/contact", data=form)  # double submit / replay: the same ticket
    assert re.search(r"#(\d+)", await again.text()).group(1) == re.search(r"#(\d+)", text).group(1)
    store = app[keys.STORE]
    assert await store.conversations.count_documents({}) == 1
    msg = await store.messages.find_one({})
    assert msg["channel"] == "api" and "money" in msg["text"] and msg["meta"]["source"] == "help_center"
    contact = await store.contacts.find_one({"_id": msg["contact_id"]})
    assert contact["name"] == "Thandi Nkosi"

    bad = await client.post(
        "/help/en/contact",
        data={**form, "email": "not-an-email", "message": "x" * 20_000, "nonce": "another-nonce-123456"},
    )
    assert bad.status == 422 and 'aria-invalid="true"' in await bad.text()
    spam = await client.post(
        "/help/en/contact", data={**form, "website": "http://spam", "nonce": "spam-nonce-1234567"}
    )
    assert spam.status == 200
    assert await store.conversations.count_documents({}) == 1

    # Anyone may type Thandi's address: a second form opens its own ticket (it joined her open one,
    # its text in her thread, and its thanks page named her ticket's number)
    other = await client.post("/help/en/contact", data={
        **form, "nonce": "someone-else-nonce-1", "subject": "Change my bank account",
        "message": "Please pay my refund into account 12345 instead."})
    other_number = re.search(r"#(\d+)", await other.text()).group(1)  # type: ignore[union-attr]
    assert other.status == 200 and other_number != re.search(r"#(\d+)", text).group(1)
    tickets = [c async for c in store.conversations.find({}).sort("number", 1)]
    assert [c["subject"] for c in tickets] == ["Refund for my DJ", "Change my bank account"]
    assert tickets[0]["contact_id"] == tickets[1]["contact_id"]  # the address's contact, as before
    assert await store.messages.count_documents({"conversation_id": tickets[0]["_id"]}) == 1


async def test_feedback_views_and_hostile_queries(client: Any) -> None:
    app = client.server.app
    await import_default(app)
    url = "/help/en/articles/how-refunds-work"
    assert (await client.get(url)).status == 200
    vote = await client.post(f"{url}/feedback", data={"helpful": "yes"}, allow_redirects=False)
    assert vote.status == 303
    again = await client.post(
        f"{url}/feedback", data={"helpful": "no"}, headers={"Accept": "application/json"}
    )
    assert again.status == 200
    assert (await client.post(f"{url}/feedback", data={"helpful": "maybe"})).status == 422
    store = app[keys.STORE]
    votes = [d async for d in store["article_feedback"].find({})]
    assert len(votes) == 1 and votes[0]["helpful"] is True  # same browser (cookie): the first vote stands
    assert await store["article_views"].count_documents({}) == 1
    evil = '"><script>alert(1)</script><img src=x onerror=alert(1)>'
    page = await (await client.get("/help/en/search", params={"q": evil})).text()
    assert evil not in page and "<script>alert" not in page and "<img src=x" not in page, [
        page[max(0, i - 80) : i + 80] for i in [page.find("<script>alert"), page.find("<img src=x")] if i >= 0
    ]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    huge = await client.get("/help/en/search", params={"q": "refund " * 800})
    assert huge.status == 200
    assert (await client.get("/help/search.json", params={"q": "x" * 5000})).status == 200


async def test_search_down_still_lists_categories(client: Any) -> None:
    app = client.server.app
    await import_default(app)
    kb = app[keys.EXTENSIONS]["knowledge_base"]

    class Down:
        async def search(self, query: Any) -> Any:
            raise SearchUnavailable("index unreachable")

    real, kb.backend = kb.backend, Down()
    try:
        page = await client.get("/help/en/search", params={"q": "refund"})
        html = await page.text()
        assert page.status == 200 and "Search is temporarily unavailable" in html
        assert 'href="/help/en/categories/payments"' in html
        assert (await client.get("/help/search.json", params={"q": "refund", "locale": "en"})).status == 503
        assert (
            await client.get("/help/en/articles/how-refunds-work")
        ).status == 200  # no related, still served
        api = await client.get("/api/v1/kb/search", params={"q": "refund"})
        assert api.status == 503 and api.content_type == "application/problem+json"
    finally:
        kb.backend = real


async def test_deflection_in_the_analytics_api(client: Any, api: Any) -> None:
    """A visitor who searched then used the contact form is escalated; one who opened the chat
    (help.js beacon) too; one who only read, a day ago, is deflected — via GET /kb/analytics."""
    from datetime import timedelta

    from hub.models import utcnow

    app = client.server.app
    await import_default(app)
    store = app[keys.STORE]
    await client.get("/help/en/search", params={"q": "refund"})  # visitor 1 (cookie jar)
    page = await (await client.get("/help/en/contact")).text()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {
        "nonce": nonce,
        "name": "Zanele",
        "email": "zanele@example.co.za",
        "subject": "Refund",
        "message": "Still no refund after 10 days.",
    }
    assert (await client.post("/help/en/contact", data=form)).status == 200
    client.session.cookie_jar.clear()
    await client.get("/help/en/articles/how-refunds-work")  # visitor 2 opens the chat from the page
    for _ in range(2):  # a replayed beacon is one escalation
        assert (await client.post("/help/escalations")).status == 204
    client.session.cookie_jar.clear()
    assert (await client.post("/help/escalations")).status == 204  # no help session: nothing recorded
    assert await store["help_escalations"].count_documents({}) == 2
    day_ago = utcnow() - timedelta(days=1, minutes=5)  # visitor 3 read yesterday and went away
    await store["article_views"].insert_one(
        {"_id": "v3", "article_id": "x", "visitor": "visitor-3-abcdefghij", "at": day_ago}
    )
    await store["search_queries"].update_many({}, {"$set": {"at": day_ago}})
    await store["article_views"].update_many({"_id": {"$ne": "v3"}}, {"$set": {"at": day_ago}})
    await store["help_escalations"].update_many({}, {"$set": {"at": day_ago + timedelta(minutes=2)}})
    supervisor = await api.user(Role.supervisor)
    report = await (await client.get("/api/v1/kb/analytics", headers=supervisor["headers"])).json()
    assert report["deflection"] == {
        "sessions": 3,
        "deflected": 1,
        "escalated": 2,
        "pending": 0,
        "rate": round(1 / 3, 4),
    }


async def test_afrikaans_and_isizulu_pages_are_translated(client: Any) -> None:
    """Interface strings and topic names in the page's language (not English): the contact form,
    the breadcrumb, the sign-in page, the instant-search messages."""
    await import_default(client.server.app)
    af = await (await client.get("/help/af/articles/hoe-terugbetalings-werk")).text()
    assert "Terugbetalings en kansellasies" in af and "Refunds &amp; cancellations" not in af
    home = await (await client.get("/help/af")).text()
    assert "<strong>Terugbetalings en kansellasies</strong>" in home and "Refunds &amp;" not in home
    assert 'data-empty="Geen artikels pas nie."' in home
    contact = await (await client.get("/help/af/contact")).text()
    for text in ("Jou naam", "E-posadres", "Onderwerp", "Stuur vir ons", "Stuur boodskap"):
        assert text in contact, text
    assert "Your name" not in contact and "Send us a message" not in contact
    zu = await (await client.get("/help/zu/contact")).text()
    for text in ("Igama lakho", "Ikheli le-imeyili", "Thumela umlayezo", "Sithumelele umlayezo"):
        assert text in zu, text
    zu_article = await (await client.get("/help/zu/articles/ukubuyiselwa-kwemali")).text()
    assert "Ukubuyiselwa kwemali nokukhansela" in zu_article and "Refunds" not in zu_article
    signin = await (await client.get("/help/signin", params={"next": "/help/af/tickets"})).text()
    assert '<html lang="af">' in signin and "Wagwoord" in signin and "Password" not in signin
    assert 'href="/help/signin?next=/help/zu/tickets"' in signin  # the language switch keeps the page
    bad = await client.post("/help/signin", data={"email": "x@y.z", "password": "nope", "next": "/help/af"})
    assert bad.status == 401 and "E-posadres of wagwoord is verkeerd." in await bad.text()


async def test_contact_form_errors_are_short_and_in_the_page_language(client: Any) -> None:
    page = await (await client.get("/help/en/contact")).text()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    typed = {"nonce": nonce, "name": "  ", "email": "thandi.example.co.za", "subject": "Refund for my DJ",
             "message": "When do I get my money back?"}
    bad = await client.post("/help/en/contact", data=typed)
    html = await bad.text()
    assert bad.status == 422
    assert "Please enter your name." in html and "Please enter a valid e-mail address." in html
    assert "String should" not in html and "@-sign" not in html and "value is not" not in html
    assert 'value="thandi.example.co.za"' in html and 'value="Refund for my DJ"' in html
    assert "When do I get my money back?</textarea>" in html  # what the person typed is kept
    long = await client.post("/help/en/contact", data={**typed, "name": "N" * 201, "message": "hi"})
    html = await long.text()
    assert "Your name can be at most 200 characters." in html
    assert "Please write a message of at least 5 characters." in html
    af = await client.post("/help/af/contact", data=typed)
    html = await af.text()
    assert "Tik asseblief jou naam in." in html and "Tik asseblief &#39;n geldige e-posadres in." in html
    tampered = await client.post("/help/en/contact", data={**typed, "name": "Thandi",
                                                           "email": "t@example.co.za", "nonce": "<x>"})
    html = await tampered.text()
    assert tampered.status == 422 and "This form has expired. Please send it again." in html
    assert 'name="nonce" value="&lt;x&gt;"' not in html  # a fresh nonce to send again with


async def test_not_found_is_a_help_center_page(client: Any) -> None:
    await import_default(client.server.app)
    for path, locale, heading in [
        ("/help/xx", "en", "Page not found"),
        ("/help/en/articles/nope", "en", "Page not found"),
        ("/help/af/articles/nope", "af", "Bladsy nie gevind nie"),
        ("/help/zu/categories/nope", "zu", "Ikhasi alitholakalanga"),
        ("/help/af/no/such/page", "af", "Bladsy nie gevind nie"),
        ("/help/en/articles/provider-payouts", "en", "Page not found"),  # not for this reader
    ]:
        resp = await client.get(path)
        html = await resp.text()
        assert resp.status == 404 and resp.content_type == "text/html", path
        assert f'<html lang="{locale}">' in html and f"<h1>{heading}</h1>" in html, path
        assert f'href="/help/{locale}"' in html and 'role="search"' in html, path
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert (await client.get("/help/static/nope.css")).status == 404
    assert (await client.get("/help/media/" + "0" * 24)).content_type == "text/plain"  # files stay bare
    api = await client.get("/api/v1/kb/articles/nope")
    assert api.status in (401, 404) and api.content_type == "application/problem+json"


LANGUAGE_LINK = re.compile(r'<a href="([^"]+)" hreflang="([a-z]{2})"')


async def test_a_topics_language_links_lead_to_pages_that_exist(client: Any, api: Any) -> None:
    """A topic only some languages have (an Afrikaans-only one; the providers' topic, whose one
    Afrikaans article only providers see) links the other languages to their home page, not to a
    topic page that is a 404 there. Checked for every topic of every language."""
    app = client.server.app
    await import_default(app)
    admin = await api.user(Role.admin)
    resp = await client.post("/api/v1/articles", headers=admin["headers"], json={
        "title": "Braai op die troue", "summary": "Wie bring die vleis", "category": "braai", "locale": "af",
        "body": "Die verskaffer bring die vleis.", "status": "published"})
    assert resp.status == 201, await resp.text()
    braai = await resp.json()
    af_only = await (await client.get("/help/af/categories/braai")).text()
    links = dict((code, href) for href, code in LANGUAGE_LINK.findall(af_only))
    assert links == {"en": "/help/en", "af": "/help/af/categories/braai", "zu": "/help/zu"}
    en_providers = await (await client.get("/help/en/categories/providers")).text()
    assert dict((c, h) for h, c in LANGUAGE_LINK.findall(en_providers))["af"] == "/help/af"
    # a translation only providers may read is no link for anyone else
    resp = await client.post("/api/v1/articles", headers=admin["headers"], json={
        "title": "Braai for providers", "category": "braai", "locale": "en", "visibility": "providers",
        "body": "Bring the meat.", "status": "published", "translation_of": braai["id"]})
    assert resp.status == 201, await resp.text()
    page = await client.get("/help/af/articles/braai-op-die-troue")
    article = await page.text()
    assert page.status == 200 and "Braai op die troue" in article
    assert dict((c, h) for h, c in LANGUAGE_LINK.findall(article))["en"] == "/help/en"
    assert "braai-for-providers" not in article
    for locale in ("en", "af", "zu"):
        home = await (await client.get(f"/help/{locale}")).text()
        topics = re.findall(rf'href="(/help/{locale}/categories/[a-z0-9-]+)"', home)
        assert topics, locale
        for topic in topics:
            page = await client.get(topic)
            assert page.status == 200, topic
            for href, _ in LANGUAGE_LINK.findall(await page.text()):
                assert (await client.get(href)).status == 200, (topic, href)


async def test_a_vote_is_remembered_and_counted_once_per_browser(client: Any, api: Any) -> None:
    app = client.server.app
    await import_default(app)
    store = app[keys.STORE]
    url = "/help/en/articles/how-refunds-work"
    json = {"Accept": "application/json"}
    # a browser that never had the visitor cookie votes (help.js), twice: one vote
    for helpful in ("yes", "no"):
        assert (await client.post(f"{url}/feedback", data={"helpful": helpful}, headers=json)).status == 200
    votes = [d async for d in store["article_feedback"].find({})]
    assert [v["helpful"] for v in votes] == [True]
    page = await (await client.get(url)).text()  # a plain reload: thanked, no buttons
    assert "Thanks for your feedback!" in page and "data-feedback" not in page
    other = await (await client.get("/help/en/articles/payment-methods")).text()
    assert "data-feedback" in other  # only that article
    await signed_in(client, api, Role.customer)  # signing in does not make the browser a new voter
    assert (await client.post(f"{url}/feedback", data={"helpful": "no"}, allow_redirects=False)).status == 303
    assert await store["article_feedback"].count_documents({}) == 1
    client.session.cookie_jar.clear()  # another browser
    assert "data-feedback" in await (await client.get(url)).text()
    await client.post(f"{url}/feedback", data={"helpful": "no"}, allow_redirects=False)
    assert await store["article_feedback"].count_documents({}) == 2
    assert "Thanks for your feedback!" in await (await client.get(url)).text()


async def test_favicon_for_the_whole_app(client: Any) -> None:
    resp = await client.get("/favicon.ico")
    assert resp.status == 200 and resp.content_type == "image/png"
    assert (await resp.read()).startswith(b"\x89PNG")


async def test_a_search_in_afrikaans_falls_back_to_english_answers(client: Any) -> None:
    """No Afrikaans article is about passwords: the Afrikaans search lists the English one, marked
    "In Engels"; an article translated into Afrikaans is listed in Afrikaans only, first. The same
    for search as you type and the API."""
    await import_default(client.server.app)
    page = await client.get("/help/af/search", params={"q": "password"})
    html = await page.text()
    assert page.status == 200 and "Geen artikels pas by jou soektog nie" not in html
    assert re.search(r'<li lang="en"><a href="/help/en/articles/reset-your-password" hreflang="en">'
                     r'I forgot my password</a> <span class="tag" lang="af">In Engels</span>', html), html
    refund = await (await client.get("/help/af/search", params={"q": "refund"})).text()
    links = re.findall(r'<a href="(/help/[a-z]{2}/articles/[a-z0-9-]+)"', refund)
    assert links and links[0] == "/help/af/articles/hoe-terugbetalings-werk", links
    assert "/help/en/articles/how-refunds-work" not in links  # its translation stands for it
    assert links.index("/help/af/articles/hoe-terugbetalings-werk") < min(
        i for i, link in enumerate(links) if link.startswith("/help/en/"))
    instant = await (await client.get("/help/search.json", params={"q": "password", "locale": "af"})).json()
    reset = [h for h in instant["hits"] if h["url"] == "/help/en/articles/reset-your-password"]
    assert [(h["title"], h["locale"], h["note"]) for h in reset] == [
        ("I forgot my password", "en", "In Engels")]
    en = await (await client.get("/help/search.json", params={"q": "password", "locale": "en"})).json()
    assert en["hits"][0]["note"] == ""
    api = await (await client.get("/api/v1/kb/search", params={"q": "password", "locale": "af"})).json()
    assert [h["locale"] for h in api["hits"] if h["url"] == "/help/en/articles/reset-your-password"] == ["en"]
