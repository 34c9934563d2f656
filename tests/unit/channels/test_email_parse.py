"""MIME parsing with the standard library: charsets, html-only, attachments, quotes, auto-replies."""

from __future__ import annotations

from email.message import EmailMessage

from channels.email.parse import html_to_text, no_reply, parse_mail
from channels.email.quotes import strip_quoted


def _raw(headers: str, body: bytes) -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n" + body


def test_latin1_and_koi8_and_shift_jis_bodies() -> None:
    for charset, text in (("iso-8859-1", "Bonjour, réservation à Durban"), ("koi8-r", "Привет, нужен зал"),
                          ("shift_jis", "会場の予約をお願いします")):
        raw = _raw(f"From: a@example.com\nSubject: x\nContent-Type: text/plain; charset={charset}\n"
                   "Content-Transfer-Encoding: 8bit\n", text.encode(charset))
        assert parse_mail(raw).text == text


def test_unknown_or_lying_charset_never_crashes() -> None:
    raw = _raw("From: a@example.com\nContent-Type: text/plain; charset=x-klingon\n", "Hallo wêreld".encode())
    parsed = parse_mail(raw)
    assert parsed.text == "Hallo wêreld" and "unknown charset" in parsed.problems[0]
    raw = _raw("From: a@example.com\nContent-Type: text/plain; charset=utf-8\n", b"caf\xe9 \xff")
    assert "caf" in parse_mail(raw).text


def test_encoded_word_subject_and_name() -> None:
    raw = _raw("From: =?utf-8?b?Tm9tc2E=?= <n@example.com>\nSubject: =?iso-8859-1?q?R=E9servation?=\n", b"hi")
    parsed = parse_mail(raw)
    assert parsed.subject == "Réservation" and parsed.sender_name == "Nomsa"


def test_html_only_mail_gets_text() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg.set_content(
        "<html><head><style>p{}</style></head><body><p>Need a <b>DJ</b></p><p>on Friday &amp; Saturday</p>"
        "<script>alert(1)</script></body></html>",
        subtype="html",
    )
    parsed = parse_mail(msg.as_bytes())
    assert parsed.text == "Need a DJ\n\non Friday & Saturday" and parsed.html and "alert" not in parsed.text


def test_attachments_and_inline_images_with_a_size_limit() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg.set_content("see attached")
    msg.add_alternative('<p>logo <img src="cid:logo1"></p>', subtype="html")
    msg.get_payload()[1].add_related(b"\x89PNG...", maintype="image", subtype="png", cid="<logo1>")
    msg.add_attachment(b"%PDF-1.7 quote", maintype="application", subtype="pdf", filename="quote.pdf")
    msg.add_attachment(b"x" * 2000, maintype="application", subtype="zip", filename="huge.zip")
    parsed = parse_mail(msg.as_bytes(), max_part_bytes=1000)
    names = {p.filename: p for p in parsed.parts}
    assert names["quote.pdf"].data == b"%PDF-1.7 quote" and not names["quote.pdf"].inline
    inline = next(p for p in parsed.parts if p.content_id == "logo1")
    assert inline.inline and inline.content_type == "image/png"
    assert "huge.zip" not in names and any("huge.zip" in p and "limit" in p for p in parsed.problems)
    assert parsed.text == "see attached"


def test_malformed_mime_does_not_crash() -> None:
    raw = _raw("From: a@example.com\nContent-Type: multipart/mixed; boundary=\"b\"\n",
               b"--b\r\nContent-Type: text/plain\r\n\r\nbroken part without end")
    parsed = parse_mail(raw)
    assert "broken part" in parsed.text
    assert parse_mail(b"\x00\xff garbage").sender == ""


def test_missing_message_id_gets_a_stable_one() -> None:
    raw = _raw("From: a@example.com\n", b"hi")
    assert parse_mail(raw).message_id == parse_mail(raw).message_id != ""


def test_threading_headers_and_ticket_token() -> None:
    raw = _raw(
        "From: a@example.com\nSubject: Re: Venue [#42]\nIn-Reply-To: <b@x>\nReferences: <a@x> <b@x>\n", b"ok"
    )
    parsed = parse_mail(raw)
    assert (
        parsed.ticket_number == 42
        and parsed.references == ["<a@x>", "<b@x>"]
        and parsed.thread_root == "<a@x>"
    )


def test_auto_reply_detection() -> None:
    cases = {"Auto-Submitted: auto-replied\n": "Auto-Submitted", "Precedence: bulk\n": "Precedence",
             "List-Id: <x.example.com>\n": "mailing list", "X-Autoreply: yes\n": "auto-reply"}
    for header, reason in cases.items():
        assert reason in (parse_mail(_raw("From: a@example.com\n" + header, b"x")).auto or "")
    assert parse_mail(_raw("From: MAILER-DAEMON@example.com\n", b"x")).auto
    assert parse_mail(
        _raw("From: a@example.com\nContent-Type: multipart/report; boundary=z\n", b"--z--")
    ).auto
    assert parse_mail(_raw("From: a@example.com\nAuto-Submitted: no\n", b"x")).auto is None


def test_quoted_history_and_signature_are_cut() -> None:
    gmail = ("Yes please book it.\n\nOn Tue, 3 Mar 2026 at 10:00, Berry Support <support@berry.test>\n"
             "wrote:\n> old text")
    assert strip_quoted(gmail) == "Yes please book it."
    outlook = "Thanks!\n\n-----Original Message-----\nFrom: Berry\nSent: today\nold"
    assert strip_quoted(outlook) == "Thanks!"
    sig = "See you then.\n-- \nLerato\n082 123 4567"
    assert strip_quoted(sig) == "See you then."
    assert strip_quoted("Sounds good\n\nSent from my iPhone") == "Sounds good"
    inline = "> question 1\nanswer 1\n> question 2\nanswer 2"
    assert strip_quoted(inline) == "answer 1\nanswer 2"
    assert strip_quoted("> only quotes") == "> only quotes"  # never an empty message


def test_html_to_text_survives_broken_markup() -> None:
    assert "hello" in html_to_text("<p>hello<div><<<>>")


def test_bulk_mail_is_told_from_auto_replies() -> None:
    def parsed(headers: str) -> tuple[str | None, bool]:
        mail = parse_mail(_raw("From: a@example.com\n" + headers, b"x"))
        return mail.auto, mail.bulk
    assert parsed("Precedence: bulk\n")[1] and parsed("List-Unsubscribe: <mailto:u@x>\n")[1]
    assert parse_mail(_raw("From: no-reply@shop.example\n", b"x")).bulk
    assert parsed("Auto-Submitted: auto-replied\n") == ("Auto-Submitted: auto-replied", False)
    assert parsed("Subject: Automatic reply: Catering quote\n")[0] == "out-of-office subject"
    assert parsed("Subject: Out of Office: back Monday\n")[0] and parsed("Subject: Quote\n") == (None, False)
    assert parsed("Subject: Out of office party for 40 guests\n") == (None, False)  # a customer asking


def test_reply_to_is_the_customer() -> None:
    form = parse_mail(_raw("From: Website <noreply@site.example>\nReply-To: Thandi N <thandi@example.com>\n"
                           "Subject: Contact form\n", b"Do you do kids' parties?"))
    assert (form.sender, form.sender_name, form.from_address) == ("thandi@example.com", "Thandi N",
                                                                   "noreply@site.example")
    assert form.auto is None  # a person wrote it through the form: it is answered like any mail
    both_people = parse_mail(_raw("From: Sipho (PA) <pa@corp.example>\nReply-To: boss@corp.example\n", b"x"))
    assert (both_people.sender, both_people.from_address) == ("boss@corp.example", "pa@corp.example")
    same = parse_mail(_raw("From: A <a@example.com>\nReply-To: a@example.com\n", b"x"))
    assert (same.sender, same.sender_name, same.from_address) == ("a@example.com", "A", "")


def test_attachment_names_are_cleaned_like_uploads() -> None:
    names = {"bad%22name%0D%0AX-Injected%3A%201.pdf": "badnameX-Injected: 1.pdf",
             "..%5C..%5Cevil.html": "evil.html",
             "%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82.txt": "привет.txt"}
    for encoded, clean in names.items():
        raw = _raw('From: a@example.com\nContent-Type: multipart/mixed; boundary="b"\n',
                   b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n"
                   b"Content-Type: application/octet-stream\r\n"
                   b"Content-Disposition: attachment; filename*=utf-8''" + encoded.encode()
                   + b"\r\n\r\nx\r\n--b--\r\n")
        assert [p.filename for p in parse_mail(raw).parts] == [clean]


def test_outgoing_mail_has_a_date_a_display_name_and_says_if_a_person_wrote_it() -> None:
    from email.utils import parsedate_to_datetime

    from channels.email.parse import build_reply
    common = {"from_addr": "support@berry.test", "to": "a@example.com", "subject": "Hi", "text": "x",
              "html_body": None, "message_id": "<m@berry.test>", "in_reply_to": "", "references": []}
    agent = build_reply(**common, from_name="Berry Events Support")
    assert agent["From"] == "Berry Events Support <support@berry.test>" and agent["Auto-Submitted"] == "no"
    assert parsedate_to_datetime(agent["Date"]).tzinfo is not None
    assert build_reply(**common, automatic=True)["Auto-Submitted"] == "auto-generated"


def test_a_forward_shows_the_forwarded_mail() -> None:
    gmail = ("Can you help this customer?\n\n---------- Forwarded message ---------\n"
             "From: Lerato <l@example.com>\n"
             "Date: Tue\nSubject: Tent\nTo: staff@berry.test\n\nMy tent order never arrived.")
    assert strip_quoted(gmail).startswith("Can you help this customer?\n\n---------- Forwarded message")
    assert strip_quoted(gmail).endswith("My tent order never arrived.")
    apple = "FYI\n\nSent from my iPhone\n\nBegin forwarded message:\n\n> From: l@example.com\n> Tent missing"
    assert strip_quoted(apple) == "FYI\n\nBegin forwarded message:\n\n> From: l@example.com\n> Tent missing"
    reply_to_a_forward = "Thanks!\n\nOn Tue, Berry wrote:\n> ---------- Forwarded message ---------\n> old"
    assert strip_quoted(reply_to_a_forward) == "Thanks!"


def test_an_outlook_forward_shows_the_forwarded_mail_and_its_sender() -> None:
    block = ("From: Lerato M <lerato@example.co.za>\nSent: Tuesday, 3 March 2026 10:00\n"
             "To: Ann <ann@berry.test>\nSubject: Tent order\n\nMy tent order never arrived.")
    for rule, subject in (("________________________________\n", "FW: Tent order"),
                          ("-----Original Message-----\n", "Fw: Tent order"), ("", "FWD: Tent order")):
        body = f"Can you look at this one?\n\nAnn\n\n{rule}{block}"
        forward = parse_mail(_raw(f"From: Ann <ann@berry.test>\nSubject: {subject}\n", body.encode()))
        assert forward.text == body, rule
        assert forward.forwarded_from == ("Lerato M", "lerato@example.co.za")
        # the same block in a reply is history, as before
        reply = parse_mail(_raw("From: Lerato <lerato@example.co.za>\nSubject: RE: Tent order\n",
                                f"Thanks!\n\n{rule}{block}".encode()))
        assert reply.text == "Thanks!" and reply.forwarded_from is None, rule
    legacy = ("FYI\n\n-----Original Message-----\nFrom: Lerato M [mailto:lerato@example.co.za]\n"
              + block.split("\n", 1)[1])
    assert parse_mail(_raw("From: ann@berry.test\nSubject: FW: x\n", legacy.encode())).forwarded_from == (
        "Lerato M", "lerato@example.co.za")
    gmail = ("FYI\n\n---------- Forwarded message ---------\nFrom: Lerato <l@example.com>\n"
             "Date: Tue\nSubject: Tent\nTo: staff@berry.test\n\nMy tent order never arrived.")
    assert parse_mail(_raw("From: ann@berry.test\nSubject: Fwd: Tent\n", gmail.encode())).forwarded_from == (
        "Lerato", "l@example.com")
    # not a forward by its subject, or no header block: no original sender
    assert parse_mail(_raw("From: ann@berry.test\nSubject: Tent\n", gmail.encode())).forwarded_from is None
    assert parse_mail(_raw("From: ann@berry.test\nSubject: FW: Tent\n", b"see below")).forwarded_from is None
    # an Outlook "From:" line without Sent/Subject is no header block: an ordinary reply's history
    assert strip_quoted("Yes\nFrom: Berry\nold", forwarded=True) == "Yes"


def test_the_topmost_authentication_results_gives_its_id_and_dmarc_result() -> None:
    """What inbound.py trusts an agent's forward by: the receiving server's verdict, not a sender's."""
    def results(*values: str) -> tuple[str, str] | None:
        headers = "".join(f"Authentication-Results: {v}\n" for v in values)
        return parse_mail(_raw(f"{headers}From: ann@berry.test\nSubject: FW: x\n", b"hi")).auth_results

    assert results() is None
    assert results("mx.berry.test 1; spf=pass smtp.mailfrom=berry.test; dkim=pass header.d=berry.test;\n"
                   " DMARC=Pass (p=REJECT sp=REJECT dis=NONE) header.from=berry.test") == (
        "mx.berry.test", "pass")
    for verdict in ("fail", "none", "temperror", "permerror"):
        assert results(f"mx.berry.test; dmarc={verdict}") == ("mx.berry.test", verdict)
    # only the topmost counts: a sender can add any header below it
    assert results("mx.berry.test; spf=none", "mx.berry.test; dmarc=pass") == ("mx.berry.test", "")
    # a comment may echo what the sender wrote: no result in it counts
    assert results("mx.berry.test; spf=softfail (x; dmarc=pass) smtp.mailfrom=a") == ("mx.berry.test", "")
    assert results("mx.berry.test; none") == ("mx.berry.test", "")
    assert results("(a comment) mx.berry.test; header.from=dmarc=pass") == ("mx.berry.test", "")


def test_no_reply_senders() -> None:
    for address in ("noreply@payfast.example", "No-Reply@x.example", "MAILER-DAEMON@mx.example",
                    "donotreply@a.b"):
        assert no_reply(address), address
    assert not no_reply("lerato@example.co.za") and not no_reply("noreply.lerato@example.co.za")


# Outlook and Gmail in the languages our customers' and providers' mail clients use
_OUTLOOK_BLOCKS = {
    "de": ("________________________________\nVon: Lerato M <lerato@example.co.za>\n"
           "Gesendet: Dienstag, 3. März 2026 10:00\nAn: Ann <ann@berry.test>\nBetreff: Zeltbestellung\n\n"
           "Mein Zelt ist nie angekommen."),
    "fr": ("-----Message d'origine-----\nDe : Lerato M <lerato@example.co.za>\n"
           "Envoyé : mardi 3 mars 2026 10:00\nÀ : Ann <ann@berry.test>\nObjet : Commande de tente\n\n"
           "Ma tente n'est jamais arrivée."),
    "nl": ("________________________________\nVan: Lerato M <lerato@example.co.za>\n"
           "Verzonden: dinsdag 3 maart 2026 10:00\nAan: Ann <ann@berry.test>\nOnderwerp: Tentbestelling\n\n"
           "Mijn tent is nooit aangekomen."),
    "af": ("-----Oorspronklike boodskap-----\nVan: Lerato M [mailto:lerato@example.co.za]\n"
           "Gestuur: Dinsdag 3 Maart 2026 10:00\nAan: Ann <ann@berry.test>\nOnderwerp: Tentbestelling\n\n"
           "My tent het nooit opgedaag nie."),
}


def test_a_localized_outlook_forward_shows_the_forwarded_mail_and_its_sender() -> None:
    subjects = ("WG: Zeltbestellung", "TR: Commande de tente", "Doorst: Tentbestelling", "FW: Tentbestelling")
    for (lang, block), subject in zip(_OUTLOOK_BLOCKS.items(), subjects, strict=True):
        body = f"Kan jy hierna kyk?\n\nAnn\n\n{block}"
        forward = parse_mail(_raw(f"From: Ann <ann@berry.test>\nSubject: {subject}\n", body.encode()))
        assert forward.text == body, lang
        assert forward.forwarded_from == ("Lerato M", "lerato@example.co.za"), lang


def test_a_localized_outlook_reply_still_cuts_the_quoted_history() -> None:
    subjects = ("AW: Zeltbestellung", "RE : Commande de tente", "Antw: Tentbestelling", "Antw: Tentbestel.")
    for (lang, block), subject in zip(_OUTLOOK_BLOCKS.items(), subjects, strict=True):
        reply = parse_mail(_raw(f"From: Lerato <lerato@example.co.za>\nSubject: {subject}\n",
                                f"Danke, bis Freitag.\n\n{block}".encode()))
        assert reply.text == "Danke, bis Freitag." and reply.forwarded_from is None, lang
        # new Outlook and html-only mail lose the rule line: the header block alone is history too
        bare = block.split("\n", 1)[1]
        assert strip_quoted(f"Merci !\n\n{bare}") == "Merci !", lang
    # a customer's lines that start like a header name are their text, not history, unless they make
    # a whole header block (From, Sent/Date and Subject together)
    own = ("Bonjour,\nDe : la part de Lerato\nObjet : mariage le 3 mars\nMerci\n\n"
           "Van: 10:00 tot 14:00\nAan: die saal\nDatum: 3 Maart")
    assert strip_quoted(own) == own
    assert strip_quoted(own, forwarded=True) == own
    # an answer written between the quoted lines (under a quoted header block) is kept
    inline = "Hallo\n> Von: Berry\n> Gesendet: Montag\n> Betreff: Zelt\n> Welche Größe?\nDie große, bitte."
    assert strip_quoted(inline) == "Hallo\nDie große, bitte."


def test_a_localized_gmail_forward_shows_the_forwarded_mail_and_its_sender() -> None:
    for marker, subject in (("---------- Weitergeleitete Nachricht ---------\nVon: ", "WG: Zelt"),
                            ("---------- Message transféré ---------\nDe : ", "Fwd: Tente"),
                            ("---------- Doorgestuurd bericht ---------\nVan: ", "Fwd: Tent"),
                            ("-------- Weitergeleitete Nachricht --------\nVon: ", "Wg: Zelt")):  # Thunderb.
        body = (f"Bitte übernehmen.\n\n{marker}Lerato <l@example.com>\n"
                "Date: Di., 3. März 2026 um 10:00 Uhr\nSubject: Zelt\nTo: <ann@berry.test>\n\nZelt fehlt.")
        mail = parse_mail(_raw(f"From: ann@berry.test\nSubject: {subject}\n", body.encode()))
        assert mail.text == body, marker
        assert mail.forwarded_from == ("Lerato", "l@example.com"), marker
    apple = "Zur Info\n\nAnfang der weitergeleiteten Nachricht:\n\n> Von: l@example.com\n> Zelt fehlt"
    assert strip_quoted(apple) == apple


def test_localized_reply_attributions_are_cut() -> None:
    for line in ("Am Di., 3. März 2026 um 10:00 Uhr schrieb Berry Support <support@berry.test>:",
                 "Op di 3 mrt. 2026 om 10:00 schreef Berry Support <support@berry.test>:",
                 "Op Di. 3 Mrt. 2026 om 10:00 het Berry Support <support@berry.test> geskryf:",
                 "Le mar. 3 mars 2026 à 10:00, Berry Support <support@berry.test> a écrit :",
                 "El mar, 3 mar 2026 a las 10:00, Berry Support (<support@berry.test>) escribió:"):
        assert strip_quoted(f"Ja, bitte.\n\n{line}\n> alter Text") == "Ja, bitte.", line


def test_localized_subject_prefixes() -> None:
    from channels.email.forwards import is_forward, strip_prefix
    for subject in ("WG: Zelt", "Wg: Zelt", "TR: Tente", "Doorst: Tent", "RV: Carpa", "ENC: Tenda",
                    "VB: Tält", "[Fwd: Tent]", "WG: AW: Zelt"):
        assert is_forward(subject), subject
    for subject in ("AW: WG: Zelt", "RE: TR: Tente", "Antw: Doorst: Tent", "SV: VB: Tält", "Re: Fwd: Tent"):
        assert not is_forward(subject), subject  # a reply to a forward
    assert strip_prefix("WG: AW: Zeltbestellung") == "Zeltbestellung"
    assert strip_prefix("TR: RE: Commande") == "Commande"
    # Italian "I:" is too short to trust: a forward only with a forwarded mail in the text
    italian = ("Vedi sotto.\n\n-----Messaggio originale-----\nDa: Lerato <l@example.com>\n"
               "Inviato: martedì 3 marzo 2026 10:00\nA: Ann <ann@berry.test>\nOggetto: Tenda\n\n"
               "La tenda manca.")
    mail = parse_mail(_raw("From: ann@berry.test\nSubject: I: Tenda\n", italian.encode()))
    assert mail.text == italian and mail.forwarded_from == ("Lerato", "l@example.com")
    assert not is_forward("I: need a tent for Saturday", "I: need a tent for Saturday\nThanks")
    assert parse_mail(_raw("From: l@e.com\nSubject: I: need a tent\n", b"Thanks")).forwarded_from is None
