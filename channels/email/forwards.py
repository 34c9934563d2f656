"""Forwarded mail: is a subject a forward, where the forwarded mail starts in the text, and who sent it
(the header block a mail client writes above it).

Gmail, Apple Mail and Thunderbird mark a forward with a line of their own ("---------- Forwarded
message ---------", "Begin forwarded message:"). Outlook does not: its forward looks like its reply, a
rule line of underscores or "-----Original Message-----" (or nothing) and then "From: … Sent: … To: …
Subject: …"; only the subject ("FW:") tells them apart. Mail clients write all of these in the user's
language: ``LANGUAGES`` is one table of them per language, and everything below is built from it.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import NamedTuple


class Language(NamedTuple):
    forward: tuple[str, ...]  # subject prefixes of a forward ("FW" for "FW: Tent")
    reply: tuple[str, ...]  # subject prefixes of a reply (never a forward: "AW: WG: x" answers one)
    markers: tuple[str, ...]  # Gmail's/Thunderbird's "---------- Forwarded message ---------"
    begin: tuple[str, ...]  # Apple Mail's "Begin forwarded message:"
    original: tuple[str, ...]  # Outlook's "-----Original Message-----" (a reply's or a forward's)
    from_: tuple[str, ...]  # the header block's labels: From, Sent/Date, To, Cc, Subject
    sent: tuple[str, ...]
    to: tuple[str, ...]
    subject: tuple[str, ...]


LANGUAGES: dict[str, Language] = {
    "en": Language(("Fwd", "Fw"), ("Re",), ("Forwarded message", "Forwarded Message"),
                   ("Begin forwarded message",), ("Original Message",),
                   ("From",), ("Sent", "Date"), ("To", "Cc"), ("Subject",)),
    "de": Language(("WG", "Fwd"), ("AW",), ("Weitergeleitete Nachricht",),
                   ("Anfang der weitergeleiteten Nachricht", "Anfang der weitergeleiteten E-Mail"),
                   ("Ursprüngliche Nachricht",),
                   ("Von",), ("Gesendet", "Datum"), ("An", "Cc"), ("Betreff",)),
    "fr": Language(("TR", "Fwd"), ("RE", "Réf"), ("Message transféré",),
                   ("Début du message réexpédié", "Début du message transféré"), ("Message d'origine",),
                   ("De",), ("Envoyé", "Date"), ("À", "A", "Cc"), ("Objet",)),
    "nl": Language(("Doorst", "FW"), ("Antw",), ("Doorgestuurd bericht",), ("Begin doorgestuurd bericht",),
                   ("Oorspronkelijk bericht",),
                   ("Van",), ("Verzonden", "Datum"), ("Aan", "CC"), ("Onderwerp",)),
    "af": Language(("Aanstuur", "FW"), ("Antw",), ("Aangestuurde boodskap",), (),
                   ("Oorspronklike boodskap",),
                   ("Van",), ("Gestuur", "Datum"), ("Aan", "CC"), ("Onderwerp",)),
    "es": Language(("RV", "Fwd"), ("RE",), ("Mensaje reenviado",), ("Inicio del mensaje reenviado",),
                   ("Mensaje original",),
                   ("De",), ("Enviado el", "Enviado", "Fecha"), ("Para", "CC"), ("Asunto",)),
    "pt": Language(("ENC", "Fwd"), ("RES", "RE"), ("Mensagem encaminhada",),
                   ("Início da mensagem reencaminhada", "Início da mensagem encaminhada"),
                   ("Mensagem original",),
                   ("De",), ("Enviada em", "Enviado", "Data"), ("Para", "Cc"), ("Assunto",)),
    # "I:" is too short to trust alone: a forward only when the text has a forwarded mail (is_forward)
    "it": Language(("I",), ("R", "RIF"), ("Messaggio inoltrato",), ("Inizio messaggio inoltrato",),
                   ("Messaggio originale",),
                   ("Da",), ("Inviato", "Data"), ("A", "Cc"), ("Oggetto",)),
    "sv": Language(("VB", "Fwd"), ("SV",), ("Vidarebefordrat meddelande",), ("Vidarebefordrat brev",),
                   ("Ursprungligt meddelande",),
                   ("Från",), ("Skickat", "Datum"), ("Till", "Kopia"), ("Ämne",)),
}
WEAK_FORWARD = ("I",)  # prefixes that make a forward only together with a forwarded header block


def _alt(words: set[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


def _all(field: str) -> set[str]:
    return {w for lang in LANGUAGES.values() for w in getattr(lang, field)}


_PREFIX = r"^\s*\[?\s*({})\s*:\s*"
# "Fwd:", "FW:", "WG:", "TR:", "[Fwd: …]" at the start (a reply to a forward starts with "Re:"/"AW:": not one)
FORWARD_SUBJECT = re.compile(_PREFIX.format(_alt(_all("forward"))), re.IGNORECASE)
STRONG_FORWARD_SUBJECT = re.compile(_PREFIX.format(_alt(_all("forward") - set(WEAK_FORWARD))), re.IGNORECASE)
REPLY_SUBJECT = re.compile(_PREFIX.format(_alt(_all("reply"))), re.IGNORECASE)
# Gmail ("---------- Forwarded message ---------"), Thunderbird, Apple Mail ("Begin forwarded message:")
FORWARD_MARKER = re.compile(rf"^\s*(-{{2,}}\s*({_alt(_all('markers'))})\s*-*|({_alt(_all('begin'))})\s*:|"
                            r"-{2,}\s*Forwarded by .*)\s*$", re.IGNORECASE)
ORIGINAL_MESSAGE = re.compile(rf"^\s*-{{2,}}\s*({_alt(_all('original'))})\s*-{{2,}}\s*$", re.IGNORECASE)
OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")  # Outlook's rule line before "From: …"
_ROLES = ("from_", "sent", "to", "subject")


def _header_re(lang: Language) -> re.Pattern[str]:
    groups = "|".join(f"(?P<{role.rstrip('_')}>{_alt(set(getattr(lang, role)))})" for role in _ROLES)
    return re.compile(rf"^\s*(?:>\s*)?\*?(?:{groups})\*?\s*:\s*(?P<value>.*)$", re.IGNORECASE)


# a header block is in one language, or in one and English (Gmail: "Von: … Date: … Subject: …")
_HEADERS = {code: _header_re(lang if code == "en" else Language(*(
    tuple(dict.fromkeys(mine + en)) for mine, en in zip(lang, LANGUAGES["en"], strict=True))))
    for code, lang in LANGUAGES.items()}
_BLOCK_LINES = 8  # a header block is From and, within these lines, Sent/Date and Subject


def _role(m: re.Match[str]) -> str:
    return next(role for role in ("from", "sent", "to", "subject") if m.group(role) is not None)


def _header(line: str, code: str = "") -> tuple[str, str] | None:
    """(role, value) of a header-block line ("Von: Lerato <…>" → ("from", "Lerato <…>")), in the
    language ``code`` (with English), or in any language."""
    for pattern in ([_HEADERS[code]] if code else _HEADERS.values()):
        if m := pattern.match(line):
            return _role(m), m.group("value")
    return None


def is_forward(subject: str, text: str | None = None) -> bool:
    """A forward by its subject. A weak prefix (Italian "I:") only with a forwarded mail in ``text``."""
    subject = subject or ""
    if STRONG_FORWARD_SUBJECT.match(subject):
        return True
    if text is None or not FORWARD_SUBJECT.match(subject):
        return False
    return forward_start(text.replace("\r\n", "\n").split("\n"), forwarded=True) is not None


def strip_prefix(subject: str) -> str:
    """"FW: Tent hire" → "Tent hire", "WG: AW: Zelt" → "Zelt" (forward and reply prefixes, nested); the
    subject itself if nothing is left."""
    rest = subject
    while (m := FORWARD_SUBJECT.match(rest) or REPLY_SUBJECT.match(rest)):
        rest = rest[m.end():]
    rest = rest.rstrip("]").strip() if subject.lstrip().startswith("[") else rest.strip()
    return rest or subject.strip()


def header_block(lines: list[str], i: int) -> bool:
    """``lines[i]`` starts a forwarded mail's header block: From, then Sent or Date, and Subject, with
    the labels of one language (and English)."""
    for pattern in _HEADERS.values():
        first = pattern.match(lines[i])
        if not first or _role(first) != "from":
            continue
        roles = {_role(m) for line in lines[i + 1:i + _BLOCK_LINES] if (m := pattern.match(line))}
        if "sent" in roles and "subject" in roles:
            return True
    return False


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
    "FW:"/"Fwd:"/"WG:"/…) also Outlook's separator or header block."""
    for i, line in enumerate(lines):
        if FORWARD_MARKER.match(line) or (forwarded and outlook_start(lines, i)):
            return i
    return None


def original_sender(text: str, subject: str) -> tuple[str, str] | None:
    """(name, address) in the From line ("From:", "Von:", "De :", "Van:", …) of the forwarded mail's
    header block, when ``subject`` is a forward's and the text has one; None otherwise. Untrusted:
    anyone can write such a block."""
    if not is_forward(subject, text):
        return None
    lines = text.replace("\r\n", "\n").split("\n")
    start = forward_start(lines, forwarded=True)
    if start is None:
        return None
    for line in lines[start:start + _BLOCK_LINES]:
        header = _header(line)
        if header and header[0] == "from":
            # Outlook also writes "Lerato M [mailto:lerato@example.co.za]"
            value = re.sub(r"\[\s*mailto:\s*([^\]\s]+)\s*\]", r"<\1>", header[1].strip(),
                           flags=re.IGNORECASE)
            value = re.sub(r"<\s*mailto:", "<", value, flags=re.IGNORECASE)
            name, address = parseaddr(value)
            if "@" in address:
                return name.strip().strip('"').strip(), address
            return None
    return None
