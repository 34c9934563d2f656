"""A minimal ``BlobStore`` on GridFS (same database): media, e-mail parts, raw e-mails, recordings.

Only the hub's own code writes blobs; agents get them through an authorized route, never by a
public URL.
"""

from __future__ import annotations

from typing import Any, Protocol

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

from hub.store import Store


class BlobStore(Protocol):
    async def put(
        self, data: bytes, *, filename: str, content_type: str, meta: dict[str, Any] | None = None
    ) -> str: ...

    async def get(self, blob_id: str) -> tuple[bytes, dict[str, Any]] | None: ...


class GridFSBlobStore:
    def __init__(self, store: Store, bucket: str = "blobs") -> None:
        self.bucket = AsyncGridFSBucket(store.db, bucket_name=bucket)

    async def put(
        self, data: bytes, *, filename: str, content_type: str, meta: dict[str, Any] | None = None
    ) -> str:
        oid = await self.bucket.upload_from_stream(
            filename or "blob", data, metadata={"content_type": content_type, **(meta or {})})
        return str(oid)

    async def get(self, blob_id: str) -> tuple[bytes, dict[str, Any]] | None:
        from bson import ObjectId
        from bson.errors import InvalidId
        try:
            stream = await self.bucket.open_download_stream(ObjectId(blob_id))
        except (NoFile, InvalidId):
            return None
        data = await stream.read()
        return data, {"filename": stream.filename, **(stream.metadata or {})}
