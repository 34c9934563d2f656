"""GET one channel inbox and DELETE it (back to the BERRY_ settings): admins only, credentials
never returned, the adapters rebuilt, an audit record; unknown and hostile channel names 404."""

from __future__ import annotations

from hub import keys
from hub.models import Role

from ...conftest import Api

URL = "/api/v1/channels/inboxes"
TOKEN = "7" * 32


async def test_get_and_delete_one_channel_inbox(api: Api) -> None:
    admin = (await api.user(Role.admin))["headers"]
    put = await api.client.put(
        f"{URL}/sms",
        headers=admin,
        json={"address": "+27600000077", "greeting": "Hi", "credentials": {"auth_token": TOKEN}},
    )
    assert put.status == 200, await put.text()
    one = await api.client.get(f"{URL}/sms", headers=admin)
    body = await one.json()
    assert (
        one.status == 200 and body["address"] == "+27600000077" and body["credentials_set"] == ["auth_token"]
    )
    assert TOKEN not in await one.text() and one.headers.get("ETag")
    services = api.app[keys.EXTENSIONS]["channels"]
    assert "sms" in {c.value for c in services.inbox_docs}

    agent = (await api.user(Role.agent))["headers"]
    assert (await api.client.get(f"{URL}/sms", headers=agent)).status == 403
    assert (await api.client.delete(f"{URL}/sms", headers=agent)).status == 403
    assert (await api.client.delete(f"{URL}/sms", headers={**admin, "If-Match": '"stale"'})).status == 412
    resp = await api.client.delete(f"{URL}/sms", headers={**admin, "If-Match": one.headers["ETag"]})
    assert resp.status == 204, await resp.text()
    store = api.app[keys.STORE]
    assert await store["channel_inboxes"].find_one({"_id": "sms"}) is None
    assert "sms" not in {c.value for c in services.inbox_docs}  # adapters rebuilt without it
    assert await store.audit_log.find_one({"action": "channel.inbox.delete", "target_id": "sms"}) is not None
    after = await (await api.client.get(f"{URL}/sms", headers=admin)).json()
    assert after["address"] == "" and after["credentials_set"] == []
    assert (await api.client.delete(f"{URL}/sms", headers=admin)).status == 404


async def test_unknown_channels_are_404(api: Api) -> None:
    admin = (await api.user(Role.admin))["headers"]
    for name in ("api", "fax", "%24ne", "..%2F..%2Fetc", "s" * 600):
        assert (await api.client.get(f"{URL}/{name}", headers=admin)).status == 404, name
        assert (await api.client.delete(f"{URL}/{name}", headers=admin)).status == 404, name


async def test_an_inbox_takes_only_its_channels_settings_and_a_real_address(api: Api) -> None:
    """An SMS inbox accepted the address "not-a-number" and an smtp_password (stored, never read)."""
    admin = (await api.user(Role.admin))["headers"]
    cases = [
        ("sms", {"address": "not-a-number"}, "address"),
        ("whatsapp", {"address": "+1"}, "address"),
        ("sms", {"credentials": {"smtp_password": "x"}}, "credentials.smtp_password"),
        ("email", {"settings": {"account_sid": "AC1"}}, "settings.account_sid"),
        ("email", {"address": "support at berry"}, "address"),
        ("webchat", {"credentials": {"auth_token": TOKEN}}, "credentials.auth_token"),
    ]
    for channel, body, field in cases:
        resp = await api.client.put(f"{URL}/{channel}", headers=admin, json=body)
        assert resp.status == 422, (channel, body, await resp.text())
        assert (await resp.json())["field"] == field
    assert await api.app[keys.STORE]["channel_inboxes"].count_documents({}) == 0
    ok = [("whatsapp", {"address": "whatsapp:+27600000078"}), ("email", {"address": "help@berry.test",
                                                                         "settings": {"smtp_port": 2525}})]
    for channel, body in ok:
        resp = await api.client.put(f"{URL}/{channel}", headers=admin, json=body)
        assert resp.status == 200, await resp.text()
    resp = await api.client.put(f"{URL}/email", headers=admin, json={"address": "care@berry.test"})
    assert resp.status == 200
    entries = [e async for e in api.app[keys.STORE].audit_log.find({"action": "channel.inbox.update",
                                                                    "target_id": "email"}).sort("at", 1)]
    assert entries[0]["before"] is None and entries[0]["after"]["address"] == "help@berry.test"
    assert entries[1]["before"]["address"] == "help@berry.test"
    assert entries[1]["after"]["address"] == "care@berry.test"
