"""The one way a process gets its store from settings: the configured MongoDB, or else the embedded
FerretDB started for the process's lifetime (and started again if it exits). Indexes are ensured
on open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

from .db import Store
from .embedded import EmbeddedFerretDB

if TYPE_CHECKING:
    from hub.settings import Settings


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    ferret: EmbeddedFerretDB | None = None
    watch: asyncio.Task[None] | None = None
    url = settings.mongodb_url
    if not url:
        ferret = EmbeddedFerretDB(settings.var_dir / "ferretdb", version=settings.ferretdb_version,
                                  cache_dir=settings.cache_dir)
        await asyncio.to_thread(ferret.start)
        watch = asyncio.create_task(ferret.supervise(), name="ferretdb-supervise")
        url = ferret.url
    store = Store.connect(url, settings.mongodb_db)
    try:
        await store.ensure_indexes()
        yield store
    finally:
        if watch:
            watch.cancel()
            with suppress(asyncio.CancelledError):
                await watch
        await store.close()
        if ferret:
            await asyncio.to_thread(ferret.stop)
