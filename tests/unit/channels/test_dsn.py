"""RFC 3464 delivery status notifications as Postfix, Exchange and Gmail send them."""

from __future__ import annotations

from channels.email.dsn import parse_dsn

ORIGINAL = ("From: support@berry.test\r\nTo: nobody@example.net\r\nSubject: Re: Venue [#7]\r\n"
            "Message-ID: <reply-1@berry.test>\r\n\r\nYes, the hall seats 150.\r\n")


def dsn(
    action: str = "failed",
    *,
    original_type: str = "message/rfc822",
    original: str = ORIGINAL,
    report_type: str = "delivery-status",
    status: str = "5.1.1",
    message_id: str = "<20260301.4F2A1@mail.berry.test>",
    diagnostic: str = "smtp; 550 5.1.1 <nobody@example.net>: Recipient address\r\n    rejected: User unknown",
) -> bytes:
    return (
        "From: MAILER-DAEMON@mail.example.com (Mail Delivery System)\r\nTo: support@berry.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type={report_type};\r\n\tboundary="B1"\r\n'
        f"Message-Id: {message_id}\r\n\r\n"
        "--B1\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n\r\n"
        "--B1\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.berry.test\r\nX-Postfix-Queue-ID: 4F2A1\r\n"
        "Arrival-Date: Sun,  1 Mar 2026 10:00:00 +0200 (SAST)\r\n\r\n"
        "Final-Recipient: rfc822; nobody@example.net\r\nOriginal-Recipient: rfc822;nobody@example.net\r\n"
        f"Action: {action}\r\nStatus: {status}\r\nRemote-MTA: dns; mx.example.net\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n\r\n"
        f"--B1\r\nContent-Description: Undelivered Message\r\nContent-Type: {original_type}\r\n\r\n"
        f"{original}\r\n--B1--\r\n"
    ).encode()


def test_postfix_bounce_names_our_message_and_the_reason() -> None:
    bounce = parse_dsn(dsn())
    assert bounce is not None
    assert bounce.original_message_id == "<reply-1@berry.test>" and bounce.recipient == "nobody@example.net"
    assert bounce.status == "5.1.1"
    assert bounce.diagnostic == "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown"
    assert "nobody@example.net" in bounce.reason and "User unknown" in bounce.reason


def test_exchange_style_headers_only_original() -> None:
    headers_only = ORIGINAL.split("\r\n\r\n")[0] + "\r\n"
    bounce = parse_dsn(dsn(original_type="text/rfc822-headers", original=headers_only, status="5.2.2",
                           diagnostic="smtp;552 5.2.2 mailbox full"))
    assert bounce is not None and bounce.original_message_id == "<reply-1@berry.test>"
    assert bounce.status == "5.2.2" and bounce.diagnostic == "552 5.2.2 mailbox full"


def test_not_a_failure_or_not_a_dsn() -> None:
    assert parse_dsn(dsn(action="delayed", status="4.4.1")) is None  # still trying: not a bounce
    assert parse_dsn(dsn(action="delivered", status="2.0.0")) is None
    assert parse_dsn(dsn(report_type="disposition-notification")) is None  # a read receipt (MDN)
    assert parse_dsn(dsn(original="Subject: no id\r\n\r\nbody")) is None  # cannot tie it to a message
    assert parse_dsn(b"From: a@example.com\r\nSubject: delivery-status of my order?\r\n\r\nhi") is None
    assert parse_dsn(b"\xff\xfe garbage delivery-status \x00" * 100) is None
    truncated = dsn()[:400]
    assert parse_dsn(truncated) is None
