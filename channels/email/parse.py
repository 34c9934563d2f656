"""MIME → what the hub keeps, with the standard library only (``email`` with ``policy.default``).

Every charset Python knows is decoded; an unknown or lying charset falls back to UTF-8 with
replacement (never an exception); html-only mail gets a text rendering; attachments and inline
images come back as parts to store. Auto-replies, bounces and list mail are flagged so nothing
answers them automatically.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import format_datetime, formataddr, getaddresses, localtime, parseaddr
from html.parser import HTMLParser

from hub.platform.blobs import clean_filename

from .forwards import is_forward, original_sender
from .quotes import strip_quoted

TOKEN = re.compile(r"\[#(\d{1,9})\]")  # the ticket token the hub puts in reply subjects
_BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "blockquote", "table"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _Text()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # HTMLParser is lenient; anything left is plain text with tags removed
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    text = "".join(parser.parts)
    return re.sub(r"\n\s*\n+", "\n\n", re.sub(r"[ \t]+", " ", text)).strip()


@dataclass
class Part:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str = ""


@dataclass
class ParsedMail:
    message_id: str
    sender: str
    sender_name: str
    to: list[str]
    subject: str
    text: str
    full_text: str
    html: str | None
    in_reply_to: str
    references: list[str]
    parts: list[Part] = field(default_factory=list)
    auto: str | None = None  # why this must not be auto-answered (auto-reply, bounce, list)
    bulk: bool = False  # list, newsletter or no-reply mail: nobody expects an answer
    from_address: str = ""  # the From address when Reply-To named someone else (``sender``)
    ticket_number: int | None = None
    problems: list[str] = field(default_factory=list)
    # a forward ("FW:"/"Fwd:"/"WG:"/…): (name, address) in the forwarded mail's From line. Untrusted text:
    # only a forward by one of our agents makes it the customer (inbound.py)
    forwarded_from: tuple[str, str] | None = None
    forwarded_by: dict[str, str] | None = None  # set by inbound.py when an agent forwarded the mail
    # the topmost Authentication-Results (RFC 8601): (authserv-id, DMARC result), both lower case, ""
    # when missing; None without the header. Whose it is, and so whether to trust it, is inbound.py's call
    auth_results: tuple[str, str] | None = None

    @property
    def thread_root(self) -> str:
        return (self.references[0] if self.references else self.in_reply_to) or self.message_id


def _payload_bytes(part: Message) -> bytes:
    """The decoded body of a non-multipart part (``get_payload(decode=True)`` gives bytes, or None)."""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _decode(part: Message, problems: list[str]) -> str:
    payload = _payload_bytes(part)
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset)
    except LookupError:
        problems.append(f"unknown charset {charset!r}: decoded as UTF-8 with replacements")
    except UnicodeDecodeError:
        problems.append(f"text not valid {charset}: decoded with replacements")
    return payload.decode("utf-8", errors="replace")


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


NO_REPLY_SENDERS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply")
# what Outlook, Gmail and Exchange put before the subject of an out-of-office answer
# with its colon: "Out of office party for 40 guests" is a customer's question
_AUTO_SUBJECT = re.compile(r"^\s*(automatic reply|auto[- ]?reply|out of (the )?office|abwesenheitsnotiz|"
                           r"réponse automatique)\s*:", re.IGNORECASE)


def no_reply(address: str) -> bool:
    """A machine's address nobody reads (``NO_REPLY_SENDERS``): no-reply@, mailer-daemon@ …"""
    return address.split("@")[0].lower() in NO_REPLY_SENDERS


def _auto_reason(msg: Message, sender: str) -> tuple[str | None, bool]:
    """Why this mail must not be answered automatically (None: a person wrote it), and whether it is
    bulk mail (a list, newsletter or no-reply sender) rather than an answer to something."""
    auto = (msg.get("Auto-Submitted") or "no").strip().lower()
    if auto != "no":
        return f"Auto-Submitted: {auto}", False
    precedence = (msg.get("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}", True
    if precedence == "auto_reply":
        return f"Precedence: {precedence}", False
    if msg.get("List-Id") or msg.get("List-Unsubscribe"):
        return "mailing list", True
    if (
        msg.get("X-Autoreply")
        or msg.get("X-Autorespond")
        or msg.get("X-Auto-Response-Suppress", "").lower() in ("all", "oof")
    ):
        return "auto-reply header", False
    local = sender.split("@")[0].lower()
    if no_reply(sender):
        return f"sender {local}", local not in ("mailer-daemon", "postmaster")
    if msg.get_content_type() == "multipart/report":
        return "delivery report (bounce)", False
    if _AUTO_SUBJECT.match(str(msg.get("Subject", ""))):
        return "out-of-office subject", False
    return None, False


def _sender(msg: Message) -> tuple[str, str, str]:
    """(name, address) of the customer, and the From address if that is someone else. A Reply-To
    names where answers go: a contact form's mail comes From its no-reply address with the visitor
    in Reply-To. It is the customer even when From is a person too (a secretary writing for a
    client): the one the answer is meant for is the one the ticket is about."""
    name, address = parseaddr(str(msg.get("From", "")))
    reply_name, reply_to = parseaddr(str(msg.get("Reply-To", "")))
    if not reply_to or "@" not in reply_to or reply_to.lower() == address.lower():
        return name, address, ""
    from_is_robot = no_reply(address)
    return reply_name or ("" if from_is_robot else name), reply_to, address


def parse_mail(raw: bytes, *, max_part_bytes: int = 10 * 1024 * 1024) -> ParsedMail:
    msg = message_from_bytes(raw, policy=policy.default)
    problems: list[str] = [type(d).__name__ for d in msg.defects][:10]
    name, sender, from_address = _sender(msg)
    message_id = (_ids(str(msg.get("Message-ID", ""))) or [""])[0]
    if not message_id:  # stable id from the content, so a re-polled mail is still ingested once
        message_id = f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@berry.missing-id>"
    plain, markup = None, None
    parts: list[Part] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() == "multipart":  # a defective container
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        raw_name = part.get_filename() or ""  # untrusted: it reaches headers and the console
        filename = clean_filename(raw_name, limit=200) if raw_name else ""
        if disposition != "attachment" and not filename and ctype == "text/plain" and plain is None:
            plain = _decode(part, problems)
        elif disposition != "attachment" and not filename and ctype == "text/html" and markup is None:
            markup = _decode(part, problems)
        elif disposition in ("attachment", "inline") or filename or not ctype.startswith("text/"):
            data = _payload_bytes(part)
            if len(data) > max_part_bytes:
                problems.append(f"attachment {filename or ctype} is {len(data)} bytes, over the "
                                f"{max_part_bytes}-byte limit: not kept")
                continue
            parts.append(
                Part(
                    filename=filename or f"part.{ctype.split('/')[-1]}",
                    content_type=ctype,
                    data=data,
                    inline=disposition == "inline" or bool(part.get("Content-ID")),
                    content_id=str(part.get("Content-ID", "")).strip("<>"),
                )
            )
    full = plain if plain is not None else (html_to_text(markup) if markup else "")
    subject = str(msg.get("Subject", "")).strip()
    token = TOKEN.search(subject)
    auto, bulk = _auto_reason(msg, sender)
    forward = is_forward(subject, full)
    return ParsedMail(
        message_id=message_id[:300], sender=sender, sender_name=name, subject=subject,
        to=[a for _, a in getaddresses([str(v) for v in msg.get_all("To", []) + msg.get_all("Cc", [])]) if a],
        text=strip_quoted(full, forwarded=forward), full_text=full, html=markup,
        in_reply_to=(_ids(str(msg.get("In-Reply-To", ""))) or [""])[0],
        references=_ids(str(msg.get("References", ""))), parts=parts, auto=auto,
        bulk=bulk, from_address=from_address, ticket_number=int(token.group(1)) if token else None,
        problems=problems, forwarded_from=original_sender(full, subject) if forward else None,
        auth_results=auth_results(msg))


def auth_results(msg: Message) -> tuple[str, str] | None:
    """(authserv-id, DMARC result) of the topmost ``Authentication-Results`` — the one the last
    receiving server added, if it adds one; a sender can write any header below it (or, with no server
    of ours in front, this one too). ``mx.berry.test 1; spf=pass …; dmarc=pass (p=reject) header.from=…``
    → ("mx.berry.test", "pass"); comments are dropped first, so text a server echoes in one (an
    address) cannot pose as a result."""
    if msg.get("Authentication-Results") is None:
        return None
    value = str(msg.get("Authentication-Results", ""))
    for _ in range(3):  # nested comments, innermost first
        value = re.sub(r"\([^()]*\)", " ", value)
    head, *results = value.lower().split(";")
    serv_id = (head.split() or [""])[0]
    dmarc = next((m.group(1) for r in results if (m := re.match(r"\s*dmarc\s*=\s*([a-z]+)", r))), "")
    return serv_id, dmarc


def build_reply(*, from_addr: str, to: str, subject: str, text: str, html_body: str | None, message_id: str,
                in_reply_to: str, references: list[str], cc: list[str] | None = None, from_name: str = "",
                automatic: bool = False) -> EmailMessage:
    """``automatic``: no person wrote it (a survey, a rule's or the bot's answer): marked so that the
    customer's auto-responder does not answer it (RFC 3834); an agent's reply is ``Auto-Submitted: no``."""
    out = EmailMessage()
    out["From"] = formataddr((from_name, from_addr)) if from_name else from_addr
    out["Date"] = format_datetime(localtime())
    out["To"] = to
    if cc:
        out["Cc"] = ", ".join(cc)
    out["Subject"] = subject
    out["Message-ID"] = message_id
    if in_reply_to:
        out["In-Reply-To"] = in_reply_to
        out["References"] = " ".join(
            [*references, in_reply_to][-20:] if in_reply_to not in references else references[-20:]
        )
    out["Auto-Submitted"] = "auto-generated" if automatic else "no"
    out.set_content(text)
    if html_body:
        out.add_alternative(html_body, subtype="html")
    return out
