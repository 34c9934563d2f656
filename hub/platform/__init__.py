"""`hub.platform`: see docs. `setup(app)` is called by hub/app.py."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Wire this part of the hub: routes, event subscribers, job handlers, cleanup contexts."""


__all__ = ["setup"]
