"""E-mail against real servers: dovecot (IMAP, polled with aioimaplib), aiosmtpd (SMTP in and out)."""

from __future__ import annotations

import asyncio
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


def mail(sender: str = "lerato@example.co.za", subject: str = "Catering quote", body: str = "Hi, can I get a quote?",
         **headers: str) -> bytes:
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
    return ImapPoller(app[keys.STORE], ingest, host="127.0.0.1", port=dovecot.port, user=user, password=PASSWORD,
                      **kw)


async def _poll(p: ImapPoller) -> int:
    imap = await p.connect()
    try:
        return await p.poll_once(imap)
    finally:
        await imap.logout()


async def test_imap_poll_ingests_each_mail_once_across_restarts(client: TestClient[Any, Any], dovecot: Dovecot) -> None:
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
    answer = mail(subject=str(sent["Subject"]), body="Great, book it please.\n\nOn Tue, Lerato wrote:\n> Yes, the Rosebank hall",
                  In_Reply_To=str(sent["Message-ID"]), References=f"{original_id} {sent['Message-ID']}")
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
        r = await client.post(f"/api/v1/conversations/{conv['_id']}/messages", json={"text": "Hello"}, headers=agent)
        ids.append(((await store.identities.find_one({"contact_id": conv["contact_id"]}))["value"], (await r.json())["id"]))
    await run_jobs(client)
    outcome = {addr: await store.messages.find_one({"_id": mid}) for addr, mid in ids}
    refused = outcome["nobody@example.net"]
    assert refused["delivery_status"] == "failed" and "no such user" in refused["error"]
    full = outcome["full@example.org"]  # 4xx: retried, then failed after the last attempt
    assert full["delivery_status"] == "failed" and "after 5 attempts" in full["error"]


async def test_auto_replies_are_flagged_never_to_be_answered(client: TestClient[Any, Any], dovecot: Dovecot) -> None:
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
    from aiohttp.test_utils import TestServer

    from hub.app import create_app
    from hub.store import free_port
    port = free_port()
    app = create_app(settings.model_copy(update={"smtp_listen_port": port}))
    async with TestClient(TestServer(app)) as client:
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
    assert (await store["provider_ids"].find_one({"_id": f"email:{sent['external_id']}"}))["message_id"] == sent["_id"]
    original = f"From: support@berry.test\r\nTo: lerato@example.co.za\r\nMessage-ID: {sent['external_id']}\r\n\r\nYes\r\n"
    bounce = dsn(original=original, diagnostic="smtp; 550 5.1.1 <lerato@example.co.za>: User unknown")
    unrelated = dsn(original="From: someone@elsewhere.test\r\nMessage-ID: <not-ours@elsewhere.test>\r\n\r\nx\r\n",
                    message_id="<other-bounce@mail.berry.test>")
    bus = client.server.app[keys.BUS]
    with bus.capture() as events:
        await append(dovecot, user, bounce, bounce, unrelated)  # the same bounce twice: applied once, harmless
        assert await _poll(poller(client, dovecot, user)) == 3
    failed = await store.messages.find_one({"_id": sent["_id"]})
    assert failed["delivery_status"] == "failed"
    assert "lerato@example.co.za" in failed["error"] and "5.1.1" in failed["error"] and "User unknown" in failed["error"]
    assert [e.name for e in events].count("message.updated") == 1
    # no ticket from MAILER-DAEMON for our own bounce; the unrelated one is kept, never to be answered
    inbound = [d async for d in store.messages.find({"direction": "in"})]
    assert len(inbound) == 2 and await store.conversations.count_documents({}) == 2
    stray = next(d for d in inbound if d["conversation_id"] != conv["_id"])
    assert stray["meta"]["no_auto_reply"] is True
