"""Package `bot`: answers customers first, hands off to people (docs/bot.md).

``setup(app)`` (called by hub/app.py) adds the bot's routes and, unless ``BERRY_BOT_ENGINE=off``,
a cleanup context that creates ``BotService`` (``app[keys.EXTENSIONS]["bot"]``), subscribes it to
``message.created`` (in the background, so ingest never waits for the bot) and builds the engine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from hub import keys
from hub.periodic import every, logged

log = logging.getLogger(__name__)
INBOX_REFRESH_S = 15.0  # another node's ``PUT /bot/inboxes/{inbox}`` reaches this one within this
IDLE_SWEEP_S = 300.0  # how often the conversations the bot holds are checked for idle customers


def setup(app: web.Application) -> None:
    """Wire this package into the hub: routes, event subscribers, cleanup contexts."""
    from .api import router

    app[keys.ROUTERS].append(router)
    if app[keys.SETTINGS].bot_engine != "off":
        app.cleanup_ctx.append(_bot_ctx)


async def _bot_ctx(app: web.Application) -> AsyncIterator[None]:
    from hub.events import ConversationCreated, ConversationUpdated, MessageCreated
    from hub.models import utcnow
    from hub.platform.events import ContactErased, ConversationDeleted

    from . import factory
    from .api import search_articles
    from .service import FORGET_JOB, BotService
    from .settings import BotSettings

    settings = app[keys.SETTINGS]
    bot_settings = BotSettings()

    class _Search:  # looks the knowledge base up per call: it may start after the bot
        async def search(self, query: Any) -> Any:
            return await search_articles(app, query)

    task = asyncio.create_task(factory.build(settings.bot_engine, cache_dir=settings.cache_dir,
                                             rasa_url=settings.rasa_url, search=_Search(),
                                             rasa_timeout=bot_settings.rasa_timeout_s,
                                             tune_epochs=bot_settings.tune_epochs))

    async def engine() -> Any:
        return await asyncio.shield(task)

    async def route(conversation_id: str) -> None:  # after a handoff: to an agent with the right skills
        ticketing = app[keys.EXTENSIONS].get("ticketing")
        if ticketing is not None and ticketing.settings.auto_assign:
            await ticketing.routing.auto_assign(conversation_id, reason="bot handoff")

    async def hours(conv: Any) -> Any:  # the inbox's support hours, as the web-chat widget shows them
        from channels.configure import hours_for
        from channels.webchat.presence import agents_online

        from .hours import Opening

        channels = app[keys.EXTENSIONS].get("channels")
        spec, tz = (hours_for(channels, conv.channel) if channels is not None
                    else (settings.voice_business_hours, settings.voice_timezone))
        return Opening(spec, tz, await agents_online(app[keys.EXTENSIONS]))

    async def keep_email(contact_id: str, email: str) -> None:
        from channels.webchat.namespace import continue_by_email

        await continue_by_email(app[keys.CONTACTS], app[keys.STORE], contact_id, email)

    service = BotService(app[keys.STORE], app[keys.BUS], app[keys.CONVERSATIONS], bot_settings, engine,
                         route=route, hours=hours, keep_email=keep_email)
    await service.load_inboxes()
    app[keys.EXTENSIONS]["bot"] = service
    ticketing = app[keys.EXTENSIONS].get("ticketing")
    if ticketing is not None:  # the bot answers first: ticketing routes the ticket when it hands off
        ticketing.routing.held_by.append(service)
    app[keys.BUS].subscribe(MessageCreated, service.on_message, background=True)
    app[keys.BUS].subscribe(ConversationCreated, service.on_created)
    app[keys.BUS].subscribe(ConversationUpdated, service.on_updated)
    app[keys.BUS].subscribe(ContactErased, service.on_forget)
    app[keys.BUS].subscribe(ConversationDeleted, service.on_forget)
    app[keys.JOB_HANDLERS][FORGET_JOB] = service.forget
    loops = [asyncio.create_task(logged(service.let_go_of_unanswered, "bot start-up release")),  # a scan
             asyncio.create_task(every(INBOX_REFRESH_S, service.load_inboxes, "bot inbox refresh")),
             asyncio.create_task(every(IDLE_SWEEP_S, lambda: service.resolve_idle(utcnow()),
                                       "bot idle sweep"))]
    yield
    for loop in loops:
        loop.cancel()
    if task.done() and not task.cancelled() and task.exception() is None:
        await task.result().close()
    else:
        task.cancel()


__all__ = ["setup"]
