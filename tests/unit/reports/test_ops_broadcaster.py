"""hub.reports.ops.OpsBroadcaster on a real store: closing it ends its refresh loop."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from hub.reports.ops import OpsBroadcaster
from hub.store import Store

EVENT = SimpleNamespace(name="conversation.updated")


async def test_a_cancel_a_refresh_swallowed_still_ends_the_loop_under_steady_traffic(store: Store) -> None:
    """``close()`` cancels the refresh and waits for it. Events keep arriving (each asks for one more
    round); a cancel one emit swallowed (Python 3.11's asyncio.wait_for, a socket library) must end
    the loop anyway, or the app's shutdown waits as long as the traffic lasts."""
    busy = asyncio.Event()
    rounds = 0

    class Sio:
        async def emit(self, event: str, data: Any, to: str, namespace: str) -> None:
            nonlocal rounds
            rounds += 1
            await broadcaster.on_event(EVENT)  # another change meanwhile: one more round wanted
            if busy.is_set():
                return
            busy.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                pass  # swallowed, as wait_for's race does

    broadcaster = OpsBroadcaster(store, Sio(), debounce_s=0.01)
    await broadcaster.on_event(EVENT)
    task = broadcaster._pending
    assert task is not None
    await asyncio.wait_for(busy.wait(), 10)
    # asyncio.wait, not wait_for: on a timeout wait_for would cancel close(), which ends the loop
    closing = asyncio.create_task(broadcaster.close())
    done, _ = await asyncio.wait({closing}, timeout=5)
    closing.cancel()
    assert closing in done and task.cancelled() and rounds == 1
