"""Cold paths that read by a lone ``_id`` and check the rest in Python (a ``{_id, other}`` filter
scans on FerretDB), and one-winner decisions made by an ``_id`` claim instead of a filtered update
(FerretDB serializes neither): TOTP codes, webhook auto-disable, stale idempotency keys. Each is
tried with the wrong owner, replayed and concurrent input."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pyotp

from hub import keys
from hub.api import idempotency
from hub.models import Role, utcnow
from hub.platform.appkeys import SESSIONS, TOTP, WEBHOOKS
from hub.platform.events import WebhookDisabled

from ...conftest import Api
from .conftest import Receiver, run_jobs
from .test_webhooks import _admin_hook


async def test_one_totp_code_signs_in_once_under_concurrency(api: Api) -> None:
    totp = api.app[TOTP]
    setup = await totp.setup("user-1", "u1@example.com")
    codes = pyotp.TOTP(setup["secret"])
    await totp.confirm("user-1", codes.now())
    assert await totp.enabled("user-1") and not await totp.enabled("user-2")
    code = codes.at(time.time() + 30)  # the next step: not used by the confirmation
    results = await asyncio.gather(*(totp.verify("user-1", code) for _ in range(10)), return_exceptions=True)
    assert sum(r is None for r in results) == 1, results
    assert all("already used" in str(r) for r in results if r is not None)


async def test_sessions_and_api_keys_check_their_owner_and_state(api: Api) -> None:
    alice, bob = await api.user(Role.agent), await api.user(Role.agent)
    sessions = (await (await api.client.get("/api/v1/auth/sessions", headers=alice["headers"])).json())[
        "items"
    ]
    alice_session = sessions[0]["id"]
    # bob cannot sign alice out (404, as for a session that does not exist); alice stays signed in
    assert (
        await api.client.delete(f"/api/v1/auth/sessions/{alice_session}", headers=bob["headers"])
    ).status == 404
    assert (await api.client.get("/api/v1/auth/me", headers=alice["headers"])).status == 200
    assert (await api.client.delete("/api/v1/auth/sessions/%24ne", headers=bob["headers"])).status == 404
    try:
        await api.app[SESSIONS].revoke(bob["user"]["id"], alice_session)
        raise AssertionError("revoked another user's session")
    except Exception as exc:  # noqa: BLE001 - the service raises NotFound
        assert "not found" in str(exc)

    admin = await api.user(Role.admin)
    key = await (
        await api.client.post("/api/v1/api-keys", headers=admin["headers"], json={"name": "crm"})
    ).json()
    url = f"/api/v1/api-keys/{key['id']}"
    results = await asyncio.gather(*(api.client.delete(url, headers=admin["headers"]) for _ in range(4)))
    assert 204 in [r.status for r in results] and {r.status for r in results} <= {204, 404}
    assert (await api.client.delete(url, headers=admin["headers"])).status == 404  # replayed
    assert (await api.client.get("/api/v1/users", headers={"X-Api-Key": key["key"]})).status == 401


async def test_redelivery_names_its_own_webhook(api: Api, receiver: Receiver) -> None:
    admin, hook = await _admin_hook(api, receiver, ["webhook.ping"])
    _, other = await _admin_hook(api, receiver, ["webhook.ping"])
    await api.client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=admin["headers"])
    await run_jobs(api.app)
    delivery = (await api.app[keys.STORE]["webhook_deliveries"].find_one({"webhook_id": hook["id"]}))["_id"]
    wrong = await api.client.post(
        f"/api/v1/webhooks/{other['id']}/deliveries/{delivery}/redeliver", headers=admin["headers"]
    )
    assert wrong.status == 404
    right = await api.client.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery}/redeliver", headers=admin["headers"]
    )
    assert right.status == 202


async def test_a_failing_webhook_is_disabled_once_under_concurrency(api: Api, receiver: Receiver) -> None:
    _, hook = await _admin_hook(api, receiver, ["webhook.ping"])
    hooks = api.app[WEBHOOKS]
    await api.app[keys.STORE]["webhook_deliveries"].insert_many(
        [
            {"_id": f"d{i}", "webhook_id": hook["id"], "status": "dead", "created_at": utcnow()}
            for i in range(10)
        ]
    )
    doc = await hooks.get(hook["id"])
    with api.app[keys.BUS].capture() as events:
        await asyncio.gather(*(hooks._maybe_disable(doc) for _ in range(8)))
    assert [e.webhook_id for e in events if isinstance(e, WebhookDisabled)] == [hook["id"]]
    assert (await hooks.get(hook["id"]))["active"] is False
    audit = [a["action"] for a in await api.app[keys.AUDIT].list("webhook", hook["id"])]
    assert audit.count("webhook.disable") == 1


async def test_a_stale_idempotency_claim_is_taken_over_once(api: Api) -> None:
    admin = await api.user(Role.admin)
    headers = {**admin["headers"], "Idempotency-Key": "stale-key"}
    body = {"name": "Sipho"}
    first = await api.client.post("/api/v1/contacts", headers=headers, json=body)
    assert first.status == 201
    store = api.app[keys.STORE]
    # the first request died while "running" long ago: its pending claim is stale
    await store[idempotency.COLLECTION].update_many(
        {"state": {"$ne": "marker"}},
        {"$set": {"state": "pending", "created_at": utcnow() - timedelta(hours=2)}},
    )
    retries = await asyncio.gather(
        *(api.client.post("/api/v1/contacts", headers=headers, json=body) for _ in range(4))
    )
    statuses = sorted(r.status for r in retries)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, statuses
    created = await store.contacts.count_documents({"name": "Sipho"})
    assert created == 2  # the dead first one, and exactly one retry
