"""The console's web pages: ``/console`` (the single-page app), its static assets, the PWA manifest
and service worker, all served by the hub (no CDN). Strict CSP: scripts and styles only from here,
so message text can never run as code even if a rendering bug slipped through."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self' ws: wss:; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if request.path.startswith("/console"):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


async def index(request: web.Request) -> web.FileResponse:
    response = web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})
    return response


async def service_worker(request: web.Request) -> web.FileResponse:
    # served from /console/ so its scope covers the whole console
    return web.FileResponse(STATIC / "sw.js", headers={"Cache-Control": "no-cache",
                                                       "Content-Type": "text/javascript"})


async def manifest(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "manifest.webmanifest",
                            headers={"Content-Type": "application/manifest+json"})


async def slash(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/")


def install(app: web.Application) -> None:
    app.middlewares.append(_headers)
    app.router.add_get("/console", slash)
    app.router.add_get("/console/", index)
    app.router.add_get("/console/c/{conversation_id}", index)  # deep links: the app routes them
    app.router.add_get("/console/settings", index)
    app.router.add_get("/console/settings/{tab}", index)
    app.router.add_get("/console/sw.js", service_worker)
    app.router.add_get("/console/manifest.webmanifest", manifest)
    app.router.add_static("/console/static/", STATIC, follow_symlinks=False, append_version=False)
