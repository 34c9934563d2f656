"""docs/platform.md names every platform setting and event."""

from __future__ import annotations

from pathlib import Path

from hub.events import Event
from hub.platform import events
from hub.platform.settings import PlatformSettings

DOC = (Path(__file__).resolve().parents[3] / "docs" / "platform.md").read_text()


def test_every_platform_setting_is_documented() -> None:
    missing = [
        f"BERRY_{n.upper()}" for n in PlatformSettings.model_fields if f"`BERRY_{n.upper()}`" not in DOC
    ]
    assert not missing


def test_every_platform_event_is_documented() -> None:
    names = [
        c.name
        for c in vars(events).values()
        if isinstance(c, type) and issubclass(c, Event) and c is not Event
    ]
    assert names and all(f"`{n}`" in DOC for n in names)
