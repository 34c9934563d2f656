"""Admin-configured channel inboxes: stored in MongoDB, credentials encrypted and never returned,
the adapters rebuilt on save."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from hub import keys
from hub.models import Role

from .conftest import AUTH_TOKEN, PUBLIC, post_signed, run_jobs, sign, sms_form
from .standin import TwilioStandIn

NEW_TOKEN = "9" * 32


async def _headers(client: TestClient[Any, Any], role: Role) -> dict[str, str]:
    from tests.conftest import Api
    return (await Api(client).user(role))["headers"]


async def test_admin_configures_inboxes_and_secrets_stay_secret(client: TestClient[Any, Any],
                                                                twilio_standin: TwilioStandIn) -> None:
    admin = await _headers(client, Role.admin)
    resp = await client.put("/api/v1/channels/inboxes/sms", headers=admin, json={
        "address": "+27600000099", "business_hours": "Mon-Fri 08:00-17:00", "timezone": "Africa/Johannesburg"})
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
    assert resp.status == 200 and NEW_TOKEN not in body and (await resp.json())["credentials_set"] == ["auth_token"]
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
    bad_hours = await client.put("/api/v1/channels/inboxes/voice", headers=admin, json={"business_hours": "9 to 5"})
    bad_tz = await client.put("/api/v1/channels/inboxes/voice", headers=admin, json={"timezone": "Mars/Olympus"})
    bad_secret = await client.put("/api/v1/channels/inboxes/email", headers=admin,
                                  json={"credentials": {"root_password": "x"}})
    no_channel = await client.put("/api/v1/channels/inboxes/fax", headers=admin, json={})
    agent = await client.put("/api/v1/channels/inboxes/voice", headers=await _headers(client, Role.agent), json={})
    assert [r.status for r in (bad_hours, bad_tz, bad_secret, no_channel, agent)] == [422, 422, 422, 404, 403]


async def test_voice_greeting_and_disabled_channel(client: TestClient[Any, Any]) -> None:
    admin = await _headers(client, Role.admin)
    await client.put("/api/v1/channels/inboxes/voice", headers=admin,
                     json={"greeting": "Welcome to Berry Events, the party people.", "business_hours": "Mon-Sun 00:00-23:59"})
    twiml = await (await post_signed(client, "/webhooks/twilio/voice", {"CallSid": "CA1", "From": "+27831112222"})).text()
    assert "Welcome to Berry Events, the party people." in twiml
    await client.put("/api/v1/channels/inboxes/whatsapp", headers=admin, json={"enabled": False})
    resp = await post_signed(client, "/webhooks/twilio/whatsapp", sms_form(From="whatsapp:+27821234567"))
    assert resp.status == 404
    channels = await (await client.get("/api/v1/channels", headers=admin)).json()
    assert next(c for c in channels if c["channel"] == "whatsapp")["configured"] is False
