"""Placeholder until the web chat lands."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def start(app: web.Application, services: Any) -> None:
    return None


async def stop(app: web.Application, services: Any) -> None:
    return None
