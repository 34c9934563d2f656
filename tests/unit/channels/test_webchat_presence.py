"""channels.webchat.presence: the heartbeat loop stops when the chat stops, whatever its work did."""

from __future__ import annotations

import pytest

from channels.webchat import presence as presence_module
from channels.webchat.presence import VisitorPresence
from hub.store import Store
from tests.unit.cancelling import SwallowsCancelOnce, finishes


async def test_a_cancel_a_heartbeat_swallowed_still_stops_the_loop(store: Store,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``stop()`` cancels the heartbeat and waits for it: a cancel one beat swallowed (Python 3.11's
    asyncio.wait_for in the store driver) must not leave the chat's shutdown waiting for ever."""
    monkeypatch.setattr(presence_module, "HEARTBEAT_S", 0.01)
    swallow = SwallowsCancelOnce()

    class Swallowing(VisitorPresence):
        async def heartbeat(self) -> None:
            if not await swallow():  # later beats are plain ones
                await super().heartbeat()

    presence = Swallowing(store)
    presence.start()
    task = presence._task
    assert task is not None
    await swallow.started(5)
    assert await finishes(presence.stop()) and task.cancelled()
