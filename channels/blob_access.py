"""Who may download a blob (``GET /api/v1/blobs/{id}``): whoever may see a conversation that shows
it (``hub.auth.visibility``), so another team's media, e-mail parts and recordings stay private.

When a message naming blobs (attachments, the raw e-mail) is stored, its conversation is added to
each blob's GridFS metadata (``conversation_ids``, an update by lone ``_id``): authorizing a
download is then one ``_id`` read, never a scan of every message. A blob stored before that
(or by a process without this subscriber) is looked up in ``messages`` once and recorded then; one
shown nowhere is marked ``scanned``, so asking for it again costs no second scan.

Supervisors, admins and staff API keys see every blob; a staff member sees their own console
upload before it is sent. Anything else — unknown id, not yours, another team's — is the same 404.
"""

from __future__ import annotations

import contextlib
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from hub.auth import Principal
from hub.auth.visibility import can_see, sees_all, with_current_teams
from hub.errors import NotFound
from hub.events import MessageCreated
from hub.models import Message
from hub.store import Store

FILES = "blobs.files"  # GridFS metadata of channels.blobs.GridFSBlobStore (bucket "blobs")
MAX_CONVERSATIONS = 20  # a blob shown in more conversations than this is looked at in its first 20


def blob_ids(message: Message) -> list[str]:
    """Every blob a message shows: its attachments and, for e-mail, the raw message."""
    ids = [a.blob_id for a in message.attachments if a.blob_id]
    raw = ((message.meta or {}).get("email") or {}).get("raw_blob_id")
    return list(dict.fromkeys([*ids, *([raw] if isinstance(raw, str) else [])]))


def _oid(blob_id: str) -> ObjectId | None:
    try:
        return ObjectId(blob_id)
    except (InvalidId, TypeError):
        return None


class BlobAccess:
    def __init__(self, store: Store, conversations: Any) -> None:
        self.store, self.conversations = store, conversations

    async def on_message_created(self, event: MessageCreated) -> None:
        for blob_id in blob_ids(event.message):
            await self._record(blob_id, [event.message.conversation_id])

    async def on_ticket_merged(self, event: Any) -> None:
        """A merge moves the source's messages to the target: their blobs are shown there now, and
        no longer in the source (whose team may not see the target)."""
        source_id, target_id = getattr(event, "source_id", None), getattr(event, "target_id", None)
        if not isinstance(source_id, str) or not isinstance(target_id, str):
            return
        moved: list[str] = []
        async for doc in self.store.messages.find(
            {"conversation_id": target_id, "meta.merged_from": source_id}
        ):
            moved += blob_ids(Message.from_doc(doc))
        for blob_id in dict.fromkeys(moved):
            await self._record(blob_id, [target_id])
            await self.store[FILES].update_one({"_id": ObjectId(blob_id)},
                                               {"$pull": {"metadata.conversation_ids": source_id}})

    async def _record(self, blob_id: str, conversation_ids: list[str]) -> None:
        if (oid := _oid(blob_id)) is not None and conversation_ids:
            await self.store[FILES].update_one(
                {"_id": oid}, {"$addToSet": {"metadata.conversation_ids": {"$each": conversation_ids}}}
            )

    async def _shown_in(self, blob_id: str) -> list[str]:
        """Where a blob without a record is shown (a bounded scan, once per such blob)."""
        docs = self.store.messages.find(
            {"$or": [{"attachments.blob_id": blob_id}, {"meta.email.raw_blob_id": blob_id}]},
            {"conversation_id": 1},
        ).limit(MAX_CONVERSATIONS)
        found = list(dict.fromkeys([d["conversation_id"] async for d in docs]))
        await self._record(blob_id, found)
        if not found:  # shown nowhere (yet): mark it, so asking again costs no second scan
            await self.store[FILES].update_one({"_id": ObjectId(blob_id)},
                                               {"$set": {"metadata.scanned": True}})
        return found

    async def may_download(self, principal: Principal, blob_id: str) -> bool:
        if sees_all(principal):
            return True
        if (oid := _oid(blob_id)) is None:
            return False
        doc = await self.store[FILES].find_one({"_id": oid}, {"metadata": 1})
        if doc is None:
            return False
        meta = doc.get("metadata") or {}
        if meta.get("uploaded_by") and meta["uploaded_by"] == principal.actor_id:
            return True
        shown = meta.get("conversation_ids")
        if shown is None:
            shown = [] if meta.get("scanned") else await self._shown_in(blob_id)
        conversations = []
        for conversation_id in shown[:MAX_CONVERSATIONS]:
            with contextlib.suppress(NotFound):
                conversation = await self.conversations.get(conversation_id)
                if conversation.merged_into:  # recorded before the merge: its messages are there now
                    conversation = await self.conversations.get(conversation.merged_into)
                conversations.append(conversation)
        if any(can_see(principal, c) for c in conversations):
            return True
        # the token's teams date from sign-in: a refusal is checked against the teams as they are now
        current = await with_current_teams(self.store, principal)
        return current is not principal and any(can_see(current, c) for c in conversations)


__all__ = ["BlobAccess", "blob_ids"]
