"""``KnowledgeBase``: what other packages use (``app[keys.EXTENSIONS]["knowledge_base"]``).

The bot calls ``await kb.search(SearchQuery(...))`` and gets ``list[SearchHit]``; it catches
``SearchUnavailable`` and hands off to a human.

The help center and the API search with ``fallback=True``: a reader's own language first, then
the answers that exist only in the default language (English), each hit with its own ``locale``.
"""

from __future__ import annotations

import logging

from hub.store import Store

from .analytics import Analytics
from .articles import Articles
from .models import DEFAULT_LOCALE, Article
from .search import SearchBackend, SearchHit, SearchQuery

log = logging.getLogger(__name__)


class KnowledgeBase:
    def __init__(
        self, store: Store, articles: Articles, backend: SearchBackend, analytics: Analytics
    ) -> None:
        self.store = store
        self.articles = articles
        self.backend = backend
        self.analytics = analytics

    async def search(
        self, query: SearchQuery, *, source: str = "bot", visitor: str | None = None,
        contact_id: str | None = None, fallback: bool = False,
    ) -> list[SearchHit]:
        """Search published articles the query's visibilities allow; every search is recorded, with
        who searched when known (``contact_id``: a signed-in customer) and where (``source``: the
        bot's calls name none). A bot search is recorded without its text (``analytics``).

        ``fallback``: a search in another language than the default also gets the default
        language's answers (``with_default_language``)."""
        hits = await self.backend.search(query)
        if fallback and query.locale and query.locale != DEFAULT_LOCALE:
            hits = await self.with_default_language(query, hits)
        try:
            await self.analytics.record_search(
                query.text, locale=query.locale, results=len(hits), source=source, visitor=visitor,
                contact_id=contact_id,
            )
        except Exception:  # analytics must never cost the user their answer
            log.warning("search not recorded", exc_info=True)
        return hits

    async def with_default_language(self, query: SearchQuery, hits: list[SearchHit]) -> list[SearchHit]:
        """``hits`` (in the query's language) first, then what the same search finds in the default
        language: an article translated into the query's language as that translation (when the
        reader may see it and it is not listed yet), one without a translation as it is (its
        ``locale`` says so). One article group is listed once; at most ``query.limit`` hits."""
        default = await self.backend.search(query.model_copy(update={"locale": DEFAULT_LOCALE}))
        if not default:
            return hits
        articles = self.store["articles"]
        groups = {d["_id"]: d["group_id"] async for d in articles.find(
            {"_id": {"$in": [h.id for h in hits + default]}}, {"group_id": 1})}
        translated: dict[str, Article] = {}
        async for d in articles.find({
            "group_id": {"$in": [groups[h.id] for h in default if h.id in groups]},
            "locale": query.locale, "status": "published", "visibility": {"$in": query.visibilities},
        }).limit(100):
            translated[d["group_id"]] = Article.from_doc(d)
        seen = {groups.get(h.id, h.id) for h in hits}
        own, other = list(hits), []
        for hit in default:
            group = groups.get(hit.id, hit.id)
            if group in seen:
                continue
            seen.add(group)
            if (article := translated.get(group)) is not None:
                own.append(SearchHit(id=article.id, title=article.title, summary=article.summary,
                                     url=article.url, locale=article.locale, category=article.category,
                                     score=hit.score))
            else:
                other.append(hit)
        return (own + other)[:query.limit]
