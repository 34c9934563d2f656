"""Attachments' bytes (GridFS bucket ``blobs`` of channels/blobs.py), what every package shares:
removal by id (ticket delete, message redaction, contact erasure; a missing or malformed id is
skipped, so a retried removal finishes without error) and the display name of an uploaded file."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from urllib.parse import quote

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

from hub.store import Store

BLOB_BUCKET = "blobs"


async def delete_blobs(store: Store, blob_ids: Iterable[str]) -> int:
    """Delete each blob once; the number actually deleted."""
    bucket = AsyncGridFSBucket(store.db, bucket_name=BLOB_BUCKET)
    deleted = 0
    for blob_id in sorted(set(blob_ids)):
        try:
            await bucket.delete(ObjectId(blob_id))
            deleted += 1
        except (NoFile, InvalidId):
            pass
    return deleted


def clean_filename(raw: str, limit: int = 120) -> str:
    """A display name from an untrusted one: no directories, control or bidi characters, quotes
    or angle brackets (it ends up in headers and pages), no leading dots, bounded."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '"<>')
    return name.strip(" .")[:limit].strip() or "file"


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A Content-Disposition for a stored (maybe hostile) name, after RFC 6266: an ASCII
    ``filename=`` fallback (quoted, escaped) and ``filename*=UTF-8''…`` when the name is not ASCII."""
    name = clean_filename(filename)
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    header = f'{disposition}; filename="{fallback.replace(chr(92), chr(92) * 2)}"'
    return header if fallback == name else f"{header}; filename*=UTF-8''{quote(name, safe='')}"


__all__ = ["BLOB_BUCKET", "clean_filename", "content_disposition", "delete_blobs"]
