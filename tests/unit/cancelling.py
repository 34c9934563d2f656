"""A round of work that swallows the cancel meant to end its loop, once; and a shutdown awaited
without cancelling it. For the tests of every loop that must end on a swallowed cancel
(``hub.periodic.raise_if_cancelling``): on Python 3.11 ``asyncio.wait_for`` (the store driver, socket
libraries) loses a cancel that lands as its inner task finishes, and the loop goes on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any


class SwallowsCancelOnce:
    """Await it where the loop does its work (a heartbeat, an emit, a round). The first call waits
    until cancelled and swallows the cancel, as wait_for's race does; every later call returns at
    once (False), so the caller goes on with its plain work."""

    def __init__(self) -> None:
        self.busy = asyncio.Event()

    async def __call__(self) -> bool:
        """True for the call that swallowed the cancel."""
        if self.busy.is_set():
            return False
        self.busy.set()
        with contextlib.suppress(asyncio.CancelledError):  # swallowed, as wait_for's race does
            await asyncio.sleep(30)
        return True

    async def started(self, seconds: float = 10) -> None:
        """Wait until the first call is under way (the cancel to swallow can come)."""
        await asyncio.wait_for(self.busy.wait(), seconds)


async def finishes(awaitable: Awaitable[Any], seconds: float = 5) -> bool:
    """Whether ``awaitable`` (a ``stop()``, a ``close()``, the loop's task) finishes within
    ``seconds``. Waited with asyncio.wait, not wait_for: on a timeout wait_for would cancel it, and a
    cancelled ``stop()`` ends the loop it waits for, so the test would pass on a loop that never
    ends."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    task.cancel()
    return task in done
