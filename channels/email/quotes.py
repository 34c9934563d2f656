"""The new text of a reply: quoted history and the signature cut off (what the agent reads first;
the full text stays on the message). A forward is not history: the forwarded mail is what the
agent is asked to read, so it is kept whole after the forwarder's own lines. Outlook's forward
looks like its reply (``forwards.py``): it is kept only when the caller says the mail is a forward
(its subject starts with "FW:"/"Fwd:"/"WG:"/…). Separators and header names are those of
``forwards.LANGUAGES``; a reply's attribution line is one of ``ATTRIBUTIONS``."""

from __future__ import annotations

import re

from .forwards import FORWARD_MARKER, ORIGINAL_MESSAGE, OUTLOOK_RULE, header_block, outlook_start

# "On Tue, 3 Mar 2026 at 10:00, Berry Support <support@berry.test> wrote:" (may wrap onto two lines):
# (first word, last words, whether the sender's name follows them) per language: "Am … schrieb Berry <…>:"
ATTRIBUTIONS = (("On", "wrote", False), ("Am", "schrieb", True), ("Le", "a écrit", False),
                ("Op", "schreef", True), ("Op", "geskryf", False), ("El", "escribió", False),
                ("Em", "escreveu", False), ("Il", "ha scritto", False), ("Den", "skrev", True))
_ATTRIBUTION = re.compile(
    r"^\s*(" + "|".join(rf"{re.escape(first)}\s.{{0,200}}?{re.escape(last)}" + (".{0,80}?" if named else "")
                        for first, last, named in ATTRIBUTIONS) + r")\s?:\s*$", re.IGNORECASE | re.DOTALL)
_ATTRIBUTION_START = tuple(f"{first} " for first, _, _ in ATTRIBUTIONS)
_SEPARATORS = (
    ORIGINAL_MESSAGE,
    OUTLOOK_RULE,
    re.compile(r"^\s*From:\s.+$", re.IGNORECASE),
)
_SIGNATURE = re.compile(r"^(-- ?|—|Sent from my \w+.*|Get Outlook for \w+.*)$", re.IGNORECASE)


def strip_quoted(text: str, *, forwarded: bool = False) -> str:
    """``forwarded``: the mail is a forward (by its subject), so an Outlook header block starts the
    forwarded mail rather than quoted history."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    signed = False  # past the signature: skip lines, unless a forwarded mail follows it
    for i, line in enumerate(lines):
        if FORWARD_MARKER.match(line) or (forwarded and outlook_start(lines, i)):
            own = "\n".join(out).strip()
            return (own + "\n\n" if own else "") + "\n".join(lines[i:]).strip()
        two = line + " " + (lines[i + 1] if i + 1 < len(lines) else "")
        wrapped = line.strip().startswith(_ATTRIBUTION_START) and _ATTRIBUTION.match(two)
        if _ATTRIBUTION.match(line) or wrapped:
            break
        # a header block in any language ("Von: … Gesendet: … Betreff: …") is a reply's history; only
        # English's bare "From:" line is cut without the rest (a customer may start a line "De: …")
        block = not line.lstrip().startswith(">") and header_block(lines, i)  # "> From:": inline answers
        if (any(sep.match(line) for sep in _SEPARATORS) or block) and (out or signed):
            break
        if signed or _SIGNATURE.match(line.rstrip()):
            signed = True
            continue
        if line.startswith(">"):
            continue
        out.append(line)
    new = "\n".join(out).strip()
    return new or text.strip()  # everything was quoted: show it all rather than nothing
