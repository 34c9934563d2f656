"""Conversations the bot still answers (held: ``hub.ticketing.routing.Holder``) are not the agents'
queue yet: the console leaves them out of the Unassigned view and marks them "Bot" elsewhere, until
the bot hands off or an agent takes one over (assigns it, or answers it)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub import keys
from hub.models import Conversation


def _routing(app: web.Application) -> Any:
    return getattr(app[keys.EXTENSIONS].get("ticketing"), "routing", None)


def not_held(app: web.Application) -> dict[str, Any]:
    """The store filter of the conversations nobody holds (``{}`` without ticketing or a bot)."""
    routing = _routing(app)
    return routing.not_held() if routing is not None else {}


def item(app: web.Application, conversation: Conversation) -> dict[str, Any]:
    """A conversation as the console sends it: its fields, and whether the bot holds it."""
    routing = _routing(app)
    held = routing is not None and routing.held(conversation)
    return {**conversation.model_dump(mode="json"), "held": bool(held)}
