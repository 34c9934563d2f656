"""hub.models.json_default: what the API, webhooks and exports write for values JSON lacks."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

from hub.models import json_default


def test_datetimes_are_rfc3339_as_pydantic_writes_them() -> None:
    at = datetime(2026, 11, 27, 15, 5, 31, 218000, tzinfo=UTC)
    assert json.dumps({"at": at}, default=json_default) == '{"at": "2026-11-27T15:05:31.218000Z"}'
    sast = datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    assert json_default(sast) == "2026-01-01T08:00:00+02:00"
    assert datetime.fromisoformat(json_default(at)) == at  # read back as the same instant
    assert json_default(date(2026, 1, 2)) == "2026-01-02"
    assert json_default(b"x") == "b'x'"  # anything else: its text, as before
