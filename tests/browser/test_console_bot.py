"""The supervisor's bot switch per inbox, in real Chromium, on a hub whose bot is on (the Rasa
engine: a client only, no server needed, since no customer writes here)."""

from __future__ import annotations

from typing import Any

import pytest

from hub import keys
from hub.models import Role

from .test_console import make_agent, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hub_settings_extra() -> dict[str, Any]:
    return {"bot_engine": "rasa", "rasa_url": "http://127.0.0.1:9"}


async def test_a_supervisor_switches_the_bot_off_and_on_for_an_inbox(new_page, hub_url, hub) -> None:
    service = hub.server.app[keys.EXTENSIONS]["bot"]
    boss = await make_agent(hub, "Nomsa", Role.supervisor)
    page = await new_page()
    await sign_in(page, hub_url, boss)
    await page.click("#view-supervisor")
    await page.wait_for_selector("#bot-inboxes input[data-inbox=whatsapp]")
    box = {inbox: page.locator(f"#bot-inboxes input[data-inbox={inbox}]") for inbox in ("whatsapp", "email")}
    assert await box["whatsapp"].is_checked() and not await box["email"].is_checked()  # BERRY_BOT_INBOXES
    await box["whatsapp"].uncheck()
    await page.wait_for_selector("#bot-inboxes input[data-inbox=whatsapp]:not(:checked):not([disabled])")
    assert "whatsapp" not in service.inboxes
    assert await hub.server.app[keys.STORE]["bot_inboxes"].find_one({"_id": "whatsapp"}) == {
        "_id": "whatsapp", "enabled": False}
    await page.locator("#bot-inboxes input[data-inbox=whatsapp]").check()
    await page.wait_for_selector("#bot-inboxes input[data-inbox=whatsapp]:checked:not([disabled])")
    assert "whatsapp" in service.inboxes
    assert await page.locator("#bot-inboxes .error").text_content() == ""
    assert page.errors == []
