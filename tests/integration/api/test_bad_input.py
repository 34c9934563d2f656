"""Bad input gets a clear 4xx problem+json naming the problem, and nothing is half-written."""

from __future__ import annotations

import pytest

from hub import keys
from hub.models import Role

from ...conftest import Api


@pytest.fixture
async def admin(api: Api) -> dict:
    return await api.user(Role.admin)


async def _problem(resp, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["status"] == status
    return body


async def test_malformed_json(api: Api, admin: dict) -> None:
    resp = await api.client.post(
        "/api/v1/contacts",
        headers={**admin["headers"], "Content-Type": "application/json"},
        data=b'{"name": "Thandi",',
    )
    body = await _problem(resp, 422)
    assert body["field"] == "body" and "malformed JSON" in body["detail"]


async def test_wrong_type_names_the_field(api: Api, admin: dict) -> None:
    resp = await api.client.post(
        "/api/v1/contacts", headers=admin["headers"], json={"name": "T", "tags": "vip"}
    )
    body = await _problem(resp, 422)
    assert body["field"] == "tags"


async def test_unknown_field_is_refused(api: Api, admin: dict) -> None:
    resp = await api.client.post(
        "/api/v1/contacts", headers=admin["headers"], json={"name": "T", "is_admin": True}
    )
    body = await _problem(resp, 422)
    assert body["field"] == "is_admin"


async def test_body_must_be_an_object(api: Api, admin: dict) -> None:
    resp = await api.client.post("/api/v1/contacts", headers=admin["headers"], json=["a"])
    assert (await _problem(resp, 422))["detail"] == "the body must be a JSON object"


async def test_oversized_body(api: Api, admin: dict) -> None:
    limit = api.app[keys.SETTINGS].max_body_bytes
    resp = await api.client.post(
        "/api/v1/contacts",
        headers={**admin["headers"], "Content-Type": "application/json"},
        data=b'{"name": "' + b"x" * (limit + 10) + b'"}',
    )
    assert resp.status == 413
    assert await api.app[keys.STORE].contacts.count_documents({}) == 0


async def test_bad_query_parameter_and_cursor(api: Api, admin: dict) -> None:
    body = await _problem(
        await api.client.get("/api/v1/conversations?status=lost", headers=admin["headers"]), 400
    )
    assert body["field"].startswith("status")
    body = await _problem(
        await api.client.get("/api/v1/conversations?limit=100000", headers=admin["headers"]), 400
    )
    assert body["field"] == "limit"
    body = await _problem(
        await api.client.get("/api/v1/conversations?cursor=%%%", headers=admin["headers"]), 400
    )
    assert body["field"] == "cursor"


async def test_contact_with_taken_identity_is_refused_whole(api: Api, admin: dict) -> None:
    ok = await api.client.post("/api/v1/contacts", headers=admin["headers"], json={
        "name": "A", "identities": [{"kind": "phone", "value": "+27821234567"}]})
    assert ok.status == 201
    resp = await api.client.post(
        "/api/v1/contacts",
        headers=admin["headers"],
        json={
            "name": "B",
            "identities": [
                {"kind": "email", "value": "b@example.com"},
                {"kind": "phone", "value": "0821234567"},
            ],
        },
    )
    body = await _problem(resp, 409)
    assert "phone:+27821234567" in body["detail"]
    store = api.app[keys.STORE]
    assert await store.contacts.count_documents({}) == 1
    assert await store.identities.find_one({"_id": "email:b@example.com"}) is None  # rolled back


async def test_invalid_status_transition(api: Api, admin: dict) -> None:
    created = await (
        await api.client.post(
            "/api/v1/inbound",
            headers=admin["headers"],
            json={
                "channel": "sms",
                "external_id": "x1",
                "sender": {"kind": "phone", "value": "+27821234567"},
                "text": "hi",
            },
        )
    ).json()
    cid = created["conversation"]["id"]
    assert (await api.client.patch(f"/api/v1/conversations/{cid}", headers=admin["headers"],
                                   json={"status": "closed"})).status == 200
    body = await _problem(await api.client.patch(f"/api/v1/conversations/{cid}", headers=admin["headers"],
                                                 json={"status": "pending"}), 422)
    assert body["field"] == "status" and "closed conversation cannot become pending" in body["detail"]
    body = await _problem(await api.client.patch(f"/api/v1/conversations/{cid}", headers=admin["headers"],
                                                 json={"assignee_id": "nobody"}), 422)
    assert body["field"] == "assignee_id"


async def test_blank_reply_and_unbounded_tags_are_refused(api: Api, admin: dict) -> None:
    """A reply of spaces reached the customer as an empty message; a 5,000-character contact tag was
    stored and overflowed the console's contact panel."""
    created = await (
        await api.client.post(
            "/api/v1/inbound",
            headers=admin["headers"],
            json={
                "channel": "sms",
                "external_id": "b1",
                "sender": {"kind": "phone", "value": "+27821234500"},
                "text": "hi",
            },
        )
    ).json()
    cid, contact_id = created["conversation"]["id"], created["conversation"]["contact_id"]
    for text in ("   ", "\n\t \u3000"):
        body = await _problem(
            await api.client.post(
                f"/api/v1/conversations/{cid}/messages", headers=admin["headers"], json={"text": text}
            ),
            422,
        )
        assert body["field"] == "text" and "only spaces" in body["detail"]
    store = api.app[keys.STORE]
    assert await store.messages.count_documents({"conversation_id": cid, "direction": "out"}) == 0
    for tags in (["x" * 51], ["   "], ["ok"] * 51):
        body = await _problem(
            await api.client.patch(
                f"/api/v1/contacts/{contact_id}", headers=admin["headers"], json={"tags": tags}
            ),
            422,
        )
        assert body["field"].partition(".")[0] == "tags"
        body = await _problem(await api.client.patch(f"/api/v1/conversations/{cid}", headers=admin["headers"],
                                                     json={"tags": tags}), 422)
        assert body["field"].partition(".")[0] == "tags"
    resp = await api.client.patch(f"/api/v1/contacts/{contact_id}", headers=admin["headers"],
                                  json={"tags": [" vip ", "x" * 50]})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["tags"] == ["vip", "x" * 50]


async def test_hostile_inbound_payloads(api: Api, admin: dict) -> None:
    base = {"channel": "sms", "external_id": "h1", "text": "hi"}
    cases = [
        {**base, "sender": {"kind": "phone", "value": "'; DROP TABLE contacts; --"}},
        {**base, "sender": {"kind": "phone", "value": {"$gt": ""}}},
        {**base, "sender": {"kind": "chat", "value": "../../etc/passwd"}},
        {**base, "sender": {"kind": "email", "value": "not-an-address"}},
        {**base, "sender": {"kind": "phone", "value": "+27821234567"}, "text": "x" * 200_001},
        {**base, "channel": "pigeon", "sender": {"kind": "phone", "value": "+27821234567"}},
    ]
    for payload in cases:
        resp = await api.client.post("/api/v1/inbound", headers=admin["headers"], json=payload)
        assert resp.status in (413, 422), payload
    store = api.app[keys.STORE]
    assert await store.messages.count_documents({}) == 0
    assert await store.inbound_keys.count_documents({}) == 0


async def test_replayed_inbound_is_stored_once(api: Api, admin: dict) -> None:
    payload = {
        "channel": "whatsapp",
        "external_id": "SMabc",
        "sender": {"kind": "whatsapp", "value": "+27821234567"},
        "text": "hello",
    }
    first = await api.client.post("/api/v1/inbound", headers=admin["headers"], json=payload)
    again = await api.client.post("/api/v1/inbound", headers=admin["headers"], json=payload)
    assert (first.status, again.status) == (201, 200)
    assert (await again.json())["duplicate"] is True
    assert await api.app[keys.STORE].messages.count_documents({}) == 1


async def test_unknown_route_and_method_are_problems(api: Api, admin: dict) -> None:
    await _problem(await api.client.get("/api/v1/nothing-here", headers=admin["headers"]), 404)
    resp = await api.client.put("/api/v1/conversations", headers=admin["headers"], json={})
    await _problem(resp, 405)
