"""Article media: images, attachments, tutorial videos and their captions, in GridFS (bucket
``kb_media``, the same ``GridFSBlobStore`` the channels use for message media).

Staff upload through ``POST /api/v1/kb/media`` (raw body, ``Content-Type``, ``X-Filename``); an
article refers to a blob by id (``![alt](/help/media/<id>)`` in Markdown, ``attachments``,
``video``). ``/help/media/<id>`` serves a blob only when an article the reader may see refers to
it (``media_ids``), so a provider-only article's files are as private as its text. SVG and HTML are
not accepted (script in an image); files that are not images, video or captions are served as
downloads. Video answers Range requests (seeking) from memory: tutorials are capped at MAX_VIDEO.
"""

from __future__ import annotations

import re

from aiohttp import web

from channels.blobs import GridFSBlobStore
from hub.platform.blobs import content_disposition
from hub.store import Store

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
VIDEO_TYPES = frozenset({"video/mp4", "video/webm"})
OTHER_TYPES = frozenset({"application/pdf", "text/plain", "text/csv", "text/vtt"})
MEDIA_TYPES = IMAGE_TYPES | VIDEO_TYPES | OTHER_TYPES
MAX_FILE = 10 * 1024 * 1024
MAX_VIDEO = 100 * 1024 * 1024
BLOB_ID = re.compile(r"^[0-9a-f]{24}$")
REFERENCE = re.compile(r"/help/media/([0-9a-f]{24})")
INLINE = IMAGE_TYPES | VIDEO_TYPES | {"text/vtt"}


def media_store(store: Store) -> GridFSBlobStore:
    return GridFSBlobStore(store, bucket="kb_media")


def referenced(*texts: str) -> list[str]:
    """Blob ids a Markdown body (or any text) points at through /help/media/<id>."""
    out: list[str] = []
    for text in texts:
        for blob_id in REFERENCE.findall(text):
            if blob_id not in out:
                out.append(blob_id)
    return out


def limit_for(content_type: str) -> int:
    return MAX_VIDEO if content_type in VIDEO_TYPES else MAX_FILE


def _range(header: str, size: int) -> tuple[int, int] | None:
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or (not match[1] and not match[2]):
        return None
    if not match[1]:  # suffix: the last N bytes
        start, end = max(0, size - int(match[2])), size - 1
    else:
        start, end = int(match[1]), min(int(match[2]) if match[2] else size - 1, size - 1)
    return (start, end) if start <= end < size else None


def response(request: web.Request, data: bytes, meta: dict[str, str]) -> web.Response:
    content_type = meta.get("content_type", "application/octet-stream")
    headers = {
        "Content-Type": content_type,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
        "Accept-Ranges": "bytes",
    }
    if content_type not in INLINE:
        headers["Content-Disposition"] = content_disposition(meta.get("filename", "download"))
    wanted = request.headers.get("Range")
    if wanted:
        span = _range(wanted, len(data))
        if span is None:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return web.Response(status=206, body=data[start : end + 1], headers=headers)
    return web.Response(body=data, headers=headers)
