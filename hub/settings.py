"""Settings, read from the environment (prefix ``BERRY_``) and an optional ``.env`` file.

Every setting is documented in ``docs/configuration.md``; a test checks that list stays complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "berry"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BERRY_", env_file=".env", extra="ignore")

    # --- HTTP ---
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = Field("", description="Public base URL (behind a reverse proxy); defaults to http://host:port")
    max_body_bytes: int = Field(1_048_576, description="Largest request body the API accepts")

    # --- store ---
    mongodb_url: str | None = Field(None, description="MongoDB URL; unset = start the embedded FerretDB")
    mongodb_db: str = "berry"
    var_dir: Path = Field(Path("var"), description="Runtime data: embedded FerretDB files, spool, search index")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Build cache (FerretDB binary)")
    ferretdb_version: str = "v1.24.2"

    # --- auth ---
    jwt_secret: SecretStr = Field(SecretStr("dev-only-change-me-dev-only-change-me"), description="HMAC key for JWTs")
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 14 * 24 * 3600

    # --- scale-out ---
    redis_url: str | None = None

    # --- components ---
    bot_engine: Literal["embedded", "rasa", "off"] = "embedded"
    rasa_url: str = "http://127.0.0.1:5005"
    search_backend: Literal["embedded", "meilisearch"] = "embedded"
    meilisearch_url: str = "http://127.0.0.1:7700"
    meilisearch_key: SecretStr | None = None

    # --- Twilio ---
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_api_base: str = Field("", description="Override Twilio's REST base URL (tests use a local stand-in)")

    # --- operations ---
    log_level: str = "INFO"
    log_json: bool = True
    demo: bool = Field(False, description="Seed demo data on start when the database is empty")
    inline_worker: bool = Field(True, description="Run the job worker inside the web process (single node)")

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"
