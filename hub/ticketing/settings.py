"""Ticketing settings (``BERRY_TICKETING_*``); documented in docs/ticketing.md."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TicketingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BERRY_TICKETING_", env_file=".env", extra="ignore")

    auto_assign: bool = Field(True, description="Route new and reopened tickets to an online agent")
    assign_on_reply: bool = Field(
        True,
        description="An agent's public reply to an unassigned ticket assigns it to that agent (a ticket the "
        "bot holds is taken over by a reply whatever this says)",
    )
    classify_priority: bool = Field(
        True, description="Raise priority from urgency words, sentiment, VIP/provider"
    )
    reopen_window_h: float = Field(
        72.0, ge=0, description="A customer reply this long after resolve reopens the ticket"
    )
    signature: str = Field(
        "The Berry Events team", min_length=1, max_length=100,
        description="Who signs a canned reply an automation rule sends to a ticket no agent is assigned "
        "({{agent.name}}, {{agent.first_name}})",
    )
    csat: bool = Field(True, description="Send a satisfaction survey when a ticket is resolved")
    csat_window_h: float = Field(72.0, gt=0, description="Answers after this are kept as late, not scored")
    tick_s: float = Field(
        30.0, ge=0, description="How often the SLA, time-rule and wake-up timers are swept (0: never)"
    )


__all__ = ["TicketingSettings"]
