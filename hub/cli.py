"""``python -m hub``: run and administer the Berry Support Hub.

    serve        run the web node (API, agent console, help center, webhooks, Socket.IO)
    worker       run a job worker (SLA sweeps, outbox sends, surveys…); run as many as you like
    migrate      create collections and indexes (also done at every start), then exit
    seed-demo    load the Berry Events demo data set into an empty database
    create-user  create a user (the first admin, typically)
    contacts import FILE.csv [--dry-run]
                 import contacts from a CSV file (docs/api.md, "Contact import"): a progress bar on
                 stderr, a JSON summary as the last line; exit 1 if a row failed, 2 if the file
                 was refused

Without BERRY_MONGODB_URL every command starts the embedded FerretDB (built once, cached) with
its data in BERRY_VAR_DIR/ferretdb, starts it again if it exits, and stops it on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from hub import keys, logs
from hub.app import create_app
from hub.models import Role
from hub.settings import Settings

log = logging.getLogger("hub.cli")


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[web.Application]:
    """The app with its cleanup contexts started (store, services) but no HTTP listener."""
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        yield app
    finally:
        await runner.cleanup()


async def _serve(settings: Settings, demo: bool) -> None:
    app = create_app(settings)
    if demo:
        async def seed(app: web.Application) -> None:
            from hub.demo import seed_demo
            report = await seed_demo(app)
            _print_banner(settings, report)
        app.on_startup.append(seed)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    # Everything built so far (modules, models, the app) lives as long as the process: out of the
    # collector's sight, a full collection no longer walks it (measured in a process holding the
    # app: ~30 ms per full collection, a pause of every socket and request).
    gc.collect()
    gc.freeze()
    log.info("serving", extra={"url": settings.base_url})
    if not demo:
        _print_banner(settings, None)
    await _wait_for_signal()
    await runner.cleanup()


def _print_banner(settings: Settings, demo: dict[str, Any] | None) -> None:
    base = settings.base_url
    lines = ["", "Berry Support Hub is running:",
             f"  agent console   {base}/console",
             f"  help center     {base}/help",
             f"  reports         {base}/reports",
             f"  API docs        {base}/api/docs",
             f"  health          {base}/healthz  {base}/readyz  {base}/metrics"]
    if demo:
        lines.append(f"  demo sign-in    {demo['admin_email']} / {demo['password']}  (admin)")
        lines.append(f"                  {demo['agent_email']} / {demo['password']}  (agent)")
        if demo.get("seeded"):
            lines.append(
                f"  demo data       {demo['contacts']} contacts, {demo['conversations']} conversations"
            )
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _worker(settings: Settings) -> None:
    from hub.jobs import Worker

    async with started(settings.model_copy(update={"inline_worker": False})) as app:
        worker = Worker(app[keys.JOBS], app[keys.JOB_HANDLERS])
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.stop)
        await worker.run()


async def _migrate(settings: Settings) -> None:
    async with started(settings.model_copy(update={"inline_worker": False})):
        print("collections and indexes are up to date")


async def _seed(settings: Settings) -> None:
    from hub.demo import seed_demo

    async with started(settings.model_copy(update={"inline_worker": False})) as app:
        report = await seed_demo(app)
        print("demo data loaded" if report["seeded"] else "database not empty: demo data not loaded")
        print(f"sign in: {report['admin_email']} / {report['password']}")


async def _create_user(settings: Settings, email: str, role: str, name: str, password: str | None) -> None:
    if password is None:
        password = os.environ.get("BERRY_NEW_USER_PASSWORD") or (
            getpass.getpass("password: ") if sys.stdin.isatty() else secrets.token_urlsafe(12))
        generated = not sys.stdin.isatty() and "BERRY_NEW_USER_PASSWORD" not in os.environ
    else:
        generated = False
    async with started(settings.model_copy(update={"inline_worker": False})) as app:
        user = await app[keys.USERS].create(email, password, Role(role), name)
        await app[keys.AUDIT].record("cli", "user.create", "user", user.id, after={"email": user.email,
                                                                                  "role": role})
    print(f"created {role} {user.email} ({user.id})" + (f" with password {password}" if generated else ""))


async def _contacts_import(settings: Settings, path: str, dry_run: bool) -> int:
    import json

    from tqdm import tqdm

    from hub.contact_import import MAX_BYTES, import_csv
    from hub.errors import HubError

    try:
        with open(path, "rb") as f:  # noqa: ASYNC230  a one-shot CLI command: nothing else on this loop
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        return 2
    async with started(settings.model_copy(update={"inline_worker": False})) as app:
        bar = tqdm(unit="row", desc="import", file=sys.stderr)
        try:
            report = await import_csv(app[keys.CONTACTS], app[keys.AUDIT], data, actor="system:cli",
                                      dry_run=dry_run, progress=bar.update, on_rows=bar.reset)
        except HubError as exc:  # the file as a whole was refused
            print(f"{path}: {exc.detail}", file=sys.stderr)
            print(json.dumps({"error": exc.detail, "field": exc.field}), flush=True)
            return 2
        finally:
            bar.close()
    for row in report.results:
        if row.status == "error":
            print(f"row {row.row}: {row.column}: {row.reason}", file=sys.stderr)
        elif row.warning:
            print(f"row {row.row}: {row.column}: warning: {row.warning}", file=sys.stderr)
    print(json.dumps(report.model_dump(exclude={"results"})), flush=True)
    return 1 if report.errors else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hub", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the web node")
    serve.add_argument("--host", help="listen address (BERRY_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (BERRY_PORT, default 8080)")
    serve.add_argument("--demo", action="store_true", help="load demo data first if the database is empty")
    sub.add_parser("worker", help="run a job worker until SIGTERM")
    sub.add_parser("migrate", help="create collections and indexes, then exit")
    sub.add_parser("seed-demo", help="load the demo data set into an empty database")
    user = sub.add_parser("create-user", help="create a user, e.g. the first admin")
    user.add_argument("email")
    user.add_argument("--role", default="admin", choices=[r.value for r in Role])
    user.add_argument("--name", default="")
    user.add_argument(
        "--password", help="default: prompt (or BERRY_NEW_USER_PASSWORD, or generated and printed)"
    )
    contacts = sub.add_parser("contacts", help="contacts: import a CSV file")
    contacts_sub = contacts.add_subparsers(dest="contacts_command", required=True, metavar="ACTION")
    imp = contacts_sub.add_parser("import", help="import contacts from a CSV file (same rules as the API)")
    imp.add_argument("file", help="a UTF-8 CSV file with a header row")
    imp.add_argument("--dry-run", action="store_true", help="check and match every row, write nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {
        k: v
        for k, v in (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None)))
        if v is not None
    }
    settings = Settings(**overrides)
    logs.configure(settings.log_level, settings.log_json)
    commands: dict[str, Callable[[], Coroutine[Any, Any, int | None]]] = {
        "serve": lambda: _serve(settings, args.demo or settings.demo),
        "worker": lambda: _worker(settings),
        "migrate": lambda: _migrate(settings),
        "seed-demo": lambda: _seed(settings),
        "create-user": lambda: _create_user(settings, args.email, args.role, args.name, args.password),
        "contacts": lambda: _contacts_import(settings, args.file, args.dry_run),
    }
    code = None
    try:
        with asyncio.Runner(loop_factory=_loop_factory(settings)) as runner:
            code = runner.run(commands[args.command]())
    except KeyboardInterrupt:
        pass
    return code or 0


def _loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop unless settings say otherwise: the console's fan-out is thousands of small socket
    writes a second, where libuv's transports and scheduling cost less than asyncio's (the fan-out
    bench's node: ~7 % less CPU per message, bench/console_fanout.py --loops)."""
    if settings.event_loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None
