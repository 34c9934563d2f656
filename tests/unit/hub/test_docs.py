"""Docs stay complete: every setting and every event is documented."""

from __future__ import annotations

import re
from pathlib import Path

from hub import events
from hub.settings import Settings

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [f"BERRY_{n.upper()}" for n in Settings.model_fields if f"`BERRY_{n.upper()}`" not in text]
    assert not missing, f"run scripts/gen-config-doc; undocumented: {missing}"


def test_every_event_is_documented() -> None:
    text = (DOCS / "events.md").read_text()
    names = {cls.name for cls in vars(events).values()
             if isinstance(cls, type) and issubclass(cls, events.Event) and cls is not events.Event}
    missing = sorted(n for n in names if not re.search(rf"`{re.escape(n)}`", text))
    assert not missing, f"add to docs/events.md: {missing}"
