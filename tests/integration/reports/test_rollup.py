"""Roll-ups: late events correct a day's bucket through the job queue, and ``rebuild`` reports any
difference from the on-the-fly computation (also as the real CLI process)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date
from typing import Any

import pytest

from hub import keys
from hub.events import ContactsMerged, ConversationUpdated
from hub.jobs import Jobs, Worker
from hub.models import (
    AuthorType,
    Channel,
    Conversation,
    Direction,
    IdentityKind,
    InboundMessage,
    Message,
    SenderIdentity,
)
from hub.reports import JOB, Reports, Rollups
from hub.reports.cli import rebuild
from hub.reports.query import ReportQuery
from hub.reports.rollup import decode

from .fixture import EXPECTED, WEEK, seed, t

FIRST, LAST = date(2026, 10, 26), date(2026, 11, 9)


SECTIONS = ("volume", "response_times", "csat", "contacts")


async def _week(store: Any, source: str = "rollup") -> dict[str, Any]:
    out = await Reports(store, Rollups(store)).report(ReportQuery(**WEEK, source=source), SECTIONS)
    return {k: out[k] for k in SECTIONS}


async def _run_jobs(store: Any, rollups: Rollups) -> list[list[str]]:
    """Run the queued roll-up jobs; the days each one recomputed."""
    runs: list[list[str]] = []

    async def handler(payload: dict[str, Any]) -> None:
        runs.append([d.isoformat() for d in await rollups.run_pending()])
    worker = Worker(Jobs(store), {JOB: handler})
    while await worker.run_once():
        pass
    return runs


async def test_rebuild_writes_buckets_then_finds_nothing_to_change(store: Any) -> None:
    await seed(store, "A1", "A2")
    first = await rebuild(store, FIRST, LAST, progress=False)
    # days with tickets: 10-28, 11-02, 11-03, 11-04, 11-07, 11-08 (c7 merged: its day still holds c6), 11-09
    assert sorted(first["differences"]) == ["2026-10-28", "2026-11-02", "2026-11-03", "2026-11-04",
                                            "2026-11-07", "2026-11-08", "2026-11-09"]
    assert first["differences"]["2026-11-02"] == {"missing": 2, "extra": 0, "changed": 0,
                                                  "conversations_stored": 0, "conversations_fresh": 2}
    assert first["written"] == 7 and first["days"] == 15 and first["verified"] is True
    again = await rebuild(store, FIRST, LAST, progress=False)
    assert again["differences"] == {} and again["written"] == 0 and again["verified"] is True


async def test_rebuild_reports_a_stale_bucket_and_repairs_it(store: Any) -> None:
    ids = await seed(store, "A1", "A2")
    await rebuild(store, FIRST, LAST, progress=False)
    # a late change nobody told the roll-ups about: the reopened c3 is resolved at last
    await store.conversations.update_one(
        {"_id": ids["c3"]}, {"$set": {"status": "resolved", "resolved_at": t(6, 10)}}
    )
    assert (await _week(store))["response_times"]["resolution"]["calendar"]["n"] == 4  # stale
    assert (await _week(store, "live"))["response_times"]["resolution"]["calendar"]["n"] == 5
    dry = await rebuild(store, FIRST, LAST, dry_run=True, progress=False)
    assert dry["differences"] == {
        "2026-11-03": {
            "missing": 0,
            "extra": 0,
            "changed": 1,
            "conversations_stored": 1,
            "conversations_fresh": 1,
        }
    }
    assert dry["written"] == 0 and dry["verified"] is None
    fixed = await rebuild(store, FIRST, LAST, progress=False)
    assert fixed["written"] == 1 and fixed["verified"] is True
    assert await _week(store) == await _week(store, "live")


async def test_an_automatic_message_starts_no_customer_wait_in_either_path(store: Any) -> None:
    """An out-of-office on c4 (Wed 15:30, after the first response) is not the customer waiting: its next
    response still runs from the person's 16:30 message (16.5 h, not 17.5 h), in the roll-up and live."""
    ids = await seed(store, "A1", "A2")
    await store.messages.insert_one(Message(
        conversation_id=ids["c4"], contact_id="x", channel=Channel.webchat, direction=Direction.inbound,
        author_type=AuthorType.customer, text="Out of office", created_at=t(4, 15, 30),
        meta={"no_auto_reply": True, "email": {"full_text": "not read by the reports"}}).to_doc())
    await rebuild(store, FIRST, LAST, progress=False)
    for source in ("rollup", "live"):
        nrt = (await _week(store, source))["response_times"]["next_response"]
        assert nrt["calendar"] == EXPECTED["nrt"] and nrt["business"] == EXPECTED["nrt_bh"], source


async def test_late_events_recompute_the_day_through_the_job_queue(store: Any) -> None:
    ids = await seed(store, "A1", "A2")
    await rebuild(store, FIRST, LAST, progress=False)
    rollups = Rollups(store, Jobs(store), debounce_s=0)
    # a CSAT answer arrives late for the reopened-then-resolved c3
    await store.conversations.update_one({"_id": ids["c3"]}, {"$set": {
        "status": "resolved", "resolved_at": t(6, 10), "csat": {"sent_at": t(6, 11), "score": 1}}})
    doc = await store.conversations.find_one({"_id": ids["c3"]})
    await rollups.on_event(
        ConversationUpdated(conversation=Conversation.from_doc(doc), changes={"status": "resolved"})
    )
    assert [m["day"] async for m in store["report_dirty"].find({})] == ["2026-11-03"]
    assert await _run_jobs(store, rollups) == [["2026-11-03"]]
    assert await store["report_dirty"].count_documents({}) == 0
    week = await _week(store)
    assert week["csat"]["distribution"]["1"] == 1 and week["csat"]["responses"] == 4
    assert week == await _week(store, "live")


async def test_contact_merge_recomputes_the_moved_tickets_days(store: Any) -> None:
    ids = await seed(store, "A1", "A2")
    await rebuild(store, FIRST, LAST, progress=False)
    rollups = Rollups(store, Jobs(store), debounce_s=0)
    # carol turns out to be DJ Bob's other number: her tickets move to the provider
    await store.conversations.update_many({"contact_id": ids["carol"]}, {"$set": {"contact_id": ids["dj"]}})
    await store.contacts.update_one({"_id": ids["carol"]}, {"$set": {"merged_into": ids["dj"]}})
    await rollups.on_event(ContactsMerged(source_id=ids["carol"], target_id=ids["dj"]))
    # both contacts' days, in one job (one read of tickets and messages); the other jobs find nothing left
    runs = await _run_jobs(store, rollups)
    assert runs[0] == ["2026-11-03", "2026-11-04", "2026-11-07", "2026-11-08", "2026-11-09"]
    assert len(runs) == 5 and runs[1:] == [[]] * 4
    contacts = (await _week(store))["contacts"]
    assert contacts["provider"] == {"conversations": 4, "contacts": 1, "resolved": 2, "csat_average": 4.0}
    assert contacts["consumer"]["contacts"] == 1


async def test_coalescing_one_job_per_slot_for_every_changed_day(store: Any) -> None:
    await seed(store, "A1", "A2")
    rollups = Rollups(store, Jobs(store), debounce_s=1e9)
    for _ in range(5):
        await rollups.touch(t(3, 10))
    await rollups.touch(t(8, 10))
    # a second node (fresh process memory) marks the same day and queues the same key: still one job
    await Rollups(store, Jobs(store), debounce_s=1e9).touch(t(3, 23))
    assert await store["jobs"].count_documents({"kind": JOB}) == 1
    assert sorted([m["day"] async for m in store["report_dirty"].find({})]) == ["2026-11-03", "2026-11-08"]
    await store["job_queue"].update_many({}, {"$set": {"next_at": t(1, 0, month=1)}})  # due now
    assert await _run_jobs(store, rollups) == [["2026-11-03", "2026-11-08"]]
    # the two scattered days, read together, hold what a recompute of each day alone finds
    assert await rollups.recompute(date(2026, 11, 3)) is False
    assert await rollups.recompute(date(2026, 11, 8)) is False
    assert await store["report_buckets"].count_documents({}) == 2  # only the marked days were written


async def test_a_day_marked_during_a_run_keeps_its_mark_for_the_next_run(store: Any) -> None:
    await seed(store, "A1", "A2")
    rollups = Rollups(store, Jobs(store), debounce_s=0)
    await rollups.touch(t(3, 10))
    recompute = rollups.recompute_days

    async def while_running(wanted: list[date]) -> int:
        await rollups.touch(t(4, 10))  # an event during the recompute: a new mark (debounce 0: a new slot)
        return await recompute(wanted)

    rollups.recompute_days = while_running  # type: ignore[method-assign]
    assert await rollups.run_pending() == [date(2026, 11, 3)]
    rollups.recompute_days = recompute  # type: ignore[method-assign]
    assert [m["day"] async for m in store["report_dirty"].find({})] == ["2026-11-04"]
    assert await rollups.run_pending() == [date(2026, 11, 4)]
    assert await rollups.run_pending() == []


@pytest.fixture
def no_debounce(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERRY_REPORTS_ROLLUP_DEBOUNCE_S", "0")


async def test_an_ingested_message_reaches_the_roll_up(no_debounce: None, client: Any) -> None:
    app = client.server.app
    store = app[keys.STORE]
    await app[keys.INBOX].ingest(
        InboundMessage(
            channel=Channel.sms,
            external_id="SM1",
            text="hello",
            sender=SenderIdentity(kind=IdentityKind.phone, value="+27821234567"),
        )
    )
    await app[keys.BUS].drain()
    worker = Worker(app[keys.JOBS], {JOB: app[keys.JOB_HANDLERS][JOB]})
    while await worker.run_once():
        pass
    today = (await store.conversations.find_one({}))["created_at"].date().isoformat()
    bucket = await store["report_buckets"].find_one({"_id": today})
    assert bucket is not None and bucket["n"] == 1 and sum(g["n"] for g in decode(bucket)) == 1


async def test_cli_process_rebuilds_and_prints_a_json_summary(
    mongodb_url: str, db_name: str, store: Any
) -> None:
    await seed(store, "A1", "A2")
    env = {**os.environ, "BERRY_MONGODB_URL": mongodb_url, "BERRY_MONGODB_DB": db_name}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub.reports", "rebuild", "--from", "2026-10-26", "--to", "2026-11-09",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["written"] == 7 and summary["verified"] is True
    assert "rebuild" in err.decode()  # the tqdm bar
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub.reports", "rebuild", "--from", "2026-11-09", "--to", "2026-11-01",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode != 0 and b"before" in err
