"""The help center's default content: ~20 Berry Events articles in English, some in Afrikaans and
isiZulu (``knowledge_base/content``). ``await import_default(app)`` is what demo seeding calls;
importing is an upsert, so calling it again changes nothing."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hub import keys
from hub.store import upsert

from .importer import ImportReport, import_path
from .sync import reindex

CONTENT = Path(__file__).parent / "content"
BUNDLED = "kb_bundled"  # _id = "<locale>:<slug>" of each bundled article this database has had


async def import_default(app: web.Application, *, index: bool = True, only_new: bool = False) -> ImportReport:
    """Import the bundled articles (app must be started) and, by default, index them right away.
    ``only_new``: add the bundled articles this database has never had, change none (a demo
    database run again after an upgrade gets the new articles, keeps its edits, and does not get
    back an article someone deleted). Every bundled article imported is recorded in ``BUNDLED``."""
    kb = app[keys.EXTENSIONS]["knowledge_base"]
    had = {d["_id"] async for d in kb.store[BUNDLED].find({}, {"_id": 1})} if only_new else set()
    report = await import_path(kb.articles, CONTENT, only_new=only_new, skip=had)
    for key in report.keys:
        await upsert(kb.store[BUNDLED], {"_id": key}, {"_id": key}, replace=True)
    if index and (report.created or report.updated):
        await reindex(kb.store, kb.backend)
    return report
