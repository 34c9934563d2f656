"""Admin-configured channel inboxes: stored in MongoDB, credentials encrypted and never returned,
the adapters rebuilt on save."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub import keys
from hub.models import Channel, Role

from .conftest import AUTH_TOKEN, PUBLIC, post_signed, run_jobs, sign, sms_form
from .standin import TwilioStandIn

NEW_TOKEN = "9" * 32


async def _headers(client: TestClient[Any, Any], role: Role) -> dict[str, str]:
    from tests.conftest import Api
    return (await Api(client).user(role))["headers"]


async def test_admin_configures_inboxes_and_secrets_stay_secret(client: TestClient[Any, Any],
                                                                twilio_standin: TwilioStandIn) -> None:
    admin = await _headers(client, Role.admin)
    resp = await client.put(
        "/api/v1/channels/inboxes/sms",
        headers=admin,
        json={
            "address": "+27600000099",
            "business_hours": "Mon-Fri 08:00-17:00",
            "timezone": "Africa/Johannesburg",
        },
    )
    assert resp.status == 200, await resp.text()
    # replies now leave from the inbox's number
    await post_signed(client, "/webhooks/twilio/sms", sms_form())
    store = client.server.app[keys.STORE]
    conv = await store.conversations.find_one({})
    reply = await client.post(f"/api/v1/conversations/{conv['_id']}/messages", json={"text": "Hi"},
                              headers=await _headers(client, Role.agent))
    await run_jobs(client)
    sid = (await store.messages.find_one({"_id": (await reply.json())["id"]}))["external_id"]
    assert twilio_standin.messages[sid]["from"] == "+27600000099"
    # a new auth token: stored encrypted, never returned, used for signatures at once
    resp = await client.put("/api/v1/channels/inboxes/sms", headers=admin, json={
        "address": "+27600000099", "credentials": {"auth_token": NEW_TOKEN}})
    body = await resp.text()
    assert (
        resp.status == 200
        and NEW_TOKEN not in body
        and (await resp.json())["credentials_set"] == ["auth_token"]
    )
    listing = await client.get("/api/v1/channels/inboxes", headers=admin)
    assert NEW_TOKEN not in await listing.text()
    stored = await store["channel_inboxes"].find_one({"_id": "sms"})
    assert NEW_TOKEN not in str(stored)
    form = sms_form()
    old = await post_signed(client, "/webhooks/twilio/sms", form)
    new = await post_signed(client, "/webhooks/twilio/sms", form,
                            signature=sign(PUBLIC + "/webhooks/twilio/sms", form, NEW_TOKEN))
    assert (old.status, new.status) == (403, 200)
    assert AUTH_TOKEN != NEW_TOKEN


async def test_inbox_validation_and_permissions(client: TestClient[Any, Any]) -> None:
    admin = await _headers(client, Role.admin)
    bad_hours = await client.put(
        "/api/v1/channels/inboxes/voice", headers=admin, json={"business_hours": "9 to 5"}
    )
    bad_tz = await client.put(
        "/api/v1/channels/inboxes/voice", headers=admin, json={"timezone": "Mars/Olympus"}
    )
    bad_secret = await client.put("/api/v1/channels/inboxes/email", headers=admin,
                                  json={"credentials": {"root_password": "x"}})
    no_channel = await client.put("/api/v1/channels/inboxes/fax", headers=admin, json={})
    agent = await client.put(
        "/api/v1/channels/inboxes/voice", headers=await _headers(client, Role.agent), json={}
    )
    assert [r.status for r in (bad_hours, bad_tz, bad_secret, no_channel, agent)] == [422, 422, 422, 404, 403]
    problem = await bad_tz.json()  # the zone's own error, not a union branch's
    assert "unknown time zone 'Mars/Olympus'" in problem["detail"] and problem["field"] == "timezone"


async def test_voice_greeting_and_disabled_channel(client: TestClient[Any, Any]) -> None:
    admin = await _headers(client, Role.admin)
    await client.put(
        "/api/v1/channels/inboxes/voice",
        headers=admin,
        json={
            "greeting": "Welcome to Berry Events, the party people.",
            "business_hours": "Mon-Sun 00:00-24:00",
        },
    )
    twiml = await (
        await post_signed(client, "/webhooks/twilio/voice", {"CallSid": "CA1", "From": "+27831112222"})
    ).text()
    assert "Welcome to Berry Events, the party people." in twiml
    await client.put("/api/v1/channels/inboxes/whatsapp", headers=admin, json={"enabled": False})
    resp = await post_signed(client, "/webhooks/twilio/whatsapp", sms_form(From="whatsapp:+27821234567"))
    assert resp.status == 404 and resp.content_type == "application/problem+json"
    assert (await resp.json())["detail"] == "the whatsapp channel is not configured"
    status = await post_signed(
        client, "/webhooks/twilio/status/whatsapp", {"MessageSid": "SM1", "MessageStatus": "sent"}
    )
    assert status.status == 404
    channels = await (await client.get("/api/v1/channels", headers=admin)).json()
    assert next(c for c in channels if c["channel"] == "whatsapp")["configured"] is False


async def _wait_for(predicate: Any, what: str, seconds: float = 10.0) -> None:
    import asyncio
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_imap_mailbox_configured_by_the_admin_is_polled_without_restart(
        client: TestClient[Any, Any], dovecot: Any, monkeypatch: Any) -> None:
    from channels import wiring
    from hub.app import create_app
    from tests.conftest import running

    from .mailservers import PASSWORD
    from .test_email import append, mail
    monkeypatch.setattr(wiring, "INBOX_REFRESH_S", 0.2)
    app = client.server.app
    store = app[keys.STORE]
    mailbox = app[keys.EXTENSIONS]["channels"].extra["mailbox"]
    assert mailbox.status() == {"polling": False}  # no BERRY_IMAP_HOST in these settings
    async with running(create_app(app[keys.SETTINGS])) as node2:  # a second node on the same database
        node2_mailbox = node2.server.app[keys.EXTENSIONS]["channels"].extra["mailbox"]
        mailbox.poll_s = node2_mailbox.poll_s = 1.0  # retries after a failed login come quickly
        mailbox.renew_s = node2_mailbox.renew_s = 0.3  # the standby sees the holder's status soon
        user = dovecot.add_user()
        await append(dovecot, user, mail(subject="Before the inbox existed"))
        admin = await _headers(client, Role.admin)
        resp = await client.put("/api/v1/channels/inboxes/email", headers=admin, json={
            "address": "support@berry.test",
            "settings": {"imap_host": "127.0.0.1", "imap_port": str(dovecot.port), "imap_user": user},
            "credentials": {"imap_password": PASSWORD}})
        body = await resp.text()
        assert resp.status == 200, body
        out = await resp.json()
        assert PASSWORD not in body and out["credentials_set"] == ["imap_password"]
        assert out["settings"]["imap_port"] == dovecot.port and out["status"]["polling"] is True
        assert PASSWORD not in str(await store["channel_inboxes"].find_one({"_id": "email"}))
        await _wait_for(
            lambda: store.messages.find_one({"subject": "Before the inbox existed"}), "the first poll"
        )
        await append(dovecot, user, mail(subject="After"))
        await _wait_for(lambda: store.messages.find_one({"subject": "After"}), "IDLE/poll of the new mail")
        # the other node picked the inbox up by itself and stands by: this node holds the mailbox's
        # lease; node 2 shows the holder's status (published with each renewal)

        async def node2_stands_by() -> bool:
            status = node2_mailbox.status()
            return (status.get("this_node") is False and status.get("node") == mailbox.node
                    and status.get("polls", 0) >= 1)
        await _wait_for(node2_stands_by, "node 2 to stand by", seconds=30)
        assert node2_mailbox.poller is None and mailbox.poller is not None
        assert await store.messages.count_documents({"channel": "email"}) == 2
        # a wrong password: the admin sees why nothing arrives
        resp = await client.put("/api/v1/channels/inboxes/email", headers=admin, json={
            "settings": {"imap_host": "127.0.0.1", "imap_port": dovecot.port, "imap_user": user},
            "credentials": {"imap_password": "wrong-password"}})
        assert resp.status == 200

        async def error_shown() -> bool:
            listing = await (await client.get("/api/v1/channels/inboxes", headers=admin)).json()
            status = next(i for i in listing if i["channel"] == "email")["status"]
            return "login failed" in (status.get("last_error") or "")
        await _wait_for(error_shown, "the login error")
        # switched off: no poller left on either node
        resp = await client.put("/api/v1/channels/inboxes/email", headers=admin, json={"enabled": False})
        assert (await resp.json())["status"]["polling"] is False

        async def node2_stopped() -> bool:
            return node2_mailbox.status() == {"polling": False}
        await _wait_for(node2_stopped, "node 2 to stop polling")


async def test_inbox_settings_are_validated(client: TestClient[Any, Any]) -> None:
    admin = await _headers(client, Role.admin)
    bad = [{"settings": {"imap_port": "143; DROP"}}, {"settings": {"imap_port": 70000}},
           {"settings": {"imap_port": True}}, {"settings": {"imap_host": "mail.example.com\r\nRCPT"}},
           {"settings": {"imap_host": 5}}, {"settings": {"imap_folder": "INBOX"}},
           {"settings": {"imap_port": "٣"}}, {"settings": {"imap_host": "a\x00b"}}]
    statuses = [
        (await client.put("/api/v1/channels/inboxes/email", headers=admin, json=b)).status for b in bad
    ]
    assert statuses == [422] * len(bad)
    resp = await client.put("/api/v1/channels/inboxes/email", headers=admin,
                            json={"settings": {"imap_port": "²"}})
    assert resp.status == 422 and "a port number" in await resp.text()  # not int()'s "invalid literal"
    # each refusal names the setting's path, not just "settings"
    for body, field in (({"settings": {"smtp_listen_port": -1}}, "settings.smtp_listen_port"),
                        ({"settings": {"bogus": "x"}}, "settings.bogus"),
                        ({"settings": {"account_sid": "AC1"}}, "settings.account_sid"),
                        ({"credentials": {"auth_token": "t"}}, "credentials.auth_token"),
                        ({"credentials": {"pin": "1"}}, "credentials.pin")):
        resp = await client.put("/api/v1/channels/inboxes/email", headers=admin, json=body)
        assert resp.status == 422 and (await resp.json())["field"] == field, (body, await resp.text())
    assert await client.server.app[keys.STORE]["channel_inboxes"].find_one({"_id": "email"}) is None


async def test_admin_moves_the_smtp_listener_and_sets_starttls(client: TestClient[Any, Any]) -> None:
    import socket

    import aiosmtplib

    from hub.store import free_ports

    from .test_email import mail
    app = client.server.app
    services = app[keys.EXTENSIONS]["channels"]
    admin = await _headers(client, Role.admin)

    async def put(settings: dict[str, Any], **extra: Any) -> dict[str, Any]:
        resp = await client.put(
            "/api/v1/channels/inboxes/email", headers=admin, json={"settings": settings, **extra}
        )
        assert resp.status == 200, await resp.text()
        return await resp.json()  # type: ignore[no-any-return]

    async def deliver(port: int, subject: str) -> None:
        await aiosmtplib.send(
            mail(subject=subject),
            sender="lerato@example.co.za",
            recipients=["support@berry.test"],
            hostname="127.0.0.1",
            port=port,
            timeout=10,
        )

    assert services.extra["smtp_listener"].status()["listening"] is False  # BERRY_SMTP_LISTEN_PORT unset
    first, second = free_ports(2)
    out = await put({"smtp_listen_port": first, "smtp_host": "127.0.0.1", "smtp_starttls": True})
    assert out["status"]["smtp_listener"] == {"listening": True, "port": first, "last_error": None}
    assert out["settings"]["smtp_starttls"] is True and services.registry.get(Channel.email).starttls is True
    await deliver(first, "On the first port")
    # moved: the old port is closed, the new one takes mail, on this node at once
    out = await put({"smtp_listen_port": second, "smtp_host": "127.0.0.1", "smtp_starttls": False})
    assert (
        out["status"]["smtp_listener"]["port"] == second
        and services.registry.get(Channel.email).starttls is False
    )
    with pytest.raises((aiosmtplib.SMTPConnectError, OSError)):
        await deliver(first, "Nobody listens here")
    await deliver(second, "On the second port")
    store = app[keys.STORE]
    assert sorted([d["subject"] async for d in store.messages.find({"channel": "email"})]) == [
        "On the first port", "On the second port"]
    # a port another process holds: the admin sees why, nothing crashes; 0 switches it off
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        out = await put({"smtp_listen_port": busy.getsockname()[1]})
        status = out["status"]["smtp_listener"]
        assert status["listening"] is False and "cannot listen on port" in status["last_error"]
    out = await put({"smtp_listen_port": 0})
    assert out["status"]["smtp_listener"] == {"listening": False, "port": 0, "last_error": None}
    bad = [{"smtp_listen_port": 70000}, {"smtp_listen_port": -1}, {"smtp_listen_port": "25; rm"},
           {"smtp_listen_port": True}, {"smtp_starttls": "yes"}, {"smtp_starttls": 1}]
    for settings in bad:
        resp = await client.put("/api/v1/channels/inboxes/email", headers=admin, json={"settings": settings})
        assert resp.status == 422, (settings, await resp.text())
