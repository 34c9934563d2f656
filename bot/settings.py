"""The bot's own settings (``BERRY_BOT_…``); which engine runs is the hub's ``BERRY_BOT_ENGINE``.
Documented in docs/bot.md."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.models import before_closing, closing_time

ANSWERABLE = ("whatsapp", "webchat", "sms", "email")  # where a customer writes and can be answered


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BERRY_BOT_", env_file=".env", extra="ignore")

    inboxes: list[str] = Field(["whatsapp", "webchat", "sms"],
                               description=f"Inboxes where the bot answers first, of {', '.join(ANSWERABLE)}")
    rasa_timeout_s: float = 8.0
    ready_timeout_s: float = Field(120.0, description="How long a message waits for the engine to load")
    turn_timeout_s: float = Field(60.0, description="A bot turn running longer (engine loading aside) is "
                                  "abandoned and the conversation handed off")
    turn_lease_s: float = Field(15.0, description="Lease of a conversation's turn lock, renewed while the "
                                "turn runs: how long a node that died mid-turn blocks that conversation")
    refund_limit: float = Field(2000.0, description="Refund requests above this many rand go to a person")
    human_only_intents: list[str] = ["complaint", "request_human"]
    languages: list[str] = Field(["en"], description="Languages the bot answers; others go to agents")
    timezone: str = "Africa/Johannesburg"
    opening: time = time(8, 0)
    closing: time = Field(time(17, 0), description="24:00 = midnight")
    workdays: list[int] = Field([0, 1, 2, 3, 4], description="Monday = 0")
    kb_min_score: float = 0.0
    resolve_idle_h: float = Field(24.0, ge=0, description=(
        "A conversation the bot still holds (no handoff, no agent) is resolved after the customer has been "
        "quiet this long, tagged bot-resolved (0: never)"))
    tune_epochs: int = Field(0, ge=0, le=20, description=(
        "Epochs of fine-tuning the embedded engine's encoder on the training intents (2 measured); the classifier "
        "then averages a head on the tuned encoder with the frozen encoder's, at twice the parse cost (0: the "
        "frozen encoder's head alone; see docs/bot.md). Until a fine-tuned model for the current data is "
        "trained (cached by a hash), the frozen encoder's classifier answers"))

    @field_validator("inboxes")
    @classmethod
    def _answerable(cls, inboxes: list[str]) -> list[str]:
        unknown = sorted(set(inboxes) - set(ANSWERABLE))
        if unknown:
            raise ValueError(f"the bot cannot answer {', '.join(unknown)}: inboxes are of "
                             f"{', '.join(ANSWERABLE)}")
        return inboxes

    @field_validator("closing", mode="before")
    @classmethod
    def _midnight(cls, value: object) -> object:
        """``24:00`` closes at midnight (as in the channels' support hours): with 00:00-24:00 on every
        workday the bot is never after hours ("23:59" would leave the day's last minute out)."""
        return closing_time(value) if isinstance(value, str) else value

    def open_at(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone))
        t = local.time()
        return local.weekday() in self.workdays and self.opening <= t and before_closing(t, self.closing)

    def back_at(self, now: datetime, lang: str | None = "en") -> str:
        """When people are back, in words of ``lang``: "today at 08:00", "on Monday at 08:00"."""
        from .responses import when_back

        local = now.astimezone(ZoneInfo(self.timezone))
        for days in range(0, 8):
            day = (local.weekday() + days) % 7
            if day not in self.workdays or (days == 0 and local.time() >= self.opening):
                continue
            return when_back(days, day, self.opening.strftime("%H:%M"), lang)
        return when_back(None, 0, "", lang)
