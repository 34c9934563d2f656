"""Background loops: the same work every period on every node until the app stops. A failure (the
store is down) is logged, and the work is tried again next period: one bad round must not end the
loop for the life of the process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


async def logged(work: Callable[[], Awaitable[Any]], what: str) -> None:
    """Run ``work`` once; its failure is logged as ``<what> failed``, not raised."""
    try:
        await work()
    except Exception:
        log.exception(f"{what} failed")


async def every(seconds: float, work: Callable[[], Awaitable[Any]], what: str, *,
                at_start: bool = False) -> None:
    """``work`` every ``seconds`` until cancelled. The first round is one period after start-up (not
    while demo data or a backlog is still being answered), or at once with ``at_start``."""
    me = asyncio.current_task()
    if at_start:
        await logged(work, what)
    while True:
        # a cancel the work swallowed still ends the loop: on Python 3.11 asyncio.wait_for loses a
        # cancel that lands as its inner task finishes, and the app's shutdown then waited for ever
        # on this task (a CI test's teardown hung until pytest-timeout)
        if me is not None and me.cancelling():
            raise asyncio.CancelledError
        await asyncio.sleep(seconds)
        await logged(work, what)
