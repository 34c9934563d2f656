"""A reply goes to the address the ticket came from, not to any address of the contact: e-mail
through a real SMTP server (aiosmtpd), SMS through the Twilio stand-in."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from aiohttp.test_utils import TestClient

from hub import keys
from hub.models import Role, new_id
from tests.conftest import Api

from .conftest import SMS_FROM, post_signed, run_jobs, sms_form
from .mailservers import Collector
from .standin import TwilioStandIn

HOME, WORK = "lerato@example.co.za", "lerato.m@events.example.org"


def mail(sender: str, subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Lerato M <{sender}>", "support@berry.test", subject
    msg["Message-ID"] = f"<{new_id()}@example.co.za>"
    msg.set_content("Hi, can I get a quote?")
    return msg.as_bytes()


async def reply(client: TestClient[Any, Any], headers: dict[str, str], conversation_id: str) -> str:
    resp = await client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": "Certainly."},
                             headers=headers)
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["id"])


async def test_email_reply_goes_to_the_address_the_ticket_came_from(
        client: TestClient[Any, Any], smtp_sink: tuple[int, Collector]) -> None:
    app = client.server.app
    store, ingest_mail = app[keys.STORE], app[keys.EXTENSIONS]["channels"].extra["ingest_mail"]
    agent = (await Api(client).user(Role.agent))["headers"]
    await ingest_mail(mail(HOME, "Catering quote"))
    contact = await store.identities.find_one({"_id": f"email:{HOME}"})
    added = await client.post(f"/api/v1/contacts/{contact['contact_id']}/identities",
                              json={"kind": "email", "value": WORK}, headers=agent)
    assert added.status == 201, await added.text()
    await ingest_mail(mail(WORK, "Venue for 80 guests"))  # the same person, from her second address
    tickets = {d["subject"]: d async for d in store.conversations.find({})}
    assert {t["contact_id"] for t in tickets.values()} == {contact["contact_id"]}
    _, collector = smtp_sink
    for subject, address in (("Venue for 80 guests", WORK), ("Catering quote", HOME)):
        await reply(client, agent, tickets[subject]["_id"])
        await run_jobs(client)
        assert collector.mails[-1][1] == [address], subject
    # an e-mail ticket the agent opened has no origin: the contact's first address
    opened = await client.post("/api/v1/conversations", headers=agent, json={
        "contact_id": contact["contact_id"], "channel": "email", "subject": "Your invoice",
        "text": "Attached."})
    assert opened.status == 201, await opened.text()
    await run_jobs(client)
    assert collector.mails[-1][1] == [HOME]


async def test_sms_reply_after_a_merge_goes_to_the_number_the_ticket_came_from(
        client: TestClient[Any, Any], twilio_standin: TwilioStandIn) -> None:
    store = client.server.app[keys.STORE]
    agent = (await Api(client).user(Role.supervisor))["headers"]
    first, second = "+27821234567", "+27829990000"
    for number in (first, second):  # two contacts, then one person
        resp = await post_signed(client, "/webhooks/twilio/sms", sms_form(From=number))
        assert resp.status == 200, await resp.text()
    keep = (await store.identities.find_one({"_id": f"phone:{first}"}))["contact_id"]
    duplicate = (await store.identities.find_one({"_id": f"phone:{second}"}))["contact_id"]
    merged = await client.post(f"/api/v1/contacts/{duplicate}/merge", json={"into": keep}, headers=agent)
    assert merged.status == 200, await merged.text()
    for number in (second, first):
        ticket = await store.conversations.find_one({"thread_key": f"phone:{number}"})
        assert ticket["contact_id"] == keep
        message_id = await reply(client, agent, ticket["_id"])
        await run_jobs(client)
        sent = twilio_standin.messages[(await store.messages.find_one({"_id": message_id}))["external_id"]]
        assert (sent["to"], sent["from"]) == (number, SMS_FROM)
