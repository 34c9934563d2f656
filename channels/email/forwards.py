"""Forwarded mail: is a subject a forward, where the forwarded mail starts in the text, and who sent it
(the header block a mail client writes above it).

Gmail, Apple Mail, Thunderbird and German clients mark a forward with a line of their own
("---------- Forwarded message ---------", "Begin forwarded message:"). Outlook does not: its forward
looks like its reply, a rule line of underscores or "-----Original Message-----" (or nothing) and then
"From: … Sent: … To: … Subject: …"; only the subject ("FW:") tells them apart. Outlook's header names
and subject prefixes are recognised in English only ("Von:/Gesendet:", "De:/Envoyé:", "WG:", "TR:",
"RV:" are not).
"""

from __future__ import annotations

import re
from email.utils import parseaddr

# "Fwd:", "FW:", "Fw:", "[Fwd: …]" at the start (a reply to a forward starts with "Re:": not a forward)
FORWARD_SUBJECT = re.compile(r"^\s*\[?\s*(fwd?|fw)\s*:\s*", re.IGNORECASE)
# Gmail ("---------- Forwarded message ---------"), Apple Mail, Thunderbird, German clients
FORWARD_MARKER = re.compile(r"^\s*(-{2,}\s*(Forwarded message|Weitergeleitete Nachricht)\s*-*|"
                            r"Begin forwarded message:|-{2,}\s*Forwarded by .*)\s*$", re.IGNORECASE)
ORIGINAL_MESSAGE = re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE)
OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")  # Outlook's rule line before "From: …"
_HEADER = re.compile(r"^\s*(?:>\s*)?\*?(From|Sent|Date|To|Cc|Subject)\*?\s*:\s*(.*)$", re.IGNORECASE)
_BLOCK_LINES = 8  # a header block is From and, within these lines, Sent/Date and Subject


def is_forward(subject: str) -> bool:
    return bool(FORWARD_SUBJECT.match(subject or ""))


def strip_prefix(subject: str) -> str:
    """"FW: Tent hire" → "Tent hire" (nested prefixes too); the subject itself if nothing is left."""
    rest = subject
    while FORWARD_SUBJECT.match(rest):
        rest = FORWARD_SUBJECT.sub("", rest, count=1)
    rest = rest.rstrip("]").strip() if subject.lstrip().startswith("[") else rest.strip()
    return rest or subject.strip()


def header_block(lines: list[str], i: int) -> bool:
    """``lines[i]`` starts a forwarded mail's header block: From, then Sent or Date, and Subject."""
    first = _HEADER.match(lines[i])
    if not first or first.group(1).lower() != "from":
        return False
    names = {m.group(1).lower() for line in lines[i + 1:i + _BLOCK_LINES] if (m := _HEADER.match(line))}
    return bool(names & {"sent", "date"}) and "subject" in names


def _next_text(lines: list[str], i: int) -> int | None:
    for j in range(i + 1, min(len(lines), i + 3)):
        if lines[j].strip():
            return j
    return None


def outlook_start(lines: list[str], i: int) -> bool:
    """``lines[i]`` starts an Outlook-style forwarded mail: a rule line or "-----Original Message-----"
    followed by a header block, or the header block itself."""
    if OUTLOOK_RULE.match(lines[i]) or ORIGINAL_MESSAGE.match(lines[i]):
        j = _next_text(lines, i)
        return j is not None and header_block(lines, j)
    return header_block(lines, i)


def forward_start(lines: list[str], forwarded: bool) -> int | None:
    """The index of the line where the forwarded mail starts: a marker line; in a forward (subject
    "FW:"/"Fwd:") also Outlook's separator or header block."""
    for i, line in enumerate(lines):
        if FORWARD_MARKER.match(line) or (forwarded and outlook_start(lines, i)):
            return i
    return None


def original_sender(text: str, subject: str) -> tuple[str, str] | None:
    """(name, address) in the From line of the forwarded mail's header block, when ``subject`` is a
    forward's and the text has one; None otherwise. Untrusted: anyone can write such a block."""
    if not is_forward(subject):
        return None
    lines = text.replace("\r\n", "\n").split("\n")
    start = forward_start(lines, forwarded=True)
    if start is None:
        return None
    for line in lines[start:start + _BLOCK_LINES]:
        m = _HEADER.match(line)
        if m and m.group(1).lower() == "from":
            # Outlook also writes "Lerato M [mailto:lerato@example.co.za]"
            value = re.sub(r"\[\s*mailto:\s*([^\]\s]+)\s*\]", r"<\1>", m.group(2).strip(),
                           flags=re.IGNORECASE)
            value = re.sub(r"<\s*mailto:", "<", value, flags=re.IGNORECASE)
            name, address = parseaddr(value)
            if "@" in address:
                return name.strip().strip('"').strip(), address
            return None
    return None
