"""hub.reports.ops.OpsBroadcaster on a real store: closing it ends its refresh loop."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hub.reports.ops import OpsBroadcaster
from hub.store import Store
from tests.unit.cancelling import SwallowsCancelOnce, finishes

EVENT = SimpleNamespace(name="conversation.updated")


async def test_a_cancel_a_refresh_swallowed_still_ends_the_loop_under_steady_traffic(store: Store) -> None:
    """``close()`` cancels the refresh and waits for it. Events keep arriving (each asks for one more
    round); a cancel one emit swallowed (Python 3.11's asyncio.wait_for, a socket library) must end
    the loop anyway, or the app's shutdown waits as long as the traffic lasts."""
    swallow = SwallowsCancelOnce()
    rounds = 0

    class Sio:
        async def emit(self, event: str, data: Any, to: str, namespace: str) -> None:
            nonlocal rounds
            rounds += 1
            await broadcaster.on_event(EVENT)  # another change meanwhile: one more round wanted
            await swallow()

    broadcaster = OpsBroadcaster(store, Sio(), debounce_s=0.01)
    await broadcaster.on_event(EVENT)
    task = broadcaster._pending
    assert task is not None
    await swallow.started()
    assert await finishes(broadcaster.close()) and task.cancelled() and rounds == 1
