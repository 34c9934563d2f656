"""The bot's own settings (``BERRY_BOT_…``); which engine runs is the hub's ``BERRY_BOT_ENGINE``.
Documented in docs/bot.md. Its opening hours are the inbox's (``bot.hours``), not settings of its own."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    kb_min_score: float = 0.0
    resolve_idle_h: float = Field(24.0, ge=0, description=(
        "A conversation the bot still holds (no handoff, no agent) is resolved after the customer has been "
        "quiet this long, tagged bot-resolved (0: never)"))
    tune_epochs: int = Field(
        0,
        ge=0,
        le=20,
        description=(
            "Epochs of fine-tuning the embedded engine's encoder on the training intents (2 measured); the "
            "classifier then averages a head on the tuned encoder with the frozen encoder's, at twice the "
            "parse cost (0: the frozen encoder's head alone; see docs/bot.md). Until a fine-tuned model for "
            "the current data is trained (cached by a hash), the frozen encoder's classifier answers"
        ),
    )

    @field_validator("inboxes")
    @classmethod
    def _answerable(cls, inboxes: list[str]) -> list[str]:
        unknown = sorted(set(inboxes) - set(ANSWERABLE))
        if unknown:
            raise ValueError(f"the bot cannot answer {', '.join(unknown)}: inboxes are of "
                             f"{', '.join(ANSWERABLE)}")
        return inboxes
