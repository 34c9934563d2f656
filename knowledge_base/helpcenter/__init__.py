"""The help center: server-rendered pages under /help (see ``views``)."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Help-center routes (filled in by ``views``)."""


__all__ = ["setup"]
