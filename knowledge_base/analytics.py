"""Help-center analytics: searches (``search_queries``), article views (``article_views``) and
"was this helpful?" votes (``article_feedback``, one per visitor and article: ``_id`` =
"<article>:<visitor>", so a replayed or repeated vote replaces the earlier one).

Reports are computed in Python on bounded, indexed queries (FerretDB v1 has limited aggregation).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from hub.models import new_id, utcnow
from hub.store import Store, ix, register

register("search_queries", ix(("at", -1)), ix(("results", 1), ("at", -1)))
register("article_views", ix(("at", -1)), ix(("article_id", 1), ("at", -1)))
register("article_feedback", ix(("article_id", 1)), ix(("at", -1)))

SCAN_LIMIT = 50_000


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())[:200]


class TermCount(BaseModel):
    query: str
    count: int


class ArticleStat(BaseModel):
    article_id: str
    title: str = ""
    views: int = 0
    helpful: int = 0
    not_helpful: int = 0


class Report(BaseModel):
    days: int
    searches: int
    top_searches: list[TermCount]
    no_result_searches: list[TermCount]
    articles: list[ArticleStat]


class Analytics:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record_search(
        self, text: str, *, locale: str | None, results: int, source: str, visitor: str | None = None
    ) -> None:
        query = normalize(text)
        if not query:
            return
        await self.store["search_queries"].insert_one(
            {
                "_id": new_id(),
                "query": query,
                "locale": locale,
                "results": results,
                "source": source,
                "visitor": visitor,
                "at": utcnow(),
            }
        )

    async def record_view(self, article_id: str, *, visitor: str | None) -> None:
        await self.store["article_views"].insert_one(
            {"_id": new_id(), "article_id": article_id, "visitor": visitor, "at": utcnow()}
        )

    async def record_feedback(self, article_id: str, visitor: str, helpful: bool, comment: str = "") -> None:
        await self.store["article_feedback"].replace_one(
            {"_id": f"{article_id}:{visitor}"},
            {
                "article_id": article_id,
                "visitor": visitor,
                "helpful": helpful,
                "comment": comment[:2000],
                "at": utcnow(),
            },
            upsert=True,
        )

    async def report(self, days: int = 30, top: int = 20) -> Report:
        since = utcnow() - timedelta(days=days)
        searches: Counter[str] = Counter()
        empty: Counter[str] = Counter()
        total = 0
        async for d in (
            self.store["search_queries"]
            .find({"at": {"$gte": since}}, {"query": 1, "results": 1})
            .limit(SCAN_LIMIT)
        ):
            total += 1
            searches[d["query"]] += 1
            if d["results"] == 0:
                empty[d["query"]] += 1
        stats: dict[str, ArticleStat] = {}

        def stat(article_id: str) -> ArticleStat:
            return stats.setdefault(article_id, ArticleStat(article_id=article_id))

        async for d in (
            self.store["article_views"].find({"at": {"$gte": since}}, {"article_id": 1}).limit(SCAN_LIMIT)
        ):
            stat(d["article_id"]).views += 1
        async for d in self.store["article_feedback"].find({"at": {"$gte": since}}).limit(SCAN_LIMIT):
            s = stat(d["article_id"])
            if d["helpful"]:
                s.helpful += 1
            else:
                s.not_helpful += 1
        titles: dict[str, Any] = {
            d["_id"]: d["title"]
            async for d in self.store["articles"].find({"_id": {"$in": list(stats)[:1000]}}, {"title": 1})
        }
        for s in stats.values():
            s.title = titles.get(s.article_id, "")
        ranked = sorted(stats.values(), key=lambda s: (-s.views, -(s.helpful + s.not_helpful), s.article_id))[
            :100
        ]
        return Report(
            days=days,
            searches=total,
            top_searches=[TermCount(query=q, count=c) for q, c in searches.most_common(top)],
            no_result_searches=[TermCount(query=q, count=c) for q, c in empty.most_common(top)],
            articles=ranked,
        )
