"""Redacting a message (admins and supervisors, ``messages:redact``): a customer pasted a card
number, an agent sent the wrong person's address, an abusive text must not stay readable.

The message stays in its thread (its place, time, author and channel are history) but what it
said goes: the whole text (``DELETE /messages/{id}``) or the given spans (``PATCH``) are replaced
by ``[redacted]``, the HTML body is dropped (it may hold the same text), and the chosen
attachments (all of them for a whole redaction) are removed with their bytes. Copies elsewhere
follow: the console's replay log drops the events that carried the old text, webhook delivery
bodies naming the message or quoting a removed piece are emptied, mention notifications lose
their snippet, and the ticket's subject (made from its first message) loses the pieces too. The audit
entry and the ``message.redacted`` event say who, when, why and how much, never the content.
(There is no message search index in the hub: console search reads the store.)

Concurrency: FerretDB v1 does not serialize read-modify-write updates, and two redactions built
on the same text would each restore what the other removed. Each redaction therefore claims
``<message>:<n>`` (n = redactions before it): one winner per version, the other gets 409.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field, field_validator, model_validator

from hub import keys
from hub.api.routing import ApiRouter, visible_conversation
from hub.api.schemas import Strict
from hub.auth import Principal
from hub.errors import Conflict, InvalidInput
from hub.events import ConversationUpdated
from hub.models import Message, utcnow
from hub.store import register

from .blobs import delete_blobs
from .events import MessageRedacted
from .privacy.erase import drop_logged_events, scrub_deliveries

MARKER = "[redacted]"
Reason = Literal["personal_data", "payment_data", "abuse", "legal", "other"]
register("message_redactions")  # _id = "<message>:<n>": one winner per version of a message


class RedactIn(Strict):
    """A partial redaction: pieces of the text and/or some attachments."""

    spans: list[str] | None = Field(
        None, min_length=1, max_length=20,
        description="Exact pieces of the text to replace by [redacted]; leave out to keep the text")
    attachments: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        None, max_length=50, description="blob_id of each attachment to remove; leave out to keep them")
    reason: Reason = "personal_data"

    @field_validator("spans")
    @classmethod
    def _spans(cls, spans: list[str] | None) -> list[str] | None:
        if spans is not None and any(not s.strip() or len(s) > 5000 for s in spans):
            raise ValueError("each span is 1–5,000 characters and not blank")
        return spans

    @model_validator(mode="after")
    def _something(self) -> RedactIn:
        if self.spans is None and self.attachments is None:
            raise ValueError("name spans and/or attachments (DELETE redacts the whole message)")
        return self


class RedactAllQuery(Strict):
    reason: Reason = "personal_data"


async def redact(app: Any, principal: Principal, message: Message, *, reason: str, whole: bool = False,
                 spans: list[str] | None = None, attachments: list[str] | None = None) -> Message:
    """Redact the whole message, or ``spans`` of its text and the named attachments (by
    ``blob_id``); see the module docstring."""
    text = message.text
    if whole:
        text = MARKER if message.text else ""
    for span in spans or ():
        if span not in text:
            raise InvalidInput("a span is not in the message's text (as it is now)", field="spans")
        text = text.replace(span, MARKER)
    known = {a.blob_id for a in message.attachments if a.blob_id}
    doomed = known if whole else set(attachments or ())
    if doomed - known:
        raise InvalidInput("not an attachment of this message", field="attachments")
    store = app[keys.STORE]
    history = list(message.meta.get("redactions") or [])
    if not await store.claim("message_redactions", f"{message.id}:{len(history)}"):
        raise Conflict("the message was redacted at the same moment: read it again and retry")
    record = {"at": utcnow().isoformat(), "by": principal.actor_id, "reason": reason, "whole": whole,
              "spans": len(spans or ()), "attachments": len(doomed)}
    kept = [] if whole else [a.model_dump(mode="python") for a in message.attachments
                             if a.blob_id not in doomed]
    changes: dict[str, Any] = {"text": text, "html": None, "attachments": kept,
                               "meta": {**message.meta, "redactions": [*history, record]}}
    if whole:
        changes["subject"] = None
    await store.messages.update_one({"_id": message.id}, {"$set": changes})
    removed = await delete_blobs(store, doomed)
    redacted = await app[keys.CONVERSATIONS].message(message.id)
    removed_texts = [message.text, message.subject or ""] if whole else list(spans or ())
    subject_changed = await _redact_subject(app, principal, message.conversation_id, removed_texts, whole)
    # copies: what names the message, and what quotes a removed piece (the ticket's subject is
    # made from its first message, and events carry it); pieces under 4 characters only by id
    needles = [message.id, *(json.dumps(t)[1:-1] for t in removed_texts if len(t.strip()) >= 4)]
    copies = {"logged_events": await drop_logged_events(store, needles),
              "webhook_deliveries": await scrub_deliveries(store, needles, "redacted")}
    result = await store["notifications"].update_many({"message_id": message.id}, {"$set": {"text": MARKER}})
    copies["notifications"] = result.modified_count
    await app[keys.AUDIT].record(principal.actor_id, "message.redact", "conversation",
                                 message.conversation_id,
                                 after={"message_id": message.id, **{k: v for k, v in record.items()
                                                                      if k not in ("at", "by")},
                                        "blobs_deleted": removed, "conversation_subject": subject_changed,
                                        "copies": copies})
    await app[keys.BUS].publish(MessageRedacted(message=redacted, conversation_id=message.conversation_id,
                                                reason=reason, whole=whole))
    return redacted


async def _redact_subject(app: Any, principal: Principal, conversation_id: str, removed: list[str],
                          whole: bool) -> bool:
    """The ticket's subject is made from its first message: the redacted pieces leave it too (a
    whole redaction: the subject, when it was taken from this message)."""
    store = app[keys.STORE]
    doc = await store.conversations.find_one({"_id": conversation_id}, {"subject": 1})
    subject = str((doc or {}).get("subject") or "")
    if not subject:
        return False
    if whole:
        head = subject.rstrip("…. ")[:40]
        new = MARKER if head and any(head in t for t in removed) else subject
    else:
        new = subject
        for piece in removed:
            new = new.replace(piece, MARKER)
    if new == subject:
        return False
    await store.conversations.update_one({"_id": conversation_id},
                                         {"$set": {"subject": new, "updated_at": utcnow()}})
    conversation = await app[keys.CONVERSATIONS].get(conversation_id)
    await app[keys.BUS].publish(ConversationUpdated(conversation=conversation, changes={"subject": new},
                                                    previous={}, actor_id=principal.actor_id))
    return True


async def _visible(request: web.Request, principal: Principal) -> Message:
    """The message of the path, or 404 when its conversation is hidden from the caller."""
    message = await request.app[keys.CONVERSATIONS].message(request.match_info["message_id"])
    await visible_conversation(request, principal, message.conversation_id)
    return message


def install(router: ApiRouter) -> None:
    route = router.route

    @route("PATCH", "/messages/{message_id}", summary="Redact pieces of a message's text and/or attachments",
           tag="messages", permission="messages:redact", body=RedactIn, response=Message)
    async def redact_message_parts(request: web.Request, principal: Principal, body: RedactIn) -> Message:
        return await redact(request.app, principal, await _visible(request, principal), reason=body.reason,
                            spans=body.spans, attachments=body.attachments)

    @route("DELETE", "/messages/{message_id}",
           summary="Redact a whole message: text, subject, attachments (it keeps its place in the thread)",
           tag="messages", permission="messages:redact", query=RedactAllQuery)
    async def redact_message(request: web.Request, principal: Principal, query: RedactAllQuery) -> None:
        message = await _visible(request, principal)
        await redact(request.app, principal, message, reason=query.reason, whole=True)


__all__ = ["MARKER", "RedactIn", "install", "redact"]
