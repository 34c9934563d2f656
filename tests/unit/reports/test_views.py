"""Views: pre-merged groups packed for storage — exact round trip and exact merge (medians of a
merged range equal those of the raw values), and next-response waits worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from hub.reports import figures, views
from hub.reports.stats import group_conversations, median, p90, reply_gaps

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
    assert reply_gaps([msg(0, "out", "agent"), msg(5, "in", "customer"), msg(7, "out", "agent")]) == [
        (at(5), at(7))
    ]


def test_an_automatic_message_starts_no_wait() -> None:
    """An out-of-office or an SMS keyword (``meta.no_auto_reply``) after an answer is nobody waiting; a
    person writing afterwards is, from their own message."""
    auto = {**msg(20, "in", "customer"), "meta": {"no_auto_reply": True}}
    answered = [msg(0, "in", "customer"), msg(10, "out", "agent")]
    assert reply_gaps([*answered, auto, msg(30, "out", "agent")]) == []
    person = [msg(40, "in", "customer"), msg(50, "out", "agent")]
    assert reply_gaps([*answered, auto, *person]) == [(at(40), at(50))]


def _conv(i: int, hour: int, agent: str, frt_min: float, contact: str) -> dict[str, Any]:
    created = T0 + timedelta(days=i % 3, hours=hour)
    return {
        "_id": f"c{i}",
        "created_at": created,
        "channel": "sms",
        "status": "resolved",
        "priority": "normal",
        "assignee_id": agent,
        "team_id": "T1",
        "contact_id": contact,
        "first_response_at": created + timedelta(minutes=frt_min),
        "resolved_at": created + timedelta(hours=2, seconds=i * 0.001),
        "_gaps": [(created, created + timedelta(minutes=i))],
    }


def test_merged_views_equal_one_view_of_everything_and_pack_round_trips() -> None:
    convs = [_conv(i, i % 5, f"A{i % 3}", i * 1.7, f"k{i % 7}") for i in range(60)]
    contacts = {f"k{i}": (f"k{i}", "provider" if i == 3 else "consumer") for i in range(7)}
    groups = group_conversations(convs, contacts, lambda c, a, b: (b - a).total_seconds() / 3)
    whole = views.view_of(groups)
    per_group = [views.unpack(views.pack(views.view_of([g]))) for g in groups]
    merged = views.merge(per_group)
    for key in ("frt", "frt_bh", "res", "res_bh", "nrt", "nrt_bh"):
        assert list(whole[key]) == list(merged[key]), key
        assert list(merged[key]) == sorted(merged[key])
    assert figures.kpis(whole) == figures.kpis(merged)
    assert figures.agents(whole, {}) == figures.agents(merged, {})
    assert figures.contacts(merged) == {"consumer": {"conversations": 51, "contacts": 6, "resolved": 51,
                                                      "csat_average": None},
                                        "provider": {"conversations": 9, "contacts": 1, "resolved": 9,
                                                     "csat_average": None}}
    assert merged["n"] == 60 and sum(merged["slots"].values()) == 60
    assert len(merged["res"]) == 60 and merged["res"][1] == 7200.001  # milliseconds survive packing exactly
    # next response 0..59 min → median of 60 values = mean of the 30th and 31st: 29.5 min
    assert figures.response_times(merged)["next_response"]["calendar"] == {
        "n": 60,
        "median_h": 0.49,
        "p90_h": 0.88,
    }


def test_empty_view_has_every_figure() -> None:
    empty = views.merge([])
    assert (
        figures.kpis(empty)["conversations"] == 0 and figures.kpis(empty)["first_response_median_h"] is None
    )
    assert views.unpack(views.pack(empty))["n"] == 0


def test_large_distributions_become_bounded_histograms_the_same_whichever_way_they_are_merged() -> None:
    rng = np.random.default_rng(8)
    values = [round(float(v), 3) for v in rng.lognormal(8, 1.5, 5000)] + [0.0] * 300
    exact = sorted(values)
    parts = [views.Dist.of(values[i:i + 40]) for i in range(0, len(values), 40)]  # each part exact
    one = views.Dist.merged(parts)
    tree = views.Dist.merged([views.Dist.merged(parts[:50]), views.Dist.merged(parts[50:90]), *parts[90:]])
    assert one.exact is None and len(one) == len(values)
    assert list(one.idx) == list(tree.idx) and list(one.counts) == list(tree.counts)
    assert one.idx.size < 1000  # bounded by the bucket count, whatever the number of values
    for ours, truth in ((median(one), median(exact)), (p90(one), p90(exact))):
        assert abs(ours - truth) <= 0.011 * truth
    packed = views.unpack(views.pack({"x": one}))["x"]
    assert [packed[k] for k in (0, 299, 300, 5299)] == [one[k] for k in (0, 299, 300, 5299)]
    assert one[0] == 0.0 and one[299] == 0.0


def test_distinct_contacts_exact_then_sketched() -> None:
    small = views.Distinct.merged([views.Distinct.of(["a", "b"]), views.Distinct.of(["b", "c"])])
    assert len(small) == 3 and small.registers is None
    ids = [f"contact-{i}" for i in range(20_000)]
    parts = [views.Distinct.of(ids[i:i + 200]) for i in range(0, 20_000, 200)]
    parts += [views.Distinct.of(ids[:5000:7])]  # repeats count once
    big = views.Distinct.merged(parts)
    again = views.Distinct.merged([views.Distinct.merged(parts[:30]), views.Distinct.merged(parts[30:])])
    assert list(big.registers) == list(again.registers)
    assert abs(len(big) - 20_000) < 0.06 * 20_000
    assert len(views.unpack(views.pack({"c": big}))["c"]) == len(big)


def test_cover_tiles_a_range_with_few_aligned_blocks() -> None:
    from datetime import date

    from hub.reports.rollup import EPOCH, cover

    for first, last in ((date(2026, 10, 27), date(2026, 11, 25)), (date(2026, 1, 1), date(2026, 1, 1)),
                        (date(2025, 1, 1), date(2026, 12, 31))):
        blocks = cover(first, last)
        covered = [d for level, i in blocks for d in range(i << level, (i + 1) << level)]
        assert covered == list(range((first - EPOCH).days, (last - EPOCH).days + 1))
    assert len(cover(date(2026, 10, 27), date(2026, 11, 25))) <= 8  # 30 days
