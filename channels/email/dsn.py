"""Delivery status notifications (RFC 3464): a bounce for one of our replies.

A DSN is ``multipart/report; report-type=delivery-status`` with a human part, a
``message/delivery-status`` part (a per-message block, then one block per recipient with
``Action``, ``Status``, ``Final-Recipient``, ``Diagnostic-Code``) and the original message or its
headers (``message/rfc822`` / ``text/rfc822-headers``), which carries our ``Message-ID``.
Only ``Action: failed`` is a bounce; ``delayed`` (the server keeps trying), ``delivered``,
``relayed`` and ``expanded`` are not failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from email.parser import HeaderParser

MAX_DSN_BYTES = 2 * 1024 * 1024  # a report (with the original attached) larger than this is not one we sent


@dataclass(frozen=True)
class Bounce:
    original_message_id: str
    recipient: str
    status: str  # enhanced status code, e.g. "5.1.1"
    diagnostic: str

    @property
    def reason(self) -> str:
        detail = self.diagnostic or "no reason given"
        return (f"bounced by the recipient's mail server: {self.recipient or 'recipient'} — "
                f"{self.status} {detail}")[:500]


def _field(block: Message, name: str) -> str:
    value = str(block.get(name, "") or "")
    # "rfc822; lerato@example.com", "smtp; 550 5.1.1 <…>: user unknown"
    return " ".join(value.split(";", 1)[-1].split()) if ";" in value else " ".join(value.split())


def _original_id(report: Message) -> str:
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message) and inner.get("Message-ID"):
                return str(inner["Message-ID"]).strip()
        elif ctype == "text/rfc822-headers":
            payload = part.get_payload(decode=True)  # bytes (the part is not multipart), or None
            raw = payload if isinstance(payload, bytes) else b""
            headers = HeaderParser().parsestr(raw.decode("utf-8", "replace"), headersonly=True)
            if headers.get("Message-ID"):
                return str(headers["Message-ID"]).strip()
    return ""


def parse_dsn(raw: bytes) -> Bounce | None:
    """The failed recipient of a DSN and the Message-ID it reports on; None if not a failure DSN."""
    if len(raw) > MAX_DSN_BYTES or b"delivery-status" not in raw[:MAX_DSN_BYTES].lower():
        return None
    try:
        report = message_from_bytes(raw, policy=policy.compat32)
    except Exception:  # the standard parser is lenient; anything it still chokes on is not a DSN
        return None
    # a str or None: get_param gives an RFC 2231 (charset, language, value) tuple only for a name of
    # word characters, which "report-type" is not
    report_type = report.get_param("report-type")
    if report.get_content_type() != "multipart/report" or \
            not isinstance(report_type, str) or report_type.lower() != "delivery-status":
        return None
    status_part = next((p for p in report.walk() if p.get_content_type() == "message/delivery-status"), None)
    if status_part is None:
        return None
    blocks = status_part.get_payload()
    if not isinstance(blocks, list):
        return None
    failed = next((b for b in blocks[1:] if isinstance(b, Message)
                   and _field(b, "Action").lower() == "failed"), None)
    original = _original_id(report)
    if failed is None or not original:
        return None
    return Bounce(original_message_id=original, recipient=_field(failed, "Final-Recipient"),
                  status=_field(failed, "Status"), diagnostic=_field(failed, "Diagnostic-Code")[:300])
