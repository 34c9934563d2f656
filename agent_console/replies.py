"""Agent replies sent over the socket, stored once per client id.

A client that lost its connection mid-reply cannot know whether the reply arrived, so it sends it
again with the same ``client_id``. The first attempt claims ``<user>:<client_id>`` (an ``_id``
insert: one winner even on FerretDB) and records the message id once stored; a repeat gets that
message back with ``duplicate: true``. A claim whose reply never got stored (the node died between
claim and store) is reported as failed after ``STUCK``, and the client sends it with a new id.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hub.auth import Principal
from hub.errors import Conflict
from hub.models import utcnow
from hub.store import Store, ix, register

from .payloads import Reply

COLLECTION = "console_replies"
STUCK = timedelta(seconds=30)

register(COLLECTION, ix(("at", 1)))  # _id = "<user id>:<client id>"


class Replies:
    def __init__(self, store: Store, conversations: Any) -> None:
        self.store = store
        self.conversations = conversations

    async def send(self, principal: Principal, body: Reply) -> tuple[dict[str, Any], bool]:
        key = f"{principal.actor_id}:{body.client_id}"
        col = self.store[COLLECTION]
        if not await self.store.claim(COLLECTION, key, {"conversation_id": body.conversation_id,
                                                         "message": None, "at": utcnow()}):
            doc = await col.find_one({"_id": key})
            if doc and doc.get("message"):
                return doc["message"], True
            if doc and doc["at"] > utcnow() - STUCK:
                raise Conflict("this reply is still being stored; ask again shortly")
            raise Conflict("this reply was not stored; send it again with a new client_id")
        message = await self.conversations.reply(body.conversation_id, principal, body.text, private=body.private,
                                                 subject=body.subject, meta={"client_id": body.client_id})
        out = message.model_dump(mode="json")
        await col.update_one({"_id": key}, {"$set": {"message": out}})
        return out, False
