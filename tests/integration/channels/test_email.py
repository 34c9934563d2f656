"""E-mail against real servers: dovecot (IMAP, polled with aioimaplib), aiosmtpd (SMTP in and out)."""

from __future__ import annotations

import asyncio
import contextlib
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import aioimaplib
import aiosmtplib
import pytest
from aiohttp.test_utils import TestClient

from channels.email.imap import ImapPoller
from hub import keys
from hub.models import new_id

from .conftest import run_jobs
from .mailservers import PASSWORD, Collector, Dovecot


def mail(
    sender: str = "lerato@example.co.za",
    subject: str = "Catering quote",
    body: str = "Hi, can I get a quote?",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Lerato M <{sender}>"
    msg["To"] = "support@berry.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{new_id()}@example.co.za>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


async def append(dovecot: Dovecot, user: str, *raws: bytes) -> None:
    imap = aioimaplib.IMAP4("127.0.0.1", dovecot.port, timeout=10)
    await imap.wait_hello_from_server()
    assert (await imap.login(user, PASSWORD)).result == "OK"
    for raw in raws:
        assert (await imap.append(raw, mailbox="INBOX")).result == "OK"
    await imap.logout()


def poller(client: TestClient[Any, Any], dovecot: Dovecot, user: str, **kw: Any) -> ImapPoller:
    app = client.server.app
    ingest = app[keys.EXTENSIONS]["channels"].extra["ingest_mail"]
    return ImapPoller(
        app[keys.STORE], ingest, host="127.0.0.1", port=dovecot.port, user=user, password=PASSWORD, **kw
    )


async def _poll(p: ImapPoller) -> int:
    imap = await p.connect()
    try:
        return await p.poll_once(imap)
    finally:
        await imap.logout()


async def test_imap_poll_ingests_each_mail_once_across_restarts(
    client: TestClient[Any, Any], dovecot: Dovecot
) -> None:
    user = dovecot.add_user()
    await append(dovecot, user, mail(), mail(sender="sipho@example.com", subject="DJ booking"))
    assert await _poll(poller(client, dovecot, user)) == 2
    assert await _poll(poller(client, dovecot, user)) == 0  # a restarted poller resumes after the cursor
    await append(dovecot, user, mail(subject="Third"))
    assert await _poll(poller(client, dovecot, user)) == 1
    store = client.server.app[keys.STORE]
    assert await store.messages.count_documents({"channel": "email"}) == 3
    # the mailbox was recreated (UIDVALIDITY changed): a full rescan, still nothing duplicated
    await store["email_cursors"].update_many({}, {"$set": {"uidvalidity": 1}})
    assert await _poll(poller(client, dovecot, user)) == 3
    assert await store.messages.count_documents({"channel": "email"}) == 3
    doc = await store.messages.find_one({"subject": "DJ booking"})
    assert doc["meta"]["email"]["raw_blob_id"] and doc["meta"]["email"]["source"] == "imap"


async def test_a_cancel_the_ingest_swallowed_still_ends_the_poller(store: Any, dovecot: Dovecot) -> None:
    """A poller cancelled while a message is ingested ends even if the ingest swallowed the cancel
    (Python 3.11's asyncio.wait_for in the store driver); it would otherwise poll on, in IDLE."""
    user = dovecot.add_user()
    await append(dovecot, user, mail())
    busy = asyncio.Event()

    async def ingest(raw: bytes, size: int) -> None:
        busy.set()
        with contextlib.suppress(asyncio.CancelledError):  # swallowed, as wait_for's race does
            await asyncio.sleep(30)

    p = ImapPoller(store, ingest, host="127.0.0.1", port=dovecot.port, user=user, password=PASSWORD)
    task = asyncio.create_task(p.run())
    await asyncio.wait_for(busy.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):  # not TimeoutError: it did not go on to wait in IDLE
        await asyncio.wait_for(task, 5)


async def test_imap_idle_wakes_the_poller_on_new_mail(client: TestClient[Any, Any], dovecot: Dovecot) -> None:
    user = dovecot.add_user()
    p = poller(client, dovecot, user, poll_s=60)
    task = asyncio.create_task(p.run())
    try:
        for _ in range(100):
            if p.polls:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # now waiting in IDLE (a 60 s poll would not see the mail in time)
        await append(dovecot, user, mail(subject="Pushed by IDLE"))
        store = client.server.app[keys.STORE]
        for _ in range(100):
            if await store.messages.find_one({"subject": "Pushed by IDLE"}):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("IDLE did not deliver the new mail within 5 s")
    finally:
        p.stop()
        await asyncio.wait_for(task, 15)


async def test_oversized_mail_is_recorded_with_a_note(client: TestClient[Any, Any], dovecot: Dovecot) -> None:
    user = dovecot.add_user()
    big = EmailMessage()
    big["From"], big["To"], big["Subject"] = "thabo@example.com", "support@berry.test", "Venue photos"
    big["Message-ID"] = f"<{new_id()}@example.com>"
    big.set_content("Photos attached")
    big.add_attachment(b"\x89PNG" + b"\x00" * 300_000, maintype="image", subtype="png", filename="venue.png")
    await append(dovecot, user, big.as_bytes())
    assert await _poll(poller(client, dovecot, user, max_bytes=100_000)) == 1
    doc = await client.server.app[keys.STORE].messages.find_one({"subject": "Venue photos"})
    assert doc["text"].startswith("[This e-mail is 0.4 MB, over the size limit")
    assert doc["attachments"] == []


async def test_reply_threads_both_ways_through_smtp(client: TestClient[Any, Any], dovecot: Dovecot,
                                                    smtp_sink: tuple[int, Collector]) -> None:
    from hub.models import Role
    from tests.conftest import Api
    user = dovecot.add_user()
    first = mail(subject="Wedding venue for 120 guests")
    await append(dovecot, user, first)
    await _poll(poller(client, dovecot, user))
    store = client.server.app[keys.STORE]
    conv = await store.conversations.find_one({})
    agent = (await Api(client).user(Role.agent))["headers"]
    reply = await client.post(f"/api/v1/conversations/{conv['_id']}/messages",
                              json={"text": "Yes, the Rosebank hall seats 150."}, headers=agent)
    assert reply.status == 201
    _, collector = smtp_sink
    before = len(collector.mails)
    await run_jobs(client)
    assert len(collector.mails) == before + 1
    sender, rcpts, raw = collector.mails[-1]
    sent = message_from_bytes(raw, policy=policy.default)
    original_id = message_from_bytes(first, policy=policy.default)["Message-ID"]
    assert rcpts == ["lerato@example.co.za"] and sender == "support@berry.test"
    assert sent["In-Reply-To"] == original_id and original_id in sent["References"]
    assert sent["Subject"] == f"Re: Wedding venue for 120 guests [#{conv['number']}]"
    out = await store.messages.find_one({"_id": (await reply.json())["id"]})
    assert out["external_id"] == sent["Message-ID"] and out["delivery_status"] == "sent"
    # the customer answers our reply, quoting it: same ticket, quote stripped
    answer = mail(
        subject=str(sent["Subject"]),
        body="Great, book it please.\n\nOn Tue, Lerato wrote:\n> Yes, the Rosebank hall",
        In_Reply_To=str(sent["Message-ID"]),
        References=f"{original_id} {sent['Message-ID']}",
    )
    # ... and one that lost its headers but kept the ticket token
    token_only = mail(subject=f"Re: [#{conv['number']}] deposit", body="Deposit paid.")
    await append(dovecot, user, answer, token_only)
    await _poll(poller(client, dovecot, user))
    inbound = [d async for d in store.messages.find({"direction": "in"}).sort("created_at", 1)]
    assert {d["conversation_id"] for d in inbound} == {conv["_id"]}
    assert inbound[1]["text"] == "Great, book it please."


async def test_smtp_refusals_are_clear_failures(client: TestClient[Any, Any], dovecot: Dovecot) -> None:
    from hub.models import Role
    from tests.conftest import Api
    user = dovecot.add_user()
    await append(dovecot, user, mail(sender="nobody@example.net"), mail(sender="full@example.org"))
    await _poll(poller(client, dovecot, user))
    store = client.server.app[keys.STORE]
    agent = (await Api(client).user(Role.agent))["headers"]
    ids = []
    async for conv in store.conversations.find({}):
        r = await client.post(
            f"/api/v1/conversations/{conv['_id']}/messages", json={"text": "Hello"}, headers=agent
        )
        ids.append(
            (
                (await store.identities.find_one({"contact_id": conv["contact_id"]}))["value"],
                (await r.json())["id"],
            )
        )
    await run_jobs(client)
    outcome = {addr: await store.messages.find_one({"_id": mid}) for addr, mid in ids}
    refused = outcome["nobody@example.net"]
    assert refused["delivery_status"] == "failed" and "no such user" in refused["error"]
    full = outcome["full@example.org"]  # 4xx: retried, then failed after the last attempt
    assert full["delivery_status"] == "failed" and "after 5 attempts" in full["error"]


async def test_auto_replies_are_flagged_never_to_be_answered(
    client: TestClient[Any, Any], dovecot: Dovecot
) -> None:
    user = dovecot.add_user()
    await append(dovecot, user,
                 mail(subject="Out of office", Auto_Submitted="auto-replied"),
                 mail(sender="MAILER-DAEMON@example.com", subject="Undelivered Mail Returned to Sender"),
                 mail(subject="Newsletter", List_Id="<events.lists.example.com>"),
                 mail(subject="Real question"))
    await _poll(poller(client, dovecot, user))
    store = client.server.app[keys.STORE]
    flags = {d["subject"]: d["meta"]["no_auto_reply"] async for d in store.messages.find({})}
    assert flags == {"Out of office": True, "Undelivered Mail Returned to Sender": True, "Newsletter": True,
                     "Real question": False}


async def test_inbound_smtp_listener(mongodb_url: str, db_name: str, tmp_path: Any, settings: Any) -> None:
    from hub.app import create_app
    from hub.store import free_port
    from tests.conftest import running
    port = free_port()
    app = create_app(settings.model_copy(update={"smtp_listen_port": port}))
    async with running(app) as client:
        await aiosmtplib.send(mail(subject="Via SMTP"), sender="lerato@example.co.za",
                              recipients=["support@berry.test"], hostname="127.0.0.1", port=port)
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await aiosmtplib.send(mail(), sender="x@example.com", recipients=["someone@elsewhere.test"],
                                  hostname="127.0.0.1", port=port)
        huge = mail(body="x" * (settings.email_max_bytes + 10))
        with pytest.raises(aiosmtplib.SMTPResponseException) as info:
            await aiosmtplib.send(huge, sender="x@example.com", recipients=["support@berry.test"],
                                  hostname="127.0.0.1", port=port)
        assert info.value.code == 552
        store = client.server.app[keys.STORE]
        docs = [d async for d in store.messages.find({})]
        assert [d["subject"] for d in docs] == ["Via SMTP"] and docs[0]["meta"]["email"]["source"] == "smtp"


async def test_bounce_of_our_reply_marks_it_failed_and_opens_nothing(
        client: TestClient[Any, Any], dovecot: Dovecot, smtp_sink: tuple[int, Collector]) -> None:
    from hub.models import Role
    from tests.conftest import Api
    from tests.unit.channels.test_dsn import dsn
    user = dovecot.add_user()
    await append(dovecot, user, mail(subject="Marquee hire"))
    await _poll(poller(client, dovecot, user))
    store = client.server.app[keys.STORE]
    conv = await store.conversations.find_one({})
    agent = (await Api(client).user(Role.agent))["headers"]
    reply = await client.post(f"/api/v1/conversations/{conv['_id']}/messages", json={"text": "Yes, R4500."},
                              headers=agent)
    await run_jobs(client)
    sent = await store.messages.find_one({"_id": (await reply.json())["id"]})
    assert sent["delivery_status"] == "sent"
    # the bounce finds the reply by lone _id (the outbox's provider_ids), not by scanning messages
    assert (await store["provider_ids"].find_one({"_id": f"email:{sent['external_id']}"}))[
        "message_id"
    ] == sent["_id"]
    original = ("From: support@berry.test\r\nTo: lerato@example.co.za\r\n"
                f"Message-ID: {sent['external_id']}\r\n\r\nYes\r\n")
    bounce = dsn(original=original, diagnostic="smtp; 550 5.1.1 <lerato@example.co.za>: User unknown")
    unrelated = dsn(
        original="From: someone@elsewhere.test\r\nMessage-ID: <not-ours@elsewhere.test>\r\n\r\nx\r\n",
        message_id="<other-bounce@mail.berry.test>",
    )
    bus = client.server.app[keys.BUS]
    with bus.capture() as events:
        # the same bounce twice: applied once, harmless
        await append(dovecot, user, bounce, bounce, unrelated)
        assert await _poll(poller(client, dovecot, user)) == 3
    failed = await store.messages.find_one({"_id": sent["_id"]})
    assert failed["delivery_status"] == "failed"
    assert (
        "lerato@example.co.za" in failed["error"]
        and "5.1.1" in failed["error"]
        and "User unknown" in failed["error"]
    )
    assert [e.name for e in events].count("message.updated") == 1
    # no ticket from MAILER-DAEMON for our own bounce; the unrelated one is kept, never to be answered
    inbound = [d async for d in store.messages.find({"direction": "in"})]
    assert len(inbound) == 2 and await store.conversations.count_documents({}) == 2
    stray = next(d for d in inbound if d["conversation_id"] != conv["_id"])
    assert stray["meta"]["no_auto_reply"] is True


def _hostile_attachments() -> bytes:
    parts = [b"--b\r\nContent-Type: text/plain\r\n\r\nFiles attached\r\n"]
    hostile = ("bad%22name%0D%0AX-Injected%3A%201.pdf", "..%5C..%5Cevil.html", "R%C3%A9sum%C3%A9%20final.pdf")
    for encoded in hostile:
        parts.append(b"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
                     b"filename*=utf-8''" + encoded.encode() + b"\r\n\r\ndata\r\n")
    head = (f"From: lerato@example.co.za\r\nTo: support@berry.test\r\nSubject: Files\r\n"
            f"Message-ID: <{new_id()}@x>\r\n"
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n').encode()
    return head + b"".join(parts) + b"--b--\r\n"


async def test_hostile_attachment_names_are_cleaned_and_download_safely(client: TestClient[Any, Any],
                                                                       dovecot: Dovecot) -> None:
    from hub.models import Role
    from tests.conftest import Api
    user = dovecot.add_user()
    await append(dovecot, user, _hostile_attachments())
    await _poll(poller(client, dovecot, user))
    doc = await client.server.app[keys.STORE].messages.find_one({"subject": "Files"})
    names = [a["filename"] for a in doc["attachments"]]
    assert names == ["badnameX-Injected: 1.pdf", "evil.html", "Résumé final.pdf"]
    agent = (await Api(client).user(Role.agent))["headers"]
    dispositions = []
    for attachment in doc["attachments"]:
        got = await client.get(f"/api/v1/blobs/{attachment['blob_id']}", headers=agent)
        assert got.status == 200 and await got.read() == b"data" and "X-Injected" not in got.headers
        dispositions.append(got.headers["Content-Disposition"])
    assert dispositions == ['attachment; filename="badnameX-Injected: 1.pdf"',
                            'attachment; filename="evil.html"',
                            "attachment; filename=\"R_sum_ final.pdf\"; "
                            "filename*=UTF-8''R%C3%A9sum%C3%A9%20final.pdf"]


async def test_auto_replies_and_bulk_mail_wake_nothing_and_get_no_survey(
        client: TestClient[Any, Any], dovecot: Dovecot, smtp_sink: tuple[int, Collector]) -> None:
    from hub.models import Role
    from tests.conftest import Api
    user, store, (_, collector) = dovecot.add_user(), client.server.app[keys.STORE], smtp_sink
    agent = (await Api(client).user(Role.agent))["headers"]
    await append(dovecot, user, mail(subject="Tent hire"))
    await _poll(poller(client, dovecot, user))
    conv = await store.conversations.find_one({"subject": "Tent hire"})
    before = len(collector.mails)
    url = f"/api/v1/conversations/{conv['_id']}"
    await client.post(f"{url}/messages", json={"text": "Booked."}, headers=agent)
    resolved = await client.patch(url, json={"status": "resolved"}, headers=agent)
    assert resolved.status == 200, await resolved.text()
    await run_jobs(client, all_kinds=True)
    sent = [message_from_bytes(raw, policy=policy.default) for _, _, raw in collector.mails[before:]]
    assert [m["Auto-Submitted"] for m in sent] == ["no", "auto-generated"]  # the agent's answer, the survey
    # the customer's out-of-office answers the survey: kept on the ticket, which stays resolved
    away = mail(subject=f"Automatic reply: {sent[1]['Subject']}", body="I am away until Monday.",
                Auto_Submitted="auto-replied", In_Reply_To=str(sent[1]["Message-ID"]))
    newsletter = mail(sender="no-reply@shop.example", subject="Spring sale", Precedence="bulk",
                      List_Unsubscribe="<mailto:unsubscribe@shop.example>")
    await append(dovecot, user, away, newsletter)
    await _poll(poller(client, dovecot, user))
    after = await store.conversations.find_one({"_id": conv["_id"]})
    assert after["status"] == "resolved"
    assert await store.messages.find_one({"conversation_id": conv["_id"], "text": "I am away until Monday."})
    bulk = await store.conversations.find_one({"subject": "Spring sale"})
    assert bulk["status"] == "closed" and bulk["tags"] == ["bulk"]  # kept, not in the queue
    # an agent looks at it and resolves it: no survey to no-reply@
    for status in ("open", "resolved"):
        r = await client.patch(f"/api/v1/conversations/{bulk['_id']}", json={"status": status}, headers=agent)
        assert r.status == 200, await r.text()
    before = len(collector.mails)
    await run_jobs(client, all_kinds=True)
    assert collector.mails[before:] == []


async def test_reply_to_is_the_customer_and_replies_have_date_and_brand(
        client: TestClient[Any, Any], dovecot: Dovecot, smtp_sink: tuple[int, Collector]) -> None:
    from email.utils import parsedate_to_datetime

    from hub.models import Role
    from tests.conftest import Api
    user, store, (_, collector) = dovecot.add_user(), client.server.app[keys.STORE], smtp_sink
    form = mail(sender="noreply@site.example", subject="Contact form: kids party",
                Reply_To="Thandi N <thandi@example.com>")
    await append(dovecot, user, form)
    await _poll(poller(client, dovecot, user))
    conv = await store.conversations.find_one({"subject": "Contact form: kids party"})
    contact = await store.contacts.find_one({"_id": conv["contact_id"]})
    assert contact["name"] == "Thandi N" and conv["status"] == "open"
    agent = (await Api(client).user(Role.agent))["headers"]
    before = len(collector.mails)
    await client.post(f"/api/v1/conversations/{conv['_id']}/messages", json={"text": "Yes!"}, headers=agent)
    await run_jobs(client)
    [(_, rcpts, raw)] = collector.mails[before:]
    sent = message_from_bytes(raw, policy=policy.default)
    assert rcpts == ["thandi@example.com"] and sent["From"] == "Berry Events Support <support@berry.test>"
    assert parsedate_to_datetime(str(sent["Date"])).tzinfo is not None


async def test_an_old_raw_name_downloads_with_a_safe_header(client: TestClient[Any, Any]) -> None:
    """Blobs stored by the old parser kept raw names; a CR/LF in one made aiohttp drop the connection."""
    from hub.models import Role
    from tests.conftest import Api
    blobs = client.server.app[keys.EXTENSIONS]["channels"].blobs
    blob_id = await blobs.put(b"data", filename='bad"name\r\nX-Injected: 1.pdf',
                              content_type="application/pdf")
    supervisor = (await Api(client).user(Role.supervisor))["headers"]
    got = await client.get(f"/api/v1/blobs/{blob_id}", headers=supervisor)
    assert got.status == 200 and "X-Injected" not in got.headers
    assert got.headers["Content-Disposition"] == 'attachment; filename="badnameX-Injected: 1.pdf"'


async def test_an_agents_forward_makes_the_original_sender_the_customer(
        client: TestClient[Any, Any], dovecot: Dovecot, smtp_sink: tuple[int, Collector]) -> None:
    """Agent forwarding: Ann (an agent) forwards Lerato's mail from Outlook; Lerato is the customer, Ann is
    named on the message, answers go to Lerato. The same forward from anyone else (a stranger, a portal
    user, or Ann's address failing DMARC) keeps the forwarder as the customer: the block is plain text."""
    from hub.models import Role
    from tests.conftest import Api
    user, store, (_, collector) = dovecot.add_user(), client.server.app[keys.STORE], smtp_sink
    api = Api(client)
    ann = await api.user(Role.agent, email="ann@staff.example.com")
    await api.user(Role.customer, email="mpho@example.co.za")  # a help-center user, not staff
    body = ("Can you help this customer?\n\nAnn\n\n________________________________\n"
            "From: Lerato M <lerato@example.co.za>\nSent: Tuesday, 3 March 2026 10:00\n"
            "To: Ann <ann@staff.example.com>\nSubject: Tent order\n\nMy tent order never arrived.")

    def forward(sender: str, **headers: str) -> bytes:
        msg = message_from_bytes(mail(subject="FW: Tent order", body=body, **headers), policy=policy.default)
        msg.replace_header("From", sender)
        return msg.as_bytes()

    failed, passed = "mx.berry.test; spf=fail; dmarc=fail", "mx.berry.test; spf=pass; dmarc=pass"
    await append(dovecot, user, forward("Ann <ann@staff.example.com>", Authentication_Results=passed),
                 forward("Mallory <mallory@example.com>", Authentication_Results=passed),
                 forward("Mpho <mpho@example.co.za>", Authentication_Results=passed),
                 forward("Ann <ann@staff.example.com>", Authentication_Results=failed))
    assert await _poll(poller(client, dovecot, user)) == 4
    owners = {}
    async for m in store.messages.find({"direction": "in"}):
        conv = await store.conversations.find_one({"_id": m["conversation_id"]})
        owners[m["meta"]["sender"]] = (m, conv)
    assert sorted(owners) == ["email:ann@staff.example.com", "email:lerato@example.co.za",
                              "email:mallory@example.com", "email:mpho@example.co.za"]
    message, conv = owners["email:lerato@example.co.za"]
    lerato = await store.identities.find_one({"_id": "email:lerato@example.co.za"})
    assert conv["contact_id"] == message["contact_id"] == lerato["contact_id"]
    assert (await store.contacts.find_one({"_id": lerato["contact_id"]}))["name"] == "Lerato M"
    assert message["meta"]["email"]["forwarded_by"] == {"address": "ann@staff.example.com", "name": "Agent",
                                                        "user_id": ann["user"]["id"]}
    assert "My tent order never arrived." in message["text"] and message["text"].endswith(
        "[forwarded by Agent <ann@staff.example.com>]")
    assert conv["subject"] == "Tent order"
    assert await store.conversations.count_documents({"contact_id": lerato["contact_id"]}) == 1
    for sender in ("email:mallory@example.com", "email:mpho@example.co.za", "email:ann@staff.example.com"):
        m, c = owners[sender]
        assert "forwarded_by" not in m["meta"]["email"] and c["subject"] == "FW: Tent order"
        assert c["contact_id"] != lerato["contact_id"]
    before = len(collector.mails)
    reply = await client.post(f"/api/v1/conversations/{conv['_id']}/messages", json={"text": "On its way."},
                              headers=ann["headers"])
    assert reply.status == 201, await reply.text()
    await run_jobs(client)
    assert [rcpts for _, rcpts, _ in collector.mails[before:]] == [["lerato@example.co.za"]]


FORWARD_BODY = ("Can you help this customer?\n\nAnn\n\n---------- Forwarded message ---------\n"
                "From: {original}\nDate: Tue, 3 Mar 2026 10:00\nSubject: Tent order\n"
                "To: Ann <ann@staff.example.com>\n\nMy tent order never arrived.")


def agent_forward(original: str, marker: str, auth: list[str]) -> bytes:
    """Ann's forward of ``original``'s mail; ``auth``: Authentication-Results headers, topmost first."""
    msg = message_from_bytes(mail(sender="ann@staff.example.com", subject=f"Fwd: Tent order {marker}",
                                  body=FORWARD_BODY.format(original=original)), policy=policy.default)
    msg.replace_header("From", "Ann <ann@staff.example.com>")
    # each prepended, as each receiving server does
    return b"".join(f"Authentication-Results: {value}\r\n".encode() for value in auth) + msg.as_bytes()


async def _senders(store: Any) -> dict[str, tuple[str, bool]]:
    """subject → (sender, forwarded_by set) of every inbound message."""
    return {m["subject"]: (m["meta"]["sender"], "forwarded_by" in m["meta"]["email"])
            async for m in store.messages.find({"direction": "in"})}


async def test_an_agents_forward_needs_our_servers_dmarc_pass(client: TestClient[Any, Any],
                                                              dovecot: Dovecot) -> None:
    """QA: a From with an agent's address is trusted only when the topmost Authentication-Results says
    dmarc=pass: no header, none/temperror/permerror, a pass lower down (anyone can add one) or in a
    comment keep Ann as the customer; nothing is lost."""
    from hub.models import Role
    from tests.conftest import Api
    user, store = dovecot.add_user(), client.server.app[keys.STORE]
    await Api(client).user(Role.agent, email="ann@staff.example.com")
    lerato = "Lerato M <lerato@example.co.za>"
    cases = {"no header": [], "none": ["mx.berry.test; dmarc=none"],
             "temperror": ["mx.berry.test; spf=pass; dmarc=temperror"],
             "permerror": ["mx.berry.test; dmarc=permerror"],
             "forged lower": ["mx.berry.test; spf=none; dmarc=none", "mx.berry.test; spf=pass; dmarc=pass"],
             "comment": ["mx.berry.test; spf=pass (sender x; dmarc=pass) smtp.mailfrom=staff.example.com"],
             "pass": ["mx.berry.test 1; spf=pass; dkim=pass; dmarc=pass (p=REJECT) "
                      "header.from=staff.example.com"]}
    await append(dovecot, user, *(agent_forward(lerato, name, auth) for name, auth in cases.items()))
    assert await _poll(poller(client, dovecot, user)) == len(cases)
    got = await _senders(store)
    assert got.pop("Tent order pass") == ("email:lerato@example.co.za", True)  # the pass alone: Fwd: gone
    assert got == {f"Fwd: Tent order {name}": ("email:ann@staff.example.com", False)
                   for name in cases if name != "pass"}
    kept = await store.messages.count_documents({"text": {"$regex": "My tent order never arrived"}})
    assert kept == len(cases)


async def test_an_agents_forward_of_a_no_reply_mail_keeps_the_agent(client: TestClient[Any, Any],
                                                                     dovecot: Dovecot) -> None:
    """QA: forwarding a no-reply/automated mail (or one of our own: the inbox's address, as the admin
    set it) must not make a contact nobody can answer: Ann stays the customer, so replies, rules and
    surveys reach her."""
    from hub.models import Role
    from tests.conftest import Api
    user, store, api = dovecot.add_user(), client.server.app[keys.STORE], Api(client)
    await api.user(Role.agent, email="ann@staff.example.com")
    admin = await api.user(Role.admin)
    resp = await client.put("/api/v1/channels/inboxes/email", headers=admin["headers"],
                            json={"address": "Help@Berry-Events.example"})
    assert resp.status == 200, await resp.text()
    passed = ["mx.berry.test; spf=pass; dkim=pass; dmarc=pass"]
    originals = {"noreply": "PayFast <noreply@payfast.example>", "no-reply": "no-reply@tickets.example",
                 "daemon": "Mail Delivery System <MAILER-DAEMON@mx.example.com>",
                 "ours": "Berry Events Support <help@berry-events.example>"}
    await append(dovecot, user, *(agent_forward(a, name, passed) for name, a in originals.items()))
    assert await _poll(poller(client, dovecot, user)) == len(originals)
    assert await _senders(store) == {f"Fwd: Tent order {name}": ("email:ann@staff.example.com", False)
                                     for name in originals}
    assert await store.identities.count_documents({"_id": {"$ne": "email:ann@staff.example.com"}}) == 0
    flags = {m["subject"]: m["meta"]["no_auto_reply"] async for m in store.messages.find({})}
    assert set(flags.values()) == {False}  # Ann's own mail: answered as any other


async def test_an_agents_forward_at_the_smtp_listener_needs_the_configured_authserv_id(
        settings: Any) -> None:
    """QA: nothing checks mail sent straight to our SMTP listener, so a dmarc=pass in it was written by
    the sender: trusted only with BERRY_EMAIL_AUTHSERV_ID set (a relay of ours adds it), and then only
    the topmost header carrying that id."""
    from hub.app import create_app
    from hub.models import Role
    from hub.store import free_port
    from tests.conftest import Api, running
    lerato, to, expected = "Lerato M <lerato@example.co.za>", ["support@berry.test"], {}
    for authserv_id, sent, more in (
            ("", {"forged": ["mx.berry.test; dmarc=pass"]}, {"Fwd: Tent order forged": False}),
            ("MX.berry.test", {"ours": ["mx.berry.test; spf=pass; dmarc=pass"],
                               "other id": ["mail.attacker.example; dmarc=pass",
                                            "mx.berry.test; dmarc=pass"]},
             {"Tent order ours": True, "Fwd: Tent order other id": False})):
        port = free_port()
        app = create_app(settings.model_copy(update={"smtp_listen_port": port,
                                                     "email_authserv_id": authserv_id}))
        async with running(app) as client:  # the same database: Ann exists after the first
            if not expected:
                await Api(client).user(Role.agent, email="ann@staff.example.com")
            for name, auth in sent.items():
                await aiosmtplib.send(agent_forward(lerato, name, auth), sender="ann@staff.example.com",
                                      recipients=to, hostname="127.0.0.1", port=port)
            expected.update(more)
            got = await _senders(client.server.app[keys.STORE])
            assert {subject: by for subject, (_, by) in got.items()} == expected, authserv_id


async def test_an_agents_german_outlook_forward_makes_the_original_sender_the_customer(
        client: TestClient[Any, Any], dovecot: Dovecot) -> None:
    """Ann's Outlook is in German ("WG:", "Von:/Gesendet:/Betreff:") or Afrikaans ("Van:/Gestuur:"): the
    original sender is the customer and the subject loses "WG: AW:"."""
    from hub.models import Role
    from tests.conftest import Api
    user, store = dovecot.add_user(), client.server.app[keys.STORE]
    await Api(client).user(Role.agent, email="ann@staff.example.com")
    blocks = {"WG: AW: Zeltbestellung": ("Von: Lerato M <lerato@example.co.za>\nGesendet: Dienstag, 3. März "
                                         "2026 10:00\nAn: Ann <ann@staff.example.com>\n"
                                         "Betreff: AW: Zeltbestellung"),
              "FW: Tentbestelling": ("Van: Pieter K [mailto:pieter@example.co.za]\nGestuur: Dinsdag 3 Maart "
                                     "2026 10:00\nAan: Ann <ann@staff.example.com>\n"
                                     "Onderwerp: Tentbestelling")}
    raws = []
    for subject, block in blocks.items():
        body = f"Kannst du das übernehmen?\n\nAnn\n\n________________________________\n{block}\n\nZelt fehlt."
        msg = message_from_bytes(mail(sender="ann@staff.example.com", subject=subject, body=body,
                                      Authentication_Results="mx.berry.test; dmarc=pass"),
                                 policy=policy.default)
        msg.replace_header("From", "Ann <ann@staff.example.com>")
        raws.append(msg.as_bytes())
    await append(dovecot, user, *raws)
    assert await _poll(poller(client, dovecot, user)) == 2
    assert await _senders(store) == {"Zeltbestellung": ("email:lerato@example.co.za", True),
                                     "Tentbestelling": ("email:pieter@example.co.za", True)}
    assert await store.messages.count_documents({"text": {"$regex": "Zelt fehlt"}}) == 2
