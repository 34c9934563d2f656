"""The e-mail ``ChannelAdapter``: raw RFC 5322 bytes in, SMTP (aiosmtplib) out.

Replies carry a fresh ``Message-ID``, ``In-Reply-To`` the customer's last message and the
``References`` chain, and the ticket token ``[#N]`` in the subject, so the customer's client
threads them and an answer finds its ticket even if the headers were lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any

import aiosmtplib

from channels.base import DeliveryUpdate, InboundTooLarge, MalformedInbound, RawInbound
from hub.errors import InvalidInput
from hub.identity import normalize_email
from hub.models import Channel, IdentityKind, InboundMessage
from hub.outbox import OutboundMessage, PermanentSendError, SendResult, TransientSendError

from .parse import TOKEN, ParsedMail, build_reply, parse_mail


def to_inbound(parsed: ParsedMail, *, conversation_id: str | None = None) -> InboundMessage:
    try:
        sender = normalize_email(parsed.sender)
    except InvalidInput as exc:
        try:  # a broken Reply-To: the From address is the customer
            sender, parsed.from_address = normalize_email(parsed.from_address), ""
        except InvalidInput:
            raise MalformedInbound(f"no usable sender address: {parsed.sender!r}", field="From") from exc
    text = parsed.text
    notes = [p for p in parsed.problems if "limit" in p]
    if parsed.forwarded_by:  # an agent forwarded the customer's mail (inbound.py): who, for the agents
        by = parsed.forwarded_by
        notes.append(f"forwarded by {by['name']} <{by['address']}>" if by["name"] else
                     f"forwarded by {by['address']}")
    if notes:
        text += "\n\n[" + "; ".join(notes) + "]"
    email_meta: dict[str, Any] = {"message_id": parsed.message_id, "in_reply_to": parsed.in_reply_to,
                                  "references": parsed.references[-20:], "to": parsed.to[:20],
                                  "auto": parsed.auto, "problems": parsed.problems[:20]}
    if parsed.from_address:  # Reply-To named the customer: who sent it stays visible
        email_meta["from"] = parsed.from_address
    if parsed.forwarded_by:
        email_meta["forwarded_by"] = parsed.forwarded_by
    return InboundMessage(
        channel=Channel.email,
        external_id=parsed.message_id,
        sender={"kind": IdentityKind.email, "value": sender},
        sender_name=parsed.sender_name[:200],
        text=text[:100_000],
        html=(parsed.html or None) and parsed.html[:500_000],
        subject=parsed.subject[:1000],
        thread_key=f"mail:{parsed.thread_root}"[:500],
        conversation_id=conversation_id,
        meta={
            "email": email_meta,
            "full_text": parsed.full_text[:100_000],
            "no_auto_reply": parsed.auto is not None,
            **({"bulk": True} if parsed.bulk else {}),
            "thread": {"message_id": parsed.message_id, "references": parsed.references[-20:]},
        },
    )


@dataclass
class EmailAdapter:
    from_address: str
    smtp_host: str
    from_name: str = ""  # the display name of From (the brand): "Berry Events Support <support@…>"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    starttls: bool = False
    max_bytes: int = 25 * 1024 * 1024
    channel: Channel = Channel.email
    blobs: Any = None  # channels.blobs.BlobStore: files an agent attached (by blob id) go as MIME parts

    async def parse_inbound(self, raw: RawInbound) -> list[InboundMessage]:
        if len(raw.body) > self.max_bytes:
            raise InboundTooLarge(f"e-mail larger than {self.max_bytes} bytes")
        if not raw.body.strip():
            raise MalformedInbound("empty message", field="body")
        return [to_inbound(parse_mail(raw.body))]

    def parse_status(self, raw: RawInbound) -> DeliveryUpdate | None:
        return None  # bounces arrive as mail (flagged ``auto``), not as a status callback

    def subject_for(self, message: OutboundMessage) -> str:
        subject = message.subject or str(message.thread.get("ticket_subject") or "Your request")
        if message.thread.get("message_id") and not subject.lower().startswith("re:"):
            subject = f"Re: {subject}"
        number = message.thread.get("ticket_number")
        if number and not TOKEN.search(subject):
            subject = f"{subject} [#{number}]"
        return subject

    async def send(self, message: OutboundMessage) -> SendResult:
        domain = self.from_address.rsplit("@", 1)[-1]
        message_id = make_msgid(domain=domain)
        mail = build_reply(from_addr=self.from_address, to=message.to, subject=self.subject_for(message),
                           text=message.text, html_body=message.html, message_id=message_id,
                           in_reply_to=str(message.thread.get("message_id") or ""),
                           references=list(message.thread.get("references") or []), cc=message.cc,
                           from_name=self.from_name, automatic=message.automatic)
        for attachment in (a for a in message.attachments if a.blob_id):
            found = await self.blobs.get(attachment.blob_id) if self.blobs else None
            if found is None:
                raise PermanentSendError(f"attachment {attachment.filename or attachment.blob_id} is gone")
            maintype, _, subtype = (attachment.content_type or "application/octet-stream").partition("/")
            mail.add_attachment(found[0], maintype=maintype, subtype=subtype or "octet-stream",
                                filename=attachment.filename or "attachment")
        try:
            await aiosmtplib.send(mail, hostname=self.smtp_host, port=self.smtp_port,
                                  username=self.smtp_user or None, password=self.smtp_password or None,
                                  start_tls=self.starttls, timeout=30)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            error = PermanentSendError if first.code >= 500 else TransientSendError
            raise error(
                f"the mail server refused {first.recipient}: {first.message}", code=first.code
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            error = PermanentSendError if exc.code >= 500 else TransientSendError
            raise error(f"the mail server answered {exc.code} {exc.message}", code=exc.code) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientSendError(f"cannot reach the mail server: {exc!r}") from exc
        return SendResult(provider_id=message_id, meta={"email_subject": str(mail["Subject"])})
