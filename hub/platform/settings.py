"""Settings of ``hub.platform`` (prefix ``BERRY_``, same ``.env`` as the hub's), documented in
``docs/platform.md``. Kept apart from ``hub/settings.py`` so this package owns its knobs; tests
replace ``app[PLATFORM_SETTINGS]`` before start-up."""

from __future__ import annotations

import ipaddress

from aiohttp import web
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.jobs import LEASE

# A delivery attempt (resolving the host and the POST, both under the timeout) must end well inside
# the delivery job's lease, or another worker takes the job over and the receiver gets it twice;
# the margin is for recording the attempt.
WEBHOOK_TIMEOUT_MAX_S = LEASE.total_seconds() - 10


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BERRY_", env_file=".env", extra="ignore")

    # --- secrets at rest ---
    secret_keys: SecretStr = Field(SecretStr(""), description=(
        "Comma-separated Fernet keys, newest first (encrypts webhook secrets, channel credentials). "
        "Empty = a key derived from BERRY_JWT_SECRET (development only)."))

    # --- outgoing webhooks ---
    webhook_max_attempts: int = Field(
        6, ge=1, le=20, description="Delivery attempts before a delivery is dead"
    )
    webhook_disable_after: int = Field(
        5, ge=1, description="Consecutive dead deliveries that disable a webhook"
    )
    webhook_timeout_s: float = Field(10.0, gt=0, description=(
        f"Timeout of one delivery attempt (resolving the host and the POST), at most "
        f"{WEBHOOK_TIMEOUT_MAX_S:g} s: the delivery job's lease is {LEASE.total_seconds():g} s"))
    webhook_allow_private: bool = Field(False, description="Allow webhook URLs on loopback/private networks")

    # --- rate limiting: "<requests>/<seconds>" ---
    ratelimit_enabled: bool = True
    ratelimit_ip: str = Field("600/60", description="Requests per IP (every request)")
    ratelimit_user: str = Field("600/60", description="Requests per signed-in user")
    ratelimit_api_key: str = Field("1200/60", description="Requests per API key")
    ratelimit_trust_forwarded: bool = Field(False, description="Take the client IP from X-Forwarded-For")
    ip_allowlist: dict[str, list[str]] = Field(default_factory=dict, description=(
        'Per role, the networks it may call the API from, as JSON: {"admin": ["10.0.0.0/8"]}; '
        "roles not listed are not restricted"))
    login_max_failures: int = Field(5, ge=1, description="Failed logins per account+IP before a lock-out")
    login_lockout_s: int = Field(900, ge=1, description="Window and lock-out of failed logins")

    # --- security headers ---
    hsts_max_age: int = 31_536_000
    content_security_policy: str = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'")

    # --- retention (days; 0 = keep forever) ---
    retention_messages_days: int = 0
    retention_webhook_deliveries_days: int = 30
    retention_audit_days: int = 0
    retention_dead_letters_days: int = 90
    retention_search_queries_days: int = 90  # the knowledge base's search analytics (typed text)

    @field_validator("webhook_timeout_s")
    @classmethod
    def _check_webhook_timeout(cls, value: float) -> float:
        if value > WEBHOOK_TIMEOUT_MAX_S:
            raise ValueError(
                f"BERRY_WEBHOOK_TIMEOUT_S={value:g} is longer than {WEBHOOK_TIMEOUT_MAX_S:g} s: a delivery "
                f"attempt must end within the delivery job's {LEASE.total_seconds():g} s lease, or another "
                "worker takes the job over and the receiver gets the delivery twice")
        return value

    @field_validator("ip_allowlist")
    @classmethod
    def _check_allowlist(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        roles = {"admin", "supervisor", "agent", "provider", "customer"}
        for role, cidrs in value.items():
            if role not in roles:
                raise ValueError(f"unknown role {role!r} in ip_allowlist")
            for cidr in cidrs:
                ipaddress.ip_network(cidr, strict=False)  # raises on a malformed network
        return value


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/60"`` → (600 requests, 60 seconds)."""
    count, _, window = rate.partition("/")
    return int(count), int(window or 60)


PLATFORM_SETTINGS: web.AppKey[PlatformSettings] = web.AppKey("platform_settings")
