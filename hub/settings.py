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
    host: str = Field("127.0.0.1", description="Address the web node listens on")
    port: int = Field(8080, description="Port the web node listens on")
    public_url: str = Field("", description="Public base URL (behind a reverse proxy); defaults to http://host:port")
    max_body_bytes: int = Field(1_048_576, description="Largest request body the API accepts")
    api_require_if_match: bool = Field(
        False, description="Updates and deletes without If-Match get 428 (else they go ahead)"
    )
    restricted_contact_fields: list[str] = Field(
        default_factory=list, description="Contact custom fields only admins see (JSON list)"
    )

    # --- store ---
    mongodb_url: str | None = Field(None, description="MongoDB URL; unset = start the embedded FerretDB")
    mongodb_db: str = Field("berry", description="Database name")
    var_dir: Path = Field(
        Path("var"), description="Runtime data: embedded FerretDB files, spool, search index"
    )
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Build cache (FerretDB binary)")
    ferretdb_version: str = Field("v1.24.2", description="FerretDB version built for the embedded store")

    # --- auth ---
    jwt_secret: SecretStr = Field(
        SecretStr("dev-only-change-me-dev-only-change-me"), description="HMAC key for JWTs"
    )
    access_token_ttl_s: int = Field(900, description="Lifetime of an access token (JWT), seconds")
    argon2_time_cost: int = Field(3, ge=1, description="argon2id passes per password hash")
    argon2_memory_kib: int = Field(65536, ge=8, description="argon2id memory per password hash, KiB")
    refresh_token_ttl_s: int = Field(14 * 24 * 3600, description="Lifetime of a refresh token, seconds")

    # --- scale-out ---
    redis_url: str | None = Field(
        None, description="Redis URL: Socket.IO fan-out and shared rate limits across nodes"
    )
    console_flush_ms: int = Field(
        40,
        ge=0,
        le=1000,
        description="Agent console: at most one fan-out per this "
        "many ms; events of a busier window leave together, one frame per socket",
    )
    console_offline_grace_s: float = Field(30.0, ge=0, le=600, description="Agent console: an agent whose "
                                           "last socket dropped goes offline (and their open tickets to "
                                           "colleagues) only if they have not reconnected within this")
    event_loop: Literal["uvloop", "asyncio"] = Field("uvloop", description="Event loop of `python -m hub` "
                                                    "commands: uvloop (libuv; less CPU per socket write and "
                                                    "request) or Python's own asyncio loop")
    ws_deflate: bool = Field(False, description="Socket.IO websockets accept a browser's permessage-"
                             "deflate: less traffic, but each frame is compressed again for every socket")
    vapid_private_key: SecretStr = Field(
        SecretStr(""),
        description="Web Push VAPID private key (PEM, P-256); "
        "empty: one is generated once and stored encrypted",
    )
    vapid_subject: str = Field(
        "", description="Web Push VAPID contact (mailto: or https:); empty: the public URL"
    )
    push_services: str = Field(
        "fcm.googleapis.com,updates.push.services.mozilla.com,*.notify.windows.com,*.push.apple.com",
        description="Hosts a Web Push subscription's endpoint may point at (comma-separated, *. for "
        "subdomains; https only unless an entry says http://)",
    )

    # --- components ---
    bot_engine: Literal["embedded", "rasa", "off"] = Field("embedded", description="Which bot answers first")
    rasa_url: str = Field(
        "http://127.0.0.1:5005", description="Rasa server (REST channel) for bot_engine=rasa"
    )
    search_backend: Literal["embedded", "meilisearch"] = Field(
        "embedded", description="Knowledge-base search backend"
    )
    meilisearch_url: str = Field(
        "http://127.0.0.1:7700", description="Meilisearch server for search_backend=meilisearch"
    )
    meilisearch_key: SecretStr | None = Field(None, description="Meilisearch API key")

    # --- Twilio ---
    twilio_account_sid: str = Field("", description="Twilio account SID")
    twilio_auth_token: SecretStr = Field(SecretStr(""), description="Twilio auth token (signs webhooks)")
    twilio_api_base: str = Field(
        "", description="Override Twilio's REST base URL (tests use a local stand-in)"
    )

    # --- channels (see docs/channels.md) ---
    twilio_sms_from: str = Field("", description="Twilio SMS sender number (E.164)")
    twilio_whatsapp_from: str = Field("", description="Twilio WhatsApp sender number (E.164)")
    twilio_webhook_overrides: str = Field(
        "rc=5&rp=all", description="Connection-override fragment appended to handed-out webhook URLs"
    )
    twilio_media_max_bytes: int = Field(
        16 * 1024 * 1024, description="Largest inbound MMS/WhatsApp media kept"
    )
    whatsapp_templates: list[dict[str, str]] = Field(
        default_factory=list, description="Approved WhatsApp templates [{name, content_sid, body}]"
    )
    voice_business_hours: str = Field("Mon-Fri 08:00-17:00", description=(
        "When calls are greeted (else voicemail); rules split by \"; \", an end of 24:00 is midnight"))
    voice_timezone: str = Field("Africa/Johannesburg", description="Time zone of voice_business_hours")
    voice_forward_to: str = Field(
        "", description="Number calls are forwarded to in business hours (empty = voicemail)"
    )
    spool_retry_s: float = Field(
        5.0, description="How often verified-but-not-stored webhooks are retried from the spool"
    )
    email_address: str = Field("support@berry.test", description="Support mailbox address (From of replies)")
    email_from_name: str = Field("Berry Events Support", max_length=100,
                                 description="From display name of outgoing mail (empty: the address alone)")
    imap_host: str = Field("", description="IMAP server to poll; empty = no polling")
    imap_port: int = 143
    imap_user: str = ""
    imap_password: SecretStr = SecretStr("")
    imap_mailbox: str = "INBOX"
    imap_poll_s: float = Field(30.0, description="IMAP poll interval")
    imap_lease_s: float = Field(30.0, gt=0, description="One node polls a mailbox, the holder of its lease "
                                "(renewed every third of this); another takes over within this if it dies")
    smtp_host: str = Field("", description="Outgoing SMTP server; empty = e-mail replies fail visibly")
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_listen_port: int = Field(0, description="Inbound SMTP listener port (aiosmtpd); 0 = off")
    email_max_bytes: int = Field(25 * 1024 * 1024, description="Largest inbound e-mail accepted")
    email_authserv_id: str = Field("", description=(
        "authserv-id of the Authentication-Results header your receiving mail server adds "
        "(e.g. mx.berry.test): an agent's forward is trusted only when the topmost one has this id and "
        "dmarc=pass; empty = the topmost one whatever its id, and none for mail at the SMTP listener"))
    chat_secret: SecretStr = Field(
        SecretStr("dev-only-chat-secret-change-me"), description="Signs web-chat visitor tokens"
    )
    chat_identity_secret: SecretStr = Field(
        SecretStr(""), description="HMAC key the host site uses to verify visitor identity"
    )
    chat_max_chars: int = Field(4000, description="Largest web-chat message")

    # --- operations ---
    log_level: str = Field("INFO", description="Log level")
    log_json: bool = Field(True, description="One JSON object per log line (else plain text)")
    demo: bool = Field(False, description=(
        "Seed demo data on start when the database is empty; on a database seeded before, add only the help "
        "articles bundled since"))
    inline_worker: bool = Field(True, description="Run the job worker inside the web process (single node)")

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


def settings_table(model: type[BaseSettings] | None = None) -> str:
    """Markdown table of every setting of ``model`` (default: the hub's; ``docs/configuration.md`` is
    generated from it and from the packages' own settings classes)."""
    model = model or Settings
    prefix = str(model.model_config.get("env_prefix") or "")
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    for name, field in model.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        if isinstance(default, SecretStr):
            default = "(secret)" if default.get_secret_value() else ""
        shown = "" if default in (None, "") else f"`{default}`"
        rows.append(f"| `{prefix}{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)
