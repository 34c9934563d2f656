"""The bot's office hours: "24:00" closes at midnight, not a minute (or a second) before it; when people
are back, in the customer's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bot.settings import BotSettings

SUNDAY_LAST_MOMENT = datetime(2026, 11, 29, 21, 59, 59, 999000, tzinfo=UTC)  # 23:59:59.999 in Johannesburg


def test_closing_at_24_00_is_open_until_midnight() -> None:
    always = BotSettings(_env_file=None, workdays=list(range(7)), opening="00:00", closing="24:00",  # type: ignore[call-arg]
                         timezone="Africa/Johannesburg")
    assert always.open_at(SUNDAY_LAST_MOMENT) and always.open_at(datetime(2026, 11, 29, 22, 0, tzinfo=UTC))
    almost = BotSettings(_env_file=None, workdays=list(range(7)), opening="00:00", closing="23:59:59",  # type: ignore[call-arg]
                         timezone="Africa/Johannesburg")
    assert not almost.open_at(SUNDAY_LAST_MOMENT)


def test_office_hours_and_when_people_are_back() -> None:
    # explicit: BERRY_BOT_* may be set by the integration tests' Rasa stack running in this process
    office = BotSettings(_env_file=None, workdays=[0, 1, 2, 3, 4], opening="08:00", closing="17:00",  # type: ignore[call-arg]
                         timezone="Africa/Johannesburg")
    friday_evening = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 18:00 local
    assert not office.open_at(friday_evening) and office.back_at(friday_evening) == "on Monday at 08:00"
    assert office.open_at(datetime(2026, 11, 27, 14, 59, tzinfo=UTC))  # 16:59 local
    assert office.back_at(friday_evening, "af") == "op Maandag om 08:00"
    assert office.back_at(friday_evening, "zu") == "ngoMsombuluko ngo-08:00"
    assert office.back_at(friday_evening, "pt") == "on Monday at 08:00"  # no Portuguese texts: English
    thursday_evening = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    assert office.back_at(thursday_evening) == "tomorrow at 08:00"
    assert office.back_at(datetime(2026, 11, 26, 5, 0, tzinfo=UTC), "af") == "vandag om 08:00"  # 07:00 local
    closed = BotSettings(_env_file=None, workdays=[], timezone="Africa/Johannesburg")  # type: ignore[call-arg]
    assert closed.back_at(friday_evening) == "soon"


def test_inboxes_are_ones_the_bot_can_answer() -> None:
    assert BotSettings(_env_file=None, inboxes=["email", "sms"]).inboxes == ["email", "sms"]  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="cannot answer fax, voice"):
        BotSettings(_env_file=None, inboxes=["whatsapp", "voice", "fax"])  # type: ignore[call-arg]
