"""Reports settings (``BERRY_REPORTS_*``); listed in docs/configuration.md (scripts/gen-config-doc),
explained in docs/reports.md."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BERRY_REPORTS_", env_file=".env", extra="ignore")

    rollup_debounce_s: float = Field(60.0, ge=0, description="Changes to tickets (of any days) within this "
                                     "window are folded into one roll-up job (0: one job per event)")
    backlog_snapshot_s: float = Field(
        30.0,
        ge=0,
        description="How often the `reports.backlog` job snapshots "
        "the open backlog for dashboards (0: dashboards compute it on every request)",
    )
    rollups: bool = Field(
        True, description="Keep roll-ups current from events (off: only `rebuild` writes them)"
    )


__all__ = ["ReportsSettings"]
