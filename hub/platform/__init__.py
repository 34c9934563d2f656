"""``hub.platform``: what makes the hub safe to put on the internet and easy to integrate with.

- ``webhooks``: outgoing webhooks (signed, queued, retried, logged, auto-disabled)
- ``ratelimit``: per IP / user / API key limits (memory or Redis), login brute-force protection
- ``audit_api``: the audit log, searchable and exportable by admins
- ``privacy``: GDPR/POPIA consent, export, erasure, retention, processing register
- ``messages``: redaction of a message (text spans, attachments, or all of it)
- ``security``: secure headers, sessions, TOTP, the sign-in route; ``secrets``: secrets at rest

``setup(app)`` (called by ``hub/app.py``) adds the router, the middlewares, the response-header
signal and one cleanup context that builds the services once the store is up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from hub import keys
from hub.api.routing import ApiRouter

from . import audit_api, messages, ratelimit
from . import webhooks as _webhooks
from .appkeys import LOGIN_GUARD, PRIVACY, RATE_LIMITER, SECRETS, SESSIONS, TOTP, WEBHOOKS
from .privacy import RETENTION_JOB, Consents, Privacy, Retention
from .privacy import api as privacy_api
from .secrets import SecretBox
from .security import allowlist, csrf, headers, login
from .security import api as security_api
from .security.sessions import Sessions
from .security.signin import sign_in
from .security.totp import Totp
from .settings import PLATFORM_SETTINGS, PlatformSettings
from .webhooks import api as webhooks_api
from .webhooks.urls import GuardedResolver


def build_router() -> ApiRouter:
    router = ApiRouter()
    webhooks_api.install(router)
    security_api.install(router)
    audit_api.install(router)
    privacy_api.install(router)
    messages.install(router)
    return router


def setup(app: web.Application) -> None:
    """Wire this part of the hub: routes, event subscribers, job handlers, cleanup contexts."""
    app[PLATFORM_SETTINGS] = PlatformSettings()
    login.install(app[keys.ROUTERS])
    app[keys.ROUTERS].append(build_router())
    ratelimit.install(app)
    app.middlewares.append(allowlist.enforce_allowlist)
    app.middlewares.append(csrf.csrf_origin_check)
    headers.install(app)
    app.cleanup_ctx.append(_platform_ctx)


async def _platform_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[PLATFORM_SETTINGS]
    hub_settings = app[keys.SETTINGS]
    store = app[keys.STORE]
    box = SecretBox.from_settings(settings.secret_keys.get_secret_value(),
                                  hub_settings.jwt_secret.get_secret_value())
    app[SECRETS] = box
    limiter: ratelimit.Limiter = (ratelimit.RedisLimiter(hub_settings.redis_url) if hub_settings.redis_url
                                  else ratelimit.MemoryLimiter())
    app[RATE_LIMITER] = limiter
    app[LOGIN_GUARD] = ratelimit.LoginGuard(limiter, settings.login_max_failures, settings.login_lockout_s)
    app[SESSIONS] = Sessions(store, app[keys.TOKENS])
    app[TOTP] = Totp(store, box)
    retention = Retention(store, app[keys.JOBS], app[keys.AUDIT], settings)
    app[PRIVACY] = Privacy(Consents(store, app[keys.CONTACTS]), retention)
    app[keys.JOB_HANDLERS][RETENTION_JOB] = retention.job
    await retention.schedule()
    try:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(settings.webhook_allow_private), limit=100)
        async with aiohttp.ClientSession(connector=connector) as http:
            hooks = _webhooks.Webhooks(
                store, app[keys.BUS], app[keys.JOBS], app[keys.AUDIT], box, settings, http
            )
            app[WEBHOOKS] = hooks
            app[keys.EXTENSIONS]["platform"] = {"secrets": box, "webhooks": hooks, "rate_limiter": limiter,
                                                "sign_in": sign_in}
            app[keys.EXTENSIONS]["secrets"] = box
            app[keys.BUS].subscribe("*", hooks.on_event)
            app[keys.JOB_HANDLERS][_webhooks.JOB_KIND] = hooks.deliver
            yield
    finally:
        await limiter.close()


__all__ = ["setup"]
