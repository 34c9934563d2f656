"""CSAT on real FerretDB: one survey per resolve on the ticket's own channel (even with racing
workers or a re-run job), answers parsed and stored without reopening, repeated and late answers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from hub.jobs import Worker
from hub.models import AuthorType, Channel, Direction, Status
from hub.outbox import JOB_KIND as OUTBOX_JOB
from hub.ticketing.context import SYSTEM
from hub.ticketing.csat import SEND_JOB, STALE_CLAIM, SURVEY_TEXT, CsatSendInFlight
from hub.ticketing.events import CsatReceived

from .conftest import Hub


async def resolved_ticket(hub: Hub, channel: Channel = Channel.whatsapp) -> str:
    cid = (await hub.inbound("my photographer is late", channel=channel)).conversation.id
    await hub.conversations.reply(cid, SYSTEM, "Sorted, they are on their way")
    await hub.conversations.update(cid, {"status": "resolved"}, SYSTEM)
    return cid


async def surveys(hub: Hub, cid: str) -> list:
    return [m for m in await hub.conversations.messages(cid) if m.meta.get("csat_survey")]


async def test_one_survey_per_resolve_even_with_racing_workers(hub: Hub) -> None:
    cid = await resolved_ticket(hub)
    jobs = [j async for j in hub.store["jobs"].find({"kind": SEND_JOB})]
    assert len(jobs) == 1 and jobs[0]["payload"]["conversation_id"] == cid
    workers = [Worker(hub.jobs, {SEND_JOB: hub.t.csat.send}) for _ in range(3)]
    await asyncio.gather(*(w.run_once() for w in workers))
    assert not await hub.t.csat.send(jobs[0]["payload"])  # the job re-run after a crash: no second survey
    sent = await surveys(hub, cid)
    assert len(sent) == 1
    survey = sent[0]
    assert survey.direction == Direction.outbound and survey.channel == Channel.whatsapp
    assert survey.author_type == AuthorType.system and not survey.private
    assert (await hub.get(cid)).csat["state"] == "sent"


async def test_a_worker_dying_mid_send_loses_no_survey_and_sends_none_twice(hub: Hub) -> None:
    hub.t.csat.enabled = True
    # 1. Died right after claiming: a fresh claim makes the re-run wait (job retried with back-off)…
    cid = await resolved_ticket(hub)
    job = await hub.store["jobs"].find_one({"kind": SEND_JOB, "payload.conversation_id": cid})
    key = f"{cid}:{job['payload']['resolved_at']}"
    assert await hub.store.claim("csat_sends", key, {"at": hub.clock.now()})
    with pytest.raises(CsatSendInFlight):
        await hub.t.csat.send(job["payload"])
    assert await surveys(hub, cid) == []
    # …and once the claim is older than any lease, the next run takes over and sends it, once.
    hub.clock.set(hub.clock.now() + STALE_CLAIM + timedelta(seconds=1))
    assert await hub.t.csat.send(job["payload"])
    assert len(await surveys(hub, cid)) == 1 and (await hub.get(cid)).csat["state"] == "sent"
    assert not await hub.t.csat.send(job["payload"])
    assert len(await surveys(hub, cid)) == 1

    # 2. Died after the survey was stored but before it was recorded or handed to the outbox.
    other = await resolved_ticket(hub, channel=Channel.sms)
    job = await hub.store["jobs"].find_one({"kind": SEND_JOB, "payload.conversation_id": other})
    key = f"{other}:{job['payload']['resolved_at']}"
    assert await hub.store.claim("csat_sends", key, {"at": hub.clock.now()})
    stored = await hub.conversations.reply(
        other,
        SYSTEM,
        SURVEY_TEXT,
        author_type=AuthorType.system,
        meta={"csat_survey": True, "idempotency_key": f"csat:{key}"},
    )
    await hub.store["jobs"].delete_many({"kind": OUTBOX_JOB, "payload.message_id": stored.id})
    hub.clock.set(hub.clock.now() + STALE_CLAIM + timedelta(seconds=1))
    assert not await hub.t.csat.send(job["payload"])  # found, not sent again
    assert [m.id for m in await surveys(hub, other)] == [stored.id]
    assert (await hub.get(other)).csat["survey_message_id"] == stored.id
    assert await hub.store["jobs"].find_one({"_id": f"outbox:{stored.id}:1"})  # delivery queued again


async def test_answer_is_stored_without_reopening_and_repeats_replace(hub: Hub) -> None:
    cid = await resolved_ticket(hub)
    job = await hub.store["jobs"].find_one({"kind": SEND_JOB})
    await hub.t.csat.send(job["payload"])
    with hub.bus.capture() as events:
        answer = await hub.inbound("5 ⭐", channel=Channel.whatsapp)
    assert answer.conversation.id == cid
    conversation = await hub.get(cid)
    assert conversation.status == Status.resolved and conversation.csat["score"] == 5
    assert [e.score for e in events if isinstance(e, CsatReceived)] == [5]
    with hub.bus.capture() as events:
        await hub.inbound("😡", channel=Channel.whatsapp)
    conversation = await hub.get(cid)
    assert conversation.csat["score"] == 1 and len(conversation.csat["answers"]) == 2
    assert [(e.score, e.repeated) for e in events if isinstance(e, CsatReceived)] == [(1, True)]
    # A real message (not an answer) within the reopen window reopens the ticket.
    await hub.inbound("the photographer never arrived actually", channel=Channel.whatsapp)
    assert (await hub.get(cid)).status == Status.open


async def test_late_answer_is_kept_but_not_scored(hub: Hub) -> None:
    cid = await resolved_ticket(hub)
    await hub.t.csat.send((await hub.store["jobs"].find_one({"kind": SEND_JOB}))["payload"])
    hub.t.csat.window = hub.t.thread_policy.csat_window = timedelta(hours=1)
    hub.clock.set(hub.clock.now() + timedelta(hours=2))  # after the survey window, within the reopen window
    again = await hub.inbound("3", channel=Channel.whatsapp)
    assert again.conversation.id == cid
    conversation = await hub.get(cid)
    assert conversation.status == Status.resolved and conversation.csat["score"] is None
    assert [a["score"] for a in conversation.csat["late_answers"]] == [3]
    hub.clock.set(hub.clock.now() + timedelta(hours=80))  # past both windows: a new conversation
    late = await hub.inbound("4", channel=Channel.whatsapp)
    assert late.conversation.id != cid
    assert (await hub.get(cid)).status == Status.resolved


async def test_reopened_before_the_survey_left_sends_nothing(hub: Hub) -> None:
    cid = await resolved_ticket(hub)
    await hub.conversations.update(cid, {"status": "open"}, SYSTEM)
    assert not await hub.t.csat.send((await hub.store["jobs"].find_one({"kind": SEND_JOB}))["payload"])
    assert await surveys(hub, cid) == []


async def test_worker_killed_after_sending_the_job_reruns_once_without_a_second_survey(hub: Hub) -> None:
    cid = await resolved_ticket(hub)
    job = await hub.jobs.lease("worker-that-dies", [SEND_JOB])
    assert job is not None
    await hub.t.csat.send(job["payload"])  # the survey left, then the process was killed: no complete()
    await hub.store["jobs"].update_one({"_id": job["_id"]}, {"$set": {"lease_until": job["created_at"]}})
    await hub.store["job_queue"].update_one({"_id": job["_id"]}, {"$set": {"next_at": job["created_at"]}})
    survivors = [Worker(hub.jobs, {SEND_JOB: hub.t.csat.send}) for _ in range(2)]
    ran = await asyncio.gather(*(w.run_once() for w in survivors))
    assert sorted(ran) == [False, True]  # the expired job is taken over by exactly one worker
    assert (await hub.store["jobs"].find_one({"_id": job["_id"]}))["state"] == "done"
    assert len(await surveys(hub, cid)) == 1


async def surveyed(hub: Hub) -> str:
    cid = await resolved_ticket(hub)
    await hub.t.csat.send((await hub.store["jobs"].find_one({"kind": SEND_JOB}))["payload"])
    return cid


async def test_a_remark_before_the_score_keeps_both_and_does_not_reopen(hub: Hub) -> None:
    cid = await surveyed(hub)
    remark = await hub.inbound("the DJ was late but ok", channel=Channel.whatsapp)
    assert remark.conversation.id == cid
    conversation = await hub.get(cid)
    assert conversation.status == Status.resolved
    assert conversation.csat["comment"] == "the DJ was late but ok"
    assert conversation.csat["comments"][0]["message_id"] == remark.message.id
    with hub.bus.capture() as events:
        await hub.inbound("5", channel=Channel.whatsapp)
    conversation = await hub.get(cid)
    assert conversation.status == Status.resolved and conversation.csat["score"] == 5
    assert conversation.csat["comment"] == "the DJ was late but ok"
    assert [e.score for e in events if isinstance(e, CsatReceived)] == [5]


@pytest.mark.parametrize(("messages", "score", "comment"), [
    (["4", "Thanks, the venue team was very helpful 👍"], 4, "Thanks, the venue team was very helpful 👍"),
    (["4 - the DJ was late but ok"], 4, "the DJ was late but ok"),  # both in one message
])
async def test_a_remark_after_or_with_the_score_is_kept_with_it(
        hub: Hub, messages: list[str], score: int, comment: str) -> None:
    cid = await surveyed(hub)
    for text in messages:
        await hub.inbound(text, channel=Channel.whatsapp)
    conversation = await hub.get(cid)
    assert conversation.status == Status.resolved and conversation.csat["score"] == score
    assert conversation.csat["comment"] == comment


async def test_a_question_reopens_and_a_later_score_still_counts(hub: Hub) -> None:
    cid = await surveyed(hub)
    question = await hub.inbound("great, can you send me the invoice?", channel=Channel.whatsapp)
    assert question.conversation.id == cid
    conversation = await hub.get(cid)
    assert conversation.status == Status.open and not conversation.csat.get("comment")
    await hub.inbound("5", channel=Channel.whatsapp)
    conversation = await hub.get(cid)
    assert conversation.csat["score"] == 5 and conversation.csat["state"] == "answered"


async def test_a_number_after_someone_wrote_on_the_reopened_ticket_is_not_a_score(hub: Hub) -> None:
    cid = await surveyed(hub)
    await hub.inbound("how many guests can the hall take?", channel=Channel.whatsapp)
    await hub.conversations.reply(cid, SYSTEM, "Which of your 4 bookings do you mean?")
    await hub.inbound("3", channel=Channel.whatsapp)
    assert (await hub.get(cid)).csat["score"] is None


async def test_no_survey_when_only_machines_wrote(hub: Hub) -> None:
    """A newsletter or out-of-office ticket an agent resolves: the survey would go to no-reply@."""
    cid = (await hub.inbound("Our spring newsletter", sender="no-reply@shop.example", channel=Channel.email,
                             meta={"no_auto_reply": True, "bulk": True})).conversation.id
    await hub.conversations.update(cid, {"status": "open"}, SYSTEM)  # opened closed; an agent looks
    await hub.conversations.update(cid, {"status": "resolved"}, SYSTEM)
    assert await hub.store["jobs"].find_one({"kind": SEND_JOB, "payload.conversation_id": cid}) is None
    person = await resolved_ticket(hub)  # a person wrote: surveyed as before
    assert await hub.store["jobs"].find_one({"kind": SEND_JOB, "payload.conversation_id": person})
