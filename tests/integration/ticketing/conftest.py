"""Helpers for the ticketing tests: the whole app (real FerretDB) and short-cuts to its services."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub import keys
from hub.audit import Audit
from hub.contacts import Contacts
from hub.conversations import Conversations
from hub.events import EventBus
from hub.inbox import Inbox
from hub.jobs import Jobs
from hub.models import Channel, IdentityKind, InboundMessage, Role, User, utcnow
from hub.store import Store
from hub.ticketing import Ticketing
from hub.ticketing.clock import ManualClock
from hub.ticketing.context import Ctx
from hub.ticketing.settings import TicketingSettings
from hub.ticketing.teams import Presence

_seq = itertools.count()


class Kit:
    def __init__(self, client: TestClient[Any, Any], api: Any) -> None:
        self.client = client
        self.api = api
        self.app = client.server.app

    @property
    def t(self) -> Ticketing:
        return self.app[keys.EXTENSIONS]["ticketing"]  # type: ignore[no-any-return]

    async def inbound(
        self, text: str, sender: str = "+27821234567", channel: Channel = Channel.sms, **kw: Any
    ) -> Any:
        kind = IdentityKind.email if channel == Channel.email else IdentityKind.phone
        msg = InboundMessage(
            channel=channel,
            external_id=f"ext-{next(_seq)}",
            sender={"kind": kind, "value": sender},
            text=text,
            **kw,
        )
        return await self.app[keys.INBOX].ingest(msg)

    async def agent(
        self, role: Role = Role.agent, name: str | None = None, online: bool = True
    ) -> dict[str, Any]:
        user = await self.api.user(role)
        user["id"] = user["user"]["id"]
        if name:
            await self.app[keys.STORE].users.update_one({"_id": user["id"]}, {"$set": {"name": name}})
        if online:
            await self.t.statuses.set(user["id"], Presence.online)
        return user

    async def call(self, method: str, path: str, who: dict[str, Any], **kw: Any) -> tuple[int, Any]:
        headers = {**who["headers"], **kw.pop("headers", {})}
        resp = await self.client.request(method, "/api/v1" + path, headers=headers, **kw)
        body = await resp.json() if resp.content_type.endswith("json") else await resp.text()
        return resp.status, body

    async def conversation(self, conversation_id: str) -> Any:
        return await self.app[keys.CONVERSATIONS].get(conversation_id)

    async def doc(self, conversation_id: str) -> dict[str, Any]:
        return await self.app[keys.STORE].conversations.find_one({"_id": conversation_id})  # type: ignore[no-any-return]


@pytest.fixture
def kit(client: TestClient[Any, Any], api: Any) -> Kit:
    return Kit(client, api)


class Hub:
    """The ticketing services on a bare store (no web app): fast, for everything but the API."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.bus = EventBus()
        self.audit = Audit(store)
        self.contacts = Contacts(store, self.bus)
        self.conversations = Conversations(store, self.bus, self.audit)
        self.inbox = Inbox(store, self.bus, self.contacts, self.audit)
        self.jobs = Jobs(store)
        self.clock = ManualClock(utcnow())
        ctx = Ctx(
            store=store,
            bus=self.bus,
            conversations=self.conversations,
            contacts=self.contacts,
            audit=self.audit,
            jobs=self.jobs,
            clock=self.clock,
        )
        self.settings = TicketingSettings(_env_file=None)  # type: ignore[call-arg]
        self.t = Ticketing(ctx, self.settings)
        self.t.subscribe(self.bus)
        self.inbox.thread_policy = self.t.thread_policy

    async def inbound(
        self, text: str, sender: str = "+27821234567", channel: Channel = Channel.sms, **kw: Any
    ) -> Any:
        kind = IdentityKind.email if channel == Channel.email else IdentityKind.phone
        msg = InboundMessage(
            channel=channel,
            external_id=f"ext-{next(_seq)}",
            sender={"kind": kind, "value": sender},
            text=text,
            **kw,
        )
        return await self.inbox.ingest(msg)

    async def agent(self, name: str = "Agent", role: Role = Role.agent, online: bool = True) -> str:
        # Stored directly: password hashing (argon2) is deliberately slow and not what is tested here.
        user = User(email=f"{name.lower().replace(' ', '.')}-{next(_seq)}@berry.test", role=role, name=name)
        await self.store.users.insert_one(user.to_doc())
        if online:
            await self.t.statuses.set(user.id, Presence.online)
        return user.id

    async def get(self, conversation_id: str) -> Any:
        return await self.conversations.get(conversation_id)


@pytest.fixture
def hub(store: Store) -> Hub:
    return Hub(store)
