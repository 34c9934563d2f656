"""Package ``knowledge_base``: articles, search (embedded or Meilisearch), the help center, analytics.

``setup(app)`` is called by hub/app.py. What it wires:

- API routes (``knowledge_base.api.router``) under /api/v1, help-center pages under /help;
- ``article.created|updated|deleted`` → a ``kb.index`` job (``knowledge_base.sync``);
- a cleanup context that builds the search backend and the ``KnowledgeBase`` service and puts it
  in ``app[keys.EXTENSIONS]["knowledge_base"]`` (the bot searches through it), warms the model and
  rebuilds an empty index from MongoDB in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from hub import keys

from .events import ArticleCreated, ArticleDeleted, ArticleUpdated

log = logging.getLogger(__name__)
AUTO_REINDEX = (
    "knowledge_base.auto_reindex"  # app[keys.EXTENSIONS][AUTO_REINDEX] = False: no start-up rebuild
)


def setup(app: web.Application) -> None:
    """Wire this package into the hub: routes, event subscribers, cleanup contexts."""
    from . import api, helpcenter, sync

    app[keys.ROUTERS].append(api.router)
    helpcenter.setup(app)

    async def on_article(event: Any) -> None:
        await sync.enqueue_index(app[keys.JOBS], event)

    for event in (ArticleCreated, ArticleUpdated, ArticleDeleted):
        app[keys.BUS].subscribe(event, on_article)

    async def index_job(payload: dict[str, Any]) -> None:
        kb = app[keys.EXTENSIONS]["knowledge_base"]
        await sync.index_article(kb.store, kb.backend, str(payload["article_id"]))

    app[keys.JOB_HANDLERS][sync.JOB_KIND] = index_job
    app.cleanup_ctx.append(_kb_ctx)

    async def seed_articles(app: web.Application) -> None:
        from .seed import import_default

        await import_default(app)

    async def add_new_articles(app: web.Application) -> None:
        from .seed import import_default

        await import_default(app, only_new=True)

    app[keys.EXTENSIONS].setdefault("demo_seeders", []).append(seed_articles)
    app[keys.EXTENSIONS].setdefault("demo_refreshers", []).append(add_new_articles)


async def _kb_ctx(app: web.Application) -> AsyncIterator[None]:
    from .analytics import Analytics
    from .articles import Articles
    from .search import SearchUnavailable, make_backend, shared_encoder
    from .service import KnowledgeBase
    from .sync import reindex

    store = app[keys.STORE]
    encoder = shared_encoder()
    backend = make_backend(app[keys.SETTINGS], encoder)
    kb = KnowledgeBase(store, Articles(store, app[keys.BUS]), backend, Analytics(store))
    app[keys.EXTENSIONS]["knowledge_base"] = kb

    async def warm() -> None:
        try:
            await kb.analytics.forget_bot_texts()
        except Exception:  # tried again at the next start; the retention run deletes them anyway
            log.exception("old bot searches: text not removed")
        await encoder.warm_up()
        if not app[keys.EXTENSIONS].get(AUTO_REINDEX, True):
            return
        try:
            if not await backend.fingerprints() and await store["articles"].find_one({"status": "published"}):
                # no clear: an index job that ran since the check stays searchable (a test searched
                # between the clear and the rebuilt batch once, and found nothing)
                await reindex(store, backend, clear=False)
        except SearchUnavailable as exc:
            log.warning("search backend unavailable at start-up", extra={"error": str(exc)})

    task = asyncio.create_task(warm())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    close = getattr(backend, "close", None)
    if close is not None:
        await close()


__all__ = ["setup"]
