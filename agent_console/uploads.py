"""Files an agent attaches to a reply: ``POST /api/v1/console/attachments`` stores the request
body as a blob (GridFS, the same store ``channels`` uses for media) and returns an ``Attachment``
whose ``blob_id`` a socket reply may then name. Only the uploader may attach an upload, so a blob
id seen elsewhere (another team's recording) cannot be smuggled into a reply."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from bson import ObjectId

from hub import keys
from hub.api.routing import ApiRouter, read_limited
from hub.auth import Principal
from hub.errors import InvalidInput
from hub.models import Attachment
from hub.platform.blobs import clean_filename
from hub.store import Store

router = ApiRouter()
MAX_BYTES = 10 * 1024 * 1024
FILES = "blobs.files"  # GridFS metadata of channels.blobs.GridFSBlobStore (bucket "blobs")
SOURCE = "console"
TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


@router.route(
    "POST",
    "/console/attachments",
    summary="Upload a file to attach to a reply (body = the file; ?filename=)",
    tag="console",
    permission="messages:write",
    response=Attachment,
    status=201,
)
async def upload(request: web.Request, principal: Principal) -> Attachment:
    content_type = (
        (request.headers.get("Content-Type") or "application/octet-stream").split(";")[0].strip().lower()
    )
    if not TYPE.match(content_type) or content_type.startswith("multipart/"):
        raise InvalidInput("send the file itself as the body, with its media type", field="Content-Type")
    data = await read_limited(request, MAX_BYTES, f"files are limited to {MAX_BYTES // (1024 * 1024)} MB")
    if not data:
        raise InvalidInput("the file is empty", field="body")
    filename = clean_filename(request.query.get("filename", "file"), limit=200)
    blobs = request.app[keys.EXTENSIONS]["channels"].blobs
    blob_id = await blobs.put(
        data,
        filename=filename,
        content_type=content_type,
        meta={"source": SOURCE, "uploaded_by": principal.actor_id, "size": len(data)},
    )
    return Attachment(
        filename=filename,
        content_type=content_type,
        size=len(data),
        blob_id=blob_id,
        url=f"/api/v1/blobs/{blob_id}",
    )


async def mine(store: Store, principal: Principal, blob_ids: list[str]) -> dict[str, Attachment]:
    """The named uploads that this staff member made, by blob id."""
    out: dict[str, Attachment] = {}
    ids = [ObjectId(b) for b in dict.fromkeys(blob_ids)]
    async for doc in store[FILES].find({"_id": {"$in": ids}}):
        meta: dict[str, Any] = doc.get("metadata") or {}
        if meta.get("source") == SOURCE and meta.get("uploaded_by") == principal.actor_id:
            blob_id = str(doc["_id"])
            out[blob_id] = Attachment(
                filename=doc.get("filename", "file"),
                content_type=meta.get("content_type", ""),
                size=int(doc.get("length", 0)),
                blob_id=blob_id,
                url=f"/api/v1/blobs/{blob_id}",
            )
    return out
