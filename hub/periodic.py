"""Background loops: the same work every period on every node until the app stops. A failure (the
store is down) is logged, and the work is tried again next period: one bad round must not end the
loop for the life of the process.

Every loop that runs as a task until it is cancelled calls ``raise_if_cancelling()`` before each
round: work that swallowed the cancel must not keep the loop going."""

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


def raise_if_cancelling() -> None:
    """End the current task's loop if it was cancelled, even when the cancel was swallowed by the
    work of the round: on Python 3.11 ``asyncio.wait_for`` (pymongo sends every command through it)
    loses a cancel that lands as its inner task finishes, the loop then goes on, and whatever
    awaits the task on shutdown waits for ever (a CI test's teardown hung 600 s)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def every(seconds: float, work: Callable[[], Awaitable[Any]], what: str, *,
                at_start: bool = False) -> None:
    """``work`` every ``seconds`` until cancelled. The first round is one period after start-up (not
    while demo data or a backlog is still being answered), or at once with ``at_start``."""
    if at_start:
        await logged(work, what)
    while True:
        raise_if_cancelling()
        await asyncio.sleep(seconds)
        await logged(work, what)
