"""Per-channel resources started inside the channels context (filled in as channels land)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web


@contextlib.asynccontextmanager
async def start(app: web.Application, services: Any) -> AsyncIterator[None]:
    yield
