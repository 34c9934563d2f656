"""One paging contract for every list endpoint (``hub/api/pages.py``): ``limit``, ``sort`` (``-``
for descending) and an opaque ``cursor`` in, ``{items, next_cursor}`` out. Walking the pages
visits every item once in the requested order; unknown sorts and bad, foreign, tampered or
oversized cursors are refused with a clear 400, like every bad query parameter (docs/api.md)."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from hub.models import Role, new_id

from ...conftest import Api

V1 = "/api/v1"
N = 5

Make = Callable[[Api, dict[str, str], int], Awaitable[None]]


async def _contacts(api: Api, h: dict[str, str], i: int) -> None:
    assert (
        await api.client.post(f"{V1}/contacts", headers=h, json={"name": f"Pager {chr(70 - i)}"})
    ).status == 201


async def _users(api: Api, h: dict[str, str], i: int) -> None:
    resp = await api.client.post(
        f"{V1}/users",
        headers=h,
        json={
            "email": f"pager{i}-{new_id()}@example.com",
            "password": "correct horse",
            "role": "agent",
            "name": f"P{i}",
        },
    )
    assert resp.status == 201


async def _teams(api: Api, h: dict[str, str], i: int) -> None:
    assert (
        await api.client.post(f"{V1}/teams", headers=h, json={"name": f"Team {chr(70 - i)}"})
    ).status == 201


async def _keys(api: Api, h: dict[str, str], i: int) -> None:
    assert (
        await api.client.post(f"{V1}/api-keys", headers=h, json={"name": f"key {chr(70 - i)}"})
    ).status == 201


async def _hooks(api: Api, h: dict[str, str], i: int) -> None:
    resp = await api.client.post(
        f"{V1}/webhooks",
        headers=h,
        json={"url": f"https://hooks{i}.example.com/in", "events": ["message.created"]},
    )
    assert resp.status == 201, await resp.text()


async def _conversations(api: Api, h: dict[str, str], i: int) -> None:
    resp = await api.client.post(
        f"{V1}/inbound",
        headers=h,
        json={
            "channel": "api",
            "external_id": new_id(),
            "text": f"hello {i}",
            "sender": {"kind": "email", "value": f"p{i}-{new_id()}@example.com"},
        },
    )
    assert resp.status == 201


LISTS: list[tuple[str, Make, list[str], str]] = [
    ("/contacts", _contacts, ["id", "-id", "name", "-name", "created_at", "-updated_at"], "name"),
    ("/users", _users, ["email", "-email", "name", "-created_at", "id"], "email"),
    ("/teams", _teams, ["name", "-name", "created_at", "-id"], "name"),
    ("/api-keys", _keys, ["-created_at", "name", "-name", "id"], "name"),
    ("/webhooks", _hooks, ["-id", "url", "-url", "created_at"], "url"),
    (
        "/conversations",
        _conversations,
        ["-last_message_at", "created_at", "number", "-number", "updated_at"],
        "number",
    ),
]


async def _walk(api: Api, h: dict[str, str], path: str, sort: str, limit: int = 2) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        url = f"{V1}{path}?limit={limit}&sort={sort}" + (f"&cursor={cursor}" if cursor else "")
        resp = await api.client.get(url, headers=h)
        assert resp.status == 200, (url, await resp.text())
        page = await resp.json()
        assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


@pytest.mark.parametrize(("path", "make", "sorts", "field"), LISTS, ids=[p for p, *_ in LISTS])
async def test_pages_walk_every_item_once_in_order(
    api: Api, path: str, make: Make, sorts: list[str], field: str
) -> None:
    admin = (await api.user(Role.admin))["headers"]
    for i in range(N):
        await make(api, admin, i)
    everything = (await (await api.client.get(f"{V1}{path}?limit=200", headers=admin)).json())["items"]
    assert len(everything) >= N
    for sort in sorts:
        walked = await _walk(api, admin, path, sort)
        ids = [w["id"] for w in walked]
        assert len(ids) == len(set(ids)) and set(ids) == {e["id"] for e in everything}, sort
    values = [w[field] for w in await _walk(api, admin, path, field)]
    assert values == sorted(values)
    values = [w[field] for w in await _walk(api, admin, path, f"-{field}")]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize("path", [p for p, *_ in LISTS])
async def test_bad_sorts_and_cursors_are_400(api: Api, path: str) -> None:
    admin = (await api.user(Role.admin))["headers"]
    for sort in ("password_hash", "-secret_enc", "$where", "name;drop", "--name"):
        resp = await api.client.get(f"{V1}{path}?sort={sort}", headers=admin)
        assert resp.status == 400 and (await resp.json())["field"] == "sort", (sort, resp.status)
        assert resp.content_type == "application/problem+json"
    assert (await api.client.get(f"{V1}{path}?sort=nope", headers=admin)).status == 400

    def forge(data: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    bad = [
        "%%%",
        "not-a-cursor",
        forge([1, 2]),
        forge({"s": "x"}),
        forge({"s": "id", "k": [{"$ne": None}, "x"]}),
        forge({"s": "-id", "k": [None, {"$gt": ""}]}),
        forge({"s": "-id", "k": [{"$dt": "yesterday"}, "x"]}),
        forge({"s": "-created_at", "k": ["2026-01-01", "x"], "extra": 1}),
        base64.urlsafe_b64encode(b"[" * 300 + b"]" * 300).decode(),
        forge({"s": "zzz", "k": ["a", "b"]}) + "===",
    ]
    for cursor in bad:
        resp = await api.client.get(f"{V1}{path}?cursor={cursor}", headers=admin)
        assert resp.status == 400, (cursor[:40], resp.status, await resp.text())
        assert (await resp.json())["field"] == "cursor"
    resp = await api.client.get(f"{V1}{path}?cursor={'A' * 5000}", headers=admin)
    assert resp.status == 400  # past the declared length: refused before decoding
    assert (await api.client.get(f"{V1}{path}?limit=0", headers=admin)).status == 400
    assert (await api.client.get(f"{V1}{path}?limit=201", headers=admin)).status == 400


async def test_a_forged_cursor_the_store_cannot_take_is_400_not_500(api: Api) -> None:
    """A cursor's values go into the query: a number past 8 bytes, NaN (FerretDB closed the
    connection: 503) or a lone surrogate (not UTF-8) used to fail there; now the cursor is refused.
    The articles list is public: an anonymous caller tried them too."""
    admin = (await api.user(Role.admin))["headers"]

    def forge(raw: str) -> str:
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    cases = [
        ("/conversations?sort=number", admin, '{"s":"number","k":[1000000000000000000000000000000,"x"]}'),
        ("/conversations?sort=-number", admin, '{"s":"-number","k":[-9223372036854775809,"x"]}'),
        ("/conversations?sort=number", admin, '{"s":"number","k":["\\ud800","x"]}'),
        ("/contacts?sort=-id", admin, '{"s":"-id","k":[null,"\\udfff"]}'),
        ("/articles?sort=title", {}, '{"s":"title","k":[NaN,"x"]}'),
        ("/articles?sort=title", {}, '{"s":"title","k":[Infinity,"x"]}'),
    ]
    for path, headers, raw in cases:
        resp = await api.client.get(f"{V1}{path}&cursor={forge(raw)}", headers=headers)
        assert resp.status == 400, (path, raw, resp.status, await resp.text())
        assert (await resp.json())["field"] == "cursor"
    # the largest 8-byte number is a value like any other
    largest = forge('{"s":"number","k":[9223372036854775807,"x"]}')
    resp = await api.client.get(f"{V1}/conversations?sort=number&cursor={largest}", headers=admin)
    assert resp.status == 200, await resp.text()


async def test_a_cursor_belongs_to_its_sort(api: Api) -> None:
    admin = (await api.user(Role.admin))["headers"]
    for i in range(3):
        await _contacts(api, admin, i)
    page = await (await api.client.get(f"{V1}/contacts?limit=1&sort=name", headers=admin)).json()
    resp = await api.client.get(
        f"{V1}/contacts?limit=1&sort=-name&cursor={page['next_cursor']}", headers=admin
    )
    assert resp.status == 400 and "sort=name" in (await resp.json())["detail"]
    # replayed: the same cursor twice answers the same page
    again = [
        await (
            await api.client.get(
                f"{V1}/contacts?limit=1&sort=name&cursor={page['next_cursor']}", headers=admin
            )
        ).json()
        for _ in range(2)
    ]
    assert again[0] == again[1]


async def test_deprecated_aliases_still_page(api: Api) -> None:
    admin = (await api.user(Role.admin))["headers"]
    for i in range(3):
        await _contacts(api, admin, i)
    first = await (await api.client.get(f"{V1}/contacts?limit=1", headers=admin)).json()
    older = await (
        await api.client.get(f"{V1}/contacts?limit=5&after={first['items'][0]['id']}", headers=admin)
    ).json()
    assert len(older["items"]) == 2 and first["items"][0]["id"] not in {c["id"] for c in older["items"]}
    mixed = await api.client.get(f"{V1}/contacts?after=x&sort=name", headers=admin)
    assert mixed.status == 400 and (await mixed.json())["field"] == "after"


@pytest.mark.parametrize(
    ("path", "body", "sort"),
    [
        ("/canned-responses", lambda i: {"shortcut": f"s{i}", "title": f"T{9 - i}", "text": "Hi"}, "title"),
        (
            "/business-hours",
            lambda i: {"name": f"H{9 - i}", "timezone": "UTC", "week": {"mon": ["08:00-17:00"]}},
            "name",
        ),
        (
            "/macros",
            lambda i: {"name": f"M{9 - i}", "actions": [{"type": "add_tag", "params": {"tag": "x"}}]},
            "-name",
        ),
    ],
)
async def test_configuration_collections_page_too(api: Api, path: str, body: Any, sort: str) -> None:
    admin = (await api.user(Role.admin))["headers"]
    for i in range(N):
        resp = await api.client.post(f"{V1}{path}", headers=admin, json=body(i))
        assert resp.status == 201, await resp.text()
    walked = await _walk(api, admin, path, sort)
    key = sort.lstrip("-")
    values = [w[key] for w in walked]
    assert len(values) == N and values == sorted(values, reverse=sort.startswith("-"))
    assert (await api.client.get(f"{V1}{path}?sort=text", headers=admin)).status == 400
    assert (await api.client.get(f"{V1}{path}?cursor=%%%", headers=admin)).status == 400


async def test_messages_page_oldest_first_with_the_old_after_alias(api: Api) -> None:
    admin = (await api.user(Role.admin))["headers"]
    inbound = await api.client.post(
        f"{V1}/inbound",
        headers=admin,
        json={
            "channel": "api",
            "external_id": new_id(),
            "text": "m0",
            "sender": {"kind": "email", "value": "m@example.com"},
        },
    )
    cid = (await inbound.json())["conversation"]["id"]
    for i in range(1, N):
        resp = await api.client.post(
            f"{V1}/conversations/{cid}/messages", headers=admin, json={"text": f"m{i}", "private": i == 2}
        )
        assert resp.status == 201
    walked = await _walk(api, admin, f"/conversations/{cid}/messages", "created_at")
    assert [m["text"] for m in walked] == [f"m{i}" for i in range(N)]
    newest = await _walk(api, admin, f"/conversations/{cid}/messages", "-created_at")
    assert [m["text"] for m in newest] == [f"m{i}" for i in reversed(range(N))]
    legacy = await (
        await api.client.get(f"{V1}/conversations/{cid}/messages?after={walked[1]['id']}", headers=admin)
    ).json()
    assert [m["text"] for m in legacy["items"]] == [f"m{i}" for i in range(2, N)]
    assert (await api.client.get(f"{V1}/conversations/{cid}/messages?sort=text", headers=admin)).status == 400
    assert (await api.client.get(f"{V1}/conversations/{cid}/messages?cursor=x", headers=admin)).status == 400
