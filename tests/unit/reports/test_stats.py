from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.reports.figures import trend
from hub.reports.stats import group_conversations, median, merge, p90


def test_median_and_nearest_rank_p90() -> None:
    assert median([]) is None and p90([]) is None
    assert median([5.0]) == 5.0 and p90([5.0]) == 5.0
    assert median([1.0, 2.0, 10.0, 20.0]) == 6.0
    values = [float(v) for v in range(1, 11)]  # ⌈0.9·10⌉ = 9th
    assert p90(values) == 9.0
    assert p90([float(v) for v in range(1, 12)]) == 10.0  # ⌈9.9⌉ = 10th


def _conv(hour: int, **kw: object) -> dict:
    return {"created_at": datetime(2026, 1, 5, hour, 15, tzinfo=UTC), "channel": "sms", "status": "open",
            "contact_id": "c", **kw}


def test_groups_split_by_hour_and_dims_and_merge_back_exactly() -> None:
    convs = [_conv(9, first_response_at=datetime(2026, 1, 5, 10, 15, tzinfo=UTC)),
             _conv(9, assignee_id="a"), _conv(10, channel="email"), _conv(10, merged_into="x")]
    groups = group_conversations(convs, {"c": ("c", "provider")}, lambda c, a, b: (b - a).total_seconds() / 2)
    assert [(g["hour"].hour, g["agent_id"], g["channel"], g["n"]) for g in groups] == [
        (9, None, "sms", 1), (9, "a", "sms", 1), (10, None, "email", 1)]
    total = merge(groups)
    assert total["n"] == 3 and total["frt"] == [3600.0] and total["frt_bh"] == [1800.0]
    assert total["contacts"] == {"c"} and groups[0]["contact_type"] == "provider"


def test_resolution_only_for_resolved_or_closed_and_bot_deflection() -> None:
    created = datetime(2026, 1, 5, 9, tzinfo=UTC)
    convs = [
        # reopened: stale resolved_at
        _conv(9, status="open", resolved_at=created + timedelta(hours=1)),
        _conv(9, status="closed", resolved_at=created + timedelta(hours=3, minutes=-15)),
        _conv(9, bot={"active": True, "turns": 1}),                               # deflected
        _conv(9, bot={"active": False, "turns": 1, "taken": {"by": "u1"}}),       # an agent took it over
        _conv(9, bot={"active": False}),                                          # people's from the start
        _conv(9, bot={"handoff": {"reason": "unclear_twice"}}),                   # handed off
        _conv(9, bot={"active": True, "turns": 2},
              first_response_at=created + timedelta(hours=1)),                    # answered by a person
        _conv(9, csat={"sent_at": created, "score": 9}),                          # out-of-range score ignored
    ]
    total = merge(group_conversations(convs, {}, lambda c, a, b: 0.0))
    assert total["resolved"] == 1 and total["res"] == [3 * 3600 - 900 - 900]
    assert (total["bot_engaged"], total["bot_deflected"], total["handoffs"]) == (4, 1, {"unclear_twice": 1})
    assert total["csat_sent"] == 1 and total["csat"] == {}


def test_trend_change_is_relative_and_none_without_a_base() -> None:
    got = trend({"a": 6, "b": 1.5, "c": None, "d": 3}, {"a": 2, "b": 3.0, "c": 1, "d": 0})
    assert got["a"] == {"value": 6, "previous": 2, "change": 2.0}
    assert got["b"]["change"] == -0.5 and got["c"]["change"] is None and got["d"]["change"] is None
