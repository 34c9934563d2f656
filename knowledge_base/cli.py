"""``python -m knowledge_base``: maintain the knowledge base from the command line.

    reindex              rebuild the search index from MongoDB
    import PATH          import a folder of Markdown files with front matter, a .md or a .csv file
    import --default     import the bundled Berry Events help articles
    check [--repair]     compare the index with MongoDB and report drift (exit 1 if any);
                         --repair fixes it

Uses the same settings (``BERRY_*``) as the hub; without BERRY_MONGODB_URL it starts the embedded
FerretDB. Exit status: 0 ok, 1 drift or import errors, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from tqdm import tqdm

from hub import keys
from hub.app import create_app
from hub.settings import Settings

from . import AUTO_REINDEX


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from .importer import import_path, read_sources
    from .seed import CONTENT
    from .sync import check_drift, reindex, repair

    async with _started(settings) as app:
        kb = app[keys.EXTENSIONS]["knowledge_base"]
        if args.command == "reindex":
            total = await kb.store["articles"].count_documents({"status": "published"})
            with tqdm(total=total, unit="article", desc="reindex") as bar:
                count = await reindex(kb.store, kb.backend, progress=bar.update)
            print(json.dumps({"indexed": count}))
            return 0
        if args.command == "import":
            path = CONTENT if args.default else Path(args.path)
            if not path.exists():
                print(f"no such file or folder: {path}", file=sys.stderr)
                return 2
            sources, _ = read_sources(path)
            with tqdm(total=len(sources), unit="article", desc="import") as bar:
                report = await import_path(kb.articles, path, progress=bar.update)
            # index now rather than waiting for the worker: the jobs queued meanwhile find it done
            with tqdm(unit="article", desc="reindex") as bar:
                await reindex(kb.store, kb.backend, progress=bar.update)
            print(json.dumps(report.as_dict(), ensure_ascii=False))
            for source, error in report.errors:
                print(f"{source}: {error}", file=sys.stderr)
            return 1 if report.errors else 0
        drift = await check_drift(kb.store, kb.backend)
        print(json.dumps(drift.as_dict()))
        if args.repair and not drift.ok:
            fixed = await repair(kb.store, kb.backend, drift)
            print(json.dumps({"repaired": fixed}))
            return 0
        return 0 if drift.ok else 1


@asynccontextmanager
async def _started(settings: Settings) -> AsyncIterator[web.Application]:
    """The app's services without an HTTP listener, and without the start-up index rebuild
    (this command decides what to index)."""
    app = create_app(settings)
    app[keys.EXTENSIONS][AUTO_REINDEX] = False
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        yield app
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = argparse.ArgumentParser(
        prog="python -m knowledge_base",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("reindex", help="rebuild the search index from MongoDB")
    imp = sub.add_parser("import", help="import Markdown files (front matter) or a CSV")
    imp.add_argument("path", nargs="?")
    imp.add_argument("--default", action="store_true", help="the bundled Berry Events articles")
    chk = sub.add_parser("check", help="report drift between MongoDB and the index")
    chk.add_argument("--repair", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "import" and not (args.path or args.default):
        parser.error("import needs a PATH or --default")
    # the CLI indexes itself (no worker) and needs no bot (the embedded bot trains at start-up)
    settings = Settings(inline_worker=False, bot_engine="off")
    return asyncio.run(_run(args, settings))
