"""Typed app keys of ``hub.platform``'s services (also listed in ``app[keys.EXTENSIONS]["platform"]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .secrets import SecretBox
    from .webhooks import Webhooks

SECRETS: web.AppKey[SecretBox] = web.AppKey("platform_secrets")
WEBHOOKS: web.AppKey[Webhooks] = web.AppKey("platform_webhooks")
RATE_LIMITER: web.AppKey[Any] = web.AppKey("platform_rate_limiter")
PRIVACY: web.AppKey[Any] = web.AppKey("platform_privacy")
LOGIN_GUARD: web.AppKey[Any] = web.AppKey("platform_login_guard")
SESSIONS: web.AppKey[Any] = web.AppKey("platform_sessions")
TOTP: web.AppKey[Any] = web.AppKey("platform_totp")
