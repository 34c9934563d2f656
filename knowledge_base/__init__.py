"""Package `knowledge_base` (see ../docs/architecture.md). `setup(app)` is called by hub/app.py."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Wire this package into the hub: routes, event subscribers, cleanup contexts."""


__all__ = ["setup"]
