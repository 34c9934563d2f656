"""The help center's default content: ~20 Berry Events articles in English, some in Afrikaans and
isiZulu (``knowledge_base/content``). ``await import_default(app)`` is what demo seeding calls;
importing is an upsert, so calling it again changes nothing."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hub import keys

from .importer import ImportReport, import_path
from .sync import reindex

CONTENT = Path(__file__).parent / "content"


async def import_default(app: web.Application, *, index: bool = True, only_new: bool = False) -> ImportReport:
    """Import the bundled articles (app must be started) and, by default, index them right away.
    ``only_new``: add the bundled articles the database lacks, change none (a demo database that
    is run again after an upgrade gets the new articles and keeps its edits)."""
    kb = app[keys.EXTENSIONS]["knowledge_base"]
    report = await import_path(kb.articles, CONTENT, only_new=only_new)
    if index and (report.created or report.updated):
        await reindex(kb.store, kb.backend)
    return report
