from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.auth import Principal
from hub.errors import Forbidden, InvalidInput
from hub.models import Role
from hub.reports.query import ReportQuery, check_range, check_scope


def test_dates_are_whole_days_in_the_time_zone() -> None:
    rng = check_range(ReportQuery(start="2026-11-02", end="2026-11-08", tz="Africa/Johannesburg"))
    assert rng.start.isoformat() == "2026-11-01T22:00:00+00:00"
    assert rng.end.isoformat() == "2026-11-08T22:00:00+00:00"
    assert rng.previous.start.isoformat() == "2026-10-25T22:00:00+00:00"
    rng = check_range(ReportQuery(start="2026-11-02T08:00:00Z", end="2026-11-02T10:00:00+00:00"))
    assert (rng.end - rng.start).total_seconds() == 7200


@pytest.mark.parametrize("tz,utc_start", [("Asia/Kolkata", "2026-11-26T18:30:00+00:00"),
                                          ("Asia/Kathmandu", "2026-11-26T18:15:00+00:00"),
                                          ("Australia/Eucla", "2026-11-26T15:15:00+00:00")])
def test_whole_days_in_zones_off_utc_by_part_of_an_hour_are_accepted(tz: str, utc_start: str) -> None:
    rng = check_range(ReportQuery(start="2026-11-27", end="2026-11-27", tz=tz))
    assert rng.start.isoformat() == utc_start and (rng.end - rng.start).total_seconds() == 86400


@pytest.mark.parametrize("start,end,field,words", [
    (None, "2026-11-08", "start", "required"),
    ("2026-11-02", None, "end", "required"),
    ("2026-11-09", "2026-11-02", "end", "ends before it starts"),
    ("2026-11-02T10:00:00Z", "2026-11-02T10:00:00Z", "end", "ends before it starts"),
    ("2024-01-01", "2026-01-02", "end", "two years"),
    ("2026-13-01", "2026-11-02", "start", "not an ISO date"),
    ("yesterday", "2026-11-02", "start", "not an ISO date"),
    ("2026-11-02T10:20:00Z", "2026-11-03", "start", "quarter hour"),
])
def test_bad_ranges_name_the_field(start: str | None, end: str | None, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_range(ReportQuery(start=start, end=end))
    assert exc.value.field == field and words in exc.value.detail


def test_two_years_exactly_is_allowed() -> None:
    check_range(ReportQuery(start="2024-01-01", end="2025-12-31"))


@pytest.mark.parametrize("params", [{"team": "x"}, {"tz": "Mars/Olympus"}, {"channel": "fax"},
                                    {"source": "cache"}, {"contact_type": "robot"}, {"start": "x" * 41}])
def test_unknown_filters_and_bad_values_are_refused(params: dict) -> None:
    with pytest.raises(ValidationError):
        ReportQuery.model_validate(params)


def test_scope() -> None:
    q = ReportQuery(start="2026-11-02", end="2026-11-08")
    assert check_scope(q, Principal(role=Role.supervisor, user_id="s")).agent_id is None
    assert check_scope(q, Principal(role=Role.agent, user_id="me")).agent_id == "me"
    with pytest.raises(Forbidden):
        check_scope(q.model_copy(update={"agent_id": "other"}), Principal(role=Role.agent, user_id="me"))
    for role in (Role.customer, Role.provider):
        with pytest.raises(Forbidden):
            check_scope(q, Principal(role=role, user_id="p", contact_id="c"))
