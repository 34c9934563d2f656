"""Web Push from the hub: desktop and phone notifications while every console tab is closed.

    vapid          the hub's VAPID key pair (settings, or generated once and stored encrypted)
    subscriptions  browsers that subscribed (API under /api/v1/console/push/…)
    sender         which events notify whom; the ``console.push`` job that sends one push

The browser side is the console's service worker (``static/sw.js``: ``push`` and
``notificationclick``) and ``PushManager.subscribe`` when the agent turns notifications on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from hub import keys

from .sender import JOB_KIND, PushNotifier
from .subscriptions import Subscriptions, router
from .vapid import VapidKeys


@asynccontextmanager
async def running(app: web.Application, ext: dict[str, Any]) -> AsyncIterator[PushNotifier]:
    settings, store, bus = app[keys.SETTINGS], app[keys.STORE], app[keys.BUS]
    box = app[keys.EXTENSIONS].get("secrets")
    if box is None:  # the platform package is not wired: the same dev-only derived key it would use
        from hub.platform.secrets import SecretBox

        box = SecretBox.from_settings("", settings.jwt_secret.get_secret_value())
    ext["vapid"] = vapid = VapidKeys(
        store, box, settings.vapid_private_key.get_secret_value(), settings.vapid_subject or settings.base_url
    )
    app[keys.EXTENSIONS].setdefault("secret_rotators", {})["console_vapid"] = vapid.reencrypt
    ext["subscriptions"] = subscriptions = Subscriptions(store)
    async with aiohttp.ClientSession() as http:
        ext["push"] = notifier = PushNotifier(store, app[keys.JOBS], subscriptions, vapid, http)
        app[keys.JOB_HANDLERS][JOB_KIND] = notifier.send_job
        bus.subscribe("conversation.updated", notifier.on_conversation_updated)
        bus.subscribe("message.created", notifier.on_message_created)  # after ticketing's: routing ran
        bus.subscribe("notification.created", notifier.on_notification)
        bus.subscribe("sla.warning", notifier.on_sla_warning)
        bus.subscribe("bot.handoff", notifier.on_handoff)
        yield notifier


__all__ = ["JOB_KIND", "PushNotifier", "router", "running"]
