"""Package `channels`: one ``ChannelAdapter`` per channel (see ``channels/base.py`` and
docs/channels.md). ``setup(app)`` is called by hub/app.py: it adds the webhook routes, the outbox
(``hub/outbox.py``, fed by ``message.created``) and one cleanup context holding the adapters."""

from __future__ import annotations

from aiohttp import web

from .base import ChannelAdapter, Registry
from .wiring import channels_ctx, install_routes


def setup(app: web.Application) -> None:
    """Wire this package into the hub: routes, event subscribers, cleanup contexts."""
    install_routes(app)
    app.cleanup_ctx.append(channels_ctx)


__all__ = ["ChannelAdapter", "Registry", "setup"]
