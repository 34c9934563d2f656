"""The help center's default content: ~20 Berry Events articles in English, some in Afrikaans and
isiZulu (``knowledge_base/content``). ``await import_default(app)`` is what demo seeding calls;
importing is an upsert, so calling it again changes nothing."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hub import keys
from hub.store import upsert

from .importer import ImportReport, Source, import_sources, read_sources
from .models import slugify
from .sync import reindex

CONTENT = Path(__file__).parent / "content"
BUNDLED = "kb_bundled"  # _id = "<locale>:<slug>" of each bundled article this database has had


async def import_default(app: web.Application, *, index: bool = True, only_new: bool = False) -> ImportReport:
    """Import the bundled articles (app must be started) and, by default, index them right away.
    ``only_new``: add the bundled articles this database has never had, change none (a demo
    database run again after an upgrade gets the new articles, keeps its edits, and does not get
    back an article someone deleted). Every bundled article imported is recorded in ``BUNDLED``."""
    kb = app[keys.EXTENSIONS]["knowledge_base"]
    sources, errors = read_sources(CONTENT)
    if only_new:
        had = {d["_id"] async for d in kb.store[BUNDLED].find({}, {"_id": 1})}
        sources = [s for s in sources if _key(s) not in had]
    report = await import_sources(kb.articles, sources, report=ImportReport(errors=list(errors)),
                                  only_new=only_new)
    failed = {name for name, _ in report.errors}
    for source in sources:
        if source.name not in failed:
            await upsert(kb.store[BUNDLED], {"_id": _key(source)}, {"_id": _key(source)}, replace=True)
    if index and (report.created or report.updated):
        await reindex(kb.store, kb.backend)
    return report


def _key(source: Source) -> str:
    data = source.data
    return f"{data.get('locale') or 'en'}:{data.get('slug') or slugify(str(data.get('title') or ''))}"
