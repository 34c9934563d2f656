"""Every metric against the hand-worked week in fixture.py, through both paths (roll-ups and on the
fly) on real FerretDB."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hub.reports import Reports, Rollups
from hub.reports.live import backlog, backlog_from_snapshot, snapshot
from hub.reports.query import ReportQuery

from .fixture import EXPECTED, WEEK, seed, t


@pytest.fixture
async def reports(store: Any) -> Reports:
    await store.users.insert_many([{"_id": "A1", "email": "a1@x.co", "name": "Ann", "role": "agent"},
                                   {"_id": "A2", "email": "a2@x.co", "name": "Ben", "role": "agent"}])
    await seed(store, "A1", "A2")
    rollups = Rollups(store)
    await rollups.recompute_range(date(2026, 10, 26), date(2026, 11, 9))
    return Reports(store, rollups)


@pytest.fixture(params=["rollup", "live"])
def source(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def week(reports: Reports, source: str, **filters: Any) -> dict[str, Any]:
    return await reports.report(ReportQuery(**WEEK, source=source, **filters))


async def test_volume_by_channel_day_and_heatmap(reports: Reports, source: str) -> None:
    r = await week(reports, source)
    assert r["volume"]["total"] == EXPECTED["conversations"]
    assert {x["channel"]: x["count"] for x in r["volume"]["by_channel"]} == EXPECTED["by_channel"]
    assert r["volume"]["by_channel"][0] == {"channel": "webchat", "count": 3}
    assert {x["date"]: x["count"] for x in r["volume"]["by_day"]} == EXPECTED["by_day"]
    heat = r["volume"]["heatmap"]["counts"]
    cells = {(d, h): heat[d][h] for d in range(7) for h in range(24) if heat[d][h]}
    assert cells == EXPECTED["heat"]


async def test_heatmap_and_days_follow_the_time_zone(reports: Reports) -> None:
    # Johannesburg is UTC+2: c1 (Mon 09:00 UTC) is Mon 11:00 local; the local week starts at Sun 22:00 UTC
    r = await reports.report(ReportQuery(**WEEK, tz="Africa/Johannesburg"))
    heat = r["volume"]["heatmap"]["counts"]
    assert heat[0][11] == 1 and heat[0][9] == 0
    assert r["range"]["start"] == "2026-11-01T22:00:00+00:00"
    assert r["volume"]["total"] == 6  # c6 (Sun 10:00 UTC) is still Sunday 12:00 local


async def test_response_and_resolution_times_calendar_and_business(reports: Reports, source: str) -> None:
    rt = (await week(reports, source))["response_times"]
    assert rt["first_response"]["calendar"] == EXPECTED["frt"]
    assert rt["first_response"]["business"] == EXPECTED["frt_bh"]
    assert rt["resolution"]["calendar"] == EXPECTED["res"]
    assert rt["resolution"]["business"] == EXPECTED["res_bh"]
    assert rt["next_response"]["calendar"] == EXPECTED["nrt"]
    assert rt["next_response"]["business"] == EXPECTED["nrt_bh"]


async def test_reopened_ticket_counts_unresolved_until_resolved_again(reports: Reports, source: str) -> None:
    r = await week(reports, source)
    assert r["overview"]["kpis"]["resolved"]["value"] == EXPECTED["resolved"]
    assert r["backlog"]["by_status"] == {"open": 2, "pending": 1, "snoozed": 0}  # c3 reopened, c6, c8


async def test_csat_average_distribution_and_response_rate(reports: Reports, source: str) -> None:
    assert (await week(reports, source))["csat"] == EXPECTED["csat"]


async def test_bot_deflection_and_handoff_reasons(reports: Reports, source: str) -> None:
    assert (await week(reports, source))["bot"] == EXPECTED["bot"]


async def test_sla_compliance_overall_by_priority_and_team(reports: Reports, source: str) -> None:
    sla = (await week(reports, source))["sla"]
    for metric, want in EXPECTED["sla_overall"].items():
        assert sla["overall"][metric] == want
    by_priority = {row["priority"]: row for row in sla["by_priority"]}
    assert by_priority["high"]["first_response"] == {"met": 0, "breached": 1, "compliance": 0.0}
    assert by_priority["urgent"]["resolution"] == {"met": 0, "breached": 1, "compliance": 0.0}
    assert by_priority["normal"]["first_response"] == {"met": 2, "breached": 0, "compliance": 1.0}
    by_team = {row["team_id"]: row for row in sla["by_team"]}
    assert by_team["T1"]["first_response"]["compliance"] == 0.5  # c1 met, c2 breached


async def test_agent_performance(reports: Reports, source: str) -> None:
    rows = {a["agent_id"]: a for a in (await week(reports, source))["agents"]}
    assert set(rows) == {"A1", "A2", "A3", None}  # A3 was online, handled nothing
    for agent, want in EXPECTED["agents"].items():
        got = {k: rows[agent][k] for k in want}
        assert got == want, agent
    assert rows["A1"]["name"] == "Ann" and rows[None]["name"] == "(unassigned)"


async def test_consumers_and_providers_with_merged_contacts(reports: Reports, source: str) -> None:
    assert (await week(reports, source))["contacts"] == EXPECTED["contacts"]


async def test_kb_search_success_and_no_result_queries(reports: Reports) -> None:
    kb = (await week(reports, "rollup"))["kb"]
    for key, want in EXPECTED["kb"].items():
        assert kb[key] == want, key


async def test_overview_trend_against_previous_week(reports: Reports, source: str) -> None:
    r = await week(reports, source)
    kpis = r["overview"]["kpis"]
    assert r["overview"]["previous_range"] == {
        "start": "2026-10-26T00:00:00+00:00",
        "end": "2026-11-02T00:00:00+00:00",
    }
    for key, previous in EXPECTED["previous"].items():
        assert kpis[key]["previous"] == previous, key
    assert kpis["conversations"] == {"value": 6, "previous": 1, "change": 5.0}
    assert kpis["first_response_median_h"]["change"] == -0.5
    assert kpis["csat_average"] == {"value": 3.67, "previous": None, "change": None}


async def test_filters_narrow_every_section(reports: Reports, source: str) -> None:
    r = await week(reports, source, agent_id="A2")
    assert r["volume"]["total"] == 2
    assert r["response_times"]["first_response"]["calendar"] == {"n": 2, "median_h": 0.75, "p90_h": 1.0}
    assert [a["agent_id"] for a in r["agents"]] == ["A2"]
    assert r["backlog"]["total"] == 1  # c3
    r = await week(reports, source, contact_type="provider", channel="email")
    assert r["volume"]["total"] == 1 and r["contacts"]["consumer"]["conversations"] == 0
    r = await week(reports, source, team_id="T1", priority="high")
    assert r["volume"]["by_channel"] == [{"channel": "sms", "count": 1}]


async def test_backlog_ages_per_team(store: Any, reports: Reports) -> None:
    b = await backlog(store, {}, now=t(9, 12))
    assert b["total"] == 3
    teams = {row["team_id"]: row for row in b["by_team"]}
    # T2: c3 created Tue 10:00 → 146 h; T1: c6 Sun 10:00 → 26 h, c8 Mon 00:00 → 12 h
    assert teams["T2"] == {"team_id": "T2", "count": 1, "age_median_h": 146.0, "oldest_h": 146.0}
    assert teams["T1"] == {"team_id": "T1", "count": 2, "age_median_h": 19.0, "oldest_h": 26.0}
    assert b["age_bands"] == {"<1h": 0, "1-4h": 0, "4-24h": 1, "1-3d": 1, "3-7d": 1, ">7d": 0}


async def test_backlog_snapshot_gives_the_same_figures_as_the_tickets(store: Any, reports: Reports) -> None:
    assert (await snapshot(store))["created"].size == 3
    now = t(9, 12)
    for filters in (
        {},
        {"team_id": "T1"},
        {"agent_id": "A2"},
        {"contact_type": "provider"},
        {"team_id": "nope"},
    ):
        fresh = await backlog(store, filters, now=now)
        kept = await backlog_from_snapshot(store, filters, now=now, max_age_s=10**9)
        assert {**kept, "as_of": None} == {**fresh, "as_of": None}, filters
    assert (await backlog_from_snapshot(store, {"contact_type": "provider"}, now=now, max_age_s=10**9))[
        "total"
    ] == 1
    # a ticket resolved after the snapshot still counts until the next one; a stale snapshot is not used
    await store.conversations.update_many({"status": "pending"}, {"$set": {"status": "resolved"}})
    assert (await backlog_from_snapshot(store, {}, now=now, max_age_s=10**9))["total"] == 3
    later = datetime.now(UTC) + timedelta(seconds=10)
    assert (await backlog_from_snapshot(store, {}, now=later, max_age_s=5))["total"] == 2


async def test_missing_fields_of_other_packages_are_not_counted(store: Any) -> None:
    """No ticketing data (no SLA policy, calendar, csat, bot): nothing breaks, nothing is counted."""
    await store.conversations.insert_one(
        {
            "_id": "bare",
            "number": 1,
            "contact_id": "nobody",
            "channel": "sms",
            "thread_key": "x",
            "status": "open",
            "created_at": t(3, 10),
        }
    )
    r = await Reports(store, Rollups(store)).report(ReportQuery(**WEEK, source="live"))
    assert r["volume"]["total"] == 1
    assert r["csat"]["surveyed"] == 0 and r["csat"]["average"] is None
    assert r["bot"]["engaged"] == 0 and r["bot"]["deflection_rate"] is None
    assert r["sla"]["overall"]["first_response"] == {"met": 0, "breached": 0, "compliance": None}
    assert r["contacts"]["consumer"]["conversations"] == 1  # unknown contact → consumer
    assert r["kb"]["searches"] == 0


async def test_contact_types_follow_merges_with_few_and_many_ids(store: Any) -> None:
    from hub.reports.source import IN_LIMIT, contact_types

    many = [{"_id": f"c{i}", "type": "provider" if i % 2 else "consumer"} for i in range(IN_LIMIT + 5)]
    many += [
        {"_id": "old", "type": "consumer", "merged_into": "mid"},
        {"_id": "mid", "type": "consumer", "merged_into": "c1"},
    ]
    await store.contacts.insert_many(many)
    few = await contact_types(store, {"old", "c2"})  # $in path, two merge hops
    assert few == {"old": ("c1", "provider"), "c2": ("c2", "consumer")}
    ids = {d["_id"] for d in many} | {"gone"}
    lots = await contact_types(store, ids)  # scan path
    assert (
        lots["old"] == ("c1", "provider")
        and lots["c7"] == ("c7", "provider")
        and lots["gone"] == ("gone", "consumer")
    )
    assert len(lots) == len(ids)


@pytest.mark.parametrize("source", ["rollup", "live"])
async def test_zones_off_utc_by_part_of_an_hour_count_by_their_own_days_and_hours(store: Any,
                                                                                 source: str) -> None:
    """Kolkata (+05:30) and Kathmandu (+05:45): whole local days are exact, from roll-ups too, and the
    heatmap and days follow the local clock (these ranges were a 400, 'must fall on a whole hour')."""
    def ticket(i: int, at: datetime) -> dict[str, Any]:
        return {"_id": f"k{i}", "number": i, "contact_id": "x", "channel": "sms", "thread_key": f"k{i}",
                "status": "open", "created_at": at}
    # UTC 27 Nov: 18:10 (Kolkata 23:40 on the 27th), 18:20 (23:50), 18:35 (28th 00:05; Kathmandu 00:20),
    # 18:50 (28th 00:20), and 26 Nov 18:40 (Kolkata 27th 00:10; Kathmandu 27th 00:25)
    stamps = [t(27, 18, 10), t(27, 18, 20), t(27, 18, 35), t(27, 18, 50), t(26, 18, 40)]
    await store.conversations.insert_many([ticket(i, at) for i, at in enumerate(stamps, start=1)])
    rollups = Rollups(store)
    await rollups.recompute_range(date(2026, 11, 25), date(2026, 11, 28))
    reports = Reports(store, rollups)

    kolkata = await reports.report(ReportQuery(start="2026-11-27", end="2026-11-27", tz="Asia/Kolkata",
                                               source=source), ("volume", "overview"))
    assert kolkata["volume"]["total"] == 3  # 26th 18:40, 27th 18:10 and 18:20 UTC
    assert kolkata["volume"]["by_day"] == [{"date": "2026-11-27", "count": 3}]
    heat = kolkata["volume"]["heatmap"]["counts"]
    assert heat[4][0] == 1 and heat[4][23] == 2 and sum(map(sum, heat)) == 3  # Friday 00:10; 23:40, 23:50
    assert kolkata["overview"]["kpis"]["conversations"]["previous"] == 0

    two_days = await reports.report(ReportQuery(start="2026-11-27", end="2026-11-28", tz="Asia/Kolkata",
                                                source=source), ("volume",))
    assert two_days["volume"]["by_day"] == [{"date": "2026-11-27", "count": 3},
                                            {"date": "2026-11-28", "count": 2}]

    kathmandu = await reports.report(ReportQuery(start="2026-11-28", end="2026-11-28", tz="Asia/Kathmandu",
                                                 source=source), ("volume",))
    assert kathmandu["range"]["start"] == "2026-11-27T18:15:00+00:00"
    assert kathmandu["volume"]["total"] == 3 and kathmandu["volume"]["heatmap"]["counts"][5][0] == 3
