"""Agent replies sent over the socket, stored once per client id.

A client that lost its connection mid-reply cannot know whether the reply arrived, so it sends it
again with the same ``client_id``. The first attempt claims ``<user>:<client_id>`` (an ``_id``
insert: one winner even on FerretDB) and records the message id once stored; a repeat gets that
message back with ``duplicate: true``. A claim whose reply never got stored (the node died between
claim and store) is reported as failed after ``STUCK``, and the client sends it with a new id.

A reply knows its channel: Cc (e-mail), an approved template (WhatsApp), files uploaded through
``uploads`` (only the uploader may attach them). Everything is checked before the claim, so a
refused reply can be corrected and sent again with the same client id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from hub.auth import Principal
from hub.errors import Conflict, InvalidInput
from hub.models import Attachment, Channel, Conversation, utcnow
from hub.store import Store, ix, register

from . import uploads
from .payloads import Reply

COLLECTION = "console_replies"
STUCK = timedelta(seconds=30)
# Uploaded files leave where the channel's adapter can send them: e-mail parts, and through
# ``check_media`` (a signed hub link, within the provider's limits) SMS/MMS, WhatsApp and web chat;
# notes keep files for colleagues on any channel.
FILE_CHANNELS = {Channel.email}

register(COLLECTION, ix(("at", 1)))  # _id = "<user id>:<client id>"


class Replies:
    def __init__(
        self, store: Store, conversations: Any, templates: list[dict[str, str]] | None = None,
        adapters: Callable[[], Mapping[Channel, Any]] | None = None,
    ) -> None:
        self.store = store
        self.conversations = conversations
        self.templates = templates or []
        self.adapters = adapters or dict  # the channels' registry, looked up when needed

    async def send(
        self, principal: Principal, body: Reply, conversation: Conversation
    ) -> tuple[dict[str, Any], bool]:
        text, meta = body.text, {"client_id": body.client_id}
        if body.template is not None:
            from channels.api import template_reply

            text, template_meta = template_reply(
                self.templates, conversation.channel, body.template.content_sid, body.template.variables
            )
            meta.update(template_meta)
        files = await self.attachments(principal, body, conversation)
        key = f"{principal.actor_id}:{body.client_id}"
        col = self.store[COLLECTION]
        if not await self.store.claim(
            COLLECTION, key, {"conversation_id": body.conversation_id, "message": None, "at": utcnow()}
        ):
            doc = await col.find_one({"_id": key})
            if doc and doc.get("message"):
                return doc["message"], True
            if doc and doc["at"] > utcnow() - STUCK:
                raise Conflict("this reply is still being stored; ask again shortly")
            raise Conflict("this reply was not stored; send it again with a new client_id")
        try:
            message = await self.conversations.reply(
                body.conversation_id,
                principal,
                text,
                private=body.private,
                subject=body.subject,
                attachments=files,
                meta=meta,
                cc=body.cc or None,
            )
        except InvalidInput:
            await col.delete_one({"_id": key})  # refused as a whole: the same client id may try again
            raise
        out = message.model_dump(mode="json")
        await col.update_one({"_id": key}, {"$set": {"message": out}})
        return out, False

    async def attachments(
        self, principal: Principal, body: Reply, conversation: Conversation
    ) -> list[Attachment]:
        if not body.attachments:
            return []
        check = getattr(self.adapters().get(conversation.channel), "check_media", None)
        if not body.private and conversation.channel not in FILE_CHANNELS and check is None:
            raise InvalidInput(
                f"files cannot be sent on {conversation.channel.value}; add them to a note or send a link",
                field="attachments",
            )
        found = await uploads.mine(self.store, principal, body.attachments)
        missing = [b for b in body.attachments if b not in found]
        if missing:
            raise InvalidInput(f"not a file you uploaded: {missing[0]}", field="attachments")
        files = [found[b] for b in dict.fromkeys(body.attachments)]
        if not body.private and check is not None and (why := check(files)):
            raise InvalidInput(f"{conversation.channel.value}: {why}", field="attachments")
        return files
