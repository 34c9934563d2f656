"""Data-subject export (GDPR art. 15/20, POPIA s. 23): one zip of JSON files with everything
held about a contact, plus its attachments' bytes. Attachment names are reduced to a safe
basename (no path traversal out of the archive)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

from hub.models import json_default, utcnow
from hub.store import Store

from ..blobs import BLOB_BUCKET  # channels/blobs.py's GridFS bucket
from .subject import Subject, gather

MAX_ATTACHMENT_BYTES = 200 * 1024 * 1024
FORMAT = "berry-subject-export/1"


def safe_name(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")
    return base[:100] or "file"


def _json(data: Any) -> bytes:
    return json.dumps(data, default=json_default, indent=2, ensure_ascii=False).encode()


async def _blobs(store: Store, subject: Subject) -> tuple[dict[str, bytes], list[str]]:
    bucket = AsyncGridFSBucket(store.db, bucket_name=BLOB_BUCKET)
    out: dict[str, bytes] = {}
    skipped: list[str] = []
    total = 0
    for message in subject.messages:
        for att in message.get("attachments") or []:
            blob_id = att.get("blob_id")
            if not blob_id:
                continue
            try:
                stream = await bucket.open_download_stream(ObjectId(blob_id))
            except (NoFile, InvalidId):
                skipped.append(f"{blob_id}: missing")
                continue
            if total + stream.length > MAX_ATTACHMENT_BYTES:
                skipped.append(f"{blob_id}: over the export size limit")
                continue
            data = await stream.read()
            total += len(data)
            out[f"attachments/{blob_id}-{safe_name(att.get('filename', ''))}"] = data
    return out, skipped


async def export_zip(store: Store, contact_id: str) -> tuple[bytes, dict[str, int]]:
    subject = await gather(store, contact_id)
    blobs, skipped = await _blobs(store, subject)
    files = {
        "contact.json": subject.contacts, "identities.json": subject.identities,
        "conversations.json": subject.conversations, "messages.json": subject.messages,
        "consents.json": subject.consents, "users.json": subject.users, "audit.json": subject.audit,
        "searches.json": subject.searches,
    }
    counts = {name.removesuffix(".json"): len(items) for name, items in files.items()}
    counts["attachments"] = len(blobs)
    manifest = {"format": FORMAT, "contact_id": contact_id, "contact_ids": subject.contact_ids,
                "generated_at": utcnow().isoformat(), "counts": counts, "attachments_skipped": skipped}

    def build() -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", _json(manifest))
            for name, items in files.items():
                zf.writestr(name, _json(items))
            for name, data in blobs.items():
                zf.writestr(name, data)
        return buf.getvalue()

    return await asyncio.to_thread(build), counts
