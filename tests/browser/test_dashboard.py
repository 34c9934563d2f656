"""The reports dashboard in real Chromium: the numbers on screen (tiles, tables, chart data) match the
API for the hand-worked week; an agent sees only their own; a bad range shows the API's problem; an
export downloads and parses. A screenshot goes to docs/img/reports-dashboard.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from hub.models import Role, new_id
from hub.reports.cli import rebuild

from ..integration.reports.fixture import seed
from .conftest import screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
WEEK = "start=2026-11-02&end=2026-11-08&tz=UTC"


def count(v: Any) -> str:
    return "—" if v is None else str(v)


def hours(v: Any) -> str:
    return "—" if v is None else f"{v:.2f} h"


def rate(v: Any) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def score(v: Any) -> str:
    return "—" if v is None else f"{v:.2f}"


FORMATS = {
    "conversations": count,
    "resolved": count,
    "first_response_median_h": hours,
    "next_response_median_h": hours,
    "first_response_p90_h": hours,
    "resolution_median_h": hours,
    "csat_average": score,
    "csat_response_rate": rate,
    "bot_deflection_rate": rate,
    "sla_first_response_compliance": rate,
}


async def make_user(client: Any, name: str, role: Role) -> tuple[str, str]:
    email = f"{name.lower()}-{new_id()}@example.com"
    user = await client.server.app[keys.USERS].create(email, PASSWORD, role, name=name)
    return email, user.id


async def sign_in(page: Any, hub_url: str, email: str, query: str = WEEK) -> None:
    await page.goto(f"{hub_url}/reports/?{query}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#signin-form button[type=submit]")


async def ready(page: Any) -> None:
    try:
        await page.wait_for_selector("body[data-state=ready]")
    except Exception as exc:
        state = await page.evaluate(
            "[document.body.dataset.state, document.getElementById('error').textContent, "
            "document.getElementById('signin').hidden, document.getElementById('signin-error').textContent]"
        )
        raise AssertionError(
            f"dashboard not ready: {state}; page errors: {getattr(page, 'errors', None)}"
        ) from exc


@pytest.fixture(scope="module")
async def week(hub: Any) -> dict[str, Any]:
    """The hand-worked week, seeded once into the module's hub (the tests only read it)."""
    client = hub
    sup = await make_user(client, "Sipho", Role.supervisor)
    ann = await make_user(client, "Ann", Role.agent)
    ben = await make_user(client, "Ben", Role.agent)
    store = client.server.app[keys.STORE]
    await seed(store, ann[1], ben[1])
    # two hourly load samples (what the backlog job writes): Ann 3 then 1, Ben absent (0) then 2
    await store["report_views"].insert_one(
        {"_id": "load:2026-11-03", "h": {"09": {ann[1]: 3}, "10": {ann[1]: 1, ben[1]: 2}}}
    )
    await rebuild(store, None, None, progress=False)
    return {"sup": sup, "ann": ann, "ben": ben}


async def api_dashboard(client: Any, email: str) -> dict[str, Any]:
    token = await (
        await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    ).json()
    resp = await client.get(f"/api/v1/reports/dashboard?{WEEK}",
                            headers={"Authorization": f"Bearer {token['access_token']}"})
    assert resp.status == 200
    return await resp.json()


async def test_numbers_on_screen_match_the_api(
    new_page: Any, hub_url: str, hub: Any, week: dict[str, Any]
) -> None:
    api = await api_dashboard(hub, week["sup"][0])
    page = await new_page(width=1440, height=1900)
    await sign_in(page, hub_url, week["sup"][0])
    await ready(page)
    for key, fmt in FORMATS.items():
        text = await page.text_content(f"[data-kpi={key}] .value")
        assert text == fmt(api["overview"]["kpis"][key]["value"]), key
    assert await page.text_content("[data-kpi=conversations] .trend") == "▲ 500.0% vs previous period"
    assert await page.text_content("[data-kpi=backlog] .value") == str(api["backlog"]["total"])

    # agents table: one row per agent, in the API's order
    rows = await page.eval_on_selector_all(
        "#table-agents tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert [r[0] for r in rows] == [a["name"] for a in api["agents"]]
    assert [r[1] for r in rows] == [str(a["handled"]) for a in api["agents"]]
    assert [r[3] for r in rows] == [hours(a["first_response_median_h"]) for a in api["agents"]]
    assert [r[4] for r in rows] == [hours(a["next_response_median_h"]) for a in api["agents"]]
    assert [r[-1] for r in rows] == [hours(a["online_h"]) for a in api["agents"]]
    assert hours(8.0) in [r[-1] for r in rows]  # Ann's 8 h online (fixture presence)
    assert [r[-2] for r in rows] == [
        "—" if a["load_average"] is None else f"{a['load_average']:.1f} / {a['load_peak']}"
        for a in api["agents"]
    ]
    assert {r[0]: r[-2] for r in rows}["Ann"] == "2.0 / 3" and {r[0]: r[-2] for r in rows}["Ben"] == "1.0 / 2"

    # the charts are drawn from the same figures
    chart = "id => { const c = Chart.getChart(document.getElementById(id)); return c.data; }"
    days = await page.evaluate(chart, "chart-days")
    assert days["datasets"][0]["data"] == [d["count"] for d in api["volume"]["by_day"]]
    channels = await page.evaluate(chart, "chart-channels")
    assert dict(zip(channels["labels"], channels["datasets"][0]["data"], strict=True)) == {
        c["channel"]: c["count"] for c in api["volume"]["by_channel"]}
    heat = await page.evaluate(chart, "chart-heatmap")
    cells = {(c["y"], int(c["x"])): c["v"] for c in heat["datasets"][0]["data"] if c["v"]}
    weekdays = api["volume"]["heatmap"]["weekdays"]
    assert cells == {(weekdays[d], h): v for d, row in enumerate(api["volume"]["heatmap"]["counts"])
                     for h, v in enumerate(row) if v}
    csat = await page.evaluate(chart, "chart-csat")
    assert csat["datasets"][0]["data"] == list(api["csat"]["distribution"].values())
    assert page.errors == []
    path = await screenshot(page, "reports-dashboard")
    assert path.stat().st_size > 20_000


async def bearer(client: Any, email: str) -> dict[str, str]:
    token = await (
        await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    ).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


async def test_live_operations_tile_follows_a_new_ticket_without_reload(new_page: Any, hub_url: str, hub: Any,
                                                                     week: dict[str, Any]) -> None:
    admin = await make_user(hub, "Ada", Role.admin)
    page = await new_page()
    await sign_in(page, hub_url, week["sup"][0])
    await ready(page)
    await page.wait_for_selector("#live-state[data-live=on]")
    before = int(await page.text_content("[data-op=open] .value"))
    await page.evaluate("window.notReloaded = true")
    body = {"channel": "sms", "external_id": new_id(), "sender": {"kind": "phone", "value": "+27825550199"},
            "sender_name": "Naledi", "text": "The band has not arrived and the wedding starts at 4"}
    resp = await hub.post("/api/v1/inbound", json=body, headers=await bearer(hub, admin[0]))
    assert resp.status == 201, await resp.text()
    await page.wait_for_function(
        "n => document.querySelector('[data-op=open] .value').textContent === String(n)",
        arg=before + 1,
        timeout=15_000,
    )
    assert await page.evaluate("window.notReloaded") is True
    live = await (await hub.get("/api/v1/reports/live", headers=await bearer(hub, week["sup"][0]))).json()
    for key in ("queue", "open", "at_risk", "breached"):
        assert await page.text_content(f"[data-op={key}] .value") == str(live[key]), key
    # an agent gets no live tile (and the API refuses them)
    agent_page = await new_page()
    await sign_in(agent_page, hub_url, week["ben"][0])
    await ready(agent_page)
    assert await agent_page.is_hidden("#live")
    assert (await hub.get("/api/v1/reports/live", headers=await bearer(hub, week["ben"][0]))).status == 403


async def test_widgets_are_arranged_and_the_order_is_saved_per_user(new_page: Any, hub_url: str, hub: Any,
                                                                    week: dict[str, Any]) -> None:
    order = "els => els.map(e => e.dataset.widget)"
    page = await new_page()
    await sign_in(page, hub_url, week["sup"][0])
    await ready(page)
    default = await page.eval_on_selector_all("#widgets > [data-widget]", order)
    assert default[:4] == ["days", "channels", "heatmap", "csat"]
    await page.click("[data-widget=csat] button[data-move=up]")
    await page.click("[data-widget=csat] button[data-move=up]")
    await page.click("[data-widget=days] button[data-move=down]")
    # csat ▲ ▲: days, csat, channels, heatmap; days ▼: csat, days, channels, heatmap
    await page.wait_for_selector("#widgets[data-saved^='csat,days,channels,heatmap']")
    await page.reload()
    await ready(page)
    assert (await page.eval_on_selector_all("#widgets > [data-widget]", order))[:4] == [
        "csat",
        "days",
        "channels",
        "heatmap",
    ]
    saved = await (await hub.get("/api/v1/reports/layout", headers=await bearer(hub, week["sup"][0]))).json()
    assert saved["order"][:3] == ["csat", "days", "channels"] and len(saved["order"]) == len(default)
    # another user still has the default order
    other = await new_page()
    await sign_in(other, hub_url, week["ann"][0])
    await ready(other)
    assert await other.eval_on_selector_all("#widgets > [data-widget]", order) == default


async def test_filters_apply_and_stay_in_the_url(new_page: Any, hub_url: str, week: dict[str, Any]) -> None:
    page = await new_page()
    await sign_in(page, hub_url, week["sup"][0])
    await ready(page)
    await page.select_option("select[name=contact_type]", "provider")
    await page.click("#filters button[type=submit]")
    await page.wait_for_selector("[data-kpi=conversations] .value:text-is('2')")
    assert "contact_type=provider" in page.url
    await page.reload()
    await ready(page)
    assert await page.text_content("[data-kpi=conversations] .value") == "2"


async def test_an_agent_sees_only_their_own_figures(
    new_page: Any, hub_url: str, week: dict[str, Any]
) -> None:
    page = await new_page()
    await sign_in(page, hub_url, week["ben"][0])
    await ready(page)
    assert await page.text_content("[data-kpi=conversations] .value") == "2"  # c3 and c4
    rows = await page.eval_on_selector_all(
        "#table-agents tbody tr", "rows => rows.map(r => r.cells[0].textContent)"
    )
    assert rows == ["Ben"]
    assert await page.is_hidden("select[name=agent_id]")


async def test_the_browser_zone_kolkata_half_an_hour_off_utc_shows_its_figures(new_page: Any, hub_url: str,
                                                                             week: dict[str, Any]) -> None:
    """No tz in the URL: the dashboard asks in the browser's zone, +05:30 here (it was a 400 and an
    empty page). The local week starts on Sun 1 Nov 18:30 UTC: c1–c6, not c8 (Mon 9 Nov 05:30 local)."""
    page = await new_page(timezone_id="Asia/Kolkata")
    await sign_in(page, hub_url, week["sup"][0], "start=2026-11-02&end=2026-11-08")
    await ready(page)
    assert await page.text_content("[data-kpi=conversations] .value") == "6"
    assert await page.input_value("#filters [name=tz]") in ("Asia/Kolkata", "Asia/Calcutta")  # ICU's old name


async def test_a_bad_range_shows_the_problem(new_page: Any, hub_url: str, week: dict[str, Any]) -> None:
    page = await new_page()
    await sign_in(page, hub_url, week["sup"][0], "start=2026-11-08&end=2026-11-02")
    await page.wait_for_selector("body[data-state=error]")
    assert "ends before it starts" in await page.text_content("#error")


async def test_export_downloads_a_csv(
    new_page: Any, hub_url: str, week: dict[str, Any], tmp_path: Path
) -> None:
    page = await new_page(accept_downloads=True)
    await sign_in(page, hub_url, week["sup"][0])
    await ready(page)
    async with page.expect_download() as info:
        await page.click("a[data-table=volume_by_channel][data-format=csv]")
    download = await info.value
    assert download.suggested_filename == "volume_by_channel_20261102-20261108.csv"
    target = tmp_path / "x.csv"
    await download.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[0] == ["channel", "conversations"] and ["webchat", "3"] in rows


async def test_pdf_download(new_page: Any, hub_url: str, week: dict[str, Any]) -> None:
    page = await new_page(accept_downloads=True)
    await sign_in(page, hub_url, week["sup"][0])
    await ready(page)
    async with page.expect_download() as info:
        await page.click("a[data-table=report][data-format=pdf]")
    download = await info.value
    assert download.suggested_filename == "berry-report_20261102-20261108.pdf"
    assert (await download.path()).read_bytes().startswith(b"%PDF")


async def test_scheduled_reports_are_listed_created_with_errors_shown_and_deleted(
    new_page: Any, hub_url: str, hub: Any, week: dict[str, Any]
) -> None:
    headers = await bearer(hub, week["sup"][0])
    listed = (
        "async () => (await (await fetch('/api/v1/reports/schedules', {headers: {Authorization: 'Bearer ' + "
        "JSON.parse(localStorage.getItem('berry.console.session')).access}})).json()).items"
    )
    page = await new_page(width=1440, height=1200)
    await sign_in(page, hub_url, week["sup"][0])
    await ready(page)
    await page.wait_for_selector("#schedule-list[data-count='0']")
    form = "#schedule-form"
    await page.fill(f"{form} [name=name]", "Weekly ops")
    await page.select_option(f"{form} [name=weekday]", "1")
    await page.fill(f"{form} [name=hour]", "8")
    await page.fill(f"{form} [name=tz]", "Mars/Olympus")
    await page.fill(f"{form} [name=recipients]", "ops@berry.events, not-an-address")
    await page.click(f"{form} button[type=submit]")
    # the hub's 422 is shown field by field, naming the bad address; nothing was saved
    await page.wait_for_selector("#schedule-errors li[data-field=recipients]")
    recipients_error = await page.text_content("#schedule-errors li[data-field=recipients]")
    assert recipients_error is not None and "“not-an-address”" in recipients_error
    assert await page.is_visible("#schedule-errors li[data-field=tz]")
    assert await page.get_attribute(f"{form} [name=recipients]", "aria-invalid") == "true"
    assert await page.evaluate(listed) == []
    await page.eval_on_selector("#schedules", "s => s.scrollIntoView({block: 'end'})")
    await screenshot(page, "reports-schedules")

    await page.fill(f"{form} [name=tz]", "Africa/Johannesburg")
    await page.fill(f"{form} [name=recipients]", "ops@berry.events\nceo@berry.events")
    await page.click(f"{form} button[type=submit]")
    await page.wait_for_selector("#schedule-list[data-count='1']")
    assert await page.text_content("#schedule-errors") == ""
    assert await page.get_attribute(f"{form} [name=recipients]", "aria-invalid") is None
    row = await page.eval_on_selector("#schedule-list tbody tr", "r => [...r.cells].map(c => c.textContent)")
    assert row[:4] == [
        "Weekly ops",
        "Weekly, Tuesday 08:00 Africa/Johannesburg",
        "All",
        "ops@berry.events, ceo@berry.events",
    ]
    [weekly] = (await (await hub.get("/api/v1/reports/schedules", headers=headers)).json())["items"]
    assert (weekly["name"], weekly["frequency"], weekly["weekday"], weekly["hour"], weekly["recipients"]) == (
        "Weekly ops", "weekly", 1, 8, ["ops@berry.events", "ceo@berry.events"])

    # monthly: the day replaces the weekday; day 31 is refused (runs on days 1–28 only)
    await page.select_option(f"{form} [name=frequency]", "monthly")
    assert await page.is_hidden(f"{form} [name=weekday]") and await page.is_visible(f"{form} [name=day]")
    await page.fill(f"{form} [name=name]", "Month end")
    await page.fill(f"{form} [name=day]", "31")
    await page.fill(f"{form} [name=hour]", "")
    await page.fill(f"{form} [name=recipients]", "board@berry.events")
    await page.click(f"{form} button[type=submit]")
    await page.wait_for_selector("#schedule-errors li[data-field=day]")
    assert await page.is_visible("#schedule-errors li[data-field=hour]")  # empty: missing, not midnight
    await page.fill(f"{form} [name=hour]", "8")
    await page.fill(f"{form} [name=day]", "28")
    await page.click(f"{form} button[type=submit]")
    await page.wait_for_selector("#schedule-list[data-count='2']")

    # delete asks first: dismissed keeps the monthly one, accepted removes the weekly one (list and API)
    monthly = next(s for s in await page.evaluate(listed) if s["name"] == "Month end")
    page.once("dialog", lambda dialog: dialog.dismiss())
    await page.click(f"button[data-delete='{monthly['id']}']")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click(f"button[data-delete='{weekly['id']}']")
    await page.wait_for_selector("#schedule-list[data-count='1']")
    remaining = (await (await hub.get("/api/v1/reports/schedules", headers=headers)).json())["items"]
    assert [(s["name"], s["frequency"], s["day"]) for s in remaining] == [("Month end", "monthly", 28)]
    assert page.errors == []
    # an agent has no schedules section (and the API refuses them)
    agent_page = await new_page()
    await sign_in(agent_page, hub_url, week["ben"][0])
    await ready(agent_page)
    assert await agent_page.is_hidden("#schedules")
    assert (
        await hub.get("/api/v1/reports/schedules", headers=await bearer(hub, week["ben"][0]))
    ).status == 403
