"""The forwarder's flush window on a real event log: at most one fan-out per window under load (so a
socket gets one frame for a busy window, not one per event), nothing held after a quiet spell, order
and exactly-once kept. The assertions are bounds that hold however loaded the machine is."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

import pytest

from agent_console.eventlog import EventLog
from agent_console.forwarder import Forwarder
from hub.events import MessageCreated
from hub.models import Channel, Conversation, Message
from hub.store import Store
from tests.unit.cancelling import SwallowsCancelOnce

WINDOW_S = 0.2


class Emits:
    """Stands in for the Socket.IO server: records what would go to the rooms."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, Any, list[str]]] = []
        self.arrived = asyncio.Event()

    async def emit(self, event: str, data: Any, to: list[str], namespace: str) -> None:
        self.frames.append((event, data, to))
        self.arrived.set()

    def texts(self) -> list[str]:
        out = []
        for event, data, _ in self.frames:
            for envelope in data if event == "events" else [data]:
                out.append(envelope["data"]["message"]["text"])
        return out

    async def until(self, count: int, within_s: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + within_s
        while len(self.texts()) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0, f"only {self.texts()}"
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)


def created(conversation: Conversation, text: str) -> MessageCreated:
    message = Message(conversation_id=conversation.id, contact_id=conversation.contact_id,
                      channel=Channel.sms, direction="in", author_type="customer", text=text)
    return MessageCreated(message=message, conversation=conversation)


async def test_a_busy_window_leaves_together_and_a_quiet_one_at_once(store: Store) -> None:
    sio = Emits()
    forwarder = Forwarder(sio, "/agents", EventLog(store), conversations=None, window_s=WINDOW_S)
    task = asyncio.create_task(forwarder.run())
    conversation = Conversation(number=1, contact_id="k", channel=Channel.sms, thread_key="t")
    try:
        await forwarder.on_event(created(conversation, "first"))
        await sio.until(1)
        assert forwarder.waits == 0  # nothing before it: it left at once

        loop = asyncio.get_running_loop()
        began, flushes = loop.time(), forwarder.flushes
        texts = [f"busy {i}" for i in range(20)]
        for text in texts:  # one every ~10 ms: without the window, about one frame each
            await forwarder.on_event(created(conversation, text))
            await asyncio.sleep(0.01)
        await sio.until(21)
        elapsed = loop.time() - began
        assert sio.texts() == ["first", *texts]  # in order, once each
        assert forwarder.flushes - flushes <= math.ceil(elapsed / WINDOW_S) + 1
        assert forwarder.flushes - flushes < len(texts)
        assert "events" in [event for event, _, _ in sio.frames]

        await asyncio.sleep(2 * WINDOW_S)  # a quiet spell longer than the window
        waits = forwarder.waits
        await forwarder.on_event(created(conversation, "after a pause"))
        await sio.until(22)
        assert forwarder.waits == waits  # not held back
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_without_a_window_every_event_may_leave_alone(store: Store) -> None:
    sio = Emits()
    forwarder = Forwarder(sio, "/agents", EventLog(store), conversations=None, window_s=0)
    task = asyncio.create_task(forwarder.run())
    conversation = Conversation(number=1, contact_id="k", channel=Channel.sms, thread_key="t")
    try:
        for i in range(5):
            await forwarder.on_event(created(conversation, f"m{i}"))
            await sio.until(i + 1)
        assert forwarder.waits == 0 and forwarder.flushes == 5
        assert sio.texts() == [f"m{i}" for i in range(5)]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_cancel_a_flush_swallowed_still_ends_the_forwarder(store: Store) -> None:
    """The console's shutdown cancels the forwarder and waits for it: a cancel its flush swallowed
    (Python 3.11's asyncio.wait_for in the store driver, a socket library) ends it all the same."""
    swallow = SwallowsCancelOnce()

    class Swallowing(Emits):
        async def emit(self, event: str, data: Any, to: list[str], namespace: str) -> None:
            await swallow()

    forwarder = Forwarder(Swallowing(), "/agents", EventLog(store), conversations=None)
    task = asyncio.create_task(forwarder.run())
    conversation = Conversation(number=1, contact_id="k", channel=Channel.sms, thread_key="t")
    await forwarder.on_event(created(conversation, "hello"))
    await swallow.started()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):  # not TimeoutError: the loop did not wait for more
        await asyncio.wait_for(task, 5)
