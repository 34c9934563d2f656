"""The HTTP semantics every resource shares (hub/api/routing.py): ETag on reads, If-Match on
updates and deletes (412 / 428), Idempotency-Key on creates (replay, 422 on a different body)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub import keys
from hub.models import Role, new_id

from ...conftest import Api

V1 = "/api/v1"


async def _contact(api: Api, headers: dict[str, str], name: str = "Thandi") -> dict[str, Any]:
    resp = await api.client.post(f"{V1}/contacts", json={"name": name}, headers=headers)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_etag_on_reads_and_304(api: Api) -> None:
    admin = (await api.user(Role.admin))["headers"]
    contact = await _contact(api, admin)
    url = f"{V1}/contacts/{contact['id']}"
    first = await api.client.get(url, headers=admin)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = await api.client.get(url, headers=admin)
    assert again.headers["ETag"] == etag  # same representation, same tag
    cached = await api.client.get(url, headers={**admin, "If-None-Match": etag})
    assert cached.status == 304 and cached.headers["ETag"] == etag and await cached.read() == b""
    assert (await api.client.get(url, headers={**admin, "If-None-Match": '"other"'})).status == 200
    listing = await api.client.get(f"{V1}/contacts", headers=admin)
    assert listing.headers.get("ETag")  # lists are tagged too


async def test_if_match_update_and_delete(api: Api) -> None:
    admin = (await api.user(Role.admin))["headers"]
    contact = await _contact(api, admin)
    url = f"{V1}/contacts/{contact['id']}"
    etag = (await api.client.get(url, headers=admin)).headers["ETag"]

    stale = await api.client.patch(url, json={"name": "Lost"}, headers={**admin, "If-Match": '"stale"'})
    assert stale.status == 412
    assert (await stale.json())["status"] == 412
    assert (await (await api.client.get(url, headers=admin)).json())["contact"]["name"] == "Thandi"

    ok = await api.client.patch(url, json={"name": "Thandi M"}, headers={**admin, "If-Match": etag})
    assert ok.status == 200, await ok.text()
    new_etag = ok.headers["ETag"]
    assert new_etag != etag
    assert (await api.client.get(url, headers=admin)).headers["ETag"] == new_etag  # chainable

    replayed = await api.client.patch(url, json={"name": "Again"}, headers={**admin, "If-Match": etag})
    assert replayed.status == 412  # the version it read is gone
    assert (await api.client.delete(url, headers={**admin, "If-Match": etag})).status == 412
    assert (await api.client.delete(url, headers={**admin, "If-Match": new_etag})).status == 204
    assert (await api.client.get(url, headers=admin)).status == 404


async def test_no_op_update_keeps_the_version_usable(api: Api) -> None:
    admin = (await api.user(Role.admin))["headers"]
    contact = await _contact(api, admin)
    url = f"{V1}/contacts/{contact['id']}"
    etag = (await api.client.get(url, headers=admin)).headers["ETag"]
    same = await api.client.patch(url, json={"vip": False}, headers={**admin, "If-Match": etag})
    assert same.status == 200
    if same.headers["ETag"] == etag:  # nothing changed: the same version may be used again
        again = await api.client.patch(url, json={"name": "Z"}, headers={**admin, "If-Match": etag})
        assert again.status == 200


async def test_concurrent_updates_of_one_version_have_one_winner(api: Api) -> None:
    """Another package's resource (ticketing teams): the mechanism is declared, not per handler."""
    admin = (await api.user(Role.admin))["headers"]
    team = await (await api.client.post(f"{V1}/teams", json={"name": "Venues"}, headers=admin)).json()
    url = f"{V1}/teams/{team['id']}"
    etag = (await api.client.get(url, headers=admin)).headers["ETag"]
    results = await asyncio.gather(
        *(
            api.client.patch(url, json={"name": f"Venues {i}"}, headers={**admin, "If-Match": etag})
            for i in range(8)
        )
    )
    statuses = sorted(r.status for r in results)
    assert statuses.count(200) == 1 and statuses.count(412) == 7, statuses
    winner = next(r for r in results if r.status == 200)
    assert (await (await api.client.get(url, headers=admin)).json())["name"] == (await winner.json())["name"]


async def test_if_match_required_by_setting(api: Api) -> None:
    admin = (await api.user(Role.admin))["headers"]
    contact = await _contact(api, admin)
    url = f"{V1}/contacts/{contact['id']}"
    api.app[keys.SETTINGS].api_require_if_match = True
    try:
        missing = await api.client.patch(url, json={"name": "X"}, headers=admin)
        assert missing.status == 428 and "If-Match" in (await missing.json())["detail"]
        assert (await api.client.delete(url, headers=admin)).status == 428
        etag = (await api.client.get(url, headers=admin)).headers["ETag"]
        assert (
            await api.client.patch(url, json={"name": "X"}, headers={**admin, "If-Match": etag})
        ).status == 200
        creates = await api.client.post(f"{V1}/contacts", json={"name": "New"}, headers=admin)
        assert creates.status == 201  # creates are not conditional
    finally:
        api.app[keys.SETTINGS].api_require_if_match = False


def _creates() -> list[tuple[str, dict[str, Any], dict[str, Any], str]]:
    """(path, body, other body, list path) of creates across the packages."""
    return [
        ("/contacts", {"name": "Sipho", "tags": ["a"]}, {"name": "Other"}, "/contacts?q=Sipho"),
        ("/teams", {"name": "Catering"}, {"name": "Other"}, "/teams"),
        (
            "/canned-responses",
            {"shortcut": "hi", "title": "Hi", "text": "Hello"},
            {"shortcut": "bye", "title": "Bye", "text": "Bye"},
            "/canned-responses",
        ),
        ("/api-keys", {"name": "crm"}, {"name": "other"}, "/api-keys"),
        (
            "/users",
            {"email": "idem@example.com", "password": "long enough", "role": "agent"},
            {"email": "idem2@example.com", "password": "long enough", "role": "agent"},
            "/users",
        ),
    ]


def _count(listing: Any) -> int:
    """Items on a page ({items, next_cursor}; configuration collections still answer a bare list)."""
    return len(listing["items"] if isinstance(listing, dict) else listing)


@pytest.mark.parametrize(("path", "body", "other", "listing"), _creates())
async def test_idempotency_key_replays_a_create(
    api: Api, path: str, body: dict[str, Any], other: dict[str, Any], listing: str
) -> None:
    admin = (await api.user(Role.admin))["headers"]
    before = _count(await (await api.client.get(V1 + listing, headers=admin)).json())
    key = {**admin, "Idempotency-Key": f"create-{new_id()}"}
    first = await api.client.post(V1 + path, json=body, headers=key)
    assert first.status == 201, await first.text()
    assert "Idempotent-Replayed" not in first.headers
    # the same request again, keys in another order: the first answer, nothing created
    second = await api.client.post(V1 + path, json=dict(reversed(list(body.items()))), headers=key)
    assert second.status == 201 and second.headers["Idempotent-Replayed"] == "true"
    assert await second.json() == await first.json()
    assert _count(await (await api.client.get(V1 + listing, headers=admin)).json()) == before + 1
    # the same key for another body: refused, nothing created
    reused = await api.client.post(V1 + path, json=other, headers=key)
    assert reused.status == 422 and (await reused.json())["field"] == "Idempotency-Key"
    assert _count(await (await api.client.get(V1 + listing, headers=admin)).json()) == before + 1


async def test_idempotency_key_is_per_caller_and_failures_are_not_stored(api: Api) -> None:
    one = (await api.user(Role.admin))["headers"]
    two = (await api.user(Role.admin))["headers"]
    key = f"k-{new_id()}"
    bad = await api.client.post(f"{V1}/contacts", json={"name": 5}, headers={**one, "Idempotency-Key": key})
    assert bad.status == 422
    good = await api.client.post(
        f"{V1}/contacts", json={"name": "A"}, headers={**one, "Idempotency-Key": key}
    )
    assert good.status == 201  # the failed attempt left the key free
    theirs = await api.client.post(
        f"{V1}/contacts", json={"name": "A"}, headers={**two, "Idempotency-Key": key}
    )
    assert theirs.status == 201 and "Idempotent-Replayed" not in theirs.headers
    assert (await theirs.json())["id"] != (await good.json())["id"]


@pytest.mark.parametrize("key", ["", "x" * 256, "bad key", "caf\u00e9"])
async def test_malformed_idempotency_keys_are_refused(api: Api, key: str) -> None:
    admin = (await api.user(Role.admin))["headers"]
    resp = await api.client.post(
        f"{V1}/contacts",
        json={"name": "A"},
        headers={**admin, "Idempotency-Key": key.encode().decode("latin-1")},
    )
    assert resp.status == 422
    assert await api.app[keys.STORE].contacts.count_documents({"name": "A"}) == 0


async def test_concurrent_retries_with_one_key_create_once(api: Api) -> None:
    admin = (await api.user(Role.admin))["headers"]
    key = {**admin, "Idempotency-Key": f"race-{new_id()}"}
    results = await asyncio.gather(
        *(api.client.post(f"{V1}/contacts", json={"name": "Race"}, headers=key) for _ in range(6))
    )
    statuses = sorted(r.status for r in results)
    assert set(statuses) <= {201, 409}, statuses
    assert all(r.headers.get("Retry-After") == "1" for r in results if r.status == 409)
    assert await api.app[keys.STORE].contacts.count_documents({"name": "Race"}) == 1
    ids = {(await r.json())["id"] for r in results if r.status == 201}
    assert len(ids) == 1


async def test_openapi_declares_the_headers(api: Api) -> None:
    spec = await (await api.client.get(f"{V1}/openapi.json")).json()
    create = spec["paths"]["/api/v1/teams"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    update = spec["paths"]["/api/v1/canned-responses/{item_id}"]["patch"]
    assert any(p["name"] == "If-Match" for p in update["parameters"]) and "412" in update["responses"]
    assert "304" in spec["paths"]["/api/v1/contacts/{contact_id}"]["get"]["responses"]


@pytest.mark.parametrize("if_match", ["W/{etag}", "x" * 2000, '"", ""', "{etag}x", "*, {etag}x"])
async def test_hostile_or_weak_if_match_is_refused(api: Api, if_match: str) -> None:
    """Strong comparison only (a weak tag never matches for a write); oversized headers and
    near-misses are 412; nothing changes."""
    admin = (await api.user(Role.admin))["headers"]
    contact = await _contact(api, admin)
    url = f"{V1}/contacts/{contact['id']}"
    etag = (await api.client.get(url, headers=admin)).headers["ETag"]
    value = if_match.replace("{etag}", etag)
    if value.startswith("*"):  # "*" matches any current version: the list is allowed through
        assert (
            await api.client.patch(url, json={"name": "Y"}, headers={**admin, "If-Match": value})
        ).status == 200
        return
    resp = await api.client.patch(url, json={"name": "Y"}, headers={**admin, "If-Match": value})
    assert resp.status == 412
    assert (await api.client.get(url, headers=admin)).headers["ETag"] == etag
