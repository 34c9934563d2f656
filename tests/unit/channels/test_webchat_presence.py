"""channels.webchat.presence: the heartbeat loop stops when the chat stops, whatever its work did."""

from __future__ import annotations

import asyncio

import pytest

from channels.webchat import presence as presence_module
from channels.webchat.presence import VisitorPresence
from hub.store import Store


async def test_a_cancel_a_heartbeat_swallowed_still_stops_the_loop(store: Store,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``stop()`` cancels the heartbeat and waits for it: a cancel one beat swallowed (Python 3.11's
    asyncio.wait_for in the store driver) must not leave the chat's shutdown waiting for ever."""
    monkeypatch.setattr(presence_module, "HEARTBEAT_S", 0.01)
    busy = asyncio.Event()

    class Swallowing(VisitorPresence):
        async def heartbeat(self) -> None:
            if busy.is_set():  # later beats are plain ones
                return await super().heartbeat()
            busy.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                pass  # swallowed, as wait_for's race does

    presence = Swallowing(store)
    presence.start()
    task = presence._task
    assert task is not None
    await asyncio.wait_for(busy.wait(), 5)
    # asyncio.wait, not wait_for: on a timeout wait_for would cancel stop(), which ends the loop
    stopping = asyncio.create_task(presence.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    stopping.cancel()
    assert stopping in done and task.cancelled()
