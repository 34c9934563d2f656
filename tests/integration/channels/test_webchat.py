"""The /chat Socket.IO namespace with real python-socketio clients against the app."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from channels.webchat import tokens
from hub import keys
from hub.models import Channel, Role

from .conftest import run_jobs
from .mailservers import Collector


class Visitor:
    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.url = str(client.server.make_url("")).rstrip("/")
        self.sio = socketio.AsyncClient(reconnection=False)
        self.session: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sio.on("session", self._on_session, namespace="/chat")
        self.sio.on("message", self._on_message, namespace="/chat")

    async def _on_session(self, data: dict[str, Any]) -> None:
        if not self.session.done():
            self.session.set_result(data)

    async def _on_message(self, data: dict[str, Any]) -> None:
        await self.inbox.put(data)

    async def connect(self, **auth: Any) -> dict[str, Any]:
        # python-socketio waits 1 s for the namespace by default: too short on a loaded CI machine
        await self.sio.connect(self.url, namespaces=["/chat"], transports=["websocket"], auth=auth,
                               wait_timeout=15)
        return await asyncio.wait_for(self.session, 5)

    async def call(self, event: str, data: Any) -> Any:
        return await self.sio.call(event, data, namespace="/chat", timeout=5)

    async def close(self) -> None:
        await self.sio.disconnect()


@pytest.fixture
async def visitor(client: TestClient[Any, Any]) -> AsyncIterator[Visitor]:
    v = Visitor(client)
    yield v
    await v.close()


async def _agent(client: TestClient[Any, Any]) -> dict[str, str]:
    from tests.conftest import Api
    return (await Api(client).user(Role.agent))["headers"]


async def agent_online(client: TestClient[Any, Any], node: str = "n1") -> None:
    """An agent signed in to the console (its presence tracker, as a console socket would)."""
    presence = client.server.app[keys.EXTENSIONS]["agent_console"]["presence"]
    await presence.connected(f"{node}-sid", "agent-1", "Thandeka")


async def test_chat_both_ways_with_history_on_reconnect(
    client: TestClient[Any, Any], visitor: Visitor
) -> None:
    await agent_online(client)
    session = await visitor.connect(name="Zanele")
    assert (
        session["visitor_id"].startswith("v") and session["open"] is True and session["agents_online"] is True
    )
    ack = await visitor.call("message", {"text": "Do you have a photographer for 14 Feb?", "client_id": "c1"})
    assert ack["ok"] and not ack["duplicate"]
    again = await visitor.call(
        "message", {"text": "Do you have a photographer for 14 Feb?", "client_id": "c1"}
    )
    assert again["ok"] and again["duplicate"] and again["id"] == ack["id"]  # a resend after a flaky network
    store = client.server.app[keys.STORE]
    assert await store.messages.count_documents({"channel": "webchat"}) == 1
    contact = await store.contacts.find_one({})
    assert contact["name"] == "Zanele"
    reply = await client.post(f"/api/v1/conversations/{ack['conversation_id']}/messages",
                              json={"text": "Yes, two are free."}, headers=await _agent(client))
    await run_jobs(client)
    pushed = await asyncio.wait_for(visitor.inbox.get(), 5)
    reply_id = (await reply.json())["id"]
    assert pushed == {"id": reply_id, "text": "Yes, two are free.", "from": "agent", "attachments": []}
    assert (await store.messages.find_one({"_id": reply_id}))["delivery_status"] == "delivered"
    await visitor.close()
    back = Visitor(client)
    try:
        again_session = await back.connect(token=session["token"])
        assert again_session["visitor_id"] == session["visitor_id"]
        history = await back.call("history", {})
        assert [(m["from"], m["text"]) for m in history["messages"]] == [
            ("visitor", "Do you have a photographer for 14 Feb?"), ("agent", "Yes, two are free.")]
    finally:
        await back.close()


async def test_a_token_for_another_visitor_is_refused(client: TestClient[Any, Any], visitor: Visitor) -> None:
    session = await visitor.connect()
    _, vid, expires, mac = session["token"].split(".")
    forged = f"v1.vdeadbeefdeadbeefdeadbeef.{expires}.{mac}"
    intruder = Visitor(client)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await intruder.connect(token=forged)
    expired = tokens.issue(client.server.app[keys.SETTINGS].chat_secret.get_secret_value(), vid, now=1.0)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await Visitor(client).connect(token=expired)


async def test_bad_chat_messages_get_clear_errors(client: TestClient[Any, Any], visitor: Visitor) -> None:
    await visitor.connect()
    limit = client.server.app[keys.SETTINGS].chat_max_chars
    cases = [
        {"text": "x" * (limit + 1), "client_id": "a"},
        {"text": "   ", "client_id": "b"},
        {"text": "hi"},
        "just a string",
        {"text": "hi", "client_id": "c", "attachments": [{"blob_id": "6b0700000000000000000000"}]},
    ]
    answers = [await visitor.call("message", case) for case in cases]
    assert [a["ok"] for a in answers] == [False] * 5
    assert "longer than" in answers[0]["error"] and answers[4]["field"] == "attachments"
    assert await client.server.app[keys.STORE].messages.count_documents({}) == 0


async def test_flooding_is_slowed_down(client: TestClient[Any, Any], visitor: Visitor) -> None:
    await visitor.connect()
    answers = [await visitor.call("message", {"text": f"m{i}", "client_id": f"f{i}"}) for i in range(12)]
    assert [a["ok"] for a in answers].count(True) == 10 and answers[-1]["error"] == "slow down"


async def test_reconnecting_does_not_reset_the_limit_and_one_address_is_bounded(
        client: TestClient[Any, Any], visitor: Visitor, monkeypatch: pytest.MonkeyPatch) -> None:
    """The public widget's limits hold against a client that reconnects: the message window is the
    visitor's, not the connection's, and one IP gets a bounded number of connections (a client
    without a token is a new visitor on each) and of messages."""
    from channels.webchat import namespace

    session = await visitor.connect()
    answers = [await visitor.call("message", {"text": f"m{i}", "client_id": f"r{i}"}) for i in range(10)]
    assert all(a["ok"] for a in answers)
    await visitor.close()
    again = Visitor(client)
    await again.connect(token=session["token"])  # the same visitor on a fresh connection
    refused = await again.call("message", {"text": "one more", "client_id": "r10"})
    assert refused["ok"] is False and refused["status"] == 429 and 0 < refused["retry_after"] <= 10
    await again.close()

    monkeypatch.setattr(namespace, "MESSAGES_PER_IP", (12, 60))  # the address has sent 10 already
    sent = []
    for i in range(2):  # two new visitors from the same address
        v = Visitor(client)
        await v.connect()
        sent += [await v.call("message", {"text": f"n{i}{j}", "client_id": f"n{i}{j}"}) for j in range(2)]
        await v.close()
    assert [a["ok"] for a in sent] == [True, True, False, False] and sent[-1]["retry_after"] >= 1

    monkeypatch.setattr(namespace, "CONNECTS_PER_IP", (1, 60))  # the counter already holds this test's 4
    with pytest.raises(socketio.exceptions.ConnectionError):
        await Visitor(client).connect()
    assert await client.server.app[keys.STORE].messages.count_documents({"direction": "in"}) == 12


async def test_attachments_belong_to_their_visitor(client: TestClient[Any, Any], visitor: Visitor) -> None:
    session = await visitor.connect()
    up = await client.post("/chat/attachments", data=b"\x89PNG image", headers={
        "Content-Type": "image/png", "X-Filename": "venue.png", "X-Visitor-Token": session["token"]})
    assert up.status == 201
    blob = await up.json()
    ack = await visitor.call("message", {"text": "", "client_id": "p1", "attachments": [blob]})
    assert ack["ok"], ack
    doc = await client.server.app[keys.STORE].messages.find_one({})
    assert doc["attachments"][0]["filename"] == "venue.png" and doc["attachments"][0]["size"] == 10
    other = Visitor(client)
    try:
        await other.connect()
        stolen = await other.call("message", {"text": "mine now", "client_id": "s1", "attachments": [blob]})
        assert not stolen["ok"] and stolen["field"] == "attachments"
    finally:
        await other.close()
    forged = await client.post("/chat/attachments", data=b"x", headers={"Content-Type": "image/png",
                                                                         "X-Visitor-Token": "v1.x.1.y"})
    big = await client.post("/chat/attachments", data=b"x" * (10 * 1024 * 1024 + 1), headers={
        "Content-Type": "image/png", "X-Visitor-Token": session["token"]})
    exe = await client.post("/chat/attachments", data=b"MZ", headers={
        "Content-Type": "application/x-msdownload", "X-Visitor-Token": session["token"]})
    assert (forged.status, big.status, exe.status) == (403, 413, 415)
    assert big.content_type == "application/problem+json"
    assert (await big.json())["detail"] == "uploads are limited to 10 MB"


async def test_offline_visitor_continues_by_email(client: TestClient[Any, Any], visitor: Visitor,
                                                  smtp_sink: tuple[int, Collector]) -> None:
    await visitor.connect()
    ack = await visitor.call("message", {"text": "Anyone there?", "client_id": "o1"})
    bad = await visitor.call("email", {"email": "not-an-address"})
    assert not bad["ok"] and bad["field"] == "email"
    assert (await visitor.call("email", {"email": "kagiso@example.com"}))["ok"]
    await visitor.close()
    await client.post(f"/api/v1/conversations/{ack['conversation_id']}/messages",
                      json={"text": "Sorry we missed you — yes, we can help."}, headers=await _agent(client))
    _, collector = smtp_sink
    before = len(collector.mails)
    await run_jobs(client)
    assert len(collector.mails) == before + 1
    _, rcpts, raw = collector.mails[-1]
    assert rcpts == ["kagiso@example.com"]
    assert "Sorry we missed you" in message_from_bytes(raw, policy=policy.default).get_body().get_content()


async def test_host_verified_identity_links_the_contact(
    client: TestClient[Any, Any], visitor: Visitor
) -> None:
    app = client.server.app
    user_hash = tokens.identity_hash("host-site-secret", "user-77", "nandi@example.com")
    session = await visitor.connect(user_id="user-77", user_hash=user_hash, email="nandi@example.com")
    assert session["verified"] is True
    await visitor.call("message", {"text": "About my booking", "client_id": "i1"})
    store = app[keys.STORE]
    email_identity = await store.identities.find_one({"_id": "email:nandi@example.com"})
    chat_identity = await store.identities.find_one({"_id": f"chat:{session['visitor_id']}"})
    assert email_identity and chat_identity and email_identity["contact_id"] == chat_identity["contact_id"]
    # a forged hash, and a genuine hash of user-77 sent with someone else's e-mail: neither links
    for forged in ("0" * 64, user_hash):
        liar = Visitor(client)
        try:
            s2 = await liar.connect(user_id="user-77", user_hash=forged, email="victim@example.com")
            assert s2["verified"] is False
            await liar.call("message", {"text": "hi", "client_id": "i2"})
            assert await store.identities.find_one({"_id": "email:victim@example.com"}) is None
        finally:
            await liar.close()


async def test_widget_script_is_served_by_the_hub(client: TestClient[Any, Any]) -> None:
    js = await client.get("/chat/widget.js")
    assert js.status == 200 and "javascript" in js.headers["Content-Type"]
    body = await js.text()
    code = body.split("*/", 1)[1]
    # text only (no innerHTML), and no address of anything to load (no CDN): self-contained
    assert "textContent" in body and "innerHTML" not in body and not re.search(r"https?://", code)


async def test_online_checks_hold_across_two_nodes(
    client: TestClient[Any, Any], smtp_sink: tuple[int, Collector]
) -> None:
    """Node 1 runs the outbox; the visitor's socket is on node 2; the agent's console on node 2."""
    from hub.app import create_app
    from tests.conftest import running
    app1 = client.server.app
    async with running(create_app(app1[keys.SETTINGS])) as node2:
        visitor = Visitor(node2)
        try:
            session = await visitor.connect(name="Bongani")
            assert session["open"] is False and session["agents_online"] is False  # nobody at a console yet
            await visitor.close()
            await agent_online(node2, "n2")  # signed in on node 2: node 1's visitors see "online"
            visitor = Visitor(node2)
            session = await visitor.connect(name="Bongani", token=session["token"])
            assert session["open"] is True and session["agents_online"] is True
            adapter1 = app1[keys.EXTENSIONS]["channels"].registry[Channel.webchat]
            # connected on node 2, seen from node 1
            assert await adapter1.online(session["visitor_id"]) is True
            assert await visitor.call("email", {"email": "bongani@example.com"}) == {"ok": True}
            ack = await visitor.call("message", {"text": "Hi from node 2", "client_id": "m1"})
            reply = await client.post(f"/api/v1/conversations/{ack['conversation_id']}/messages",
                                      json={"text": "Hello Bongani"}, headers=await _agent(client))
            _, collector = smtp_sink
            before = len(collector.mails)
            await run_jobs(client)  # the outbox on node 1: a socket reply (not an e-mail)
            assert len(collector.mails) == before
            doc = await app1[keys.STORE].messages.find_one({"_id": (await reply.json())["id"]})
            assert doc["delivery_status"] == "delivered" and "via" not in doc.get("meta", {})
            await visitor.close()
            for _ in range(50):  # the disconnect reaches node 2's presence
                if not await adapter1.online(session["visitor_id"]):
                    break
                await asyncio.sleep(0.05)
            assert await adapter1.online(session["visitor_id"]) is False
            await client.post(f"/api/v1/conversations/{ack['conversation_id']}/messages",
                              json={"text": "Are you still there?"}, headers=await _agent(client))
            await run_jobs(client)  # gone from every node: continued by e-mail
            assert len(collector.mails) == before + 1 and collector.mails[-1][1] == ["bongani@example.com"]
        finally:
            await visitor.close()
