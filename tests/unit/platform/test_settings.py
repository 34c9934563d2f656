"""Platform settings refused at start-up with a message naming the setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.jobs import LEASE
from hub.platform.settings import PlatformSettings


def test_a_webhook_timeout_longer_than_the_delivery_lease_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # a receiver slower than the job's lease got the delivery again from the worker that took the job over
    monkeypatch.setenv("BERRY_WEBHOOK_TIMEOUT_S", "61")
    with pytest.raises(ValidationError, match=r"BERRY_WEBHOOK_TIMEOUT_S=61 is longer than 50 s.*60 s lease"):
        PlatformSettings()
    monkeypatch.setenv("BERRY_WEBHOOK_TIMEOUT_S", str(LEASE.total_seconds()))
    with pytest.raises(ValidationError, match="BERRY_WEBHOOK_TIMEOUT_S"):
        PlatformSettings()
    monkeypatch.setenv("BERRY_WEBHOOK_TIMEOUT_S", "50")
    assert PlatformSettings().webhook_timeout_s == 50
