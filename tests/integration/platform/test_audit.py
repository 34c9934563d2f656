"""The audit log: every change path records who/what/when, search with filters and cursors,
CSV/JSON export by admins only, no way to change an entry, hostile filters refused."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import pytest

from hub import keys
from hub.audit import actor_type
from hub.models import Channel, InboundMessage, Role, SenderIdentity

from ...conftest import Api


def test_actor_kinds() -> None:
    kinds = ("6b07", "api_key:1", "rule:9", "bot", "bot:rasa", "system:webhooks", "x:y", "contact:c1")
    assert [actor_type(a) for a in kinds] == [
        "user", "api_key", "rule", "bot", "bot", "system", "user", "contact"]


async def _actions(api: Api, **flt: Any) -> list[str]:
    return [d["action"] for d in await api.app[keys.AUDIT].list(**flt, limit=500)]


async def test_foundation_change_paths_record(api: Api) -> None:
    admin = await api.user(Role.admin)
    h = admin["headers"]
    resp = await api.client.post("/api/v1/contacts", headers=h, json={"name": "Lindiwe"})
    contact = await resp.json()
    await api.client.patch(f"/api/v1/contacts/{contact['id']}", headers=h, json={"vip": True})
    await api.client.post(f"/api/v1/contacts/{contact['id']}/identities", headers=h,
                          json={"kind": "email", "value": "lindiwe@example.com"})
    resp = await api.client.post("/api/v1/api-keys", headers=h, json={"name": "crm", "role": "admin"})
    key = await resp.json()
    inbound = InboundMessage(channel=Channel.api, external_id="m1", text="hello",
                             sender=SenderIdentity(kind="email", value="lindiwe@example.com"))
    resp = await api.client.post("/api/v1/inbound", headers={"X-Api-Key": key["key"]},
                                 json=inbound.model_dump(mode="json"))
    assert resp.status == 201, await resp.text()
    conversation_id = (await resp.json())["conversation"]["id"]
    await api.client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=h, json={"text": "hi"})
    await api.client.patch(f"/api/v1/conversations/{conversation_id}", headers=h, json={"priority": "high"})
    await api.client.delete(f"/api/v1/api-keys/{key['id']}", headers=h)

    actions = await _actions(api)
    for action in (
        "contact.create",
        "contact.update",
        "contact.identity.add",
        "api_key.create",
        "message.ingest",
        "message.create",
        "conversation.update",
        "api_key.revoke",
    ):
        assert action in actions, action
    entries = await api.app[keys.AUDIT].list("conversation", conversation_id, limit=50)
    [ingest] = [e for e in entries if e["action"] == "message.ingest"]
    assert ingest["actor_type"] == "api_key" and ingest["actor_id"] == f"api_key:{key['id']}"


async def test_a_customer_reopening_a_ticket_is_audited_with_the_contact_as_actor(api: Api) -> None:
    """A pending or resolved ticket the customer's message reopens: one ``conversation.reopened`` entry
    (the contact, the status before, the message), found by the API's actor_type filter; a message on
    an open ticket adds none."""
    admin = await api.user(Role.admin)
    h = admin["headers"]

    async def write(external_id: str, text: str) -> dict[str, Any]:
        inbound = InboundMessage(channel=Channel.sms, external_id=external_id, text=text,
                                 sender=SenderIdentity(kind="phone", value="+27 82 555 0199"))
        resp = await api.client.post("/api/v1/inbound", headers=h, json=inbound.model_dump(mode="json"))
        assert resp.status in (200, 201), await resp.text()
        return dict(await resp.json())

    first = await write("r1", "Is my marquee booked?")
    cid, contact_id = first["conversation"]["id"], first["conversation"]["contact_id"]
    resp = await api.client.patch(f"/api/v1/conversations/{cid}", headers=h, json={"status": "pending"})
    assert resp.status == 200, await resp.text()
    second = await write("r2", "Any news on the marquee?")
    await write("r3", "Hello?")  # already open: nothing to audit
    resp = await api.client.patch(f"/api/v1/conversations/{cid}", headers=h, json={"status": "resolved"})
    assert resp.status == 200, await resp.text()
    third = await write("r4", "Sorry, can you also add chairs?")
    assert second["conversation"]["id"] == third["conversation"]["id"] == cid
    resp = await api.client.get(f"/api/v1/audit?target_id={cid}&action=conversation.reopened&sort=id",
                                headers=h)
    assert resp.status == 200, await resp.text()
    entries = (await resp.json())["items"]
    assert [(e["action"], e["actor_id"], e["actor_type"], e["target_type"], e["before"], e["after"])
            for e in entries] == [
        ("conversation.reopened", f"contact:{contact_id}", "contact", "conversation", {"status": "pending"},
         {"status": "open", "message_id": second["message"]["id"]}),
        ("conversation.reopened", f"contact:{contact_id}", "contact", "conversation", {"status": "resolved"},
         {"status": "open", "message_id": third["message"]["id"]}),
    ]
    resp = await api.client.get(f"/api/v1/audit?actor_type=contact&target_id={cid}&sort=id", headers=h)
    assert resp.status == 200, await resp.text()
    assert [e["id"] for e in (await resp.json())["items"]] == [e["id"] for e in entries]


async def test_quick_messages_on_a_resolved_ticket_reopen_it_once(api: Api) -> None:
    """Three messages sent together right after the ticket was resolved: one reopen, one entry."""
    admin = await api.user(Role.admin)
    h = admin["headers"]

    async def write(external_id: str) -> dict[str, Any]:
        inbound = InboundMessage(channel=Channel.sms, external_id=external_id, text="one more thing",
                                 sender=SenderIdentity(kind="phone", value="+27 82 555 0198"))
        resp = await api.client.post("/api/v1/inbound", headers=h, json=inbound.model_dump(mode="json"))
        assert resp.status in (200, 201), await resp.text()
        return dict(await resp.json())

    cid = (await write("q0"))["conversation"]["id"]
    resp = await api.client.patch(f"/api/v1/conversations/{cid}", headers=h, json={"status": "resolved"})
    assert resp.status == 200, await resp.text()
    results = await asyncio.gather(*(write(f"q{i}") for i in range(1, 4)))
    assert {r["conversation"]["id"] for r in results} == {cid}
    resp = await api.client.get(f"/api/v1/audit?target_id={cid}&action=conversation.reopened", headers=h)
    assert [e["before"] for e in (await resp.json())["items"]] == [{"status": "resolved"}]
    resp = await api.client.get(f"/api/v1/conversations/{cid}", headers=h)
    assert (await resp.json())["status"] == "open"


async def test_search_filters_and_cursor(api: Api) -> None:
    audit = api.app[keys.AUDIT]
    for i in range(5):
        await audit.record("rule:r1", "conversation.update", "conversation", f"c{i}", {"priority": "normal"},
                           {"priority": "high"})
    await audit.record("bot", "conversation.update", "conversation", "c9")
    await audit.record("system:webhooks", "webhook.disable", "webhook", "w1")
    sup = await api.user(Role.supervisor)
    h = sup["headers"]
    resp = await api.client.get("/api/v1/audit?actor_type=rule&limit=2", headers=h)
    page = await resp.json()
    assert resp.status == 200 and [e["target_id"] for e in page["items"]] == ["c4", "c3"]
    resp = await api.client.get(
        f"/api/v1/audit?actor_type=rule&limit=2&cursor={page['next_cursor']}", headers=h
    )
    assert [e["target_id"] for e in (await resp.json())["items"]] == ["c2", "c1"]
    resp = await api.client.get("/api/v1/audit?action=webhook.&limit=50", headers=h)
    assert [e["action"] for e in (await resp.json())["items"]] == ["webhook.disable"]
    resp = await api.client.get("/api/v1/audit?q=C9", headers=h)
    items = (await resp.json())["items"]
    assert [e["actor_type"] for e in items] == ["bot"]
    resp = await api.client.get(
        "/api/v1/audit?since=2000-01-01T00:00:00Z&until=2001-01-01T00:00:00Z", headers=h
    )
    assert (await resp.json())["items"] == []
    # sorted the other way, the cursor continues that order; it is refused for another sort
    resp = await api.client.get("/api/v1/audit?actor_type=rule&sort=id&limit=3", headers=h)
    first = await resp.json()
    assert [e["target_id"] for e in first["items"]] == ["c0", "c1", "c2"]
    resp = await api.client.get(
        f"/api/v1/audit?actor_type=rule&sort=id&cursor={first['next_cursor']}", headers=h
    )
    assert [e["target_id"] for e in (await resp.json())["items"]] == ["c3", "c4"]
    resp = await api.client.get(
        f"/api/v1/audit?actor_type=rule&sort=-at&cursor={first['next_cursor']}", headers=h
    )
    assert resp.status == 400 and (await resp.json())["field"] == "cursor"
    # a raw id: no more
    resp = await api.client.get(f"/api/v1/audit?cursor={first['items'][0]['id']}", headers=h)
    assert resp.status == 400


@pytest.mark.parametrize("query", [
    "actor_id[$ne]=x", "actor_id=%7B%22%24ne%22%3A1%7D", "action=$where", "target_id=a%00b", "limit=100000",
    "since=yesterday", "actor_type=god", "q=" + "x" * 500, "cursor=../../etc", "sort=before", "sort=-$where",
    "cursor=" + "A" * 2000,
    "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",  # a reversed range was an empty 200
    "since=2026-01-01T00:00:00&until=2026-01-01T00:00:00Z",
])
async def test_hostile_filters_are_refused(api: Api, query: str) -> None:
    admin = await api.user(Role.admin)
    resp = await api.client.get(f"/api/v1/audit?{query}", headers=admin["headers"])
    assert resp.status == 400, (query, await resp.text())  # a query parameter: always 400 (docs/api.md)


async def test_regex_metacharacters_are_literal(api: Api) -> None:
    await api.app[keys.AUDIT].record("u1", "contact.update", "contact", "abc")
    admin = await api.user(Role.admin)
    resp = await api.client.get("/api/v1/audit?q=.*", headers=admin["headers"])
    assert resp.status == 200 and (await resp.json())["items"] == []


async def test_export_csv_and_json_admin_only_and_formula_safe(api: Api) -> None:
    audit = api.app[keys.AUDIT]
    await audit.record("u1", "contact.update", "contact", "c1", None, {"name": "=HYPERLINK(\"http://evil\")"})
    await audit.record("u1", "contact.update", "contact", "=cmd|' /C calc'!A0")
    admin = await api.user(Role.admin)
    resp = await api.client.get("/api/v1/audit/export.csv?target_type=contact", headers=admin["headers"])
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(await resp.text())))
    assert rows[0][:3] == ["id", "at", "actor_type"] and len(rows) == 3
    assert rows[1][6].startswith("'=")  # target_id neutralised
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    resp = await api.client.get("/api/v1/audit/export.json?target_type=contact", headers=admin["headers"])
    entries = await resp.json()
    assert [e["target_id"] for e in entries] == ["=cmd|' /C calc'!A0", "c1"]
    assert "audit.export" in await _actions(api)
    sup = await api.user(Role.supervisor)
    assert (await api.client.get("/api/v1/audit/export.csv", headers=sup["headers"])).status == 403
    agent = await api.user(Role.agent)
    assert (await api.client.get("/api/v1/audit", headers=agent["headers"])).status == 403


async def test_an_export_with_a_bad_sort_or_cursor_is_refused_before_it_starts(api: Api) -> None:
    admin = await api.user(Role.admin)
    for fmt in ("json", "csv"):
        for bad in ("sort=-nonsense", "cursor=not-a-cursor"):
            resp = await api.client.get(f"/api/v1/audit/export.{fmt}?{bad}", headers=admin["headers"])
            assert resp.status == 400 and resp.content_type == "application/problem+json", bad
            assert (await resp.json())["status"] == 400  # a whole error, not a stream broken halfway
    assert "audit.export" not in await _actions(api)  # nothing was exported


async def test_log_is_append_only_over_http(api: Api) -> None:
    admin = await api.user(Role.admin)
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        resp = await api.client.request(method, "/api/v1/audit", headers=admin["headers"], json={})
        assert resp.status == 405, method
