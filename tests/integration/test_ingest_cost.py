"""What one inbound message costs the store, with every package's subscribers wired (the console
fan-out bench's per-message CPU is mostly these round trips: ~0.4 ms of hub and ~0.5 ms of FerretDB
CPU each). A subscriber that starts re-reading the ticket shows up here, not only in a benchmark."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import monitoring

from hub import keys
from hub.app import create_app
from hub.events import MessageCreated
from hub.models import Channel, IdentityKind, InboundMessage, SenderIdentity
from hub.settings import Settings
from hub.store import Store
from tests.conftest import running

HANDSHAKE = {"hello", "ismaster", "isMaster", "ping", "endSessions", "killCursors", "getMore"}


class Commands(monitoring.CommandListener):
    """(command, collection) of every command the app's client sends while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.seen: Counter[tuple[str, str]] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.on and event.command_name not in HANDSHAKE:
            self.seen[(event.command_name, str(event.command.get(event.command_name)))] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def app_commands(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Any, Commands]]:
    listener = Commands()
    connect = Store.connect.__func__  # type: ignore[attr-defined]

    def listened(cls: type[Store], url: str, db_name: str, **kwargs: Any) -> Store:
        return connect(cls, url, db_name, event_listeners=[listener], **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(Store, "connect", classmethod(listened))
    app = create_app(settings)
    async with running(app) as client:
        yield client.server.app, listener


def sms(n: int) -> InboundMessage:
    return InboundMessage(channel=Channel.sms, external_id=f"SM{n}", text=f"message {n}",
                          sender=SenderIdentity(kind=IdentityKind.phone, value="+27821234567"))


async def settle(app: Any) -> None:
    await app[keys.BUS].drain()
    await app[keys.EXTENSIONS]["agent_console"]["forwarder"].drain()


async def test_a_message_on_an_open_ticket_reads_the_ticket_twice_and_the_contact_once(
        app_commands: tuple[Any, Commands]) -> None:
    app, commands = app_commands
    first = await app[keys.INBOX].ingest(sms(1))
    await settle(app)

    commands.on = True
    second = await app[keys.INBOX].ingest(sms(2))
    await settle(app)
    commands.on = False

    assert second.conversation.id == first.conversation.id and not second.duplicate
    seen = commands.seen
    # the ingest's thread look-up and the ticketing subscribers' one read (was 7 reads)
    assert seen[("find", "conversations")] == 2, seen
    assert seen[("find", "contacts")] == 1, seen  # the ingest's; the classifier reuses it
    assert seen[("update", "conversations")] == 1, seen  # last_message_at: nothing else writes it
    assert seen[("insert", "messages")] == 1 and seen[("insert", "inbound_keys")] == 1, seen
    # configuration read per message before: the default team (routing), webhook subscriptions
    assert ("find", "teams") not in seen and ("find", "webhooks") not in seen, seen
    # 18.75 before the ticketing hooks shared their read; 10 while every message also read the
    # contact_merges claim (a merge in progress is now a mark on the contact, read after the writes)
    assert ("find", "contact_merges") not in seen, seen
    assert sum(seen.values()) <= 9, seen


async def test_the_resolved_contact_rides_the_event_but_is_never_serialized(
        app_commands: tuple[Any, Commands]) -> None:
    app, _ = app_commands
    with app[keys.BUS].capture() as events:
        result = await app[keys.INBOX].ingest(sms(1))
    created = [e for e in events if isinstance(e, MessageCreated)]
    assert len(created) == 1 and created[0].contact is not None and created[0].contact.id == result.contact.id
    assert "contact" not in created[0].model_dump(mode="json")  # console and webhook payloads unchanged
    assert "contact" not in json.loads(created[0].model_dump_json())
