"""Articles through the REST API against the whole app and real FerretDB: CRUD, versions,
translations, visibility by role, events, sync jobs, bad input."""

from __future__ import annotations

from typing import Any

from hub import keys
from hub.jobs import Worker
from hub.models import Role

ARTICLE = {
    "title": "How refunds work",
    "summary": "Money back rules",
    "category": "payments",
    "body": "# Refunds\n\nYou get a **full refund** when a provider cancels.",
    "tags": ["refund"],
    "status": "published",
}


async def run_jobs(app: Any) -> int:
    worker = Worker(app[keys.JOBS], app[keys.JOB_HANDLERS])
    n = 0
    while await worker.run_once():
        n += 1
    return n


async def test_create_read_update_versions_and_events(client: Any, api: Any) -> None:
    editor = await api.user(Role.supervisor)
    bus = client.server.app[keys.BUS]
    with bus.capture() as events:
        resp = await client.post("/api/v1/articles", json=ARTICLE, headers=editor["headers"])
        assert resp.status == 201, await resp.text()
        article = await resp.json()
    assert [e.name for e in events] == ["article.created"]
    assert article["slug"] == "how-refunds-work" and article["url"] == "/help/en/articles/how-refunds-work"
    assert "<strong>full refund</strong>" in article["body_html"] and article["version"] == 1
    assert article["author_id"] == editor["user"]["id"]

    resp = await client.patch(
        f"/api/v1/articles/{article['id']}",
        json={"title": "Refunds", "base_version": 1},
        headers=editor["headers"],
    )
    assert resp.status == 200 and (await resp.json())["version"] == 2
    stale = await client.patch(
        f"/api/v1/articles/{article['id']}",
        json={"title": "Again", "base_version": 1},
        headers=editor["headers"],
    )
    assert stale.status == 409 and stale.content_type == "application/problem+json"
    versions = (await (
        await client.get(f"/api/v1/articles/{article['id']}/versions", headers=editor["headers"])
    ).json())["items"]
    assert [v["version"] for v in versions] == [2, 1] and versions[1]["title"] == "How refunds work"
    oldest = await (await client.get(f"/api/v1/articles/{article['id']}/versions?sort=version&limit=1",
                                     headers=editor["headers"])).json()
    assert [v["version"] for v in oldest["items"]] == [1] and oldest["next_cursor"]

    anon = await client.get(f"/api/v1/articles/{article['id']}")
    assert anon.status == 200 and (await anon.json())["title"] == "Refunds"


async def test_translations_are_linked_and_unique_per_locale(client: Any, api: Any) -> None:
    editor = await api.user(Role.admin)
    en = await (await client.post("/api/v1/articles", json=ARTICLE, headers=editor["headers"])).json()
    af_in = {**ARTICLE, "title": "Hoe terugbetalings werk", "locale": "af", "translation_of": en["id"]}
    resp = await client.post("/api/v1/articles", json=af_in, headers=editor["headers"])
    assert resp.status == 201
    af = await resp.json()
    assert af["group_id"] == en["id"]
    got = await (await client.get(f"/api/v1/articles/{en['id']}")).json()
    assert got["translations"] == {"en": en["id"], "af": af["id"]}
    dup = await client.post(
        "/api/v1/articles", json={**af_in, "slug": "other-slug"}, headers=editor["headers"]
    )
    assert dup.status == 409 and (await dup.json())["field"] == "locale"
    same_slug = await client.post("/api/v1/articles", json=ARTICLE, headers=editor["headers"])
    assert same_slug.status == 409 and (await same_slug.json())["field"] == "slug"


async def test_visibility_and_drafts_by_role(client: Any, api: Any) -> None:
    admin = await api.user(Role.admin)
    made = {}
    for vis in ("public", "providers", "internal"):
        body = {**ARTICLE, "title": f"{vis} article", "visibility": vis}
        made[vis] = (
            await (await client.post("/api/v1/articles", json=body, headers=admin["headers"])).json()
        )["id"]
    draft = await (
        await client.post(
            "/api/v1/articles",
            json={**ARTICLE, "title": "Draft", "status": "draft"},
            headers=admin["headers"],
        )
    ).json()
    seen = {}
    for role in (None, Role.customer, Role.provider, Role.agent):
        headers = (await api.user(role))["headers"] if role else {}
        listed = (await (await client.get("/api/v1/articles", headers=headers)).json())["items"]
        seen[role] = {a["title"] for a in listed}
        hidden = await client.get(f"/api/v1/articles/{made['internal']}", headers=headers)
        assert hidden.status == (200 if role == Role.agent else 404)
    assert seen[None] == seen[Role.customer] == {"public article"}
    assert seen[Role.provider] == {"public article", "providers article"}
    assert seen[Role.agent] == {"public article", "providers article", "internal article"}
    assert (await client.get(f"/api/v1/articles/{draft['id']}")).status == 404
    assert (await client.get(f"/api/v1/articles/{draft['id']}", headers=admin["headers"])).status == 200


async def test_writes_need_articles_write(client: Any, api: Any) -> None:
    agent = await api.user(Role.agent)
    assert (await client.post("/api/v1/articles", json=ARTICLE)).status == 401
    resp = await client.post("/api/v1/articles", json=ARTICLE, headers=agent["headers"])
    assert resp.status == 403 and resp.content_type == "application/problem+json"
    assert await client.server.app[keys.STORE]["articles"].count_documents({}) == 0


async def test_bad_input_is_refused_and_nothing_stored(client: Any, api: Any) -> None:
    admin = await api.user(Role.admin)
    h = admin["headers"]
    cases = [
        ({**ARTICLE, "locale": "xx"}, "locale"),
        ({**ARTICLE, "title": ""}, "title"),
        ({**ARTICLE, "body": "x" * 200_001}, "body"),
        ({**ARTICLE, "visibility": "everyone"}, "visibility"),
        ({**ARTICLE, "unknown": 1}, "unknown"),
        ({**ARTICLE, "translation_of": "nope"}, None),
    ]
    for body, field in cases:
        resp = await client.post("/api/v1/articles", json=body, headers=h)
        assert resp.status in (404, 413, 422), (body.keys(), resp.status)
        if field:
            assert (await resp.json())["field"] == field
    resp = await client.post(
        "/api/v1/articles", data=b"{not json", headers={**h, "Content-Type": "application/json"}
    )
    assert resp.status == 422
    assert await client.server.app[keys.STORE]["articles"].count_documents({}) == 0
    assert await client.server.app[keys.STORE]["article_slots"].count_documents({}) == 0
    assert (await client.patch("/api/v1/articles/nope", json={"title": "x"}, headers=h)).status == 404


async def test_events_keep_the_index_in_sync_through_jobs(client: Any, api: Any) -> None:
    app = client.server.app
    admin = await api.user(Role.admin)
    art = await (await client.post("/api/v1/articles", json=ARTICLE, headers=admin["headers"])).json()
    kb = app[keys.EXTENSIONS]["knowledge_base"]
    await run_jobs(app)
    assert (await (await client.get("/api/v1/kb/search?q=refund")).json())["hits"][0]["id"] == art["id"]

    await client.patch(f"/api/v1/articles/{art['id']}", json={"status": "draft"}, headers=admin["headers"])
    assert await run_jobs(app) == 1
    assert (await (await client.get("/api/v1/kb/search?q=refund")).json())["hits"] == []

    await client.patch(
        f"/api/v1/articles/{art['id']}",
        json={"status": "published", "title": "Marquee refunds"},
        headers=admin["headers"],
    )
    await run_jobs(app)
    assert (await (await client.get("/api/v1/kb/search?q=marquee")).json())["hits"][0]["id"] == art["id"]

    assert (await client.delete(f"/api/v1/articles/{art['id']}", headers=admin["headers"])).status == 204
    await run_jobs(app)
    assert await kb.backend.fingerprints() == {}
    drift = await (await client.get("/api/v1/kb/drift", headers=admin["headers"])).json()
    assert drift["ok"] is True


async def test_drift_is_reported_and_reindex_repairs_it(client: Any, api: Any) -> None:
    app = client.server.app
    admin = await api.user(Role.admin)
    ids = []
    for i in range(3):
        body = {**ARTICLE, "title": f"Deposit rule {i}", "slug": f"deposit-{i}"}
        ids.append(
            (await (await client.post("/api/v1/articles", json=body, headers=admin["headers"])).json())["id"]
        )
    # jobs not run: the index lags behind the store
    drift = await (await client.get("/api/v1/kb/drift", headers=admin["headers"])).json()
    assert drift["ok"] is False and sorted(drift["missing"]) == sorted(ids)
    from knowledge_base.search import SearchDocument

    await app[keys.EXTENSIONS]["knowledge_base"].backend.index([SearchDocument(id="ghost", title="Ghost")])
    resp = await client.post("/api/v1/kb/reindex", headers=admin["headers"])
    assert resp.status == 200 and (await resp.json()) == {"documents": 3}
    drift = await (await client.get("/api/v1/kb/drift", headers=admin["headers"])).json()
    assert drift == {"ok": True, "checked": 3, "missing": [], "stale": [], "orphans": []}
    assert (
        await client.post("/api/v1/kb/reindex", headers=(await api.user(Role.agent))["headers"])
    ).status == 403


async def test_search_api_bad_input_and_analytics(client: Any, api: Any) -> None:
    app = client.server.app
    admin = await api.user(Role.admin)
    art = await (await client.post("/api/v1/articles", json=ARTICLE, headers=admin["headers"])).json()
    await run_jobs(app)
    long = await client.get("/api/v1/kb/search", params={"q": "refund " * 800})
    assert long.status == 400 and (await long.json())["field"] == "q"
    assert (await client.get("/api/v1/kb/search", params={"q": "refund", "locale": "xx"})).status == 400
    assert (await client.get("/api/v1/kb/search")).status == 400
    for q in ("refund", "Refund ", "refund", "unicorn rental"):
        assert (await client.get("/api/v1/kb/search", params={"q": q})).status == 200
    vote = {"helpful": True, "visitor": "visitor-123456"}
    for _ in range(2):  # a replayed vote counts once
        assert (await client.post(f"/api/v1/articles/{art['id']}/feedback", json=vote)).status == 204
    assert (await client.post(f"/api/v1/articles/{art['id']}/feedback", json={"helpful": True})).status == 422
    assert (await client.post("/api/v1/articles/nope/feedback", json=vote)).status == 404
    assert (
        await client.get("/api/v1/kb/analytics", headers=(await api.user(Role.agent))["headers"])
    ).status == 403
    report = await (await client.get("/api/v1/kb/analytics", params={"source": "api"},
                                     headers=admin["headers"])).json()
    assert report["searches"] == 4
    assert report["top_searches"][0] == {"query": "refund", "count": 3}
    assert report["no_result_searches"] == [{"query": "unicorn rental", "count": 1}]
    assert report["articles"][0]["helpful"] == 1 and report["articles"][0]["title"] == "How refunds work"
    cats = await (await client.get("/api/v1/kb/categories")).json()
    assert cats == {"payments": 1}
