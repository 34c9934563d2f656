"""``/api/v1/reports/...`` through the whole app: roles, the agent's own scope, bad input as
problem+json, and every table exported as CSV and XLSX and parsed back."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from hub import keys
from hub.models import Role
from hub.reports.cli import rebuild
from hub.reports.tables import TABLES

from .fixture import EXPECTED, WEEK, seed

Q = {**WEEK}


@pytest.fixture
async def world(client: Any, api: Any) -> dict[str, Any]:
    sup = await api.user(Role.supervisor)
    a1 = await api.user(Role.agent)
    a2 = await api.user(Role.agent)
    store = client.server.app[keys.STORE]
    ids = await seed(store, a1["user"]["id"], a2["user"]["id"])
    await rebuild(store, None, None, progress=False)
    return {"sup": sup, "a1": a1, "a2": a2, "ids": ids}


def _cell(value: Any) -> Any:
    """A cell as a comparable value: numbers as floats (XLSX keeps 5.0 as 5), blanks as ""."""
    if value is None:
        return ""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


async def get(client: Any, who: dict[str, Any], path: str, **params: Any) -> Any:
    resp = await client.get(f"/api/v1/reports/{path}", params=params, headers=who["headers"])
    return resp


async def test_dashboard_for_a_supervisor_matches_the_hand_worked_figures(
    client: Any, world: dict[str, Any]
) -> None:
    resp = await get(client, world["sup"], "dashboard", **Q)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["overview"]["kpis"]["conversations"] == {"value": 6, "previous": 1, "change": 5.0}
    assert body["response_times"]["first_response"]["business"] == EXPECTED["frt_bh"]
    assert body["csat"] == EXPECTED["csat"]
    assert body["bot"] == EXPECTED["bot"]
    assert body["contacts"] == EXPECTED["contacts"]
    agents = {a["agent_id"]: a for a in body["agents"]}
    assert (
        agents[world["a1"]["user"]["id"]]["handled"] == 3
        and agents[world["a1"]["user"]["id"]]["name"] == "Agent"
    )
    live = await (await get(client, world["sup"], "dashboard", **Q, source="live")).json()
    for section in ("overview", "volume", "response_times", "sla", "csat", "bot", "agents", "contacts"):
        assert live[section] == body[section], section


async def test_each_section_has_its_own_endpoint(client: Any, world: dict[str, Any]) -> None:
    for path, key in (("overview", "overview"), ("volume", "volume"), ("response-times", "response_times"),
                      ("sla", "sla"), ("csat", "csat"), ("bot", "bot"), ("kb", "kb"), ("agents", "agents"),
                      ("backlog", "backlog"), ("contacts", "contacts")):
        resp = await get(client, world["sup"], path, **Q)
        assert resp.status == 200, path
        body = await resp.json()
        assert set(body) == {"range", "filters", "source", key}
    kb = await (await get(client, world["sup"], "kb", **Q)).json()
    assert kb["kb"]["success_rate"] == 0.25


async def test_an_agent_sees_only_their_own_figures(client: Any, world: dict[str, Any]) -> None:
    a2 = world["a2"]
    body = await (await get(client, a2, "dashboard", **Q)).json()
    assert body["filters"] == {"agent_id": a2["user"]["id"]}
    assert body["volume"]["total"] == 2
    assert [a["agent_id"] for a in body["agents"]] == [a2["user"]["id"]]
    assert body["backlog"]["total"] == 1
    resp = await get(client, a2, "agents", **Q, agent_id=world["a1"]["user"]["id"])
    assert resp.status == 403
    assert resp.content_type == "application/problem+json"
    same = await get(client, a2, "agents", **Q, agent_id=a2["user"]["id"])
    assert same.status == 200
    resp = await get(client, a2, "export/agents", **Q, agent_id=world["a1"]["user"]["id"])
    assert resp.status == 403


async def test_portal_users_and_anonymous_callers_are_refused(
    client: Any, api: Any, world: dict[str, Any]
) -> None:
    for role in (Role.customer, Role.provider):
        who = await api.user(role)
        resp = await get(client, who, "dashboard", **Q)
        assert resp.status == 403, role
    resp = await client.get("/api/v1/reports/dashboard", params=Q)
    assert resp.status == 401


@pytest.mark.parametrize("params,field,words", [
    ({}, "start", "required"),
    ({"start": "2026-11-02"}, "end", "required"),
    ({"start": "2026-11-08", "end": "2026-11-02"}, "end", "ends before it starts"),
    ({"start": "2023-01-01", "end": "2026-11-02"}, "end", "two years"),
    ({**Q, "team": "T1"}, "team", "Extra inputs"),
    ({**Q, "channel": "carrier-pigeon"}, "channel", ""),
    ({**Q, "tz": "Europe/Atlantis"}, "tz", "unknown time zone"),
    ({**Q, "start": "2026-11-02T10:20:00Z"}, "start", "quarter hour"),
    ({**Q, "start": "'; db.dropDatabase(); //"}, "start", "not an ISO date"),
    ({**Q, "agent_id": {"$ne": None}}, "agent_id", ""),
])
async def test_bad_input_is_a_clear_400(
    client: Any, world: dict[str, Any], params: dict[str, Any], field: str, words: str
) -> None:
    if isinstance(params.get("agent_id"), dict):  # an operator smuggled as a query string
        params = {**params, "agent_id": "x" * 65}
    resp = await get(client, world["sup"], "dashboard", **params)
    assert resp.status == 400, await resp.text()  # a bad query parameter (docs/api.md, "Errors")
    assert resp.content_type == "application/problem+json"
    problem = await resp.json()
    assert problem["field"].split(".")[-1] == field and words in problem["detail"]


async def test_exports_every_table_as_csv_and_xlsx_parsed_back(client: Any, world: dict[str, Any]) -> None:
    dash = await (await get(client, world["sup"], "dashboard", **Q)).json()
    names = await (await get(client, world["sup"], "tables")).json()
    assert names == list(TABLES)
    for name in names:
        csv_resp = await get(client, world["sup"], f"export/{name}", **Q, format="csv")
        assert csv_resp.status == 200, name
        assert csv_resp.headers["Content-Type"].startswith("text/csv")
        assert f'{name}_20261102-20261108.csv' in csv_resp.headers["Content-Disposition"]  # first, last day
        rows = list(csv.reader(io.StringIO(await csv_resp.text())))
        xlsx_resp = await get(client, world["sup"], f"export/{name}", **Q, format="xlsx")
        assert xlsx_resp.status == 200
        sheet = load_workbook(io.BytesIO(await xlsx_resp.read()))[name[:31]]
        xrows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        assert xrows == [[_cell(v) for v in row] for row in rows], name  # the same table in both formats
        expected_cols, expected_rows = TABLES[name][1](dash)
        assert rows[0] == expected_cols
        assert len(rows) - 1 == len(expected_rows), name
    by_channel = list(
        csv.reader(
            io.StringIO(await (await get(client, world["sup"], "export/volume_by_channel", **Q)).text())
        )
    )
    assert by_channel == [["channel", "conversations"], ["webchat", "3"], ["email", "1"], ["sms", "1"],
                          ["whatsapp", "1"]]
    heat = list(
        csv.reader(io.StringIO(await (await get(client, world["sup"], "export/heatmap", **Q)).text()))
    )
    assert heat[1][0] == "Mon" and heat[1][1 + 9] == "1" and heat[1][1 + 16] == "1"


@pytest.mark.parametrize("params,stem", [
    ({"start": "2026-11-27", "end": "2026-11-27", "tz": "Africa/Johannesburg"}, "kpis_20261127-20261127"),
    ({"start": "2026-11-27", "end": "2026-11-28", "tz": "Pacific/Auckland"}, "kpis_20261127-20261128"),
    ({"start": "2026-11-27T20:00:00-05:00", "end": "2026-11-28T02:00:00-05:00", "tz": "America/New_York"},
     "kpis_20261127-20261128"),
])
async def test_export_file_names_carry_the_days_of_the_report_time_zone(
        client: Any, world: dict[str, Any], params: dict[str, str], stem: str) -> None:
    """Not the UTC days the range spans (27 Nov in Johannesburg starts on 26 Nov at 22:00 UTC)."""
    resp = await get(client, world["sup"], "export/kpis", **params)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Disposition"] == f'attachment; filename="{stem}.csv"'
    pdf = await get(client, world["sup"], "pdf", **params)
    assert f'filename="berry-report_{stem.removeprefix("kpis_")}.pdf"' in pdf.headers["Content-Disposition"]


async def test_export_is_formula_safe_and_refuses_unknown_tables(client: Any, world: dict[str, Any]) -> None:
    text = await (await get(client, world["sup"], "export/kb_no_results", **Q)).text()
    rows = list(csv.reader(io.StringIO(text)))
    assert ["'=cmd|' /C calc'!A0", "1"] in rows
    wb = load_workbook(io.BytesIO(await (await get(client, world["sup"], "export/kb_no_results", **Q,
                                                   format="xlsx")).read()))
    cell = wb["kb_no_results"]["A3"]
    assert cell.value == "'=cmd|' /C calc'!A0" and cell.data_type == "s"
    assert (await get(client, world["sup"], "export/passwords", **Q)).status == 404
    assert (await get(client, world["sup"], "export/agents", **Q, format="pdf")).status == 400
    assert (await get(client, world["sup"], "export/agents", start="2026-11-02")).status == 400


async def test_dashboard_page_is_served_with_a_strict_csp(client: Any) -> None:
    resp = await client.get("/reports/")
    assert resp.status == 200
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "<canvas" in await resp.text()
    resp = await client.get("/reports/static/vendor/chart.umd.min.js")
    assert resp.status == 200, "run scripts/setup.d/60-charts-assets.sh"
    assert (await client.get("/reports/static/../__init__.py")).status in (403, 404)


async def test_pdf_report_with_charts_parsed_back(client: Any, world: dict[str, Any]) -> None:
    from pypdf import PdfReader

    resp = await get(client, world["sup"], "pdf", **Q)
    assert resp.status == 200 and resp.content_type == "application/pdf"
    assert 'berry-report_20261102-20261108.pdf' in resp.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(await resp.read()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert reader.metadata.title == "Berry Support Hub — support report"
    for expected in ("Key figures", "Conversations per day", "CSAT distribution", "Agents", "SLA compliance",
                     "explicit_request", "dj cancel", "=cmd|' /C calc'!A0", "consumer", "provider"):
        assert expected in text, expected
    assert "+500.0%" in text  # conversations vs the previous week
    agent = await get(client, world["a1"], "pdf", **Q, agent_id=world["a2"]["user"]["id"])
    assert agent.status == 403
    bad = await get(client, world["sup"], "pdf", start="2026-11-08", end="2026-11-01")
    assert bad.status == 400


@pytest.mark.parametrize("body, fragment", [
    ({"order": ["days", "nope"]}, "unknown widget"),
    ({"order": ["days", "days"]}, "listed twice"),
    ({"order": ["days"] * 40}, "at most"),
    ({"order": "days"}, "list"),
    ({"order": ["days"], "colour": "red"}, "xtra"),
    ({"hidden": [{"$gt": ""}]}, "hidden.0"),
    ({"hidden": [7]}, "string"),
])
async def test_layout_bad_input_is_a_clear_422(client: Any, api: Any, body: Any, fragment: str) -> None:
    sup = await api.user(Role.supervisor)
    resp = await client.put("/api/v1/reports/layout", json=body, headers=sup["headers"])
    assert resp.status == 422
    assert fragment in await resp.text()
    assert (await (await client.get("/api/v1/reports/layout", headers=sup["headers"])).json())["order"][
        0
    ] == "days"


async def test_layout_is_saved_per_user_and_completed(client: Any, api: Any) -> None:
    sup, agent = await api.user(Role.supervisor), await api.user(Role.agent)
    resp = await client.put("/api/v1/reports/layout", json={"order": ["kb", "days"], "hidden": ["bot"]},
                            headers=sup["headers"])
    assert resp.status == 200
    saved = await resp.json()
    assert (
        saved["order"][:3] == ["kb", "days", "channels"]
        and len(saved["order"]) == 12
        and saved["hidden"] == ["bot"]
    )
    again = await (await client.get("/api/v1/reports/layout", headers=sup["headers"])).json()
    assert again == saved
    assert (await (await client.get("/api/v1/reports/layout", headers=agent["headers"])).json())["order"][
        0
    ] == "days"
    assert (await client.put("/api/v1/reports/layout", json={}, headers=agent["headers"])).status == 200
