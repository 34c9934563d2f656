"""The bot's opening hours (the inbox's support hours, ``bot.hours``): "24:00" closes at midnight, not
a minute before it; an agent online is open; when people are back, in the customer's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bot.hours import Opening
from bot.responses import notice
from bot.settings import BotSettings

SUNDAY_LAST_MOMENT = datetime(2026, 11, 29, 21, 59, 59, 999000, tzinfo=UTC)  # 23:59:59.999 in Johannesburg
OFFICE = "Mon-Fri 08:00-17:00"


def test_closing_at_24_00_is_open_until_midnight() -> None:
    assert Opening("Mon-Sun 00:00-24:00").open_at(SUNDAY_LAST_MOMENT)
    assert Opening("Mon-Sun 00:00-24:00").open_at(datetime(2026, 11, 29, 22, 0, tzinfo=UTC))
    assert not Opening("Mon-Sun 00:00-23:59").open_at(SUNDAY_LAST_MOMENT)


def test_office_hours_and_when_people_are_back() -> None:
    office = Opening(OFFICE, "Africa/Johannesburg")
    friday_evening = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 18:00 local
    assert not office.open_at(friday_evening) and office.back_at(friday_evening) == "on Monday at 08:00"
    assert office.open_at(datetime(2026, 11, 27, 14, 59, tzinfo=UTC))  # 16:59 local
    assert office.back_at(friday_evening, "af") == "op Maandag om 08:00"
    assert office.back_at(friday_evening, "zu") == "ngoMsombuluko ngo-08:00"
    assert office.back_at(friday_evening, "pt") == "on Monday at 08:00"  # no Portuguese texts: English
    thursday_evening = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    assert office.back_at(thursday_evening) == "tomorrow at 08:00"
    assert office.back_at(datetime(2026, 11, 26, 5, 0, tzinfo=UTC), "af") == "vandag om 08:00"  # 07:00 local
    assert Opening("Sat 09:00-13:00; Mon-Fri 08:00-17:00").back_at(friday_evening) == "tomorrow at 09:00"
    assert Opening("Sat 00:00-00:00").back_at(friday_evening) == "soon"  # never opens


def test_an_agent_online_is_open_whatever_the_hours() -> None:
    friday_evening = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert Opening(OFFICE, agents_online=True).open_at(friday_evening)
    assert not Opening(OFFICE, agents_online=False).open_at(friday_evening)


def test_the_after_hours_notice_reads_well_in_every_language() -> None:
    back = Opening(OFFICE).back_at(datetime(2026, 11, 27, 16, 0, tzinfo=UTC), "en")
    assert notice("after_hours", "en", back=back).startswith(
        "Just so you know: our team is offline right now and back on Monday at 08:00.")
    assert "terug op Maandag om 08:00" in notice("after_hours", "af", back=Opening(OFFICE).back_at(
        datetime(2026, 11, 27, 16, 0, tzinfo=UTC), "af"))
    assert "lizobuya ngoMsombuluko ngo-08:00" in notice("after_hours", "zu", back=Opening(OFFICE).back_at(
        datetime(2026, 11, 27, 16, 0, tzinfo=UTC), "zu"))
    assert notice("after_hours", "zu", back="x") != notice("after_hours", "en", back="x")


def test_inboxes_are_ones_the_bot_can_answer() -> None:
    assert BotSettings(_env_file=None, inboxes=["email", "sms"]).inboxes == ["email", "sms"]  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="cannot answer fax, voice"):
        BotSettings(_env_file=None, inboxes=["whatsapp", "voice", "fax"])  # type: ignore[call-arg]
