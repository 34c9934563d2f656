"""Keeping the search index in step with the ``articles`` collection.

Article events enqueue a ``kb.index`` job (keyed by article and version, so a replayed event
queues nothing new); the job re-reads the article and indexes it, or removes it from the index when
it is gone, unpublished or archived — idempotent, as leased jobs must be. ``reindex`` rebuilds the
whole index from MongoDB; ``check_drift`` compares fingerprints and never writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub.jobs import Jobs
from hub.store import Store

from .events import ArticleCreated, ArticleDeleted, ArticleUpdated
from .markdown import plain_text
from .models import Article, ArticleStatus
from .search import SearchBackend, SearchDocument

log = logging.getLogger(__name__)
JOB_KIND = "kb.index"
BATCH = 256


def to_document(article: Article) -> SearchDocument:
    return SearchDocument(
        id=article.id,
        title=article.title,
        summary=article.summary,
        body=" ".join(
            [plain_text(article.body_md)]
            + [f"{item.question} {plain_text(item.answer)}" for item in article.faq]
            + ([article.video.transcript] if article.video else [])
        ).strip(),
        url=article.url,
        locale=article.locale,
        visibility=article.visibility.value,
        category=article.category,
        tags=article.tags,
    )


def searchable(doc: dict[str, Any]) -> bool:
    return doc.get("status") == ArticleStatus.published.value


async def enqueue_index(jobs: Jobs, event: Any) -> None:
    if isinstance(event, ArticleDeleted):
        await jobs.enqueue(
            JOB_KIND, {"article_id": event.article_id}, key=f"{JOB_KIND}:{event.article_id}:deleted"
        )
    elif isinstance(event, ArticleCreated | ArticleUpdated):
        a = event.article
        await jobs.enqueue(JOB_KIND, {"article_id": a.id}, key=f"{JOB_KIND}:{a.id}:{a.version}")


async def index_article(store: Store, backend: SearchBackend, article_id: str) -> str:
    """The job body: make the index agree with the store for one article. Returns what it did."""
    doc = await store["articles"].find_one({"_id": article_id})
    if doc is None or not searchable(doc):
        await backend.delete([article_id])
        return "deleted"
    await backend.index([to_document(Article.from_doc(doc))])
    return "indexed"


async def reindex(store: Store, backend: SearchBackend, progress: Callable[[int], None] | None = None, *,
                  clear: bool = True) -> int:
    """Rebuild the index from MongoDB: clear (unless ``clear=False``: filling an empty index while
    index jobs may run), then index every published article in batches."""
    if clear:
        await backend.clear()
    count = 0
    batch: list[SearchDocument] = []
    async for doc in store["articles"].find({"status": ArticleStatus.published.value}).sort("_id", 1):
        batch.append(to_document(Article.from_doc(doc)))
        if len(batch) >= BATCH:
            await backend.index(batch)
            count += len(batch)
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        await backend.index(batch)
        count += len(batch)
        if progress:
            progress(len(batch))
    log.info("search index rebuilt", extra={"documents": count})
    return count


@dataclass
class Drift:
    missing: list[str] = field(default_factory=list)  # published in the store, absent from the index
    stale: list[str] = field(default_factory=list)  # indexed with other content than the store's
    orphans: list[str] = field(default_factory=list)  # in the index, not published in the store
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.orphans)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "missing": self.missing,
            "stale": self.stale,
            "orphans": self.orphans,
        }


async def check_drift(store: Store, backend: SearchBackend) -> Drift:
    indexed = await backend.fingerprints()
    drift = Drift()
    seen: set[str] = set()
    async for doc in store["articles"].find({"status": ArticleStatus.published.value}):
        drift.checked += 1
        expected = to_document(Article.from_doc(doc)).fingerprint
        seen.add(doc["_id"])
        if doc["_id"] not in indexed:
            drift.missing.append(doc["_id"])
        elif indexed[doc["_id"]] != expected:
            drift.stale.append(doc["_id"])
    drift.orphans = sorted(set(indexed) - seen)
    return drift


async def repair(store: Store, backend: SearchBackend, drift: Drift) -> int:
    """Index the missing and stale articles, drop the orphans. Returns how many were fixed."""
    await backend.delete(drift.orphans)
    for article_id in drift.missing + drift.stale:
        await index_article(store, backend, article_id)
    return len(drift.orphans) + len(drift.missing) + len(drift.stale)
