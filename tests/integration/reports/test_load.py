"""Agent load over time: hourly samples of each agent's unresolved tickets (written with the backlog
snapshot), averaged and peaked over a range — hand-worked below — and shown in the agents table."""

from __future__ import annotations

from typing import Any

from hub import keys
from hub.models import new_id, utcnow
from hub.reports import BACKLOG_JOB, Reports, Rollups, live
from hub.reports.load import agent_load, record
from hub.reports.query import ReportQuery

from .fixture import t


def ticket(assignee: str | None, status: str = "open") -> dict[str, Any]:
    return {"_id": new_id(), "status": status, "assignee_id": assignee, "team_id": "T1", "channel": "sms",
            "priority": "normal", "created_at": t(2, 8), "contact_id": None, "sla": {}, "merged_into": None}


async def sample(store: Any, at: Any) -> None:
    await record(store, await live.backlog_rows(store), at)


async def test_hourly_samples_averaged_and_peaked_per_agent(store: Any) -> None:
    c1, c2, c3, c4 = ticket("A1"), ticket("A1", "pending"), ticket("A2"), ticket(None)
    await store.conversations.insert_many([c1, c2, c3, c4, ticket("A2", "resolved")])
    await sample(store, t(3, 9))    # 09: A1 2 (c1, c2), A2 1 (c3); unassigned c4 and resolved not counted
    await store.conversations.update_one({"_id": c2["_id"]}, {"$set": {"status": "resolved"}})
    await sample(store, t(3, 10, 5))   # 10: A1 1, A2 1 ...
    await store.conversations.update_one({"_id": c3["_id"]}, {"$set": {"assignee_id": "A1"}})
    await sample(store, t(3, 10, 40))  # ... overwritten by the hour's last snapshot: A1 2, A2 0
    await sample(store, t(4, 0))       # next day 00: A1 2

    # 3 Nov: hours 09 and 10 sampled → A1 (2 + 2) / 2, A2 (1 + 0) / 2
    assert await agent_load(store, t(3, 0), t(4, 0)) == {"A1": {"average": 2.0, "peak": 2},
                                                         "A2": {"average": 0.5, "peak": 1}}
    # 3–4 Nov: three sampled hours; hours without a snapshot do not count
    assert await agent_load(store, t(3, 0), t(5, 0)) == {"A1": {"average": 2.0, "peak": 2},
                                                         "A2": {"average": 0.33, "peak": 1}}
    assert await agent_load(store, t(3, 10), t(3, 11)) == {"A1": {"average": 2.0, "peak": 2}}
    assert await agent_load(store, t(5, 0), t(6, 0)) == {}

    # the agents table carries it (rows for agents who handled nothing in the range too)
    reports = Reports(store, Rollups(store))
    rows = {a["agent_id"]: a for a in (await reports.report(
        ReportQuery(start="2026-11-03", end="2026-11-03", tz="UTC", source="live"), ("agents",)))["agents"]}
    assert (rows["A1"]["load_average"], rows["A1"]["load_peak"]) == (2.0, 2)
    assert (rows["A2"]["load_average"], rows["A2"]["load_peak"]) == (0.5, 1)
    only = (await reports.report(ReportQuery(start="2026-11-03", end="2026-11-03", tz="UTC", agent_id="A2"),
                                 ("agents",)))["agents"]
    assert [(a["agent_id"], a["load_average"]) for a in only] == [("A2", 0.5)]


async def test_the_backlog_job_writes_the_current_hour(client: Any) -> None:
    app = client.server.app
    store = app[keys.STORE]
    await store.conversations.insert_many([ticket("A7"), ticket("A7"), ticket("A8", "snoozed")])
    before = utcnow()
    await app[keys.JOB_HANDLERS][BACKLOG_JOB]({})
    after = utcnow()
    # the hour the job ran in (between before and after, even across midnight)
    written = [(d, h, counts) for d in {before.date(), after.date()}
               for doc in [await store["report_views"].find_one({"_id": f"load:{d.isoformat()}"})] if doc
               for h, counts in doc["h"].items()]
    assert [(d, int(h)) for d, h, _ in written] in (
        [(before.date(), before.hour)],
        [(after.date(), after.hour)],
    )
    assert written[0][2] == {"A7": 2, "A8": 1}
