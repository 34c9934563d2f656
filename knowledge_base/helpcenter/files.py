"""``/help/media/<id>``: an article's images, attachments, video and captions (see ``..media``),
served only to readers who may see an article that shows them; writers see every upload."""

from __future__ import annotations

from aiohttp import web

from hub import keys

from ..media import BLOB_ID, media_store, response
from ..models import ArticleStatus, visibilities_for
from .views import principal_of


async def media(request: web.Request) -> web.Response:
    blob_id = request.match_info["blob_id"]
    if not BLOB_ID.fullmatch(blob_id):
        raise web.HTTPNotFound(text="no such file")
    store = request.app[keys.STORE]
    principal = principal_of(request)
    if not (principal and principal.can("articles:write")):
        allowed = visibilities_for(principal.role if principal else None)
        shown = store["articles"].find({"media_ids": blob_id}, {"status": 1, "visibility": 1}).limit(50)
        if not [
            d
            async for d in shown
            if d["status"] == ArticleStatus.published.value and d["visibility"] in allowed
        ]:
            raise web.HTTPNotFound(
                text="no such file"
            )  # unknown, unpublished or not for you: the same answer
    found = await media_store(store).get(blob_id)
    if found is None:
        raise web.HTTPNotFound(text="no such file")
    data, meta = found
    return response(request, data, meta)


def install(app: web.Application) -> None:
    app.router.add_get("/help/media/{blob_id}", media)
