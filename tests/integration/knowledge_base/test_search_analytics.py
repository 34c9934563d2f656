"""Recorded searches: who searched (a signed-in customer's contact id) and where (``source``); the
analytics API's ``source`` filter; the bot's searches kept without the customer's text."""

from __future__ import annotations

from typing import Any

from hub import keys
from hub.models import Role
from knowledge_base.search import SearchQuery
from knowledge_base.seed import import_default

PASSWORD = "correct horse battery"


async def _customer(client: Any, api: Any) -> str:
    """A customer signed in to the help center (the client's cookie): their contact id."""
    app = client.server.app
    contact = await (await client.post("/api/v1/contacts", headers=(await api.user(Role.admin))["headers"],
                                       json={"name": "Thandi Searcher"})).json()
    await app[keys.USERS].create("thandi@example.co.za", PASSWORD, Role.customer, name="Thandi",
                                 contact_id=contact["id"])
    resp = await client.post("/help/signin", allow_redirects=False,
                             data={"email": "thandi@example.co.za", "password": PASSWORD, "next": "/help/en"})
    assert resp.status == 303
    return str(contact["id"])


async def test_each_search_records_its_source_and_the_signed_in_contact(client: Any, api: Any) -> None:
    app = client.server.app
    await import_default(app)
    store = app[keys.STORE]
    assert (await client.get("/help/en/search", params={"q": "refund anonymous"})).status == 200
    contact_id = await _customer(client, api)
    assert (await client.get("/help/en/search", params={"q": "refund signed in"})).status == 200
    assert (await client.get("/help/search.json", params={"q": "refu", "locale": "en"})).status == 200
    client.session.cookie_jar.clear()
    assert (await client.get("/api/v1/kb/search", params={"q": "refund api"})).status == 200
    # the bot searches with the customer's own message: counted, the text not kept
    kb = app[keys.EXTENSIONS]["knowledge_base"]
    await kb.search(SearchQuery(text="refund for Thandi, booking BK-4411, 12 Long Street", locale="en"))
    resp = await client.get("/api/v1/bot/kb-search", params={"q": "Thandi at 12 Long Street: refund?"},
                            headers=(await api.user(Role.agent))["headers"])  # the Rasa engine's way in
    assert resp.status == 200, await resp.text()
    assert await store["search_queries"].count_documents({"source": "bot", "query": None}) == 2
    docs = {d["query"] or d["source"]: d async for d in store["search_queries"].find()}
    assert {k: (d["source"], d["contact_id"]) for k, d in docs.items()} == {
        "refund anonymous": ("help_center", None),
        "refund signed in": ("help_center", contact_id),
        "refu": ("instant", contact_id),
        "refund api": ("api", None),
        "bot": ("bot", None),
    }
    assert docs["bot"]["query"] is None and "long street" not in str(docs).lower()
    assert all(docs[k]["visitor"] for k in ("refund anonymous", "refund signed in", "refu"))


async def test_analytics_count_the_help_centers_searches_unless_asked(client: Any, api: Any) -> None:
    app = client.server.app  # no articles: no search finds one
    kb = app[keys.EXTENSIONS]["knowledge_base"]
    for q in ("refund", "refund", "unicorn rental"):
        assert (await client.get("/help/en/search", params={"q": q})).status == 200
    assert (await client.get("/help/search.json", params={"q": "refund", "locale": "en"})).status == 200
    for q in ("api refund", "api unicorn"):
        assert (await client.get("/api/v1/kb/search", params={"q": q})).status == 200
    for _ in range(3):
        await kb.search(SearchQuery(text="my booking BK-4411 was cancelled, refund?", locale="en"))
    headers = (await api.user(Role.admin))["headers"]

    async def report(**params: str) -> dict[str, Any]:
        resp = await client.get("/api/v1/kb/analytics", params=params, headers=headers)
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())

    default = await report()
    assert default["source"] == "help_center" and default["searches"] == 4
    assert default["top_searches"][0] == {"query": "refund", "count": 3}
    assert default["no_result_searches"] == [{"query": "refund", "count": 3},
                                             {"query": "unicorn rental", "count": 1}]
    api = await report(source="api")
    assert api["searches"] == 2 and {t["query"] for t in api["top_searches"]} == {"api refund", "api unicorn"}
    bot = await report(source="bot")
    assert bot["searches"] == 3 and bot["top_searches"] == [] and bot["no_result_searches"] == []  # no texts
    everything = await report(source="all")
    assert everything["searches"] == 9 and "bk-4411" not in str(everything)
    resp = await client.get("/api/v1/kb/analytics", params={"source": "whatsapp"}, headers=headers)
    assert resp.status == 400 and (await resp.json())["field"] == "source"


async def test_api_searches_are_no_help_center_sessions(client: Any, api: Any) -> None:
    """Deflection is the help center's: an API caller who searched never escalates there, so its
    searches must not count as deflected sessions."""
    app = client.server.app
    await import_default(app)
    user = await api.user(Role.admin)
    for q in ("refund", "payout"):
        assert (await client.get("/api/v1/kb/search", params={"q": q}, headers=user["headers"])).status == 200
    assert await app[keys.STORE]["search_queries"].count_documents({"visitor": user["user"]["id"]}) == 2
    report = await (await client.get("/api/v1/kb/analytics", headers=user["headers"])).json()
    assert report["deflection"]["sessions"] == 0


async def test_the_supervisors_report_counts_bot_searches_without_listing_them(client: Any) -> None:
    """hub/reports reads search_queries too: a bot search (no text) counts, and is no "query"."""
    from hub.models import utcnow
    from hub.reports import live

    app = client.server.app
    kb = app[keys.EXTENSIONS]["knowledge_base"]
    start = utcnow()
    for text in ("refund", "my booking BK-4411 was cancelled"):
        await kb.search(SearchQuery(text=text, locale="en"), source="help_center", visitor="visitor-12345678")
        await kb.search(SearchQuery(text=text, locale="en"))  # the bot
    figures = await live.kb(app[keys.STORE], start, utcnow())
    assert figures["searches"] == 4 and figures["with_results"] == 0
    assert figures["top_queries"] == figures["no_result_queries"] == [
        {"query": "my booking bk-4411 was cancelled", "count": 1}, {"query": "refund", "count": 1}]


async def test_bot_searches_kept_with_their_text_lose_it_at_start_up(store: Any, settings: Any) -> None:
    """Searches the bot recorded before its text stopped being kept: the hub removes the text when
    it starts (the help center's keep theirs)."""
    from hub.app import create_app
    from hub.models import utcnow

    from ...conftest import running, until

    await store["search_queries"].insert_many([
        {"_id": "bot", "query": "refund for thandi, 12 long street", "source": "bot", "results": 1,
         "at": utcnow()},
        {"_id": "help", "query": "refund", "source": "help_center", "results": 1, "at": utcnow()}])
    async with running(create_app(settings)):

        async def scrubbed() -> bool:
            return (await store["search_queries"].find_one({"_id": "bot"}))["query"] is None

        await until(scrubbed, what="the bot search's text removed")
    assert (await store["search_queries"].find_one({"_id": "help"}))["query"] == "refund"
