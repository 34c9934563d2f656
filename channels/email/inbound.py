"""Inbound e-mail after it arrived (IMAP or SMTP): raw and parts → blobs, threading, ingest.

Threading, in order: a ``References``/``In-Reply-To`` id that is one of our messages (sent or
received) → its ticket; the ``[#N]`` token in the subject → ticket N; else the thread root
(``mail:<first reference or own Message-ID>``) opens or continues a ticket.
A mail over the size limit is still recorded (headers and a note for the agent), never dropped.
Agent forwarding (as Zendesk's): a forward ("FW:"/"Fwd:"/"WG:"/…, ``forwards.LANGUAGES``) From an active
agent, supervisor or admin
(a staff user's e-mail) is the forwarded mail's: its original sender (the From line of the forwarded
header block) is the customer, the agent is kept in ``meta.email.forwarded_by`` and named in a note at
the end of the text. Anyone can write a From header and such a block, so the From is believed only
when our receiving server vouches for it: the topmost ``Authentication-Results`` says ``dmarc=pass``
and, with ``BERRY_EMAIL_AUTHSERV_ID`` set, carries that id. Mail at our own SMTP listener needs the
id: the listener checks nothing itself, so any such header in it was written before it reached us
(by a relay of ours only if the operator says so). Otherwise — and for a forward by anyone else, or
of a no-reply/automated sender's mail (``parse.no_reply``, our own support address), which nobody
could answer — the forwarder stays the customer and the forwarded block is plain text.
A delivery-status report (``dsn.py``) about one of our replies marks that reply failed with the
reason instead of opening a ticket from MAILER-DAEMON; any other bounce is ingested, flagged
never to be auto-answered.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from channels.blobs import BlobStore
from hub.auth.users import STAFF_ROLES
from hub.errors import InvalidInput
from hub.identity import normalize_email
from hub.inbox import Inbox, stored_message
from hub.inbox.ingest import IngestResult
from hub.models import Attachment, Channel
from hub.store import Store

from .adapter import to_inbound
from .dsn import Bounce, parse_dsn
from .forwards import strip_prefix
from .parse import ParsedMail, no_reply, parse_mail

log = logging.getLogger(__name__)


class EmailInbound:
    def __init__(self, store: Store, inbox: Inbox, blobs: BlobStore, *, max_bytes: int,
                 max_part_bytes: int = 10 * 1024 * 1024,
                 on_bounce: Callable[[Bounce], Awaitable[bool]] | None = None, authserv_id: str = "",
                 support_address: Callable[[], str] = lambda: "") -> None:
        self.store, self.inbox, self.blobs = store, inbox, blobs
        self.max_bytes, self.max_part_bytes = max_bytes, max_part_bytes
        # whose Authentication-Results vouch for a From (``BERRY_EMAIL_AUTHSERV_ID``; "": the topmost)
        self.authserv_id = authserv_id.strip().lower()
        self.support_address = support_address  # the inbox's address now (an admin may change it)
        self.on_bounce = on_bounce  # True: the bounce was applied to our sent message, nothing to ingest

    async def process(
        self, raw: bytes, size: int | None = None, *, source: str = "imap"
    ) -> IngestResult | None:
        """``size``: the mail's real size when only its headers were fetched (over the limit).
        Returns None for a bounce of one of our replies (that reply is marked failed instead)."""
        truncated = size is not None and size > len(raw)  # the poller fetched the headers only
        size = max(size or 0, len(raw))
        oversized = truncated or size > self.max_bytes
        if not oversized and self.on_bounce is not None:
            bounce = parse_dsn(raw)
            if bounce is not None and await self.on_bounce(bounce):
                return None
        parsed = (
            self._oversized(raw, size) if oversized else parse_mail(raw, max_part_bytes=self.max_part_bytes)
        )
        await self._agent_forward(parsed, source)
        conversation_id = await self._thread(parsed)
        inbound = to_inbound(parsed, conversation_id=conversation_id)
        if not await self._already_stored(inbound.external_id):
            sender = inbound.sender.value.lower()
            attachments = []
            for part in parsed.parts:
                blob_id = await self.blobs.put(
                    part.data,
                    filename=part.filename,
                    content_type=part.content_type,
                    meta={"content_id": part.content_id, "inline": part.inline, "sender": sender},
                )
                attachments.append(Attachment(filename=part.filename, content_type=part.content_type,
                                              size=len(part.data), blob_id=blob_id))
            raw_id = None
            if not oversized:
                # tagged with the sender: found again by a GDPR erasure (channels/privacy.py)
                raw_id = await self.blobs.put(raw, filename="message.eml", content_type="message/rfc822",
                                              meta={"sender": sender})
            meta = {
                **inbound.meta,
                "email": {**inbound.meta["email"], "raw_blob_id": raw_id, "source": source},
            }
            inbound = inbound.model_copy(update={"attachments": attachments[:50], "meta": meta})
        return await self.inbox.ingest(inbound)

    def _oversized(self, raw: bytes, size: int) -> ParsedMail:
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        parsed = parse_mail(head + b"\r\n\r\n")
        parsed.text = parsed.full_text = (
            f"[This e-mail is {size / 1048576:.1f} MB, over the size limit; "
            "its body and attachments were not kept. Ask the sender for a link.]"
        )
        parsed.parts = []
        parsed.problems.append("over the size limit")
        return parsed

    def _from_vouched(self, parsed: ParsedMail, source: str) -> bool:
        """Our receiving server checked the From address: DMARC passed (see the module)."""
        if parsed.auth_results is None or (source == "smtp" and not self.authserv_id):
            return False
        serv_id, dmarc = parsed.auth_results
        return dmarc == "pass" and (not self.authserv_id or serv_id == self.authserv_id)

    async def _agent_forward(self, parsed: ParsedMail, source: str) -> None:
        """An agent forwarded a customer's mail: the customer becomes its sender (see the module)."""
        if parsed.forwarded_from is None or parsed.auto or not self._from_vouched(parsed, source):
            return
        try:
            forwarder = normalize_email(parsed.from_address or parsed.sender)
            original = normalize_email(parsed.forwarded_from[1])
        except InvalidInput:
            return
        own = self.support_address().strip().lower()
        if no_reply(original) or (own and original == own):
            return  # nobody reads it: the agent stays the customer, answers reach a person
        agent = await self.store.users.find_one({"email": forwarder}, {"role": 1, "active": 1, "name": 1})
        if agent is None or agent.get("role") not in STAFF_ROLES or not agent.get("active", True):
            return
        if original == forwarder or await self.store.users.find_one(
                {"email": original, "role": {"$in": list(STAFF_ROLES)}}, {"_id": 1}):
            return  # a colleague's mail: not a customer's
        parsed.forwarded_by = {"address": forwarder, "name": str(agent.get("name") or parsed.sender_name),
                               "user_id": str(agent["_id"])}
        parsed.sender, parsed.sender_name, parsed.from_address = original, parsed.forwarded_from[0], ""
        parsed.subject = strip_prefix(parsed.subject)

    async def _already_stored(self, external_id: str) -> bool:
        return await stored_message(self.store, Channel.email.value, external_id, {"_id": 1}) is not None

    async def _thread(self, parsed: ParsedMail) -> str | None:
        ids = [*parsed.references, parsed.in_reply_to]
        ids = [i for i in ids if i][-20:]
        if ids:
            doc = await self.store.messages.find_one(
                {"channel": Channel.email.value, "external_id": {"$in": ids}},
                {"conversation_id": 1},
                sort=[("created_at", -1)],
            )
            if doc:
                return str(doc["conversation_id"])
        if parsed.ticket_number is not None:
            doc = await self.store.conversations.find_one(
                {"number": parsed.ticket_number, "channel": Channel.email.value}, {"_id": 1}
            )
            if doc:
                return str(doc["_id"])
        return None

