"""Removing attachments' bytes (GridFS bucket ``blobs`` of channels/blobs.py) by id: shared by the
ticket delete, message redaction and contact erasure. A missing or malformed id is skipped, so a
retried removal finishes without error."""

from __future__ import annotations

from collections.abc import Iterable

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


__all__ = ["BLOB_BUCKET", "delete_blobs"]
