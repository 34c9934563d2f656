"""Help-center analytics: searches (``search_queries``), article views (``article_views``) and
"was this helpful?" votes (``article_feedback``, one per visitor and article: ``_id`` =
"<article>:<visitor>", so a replayed or repeated vote replaces the earlier one).

Deflection: a help-center *session* is a visitor's searches and article views, a new session
starting when an activity comes more than a day after the session began. The session was
*escalated* if the same visitor opened a ticket (the contact form) or the chat from the help
center (``help_escalations``) between the session's start and a day after its last activity;
otherwise it was *deflected*. Sessions whose day has not yet passed are *pending* and not judged.
rate = deflected / (deflected + escalated).

Searches carry their ``source``: ``help_center`` (the search page), ``instant`` (its search as you
type), ``bot`` and ``api``; reports and deflection count the help center's unless asked otherwise.
A bot search is recorded without its text: the bot searches with what the customer wrote (names,
addresses, booking references), which the conversation already keeps under its own retention and
erasure. A signed-in customer's searches carry their ``contact_id``, so the erasure and the export
find them; the rest are anonymous and go with the retention policy (``search_queries``).

Reports are computed in Python on bounded, indexed queries (FerretDB v1 has limited aggregation).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from hub.models import new_id, utcnow
from hub.store import Store, ix, register, upsert

register("search_queries", ix(("at", -1)), ix(("results", 1), ("at", -1)), ix(("source", 1), ("at", -1)),
         ix(("contact_id", 1)))
register("article_views", ix(("at", -1)), ix(("article_id", 1), ("at", -1)))
register("article_feedback", ix(("article_id", 1)), ix(("at", -1)))
register("help_escalations", ix(("at", -1)))  # _id = "<visitor>:<kind>:<minute>" (a replayed beacon is one)

DAY = timedelta(days=1)

log = logging.getLogger(__name__)
SCAN_LIMIT = 50_000
POPULAR_TTL_S = 600.0  # how stale the help center's "Popular articles" may be
SOURCES = ("help_center", "instant", "bot", "api")
SourceFilter = Literal["help_center", "bot", "api", "all"]
SOURCES_OF: dict[str, tuple[str, ...]] = {"help_center": ("help_center", "instant"), "bot": ("bot",),
                                          "api": ("api",), "all": SOURCES}
TEXT_NOT_KEPT = frozenset({"bot"})  # sources whose search text is the customer's own message


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


class Deflection(BaseModel):
    sessions: int = 0
    deflected: int = 0
    escalated: int = 0
    pending: int = 0
    rate: float | None = None


class Report(BaseModel):
    days: int
    source: str = "help_center"
    searches: int
    top_searches: list[TermCount]
    no_result_searches: list[TermCount]
    articles: list[ArticleStat]
    deflection: Deflection = Deflection()


def sessions_of(times: list[datetime]) -> list[tuple[datetime, datetime]]:
    """(start, last activity) per session: a session spans at most a day from its start."""
    out: list[tuple[datetime, datetime]] = []
    for at in sorted(times):
        if out and at - out[-1][0] <= DAY:
            out[-1] = (out[-1][0], at)
        else:
            out.append((at, at))
    return out


def deflection(
    activity: dict[str, list[datetime]], escalations: dict[str, list[datetime]], now: datetime
) -> Deflection:
    result = Deflection()
    for visitor, times in activity.items():
        for start, last in sessions_of(times):
            result.sessions += 1
            if any(start <= e <= last + DAY for e in escalations.get(visitor, [])):
                result.escalated += 1
            elif last + DAY > now:
                result.pending += 1
            else:
                result.deflected += 1
    judged = result.deflected + result.escalated
    result.rate = round(result.deflected / judged, 4) if judged else None
    return result


class Analytics:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._popular: tuple[float, list[str]] | None = None  # (computed at, monotonic s; ids)
        self._popular_lock = asyncio.Lock()
        self._renewing: asyncio.Task[None] | None = None

    async def popular(self, days: int = 30, top: int = 200) -> list[str]:
        """Ids of the articles read by the most visitors over the last ``days``, most first. A visitor
        counts once per article: reloading a page (or a script doing so) does not make it popular.
        One bounded scan of the latest views, at most every ``POPULAR_TTL_S`` per process. Only the
        first call waits for it: later, an outdated list is served while a new one is computed in
        the background (a home page never pays for the scan)."""
        if self._popular is None:
            async with self._popular_lock:  # concurrent first home pages wait for one scan, not one each
                if self._popular is None:
                    await self._rank(days, top)
        elif time.monotonic() - self._popular[0] > POPULAR_TTL_S and (
                self._renewing is None or self._renewing.done()):
            self._renewing = asyncio.create_task(self._renew(days, top))
        assert self._popular is not None
        return self._popular[1]

    async def _rank(self, days: int, top: int) -> None:
        readers: dict[str, set[str]] = defaultdict(set)
        since = utcnow() - timedelta(days=days)
        views = self.store["article_views"].find({"at": {"$gte": since}}, {"article_id": 1, "visitor": 1})
        async for d in views.sort("at", -1).limit(SCAN_LIMIT):
            readers[d["article_id"]].add(d.get("visitor") or d["_id"])
        self._popular = (time.monotonic(), sorted(readers, key=lambda a: (-len(readers[a]), a))[:top])

    async def _renew(self, days: int, top: int) -> None:
        try:
            await self._rank(days, top)
        except Exception:  # the outdated list stays; the next home page tries again
            log.exception("popular articles: renewing failed")

    async def record_search(
        self, text: str, *, locale: str | None, results: int, source: str, visitor: str | None = None,
        contact_id: str | None = None,
    ) -> None:
        """``contact_id``: the signed-in customer who searched (erasure and export find it by it)."""
        if source not in SOURCES:
            raise ValueError(f"unknown search source {source!r}")
        query = normalize(text)
        if not query:
            return
        await self.store["search_queries"].insert_one(
            {
                "_id": new_id(),
                "query": None if source in TEXT_NOT_KEPT else query,
                "locale": locale,
                "results": results,
                "source": source,
                "visitor": visitor,
                "contact_id": contact_id,
                "at": utcnow(),
            }
        )

    async def forget_bot_texts(self) -> int:
        """Bot searches recorded with their text (before it stopped being kept) lose it. Run at
        start-up: after the first run it matches nothing (the ``source`` index finds them)."""
        result = await self.store["search_queries"].update_many(
            {"source": {"$in": list(TEXT_NOT_KEPT)}, "query": {"$ne": None}}, {"$set": {"query": None}})
        return int(result.modified_count)

    async def record_view(self, article_id: str, *, visitor: str | None) -> None:
        await self.store["article_views"].insert_one(
            {"_id": new_id(), "article_id": article_id, "visitor": visitor, "at": utcnow()}
        )

    async def record_feedback(self, article_id: str, visitor: str, helpful: bool, comment: str = "") -> None:
        await upsert(
            self.store["article_feedback"],
            {"_id": f"{article_id}:{visitor}"},
            {
                "article_id": article_id,
                "visitor": visitor,
                "helpful": helpful,
                "comment": comment[:2000],
                "at": utcnow(),
            },
            replace=True,
        )

    async def record_escalation(self, visitor: str, kind: str, conversation_id: str | None = None) -> None:
        now = utcnow()
        await upsert(self.store["help_escalations"],
            {"_id": f"{visitor}:{kind}:{now.strftime('%Y%m%d%H%M')}"},
            {"visitor": visitor, "kind": kind, "conversation_id": conversation_id, "at": now}, replace=True)

    async def deflection(self, since: datetime, now: datetime | None = None) -> Deflection:
        now = now or utcnow()
        activity: dict[str, list[datetime]] = defaultdict(list)
        help_center = {"source": {"$in": list(SOURCES_OF["help_center"])}}  # the API's callers never escalate
        for name, flt in (("search_queries", help_center), ("article_views", {})):
            found = self.store[name].find({"at": {"$gte": since}, **flt}, {"visitor": 1, "at": 1})
            async for d in found.limit(SCAN_LIMIT):
                if d.get("visitor"):
                    activity[d["visitor"]].append(d["at"])
        escalations: dict[str, list[datetime]] = defaultdict(list)
        async for d in self.store["help_escalations"].find({"at": {"$gte": since}}).limit(SCAN_LIMIT):
            escalations[d["visitor"]].append(d["at"])
        return deflection(activity, escalations, now)

    async def report(self, days: int = 30, top: int = 20, source: SourceFilter = "help_center") -> Report:
        """``source``: whose searches count (``help_center``: its search page and search as you type)."""
        since = utcnow() - timedelta(days=days)
        searches: Counter[str] = Counter()
        empty: Counter[str] = Counter()
        total = 0
        flt: dict[str, Any] = {"at": {"$gte": since}}
        if source != "all":
            flt["source"] = {"$in": list(SOURCES_OF[source])}
        async for d in self.store["search_queries"].find(flt, {"query": 1, "results": 1}).limit(SCAN_LIMIT):
            total += 1
            if not d.get("query"):  # a bot search: counted, its text not kept
                continue
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
            source=source,
            searches=total,
            top_searches=[TermCount(query=q, count=c) for q, c in searches.most_common(top)],
            no_result_searches=[TermCount(query=q, count=c) for q, c in empty.most_common(top)],
            articles=ranked,
            deflection=await self.deflection(since),
        )
