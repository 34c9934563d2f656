"""Views: pre-merged groups packed for storage — exact round trip and exact merge (medians of a
merged range equal those of the raw values), and next-response waits worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from hub.reports import figures, views
from hub.reports.stats import group_conversations, reply_gaps

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def msg(minutes: float, direction: str, author: str, private: bool = False) -> dict[str, Any]:
    return {"created_at": at(minutes), "direction": direction, "author_type": author, "private": private}


def test_reply_gaps_hand_worked() -> None:
    messages = [
        msg(0, "in", "customer"),     # first response wait: not a next response
        msg(3, "in", "customer"),
        msg(10, "out", "agent"),      # first response
        msg(20, "in", "customer"),    # waits from 20 …
        msg(25, "out", "bot"),        # … a bot answer doesn't count …
        msg(26, "out", "agent", private=True),  # … nor a private note …
        msg(30, "in", "customer"),    # … still waiting since 20
        msg(50, "out", "agent"),      # next response 1: 30 min
        msg(55, "out", "agent"),      # no one waiting
        msg(60, "in", "customer"),
        msg(65, "out", "agent"),      # next response 2: 5 min
        msg(90, "in", "customer"),    # unanswered: not counted yet
    ]
    shuffled = messages[::2] + messages[1::2]  # order of reading doesn't matter
    assert reply_gaps(shuffled) == [(at(20), at(50)), (at(60), at(65))]
    assert reply_gaps([msg(0, "in", "customer")]) == [] and reply_gaps([]) == []
    # an agent-initiated conversation: the customer's first message already waits for a next response
    assert reply_gaps([msg(0, "out", "agent"), msg(5, "in", "customer"), msg(7, "out", "agent")]) == [(at(5), at(7))]


def _conv(i: int, hour: int, agent: str, frt_min: float, contact: str) -> dict[str, Any]:
    created = T0 + timedelta(days=i % 3, hours=hour)
    return {"_id": f"c{i}", "created_at": created, "channel": "sms", "status": "resolved", "priority": "normal",
            "assignee_id": agent, "team_id": "T1", "contact_id": contact,
            "first_response_at": created + timedelta(minutes=frt_min),
            "resolved_at": created + timedelta(hours=2, seconds=i * 0.001), "_gaps": [(created, created + timedelta(minutes=i))]}


def test_merged_views_equal_one_view_of_everything_and_pack_round_trips() -> None:
    convs = [_conv(i, i % 5, f"A{i % 3}", i * 1.7, f"k{i % 7}") for i in range(60)]
    contacts = {f"k{i}": (f"k{i}", "provider" if i == 3 else "consumer") for i in range(7)}
    groups = group_conversations(convs, contacts, lambda c, a, b: (b - a).total_seconds() / 3)
    whole = views.view_of(groups)
    per_group = [views.unpack(views.pack(views.view_of([g]))) for g in groups]
    merged = views.merge(per_group)
    for key in ("frt", "frt_bh", "res", "res_bh", "nrt", "nrt_bh"):
        assert np.array_equal(whole[key], merged[key]), key
        assert list(merged[key]) == sorted(merged[key])
    assert figures.kpis(whole) == figures.kpis(merged)
    assert figures.agents(whole, {}) == figures.agents(merged, {})
    assert figures.contacts(merged) == {"consumer": {"conversations": 51, "contacts": 6, "resolved": 51,
                                                      "csat_average": None},
                                        "provider": {"conversations": 9, "contacts": 1, "resolved": 9,
                                                     "csat_average": None}}
    assert merged["n"] == 60 and sum(merged["hours"].values()) == 60
    assert len(merged["res"]) == 60 and merged["res"][1] == 7200.001  # milliseconds survive packing exactly
    # next response 0..59 min → median of 60 values = mean of the 30th and 31st: 29.5 min
    assert figures.response_times(merged)["next_response"]["calendar"] == {"n": 60, "median_h": 0.49, "p90_h": 0.88}


def test_empty_view_has_every_figure() -> None:
    empty = views.merge([])
    assert figures.kpis(empty)["conversations"] == 0 and figures.kpis(empty)["first_response_median_h"] is None
    assert views.unpack(views.pack(empty))["n"] == 0
