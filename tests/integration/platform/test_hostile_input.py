"""Hostile bodies refused before anything is stored: deep nesting, lone surrogates, operator and
dotted keys in free-form fields, raw header injection, traversal in attachment names."""

from __future__ import annotations

import asyncio
import json

import pytest

from hub import keys
from hub.models import Role
from hub.platform.privacy.export import safe_name

from ...conftest import Api


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("raw", [
    '{"name": "x", "custom_fields": {"a": ' + '{"b":' * 40 + "1" + "}" * 40 + "}}",
    '{"name": "x", "custom_fields": {"a": ' + _nested(100_000) + "}}",
    '{"name": "\\ud9fb x"}',
    '{"name": "x", "custom_fields": {"\\udafc": 1}}',
    '{"name": "x", "custom_fields": {"$where": "sleep(1000)"}}',
    '{"name": "x", "custom_fields": {"a.b": 1}}',
    '{"name": "x", "custom_fields": {"": 1}}',
    '{"name": "x", "custom_fields": {"a\\u0000b": 1}}',
    '{"name": {"$ne": null}}',
    '{"name": "x", "custom_fields": {"a": [[1, 2]]}}',
])
async def test_hostile_contact_bodies_are_refused(api: Api, raw: str) -> None:
    admin = await api.user(Role.admin)
    resp = await api.client.post("/api/v1/contacts", data=raw.encode(),
                                 headers={**admin["headers"], "Content-Type": "application/json"})
    assert resp.status == 422, (raw[:80], await resp.text())
    assert resp.content_type == "application/problem+json"
    assert await api.app[keys.STORE].contacts.count_documents({}) == 0


async def test_valid_unicode_and_nesting_still_pass(api: Api) -> None:
    admin = await api.user(Role.admin)
    body = {"name": "Zoë 🎉 Ndlovu", "custom_fields": {"prefs": {"a": [{"x": [1, 2]}, {"b": "ç"}]}}}
    resp = await api.client.post("/api/v1/contacts", headers=admin["headers"], json=body)
    assert resp.status == 201, await resp.text()


async def test_header_injection_over_a_raw_socket(api: Api) -> None:
    """A CR/LF smuggled into a header value never reaches a handler as a second header."""
    host, port = api.client.server.host, api.client.server.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /api/v1/conversations HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\rX-Api-Key: bk_x_y\r\n"
                 b"Connection: close\r\n\r\n")
    await writer.drain()
    status_line = (await reader.readline()).decode()
    writer.close()
    assert status_line.split()[1] in ("400", "401")


@pytest.mark.parametrize("name,expected", [
    ("../../etc/passwd", "passwd"), ("..\\..\\boot.ini", "boot.ini"), ("/abs/path.pdf", "path.pdf"),
    ("..", "file"), ("", "file"), (".hidden", "hidden"), ("a b\x00c.pdf", "a_b_c.pdf"),
])
def test_attachment_names_cannot_escape_the_archive(name: str, expected: str) -> None:
    assert safe_name(name) == expected


async def test_oversized_json_is_413_and_nothing_stored(api: Api) -> None:
    admin = await api.user(Role.admin)
    big = json.dumps({"name": "x", "custom_fields": {"blob": "x" * 2_000_000}})
    resp = await api.client.post("/api/v1/contacts", data=big,
                                 headers={**admin["headers"], "Content-Type": "application/json"})
    assert resp.status == 413
    assert await api.app[keys.STORE].contacts.count_documents({}) == 0
