"""HTTP side of the web chat: the widget script (served by the hub, no CDN), a demo host page,
and attachment uploads tied to the visitor token."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from aiohttp import web

from hub import keys
from hub.api.problem import problem
from hub.api.routing import read_limited
from hub.platform.blobs import clean_filename

from . import tokens

STATIC = Path(__file__).parent / "static"
MAX_UPLOAD = 10 * 1024 * 1024
ALLOWED = ("image/", "application/pdf", "text/plain")
REFUSED = {"image/svg+xml"}  # an image that can carry script
WIDGET_LANGUAGES = ("en", "af", "zu")  # widget.js has strings for these


async def widget_js(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "widget.js", headers={
        "Content-Type": "application/javascript; charset=utf-8", "Cache-Control": "public, max-age=300"})


async def demo(request: web.Request) -> web.StreamResponse:
    """The demo host page; ``?lang=af`` embeds the widget with that language (``data-lang``)."""
    html = (STATIC / "demo.html").read_text(encoding="utf-8")
    lang = request.query.get("lang", "")
    if lang in WIDGET_LANGUAGES:
        html = html.replace('data-lang=""', f'data-lang="{lang}"')
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def upload(request: web.Request) -> web.StreamResponse:
    settings = request.app[keys.SETTINGS]
    visitor = tokens.verify(
        settings.chat_secret.get_secret_value(), request.headers.get("X-Visitor-Token", "")
    )
    if visitor is None:
        return problem(403, "Forbidden", "invalid visitor token")
    # over the limit: PayloadTooLarge → 413 problem+json (hub.api.middleware.problems)
    data = await read_limited(request, MAX_UPLOAD, f"uploads are limited to {MAX_UPLOAD // 1048576} MB")
    content_type = request.content_type
    if not content_type.startswith(ALLOWED) or content_type in REFUSED or not data:
        return problem(415, "Unsupported media type", "images, PDF or text only", field="Content-Type")
    filename = clean_filename(unquote(request.headers.get("X-Filename") or "upload"))
    blob_id = await request.app[keys.EXTENSIONS]["channels"].blobs.put(
        data, filename=filename, content_type=content_type, meta={"visitor": visitor})
    return web.json_response({"blob_id": blob_id, "filename": filename, "content_type": content_type,
                              "size": len(data)}, status=201)


def install(app: web.Application) -> None:
    app.router.add_get("/chat/widget.js", widget_js)
    app.router.add_get("/chat/demo", demo)
    app.router.add_post("/chat/attachments", upload)
