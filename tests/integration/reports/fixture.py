"""A small week of tickets whose figures are worked out by hand in the tests (see EXPECTED).

Week of Mon 2026-11-02 .. Sun 2026-11-08 (UTC); business hours Mon–Fri 08:00–17:00 UTC (the
default SLA policy's calendar).

    conv contact         channel  agent team prio   created         first resp status / resolved
    c1   alice           whatsapp A1    T1   normal Mon 09:00       09:30      resolved Mon 11:00, CSAT 5
    c2   alice-dup→alice sms      A1    T1   high   Mon 16:00       Tue 09:00  resolved Tue 16:00, CSAT 2
    c3   dj (provider)   email    A2    T2   normal Tue 10:00       10:30      REOPENED: open, stale
                                                                               resolved_at, surveyed, no
                                                                               answer
    c4   dj (provider)   webchat  A2    T2   urgent Wed 14:00       15:00      reopened + resolved again:
                                                                               closed Thu 14:00, CSAT 4
    c5   carol           webchat  -     T1   normal Sat 20:00       -          bot answered, resolved Sat
                                                                               20:10 (deflected)
    c6   carol           webchat  A1    T1   normal Sun 10:00       10:20      bot handed off
                                                                               (explicit_request), open
    c7   carol           webchat  A1    T1   normal Sun 11:00       -          merged into c6 (left out)
    c8   carol           sms      A1    T1   normal Mon 11-09 00:00 -          pending (next week)
    c9   alice           whatsapp A1    T1   normal Wed 10-28 12:00 13:00      resolved 14:00 (previous week)

Messages (next response = a customer's first unanswered message → the next public agent reply,
after the first response):
    c1: in 09:00, agent 09:30 (first response), in 10:00, agent 10:30 (0.5 h), in 10:40, bot 10:41,
        private note 10:42, in 10:45, agent 11:10 (0.5 h, from 10:40)
    c4: in Wed 14:00, agent 15:00 (first), in 16:30, agent Thu 09:00 (16.5 h; business 0.5 + 1 = 1.5 h)
    c6: in Sun 10:00, agent 10:20 (first), in 10:30 — not answered: not counted
Presence (agent.presence changes):
    A1: online Mon 08:00, away 12:00, online 13:00, offline 17:00 → 8 h online in the week
    A2: online Sun 11-01 22:00 (before the week), offline Mon 02:00; online Sun 23:00 → end of week:
        2 h + 1 h = 3 h
    A3: online Tue 09:00, offline 10:00 → 1 h, handled nothing
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.models import AuthorType, Channel, Contact, ContactType, Conversation, Direction, Message, new_id
from hub.store import Store
from hub.ticketing.business_hours import BusinessHours

WEEK = {"start": "2026-11-02", "end": "2026-11-08"}


def t(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# Stored the way hub.ticketing stores a calendar (its own to_doc), so a format change there shows here.
HOURS = BusinessHours(id="bh-office", name="Office", timezone="UTC", created_at=t(1, 0),
                      week={d: [("08:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}).to_doc()
POLICY = {"_id": "sla-default", "name": "Default", "business_hours_id": "bh-office", "default": True,
          "targets": {"normal": {"first_response": 60}}, "warn_before_pct": 20, "escalation": {},
          "created_at": t(1, 0)}


def _sla(**metrics: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, state in metrics.items():
        out[name] = {"breached": state == "breached", "met_at": t(2, 0) if state == "met" else None}
    return {"policy_id": "sla-default", "paused_at": None, "metrics": out}


async def seed(store: Store, a1: str, a2: str) -> dict[str, str]:
    ids = {k: new_id() for k in ("alice", "alice_dup", "dj", "carol")}
    contacts = [
        Contact(id=ids["alice"], name="Alice"),
        Contact(id=ids["alice_dup"], name="Alice (dup)", merged_into=ids["alice"]),
        Contact(id=ids["dj"], name="DJ Bob", type=ContactType.provider),
        Contact(id=ids["carol"], name="Carol"),
    ]
    await store.contacts.insert_many([c.to_doc() for c in contacts])
    await store["business_hours"].insert_one(HOURS)
    await store["sla_policies"].insert_one(POLICY)
    surveyed = {"state": "sent", "sent_at": t(2, 12), "score": None}
    rows: list[dict[str, Any]] = [
        dict(
            key="c1",
            contact=ids["alice"],
            channel="whatsapp",
            assignee_id=a1,
            team_id="T1",
            created_at=t(2, 9),
            first_response_at=t(2, 9, 30),
            status="resolved",
            resolved_at=t(2, 11),
            csat={**surveyed, "state": "answered", "score": 5},
            sla=_sla(first_response="met", resolution="met"),
        ),
        dict(
            key="c2",
            contact=ids["alice_dup"],
            channel="sms",
            assignee_id=a1,
            team_id="T1",
            priority="high",
            created_at=t(2, 16),
            first_response_at=t(3, 9),
            status="resolved",
            resolved_at=t(3, 16),
            csat={**surveyed, "state": "answered", "score": 2},
            sla=_sla(first_response="breached", resolution="met"),
        ),
        dict(
            key="c3",
            contact=ids["dj"],
            channel="email",
            assignee_id=a2,
            team_id="T2",
            created_at=t(3, 10),
            first_response_at=t(3, 10, 30),
            status="open",
            resolved_at=t(3, 12),
            csat=surveyed,
            sla=_sla(first_response="met"),
        ),
        dict(
            key="c4",
            contact=ids["dj"],
            channel="webchat",
            assignee_id=a2,
            team_id="T2",
            priority="urgent",
            created_at=t(4, 14),
            first_response_at=t(4, 15),
            status="closed",
            resolved_at=t(5, 14),
            csat={**surveyed, "state": "answered", "score": 4},
            sla=_sla(first_response="met", resolution="breached"),
        ),
        dict(
            key="c5",
            contact=ids["carol"],
            channel="webchat",
            team_id="T1",
            created_at=t(7, 20),
            status="resolved",
            resolved_at=t(7, 20, 10),
            bot={"active": True, "turns": 1, "intents": [{"intent": "faq"}]},
        ),
        dict(
            key="c6",
            contact=ids["carol"],
            channel="webchat",
            assignee_id=a1,
            team_id="T1",
            created_at=t(8, 10),
            first_response_at=t(8, 10, 20),
            status="open",
            bot={"active": False, "handoff": {"reason": "explicit_request", "at": t(8, 10, 5).isoformat()}},
        ),
        dict(
            key="c7",
            contact=ids["carol"],
            channel="webchat",
            assignee_id=a1,
            team_id="T1",
            created_at=t(8, 11),
            status="closed",
            merged_into="c6",
        ),
        dict(
            key="c8",
            contact=ids["carol"],
            channel="sms",
            assignee_id=a1,
            team_id="T1",
            created_at=t(9, 0),
            status="pending",
        ),
        dict(
            key="c9",
            contact=ids["alice"],
            channel="whatsapp",
            assignee_id=a1,
            team_id="T1",
            created_at=t(28, 12, month=10),
            first_response_at=t(28, 13, month=10),
            status="resolved",
            resolved_at=t(28, 14, month=10),
        ),
    ]
    conv_ids: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        key = row.pop("key")
        contact = row.pop("contact")
        conv = Conversation(number=9000 + number, contact_id=contact, thread_key=f"{key}-thread", **row)
        conv_ids[key] = conv.id
        doc = conv.to_doc()
        if doc["merged_into"] == "c6":
            doc["merged_into"] = conv_ids["c6"]
        await store.conversations.insert_one(doc)
    talk = {
        "c1": [
            (2, 9, 0, "in"),
            (2, 9, 30, "agent"),
            (2, 10, 0, "in"),
            (2, 10, 30, "agent"),
            (2, 10, 40, "in"),
            (2, 10, 41, "bot"),
            (2, 10, 42, "note"),
            (2, 10, 45, "in"),
            (2, 11, 10, "agent"),
        ],
        "c4": [(4, 14, 0, "in"), (4, 15, 0, "agent"), (4, 16, 30, "in"), (5, 9, 0, "agent")],
        "c6": [(8, 10, 0, "in"), (8, 10, 20, "agent"), (8, 10, 30, "in")],
    }
    messages = []
    for key, turns in talk.items():
        for day, hour, minute, who in turns:
            messages.append(
                Message(
                    conversation_id=conv_ids[key],
                    contact_id="x",
                    channel=Channel.webchat,
                    direction=Direction.inbound if who == "in" else Direction.outbound,
                    author_type=AuthorType.customer
                    if who == "in"
                    else AuthorType.bot
                    if who == "bot"
                    else AuthorType.agent,
                    private=who == "note",
                    text=who,
                    created_at=t(day, hour, minute),
                ).to_doc()
            )
    await store.messages.insert_many(messages)
    presence = [
        (a1, "online", t(2, 8)),
        (a1, "away", t(2, 12)),
        (a1, "online", t(2, 13)),
        (a1, "offline", t(2, 17)),
        (a2, "online", t(1, 22)),
        (a2, "offline", t(2, 2)),
        (a2, "online", t(8, 23)),
        ("A3", "online", t(3, 9)),
        ("A3", "offline", t(3, 10)),
    ]
    await store["presence_history"].insert_many(
        [
            {
                "_id": f"{u}:{int(at.timestamp() * 1000)}:{st}",
                "user_id": u,
                "status": st,
                "previous": "",
                "at": at,
            }
            for u, st, at in presence
        ]
    )
    searches = [("refund", 3, t(3, 8)), ("dj cancel", 0, t(3, 9)), ("dj cancel", 0, t(4, 9)),
                ("=cmd|' /C calc'!A0", 0, t(5, 9)), ("venue", 2, t(20, 9))]
    await store["search_queries"].insert_many(
        [
            {"_id": new_id(), "query": q, "results": n, "at": at, "locale": "en", "source": "helpcenter"}
            for q, n, at in searches
        ]
    )
    await store["article_feedback"].insert_many([
        {"_id": "a1:v1", "article_id": "a1", "visitor": "v1", "helpful": True, "at": t(3, 9)},
        {"_id": "a1:v2", "article_id": "a1", "visitor": "v2", "helpful": False, "at": t(4, 9)},
        {"_id": "a1:v3", "article_id": "a1", "visitor": "v3", "helpful": True, "at": t(4, 10)}])
    return {**ids, **conv_ids}


# Worked out by hand from the table above (hours; medians of even counts are the mean of the middle two;
# p90 is nearest-rank ⌈0.9·n⌉).
EXPECTED: dict[str, Any] = {
    "conversations": 6,  # c1–c6 (c7 merged, c8 next week, c9 previous week)
    "by_channel": {"webchat": 3, "whatsapp": 1, "sms": 1, "email": 1},
    "by_day": {
        "2026-11-02": 2,
        "2026-11-03": 1,
        "2026-11-04": 1,
        "2026-11-05": 0,
        "2026-11-06": 0,
        "2026-11-07": 1,
        "2026-11-08": 1,
    },
    "heat": {(0, 9): 1, (0, 16): 1, (1, 10): 1, (2, 14): 1, (5, 20): 1, (6, 10): 1},
    # first response, calendar: c1 .5, c2 17, c3 .5, c4 1, c6 1/3 → [.33 .5 .5 1 17]
    "frt": {"n": 5, "median_h": 0.5, "p90_h": 17.0},
    # business: c1 .5, c2 Mon16-17 + Tue08-09 = 2, c3 .5, c4 1, c6 Sunday 0 → [0 .5 .5 1 2]
    "frt_bh": {"n": 5, "median_h": 0.5, "p90_h": 2.0},
    # resolution (resolved/closed only; c3 reopened is out): c1 2, c2 24, c4 24, c5 1/6 → [.17 2 24 24]
    "res": {"n": 4, "median_h": 13.0, "p90_h": 24.0},
    # next response: c1 .5, .5; c4 16.5 → median .5, p90 (3rd of 3) 16.5; business c1 .5 .5, c4 1.5
    "nrt": {"n": 3, "median_h": 0.5, "p90_h": 16.5},
    "nrt_bh": {"n": 3, "median_h": 0.5, "p90_h": 1.5},
    # business: c1 2, c2 1+8 = 9, c4 Wed14-17 + Thu08-14 = 9, c5 Saturday 0 → [0 2 9 9]
    "res_bh": {"n": 4, "median_h": 5.5, "p90_h": 9.0},
    "resolved": 4,
    "csat": {
        "average": 3.67,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
        "responses": 3,
        "surveyed": 4,
        "response_rate": 0.75,
        "satisfied_share": 0.6667,
    },
    "bot": {
        "engaged": 2,
        "deflected": 1,
        "handed_off": 1,
        "deflection_rate": 0.5,
        "handoff_reasons": [{"reason": "explicit_request", "count": 1}],
    },
    "sla_overall": {
        "first_response": {"met": 3, "breached": 1, "compliance": 0.75},
        "resolution": {"met": 2, "breached": 1, "compliance": 0.6667},
    },
    # A1: c1, c2, c6 — FRT [1/3, .5, 17] median .5; resolved c1, c2 → [2, 24] median 13; CSAT (5+2)/2
    # A2: c3, c4 — FRT [.5, 1] median .75; resolved c4 → 24; CSAT 4
    # next response: A1 (c1) .5 .5 → .5; A2 (c4) 16.5.  Online: see the presence table above.
    "agents": {
        "A1": {
            "handled": 3,
            "resolved": 2,
            "first_response_median_h": 0.5,
            "first_response_p90_h": 17.0,
            "next_response_median_h": 0.5,
            "resolution_median_h": 13.0,
            "csat_average": 3.5,
            "csat_responses": 2,
            "online_h": 8.0,
        },
        "A2": {
            "handled": 2,
            "resolved": 1,
            "first_response_median_h": 0.75,
            "first_response_p90_h": 1.0,
            "next_response_median_h": 16.5,
            "resolution_median_h": 24.0,
            "csat_average": 4.0,
            "csat_responses": 1,
            "online_h": 3.0,
        },
        "A3": {
            "handled": 0,
            "resolved": 0,
            "first_response_median_h": None,
            "next_response_median_h": None,
            "online_h": 1.0,
        },
        None: {
            "handled": 1,
            "resolved": 1,
            "first_response_median_h": None,
            "first_response_p90_h": None,
            "next_response_median_h": None,
            "resolution_median_h": 0.17,
            "csat_average": None,
            "csat_responses": 0,
            "online_h": None,
        },
    },
    # alice and alice-dup are one consumer; carol the other; DJ Bob the one provider
    "contacts": {
        "consumer": {"conversations": 4, "contacts": 2, "resolved": 3, "csat_average": 3.5},
        "provider": {"conversations": 2, "contacts": 1, "resolved": 1, "csat_average": 4.0},
    },
    # KB in the week: refund(3), dj cancel(0) ×2, =cmd(0) → 1 of 4 found something
    "kb": {
        "searches": 4,
        "with_results": 1,
        "success_rate": 0.25,
        "no_result_queries": [
            {"query": "dj cancel", "count": 2},
            {"query": "=cmd|' /C calc'!A0", "count": 1},
        ],
        "article_feedback": {"helpful": 2, "not_helpful": 1, "helpful_rate": 0.6667},
    },
    # previous week: c9 only (FRT 1 h, resolution 2 h)
    "previous": {
        "conversations": 1,
        "resolved": 1,
        "first_response_median_h": 1.0,
        "resolution_median_h": 2.0,
    },
}
