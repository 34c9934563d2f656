"""``KnowledgeBase``: what other packages use (``app[keys.EXTENSIONS]["knowledge_base"]``).

The bot calls ``await kb.search(SearchQuery(...))`` and gets ``list[SearchHit]``; it catches
``SearchUnavailable`` and hands off to a human.
"""

from __future__ import annotations

import logging

from hub.store import Store

from .analytics import Analytics
from .articles import Articles
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
        contact_id: str | None = None,
    ) -> list[SearchHit]:
        """Search published articles the query's visibilities allow; every search is recorded, with
        who searched when known (``contact_id``: a signed-in customer) and where (``source``: the
        bot's calls name none). A bot search is recorded without its text (``analytics``)."""
        hits = await self.backend.search(query)
        try:
            await self.analytics.record_search(
                query.text, locale=query.locale, results=len(hits), source=source, visitor=visitor,
                contact_id=contact_id,
            )
        except Exception:  # analytics must never cost the user their answer
            log.warning("search not recorded", exc_info=True)
        return hits
