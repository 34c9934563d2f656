"""``/reports``: the dashboard page and its static assets (Chart.js vendored from npm by
``scripts/setup.d/60-charts-assets.sh``; no CDN). Strict CSP: scripts and styles only from the hub (the
live tile's Socket.IO client is the console's vendored copy)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={
        "Cache-Control": "no-cache", "Content-Security-Policy": CSP})


async def slash(request: web.Request) -> web.Response:
    raise web.HTTPFound("/reports/")


def install(app: web.Application) -> None:
    app.router.add_get("/reports", slash)
    app.router.add_get("/reports/", index)
    app.router.add_static("/reports/static/", STATIC, follow_symlinks=False, append_version=False)
