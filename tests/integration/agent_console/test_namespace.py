"""The /agents namespace against the whole app and real FerretDB: auth on connect, live events,
room authorization, catch-up after reconnect, replies, typing, collisions, presence, bad input."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import jwt
import pytest
import socketio

from hub import keys
from hub.models import Role, new_id, utcnow

from .conftest import team_agent

pytestmark = pytest.mark.integration


async def test_connect_refused_without_forged_or_expired_token_and_for_portal_users(
    agents, api, client
) -> None:
    secret = client.server.app[keys.SETTINGS].jwt_secret.get_secret_value()
    user = (await api.user(Role.agent))["user"]
    now = utcnow()
    claims = {"sub": user["id"], "role": "agent", "teams": [], "name": "A"}
    forged = jwt.encode({**claims, "exp": now + timedelta(minutes=5)}, "x" * 40, algorithm="HS256")
    expired = jwt.encode(
        {**claims, "iat": now - timedelta(hours=1), "exp": now - timedelta(minutes=1)},
        secret,
        algorithm="HS256",
    )
    customer = await api.user(Role.customer)
    for token, reason in ((None, "unauthorized"), ("", "unauthorized"), ("not-a-jwt", "invalid token"),
                          (forged, "invalid token"), (expired, "token expired"),
                          (customer["access_token"], "staff only"), ("x" * 5000, "unauthorized")):
        with pytest.raises(socketio.exceptions.ConnectionError) as err:
            await agents(token)
        assert reason in str(err.value), (token, err.value)


async def test_inbound_message_reaches_connected_agent_with_increasing_ids(agents, api, ingest) -> None:
    agent = await agents((await api.user(Role.agent))["access_token"])
    first = await ingest("<script>alert(1)</script> where is my DJ?")
    await agent.wait_for(lambda: agent.events("message.created"))
    await ingest("second message")
    await agent.wait_for(lambda: len(agent.events("message.created")) == 2)
    names = [e["name"] for e in agent.events()]
    assert names == ["conversation.created", "message.created", "message.created"]
    ids = [e["id"] for e in agent.events()]
    assert ids == sorted(ids) and len(set(ids)) == 3
    created = agent.events("message.created")[0]["data"]
    assert created["message"]["text"] == "<script>alert(1)</script> where is my DJ?"
    assert created["conversation"]["id"] == first["conversation"]["id"]


async def test_team_private_conversation_is_invisible_to_other_teams_by_event_and_by_open(agents, api, ingest,
                                                                                            client) -> None:
    admin = await api.user(Role.admin)
    first = await ingest("team stuff")
    conversation_id = first["conversation"]["id"]
    resp = await client.patch(f"/api/v1/conversations/{conversation_id}", json={"team_id": "venues"},
                              headers=admin["headers"])
    assert resp.status == 200, await resp.text()
    tokens = {"vera@example.com": await team_agent(client, "Vera", ["venues"]),
              "carl@example.com": await team_agent(client, "Carl", ["catering"])}
    venues, catering = await agents(tokens["vera@example.com"]), await agents(tokens["carl@example.com"])
    supervisor = await agents((await api.user(Role.supervisor))["access_token"])
    await ingest("second message in the venues ticket")
    await venues.wait_for(lambda: venues.events("message.created"))
    await supervisor.wait_for(lambda: supervisor.events("message.created"))
    await asyncio.sleep(0.3)
    assert catering.events() == []
    assert (await catering.call("open", {"conversation_id": conversation_id}))["error"]["code"] == "not_found"
    assert (await catering.call("reply", {"conversation_id": conversation_id, "text": "hi",
                                          "client_id": "c" * 10}))["error"]["code"] == "not_found"
    assert (
        await catering.call("update", {"conversation_id": conversation_id, "changes": {"status": "resolved"}})
    )["error"]["code"] == "not_found"
    # catch-up is filtered by room too: nothing of the venues ticket leaks; the shared inbox (which
    # saw the ticket before it was routed) only hears that it moved
    missed = (await catering.call("catch_up", {"last_id": 0}))["events"]
    assert [(e["name"], sorted(e["data"])) for e in missed] == [
        ("conversation.transferred", ["actor_id", "conversation_id", "number", "previous_team_id", "team_id"])
    ]
    # the inbox lists are filtered the same way
    assert conversation_id not in [c["id"] for c in (await catering.call("list", {"view": "all"}))["items"]]
    assert conversation_id in [c["id"] for c in (await venues.call("list", {"view": "teams"}))["items"]]
    assert (await venues.call("list", {"view": "unassigned", "q": "#1"}))["items"][0]["id"] == conversation_id
    opened = await venues.call("open", {"conversation_id": conversation_id})
    assert (
        opened["ok"] and [m["text"] for m in opened["messages"]][-1] == "second message in the venues ticket"
    )


async def test_catch_up_after_reconnect_returns_missed_events_in_order_without_duplicates(agents, api,
                                                                                           ingest) -> None:
    token = (await api.user(Role.agent))["access_token"]
    agent = await agents(token)
    assert (await agent.call("hello"))["head"] == 0  # a fresh page starts from the log's head
    await ingest("before")
    await agent.wait_for(lambda: agent.events("message.created"))
    seen = [e["id"] for e in agent.events()]
    await agent.close()
    for i in range(3):
        await ingest(f"missed {i}")
    again = await agents(token)
    # events reach the log through the forwarder's flush window: ask until the third is logged
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        got = await again.call("catch_up", {"last_id": max(seen)})
        if len(got["events"]) >= 3 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert [e["data"]["message"]["text"] for e in got["events"]] == ["missed 0", "missed 1", "missed 2"]
    assert got["more"] is False
    # the overlap window: with the ids already held listed, nothing is replayed twice …
    overlap = await again.call("catch_up", {"last_id": max(seen), "seen": seen})
    assert [e["id"] for e in overlap["events"]] == [e["id"] for e in got["events"]]
    # … and an id the client never got below its last id (a late event from another node) comes back
    late = await again.call(
        "catch_up", {"last_id": got["events"][-1]["id"], "seen": [got["events"][-1]["id"]]}
    )
    assert [e["id"] for e in late["events"]] == [*seen, *(e["id"] for e in got["events"][:-1])]


async def test_reply_is_stored_once_per_client_id_and_reaches_other_agents(
    agents, api, ingest, client
) -> None:
    first = await ingest("need a caterer")
    conversation_id = first["conversation"]["id"]
    a, b = await agents((await api.user(Role.agent))["access_token"]), await agents(
        (await api.user(Role.agent))["access_token"])
    body = {"conversation_id": conversation_id, "text": "On it!", "client_id": "reply-" + new_id()}
    sent = await a.call("reply", body)
    assert sent["ok"] and sent["duplicate"] is False and sent["message"]["direction"] == "out"
    again = await a.call("reply", body)  # the ack was lost: the client sends it again
    assert again["ok"] and again["duplicate"] is True and again["message"]["id"] == sent["message"]["id"]
    stored = await client.server.app[keys.STORE].messages.count_documents(
        {"conversation_id": conversation_id, "direction": "out"})
    assert stored == 1
    await b.wait_for(
        lambda: [e for e in b.events("message.created") if e["data"]["message"]["direction"] == "out"]
    )
    note = await a.call("reply", {**body, "client_id": "note-" + new_id(), "text": "VIP", "private": True})
    assert note["message"]["private"] is True


async def test_typing_and_viewing_show_collisions_and_typing_floods_are_limited(agents, api, ingest) -> None:
    conversation_id = (await ingest("help"))["conversation"]["id"]
    a = await agents((await api.user(Role.agent))["access_token"])
    b = await agents((await api.user(Role.agent))["access_token"])
    ref = {"conversation_id": conversation_id}
    assert (await a.call("typing", ref))["error"]["code"] == "not_open"
    assert (await a.call("open", ref))["viewers"] == []
    opened = await b.call("open", ref)
    assert [v["name"] for v in opened["viewers"]] == ["Agent"]
    await a.wait_for(lambda: [v for v in a.of("viewing") if v["viewing"]])
    assert (await b.call("typing", ref))["ok"]
    await a.wait_for(lambda: a.of("typing"))
    assert a.of("typing")[0]["conversation_id"] == conversation_id and b.of("typing") == []
    answers = [await b.call("typing", ref) for _ in range(10)]
    assert any(r.get("error", {}).get("code") == "rate_limited" for r in answers)
    assert len(a.of("typing")) <= 5
    await b.call("close", ref)
    await a.wait_for(lambda: [v for v in a.of("viewing") if not v["viewing"]])


async def test_resolve_and_assign_over_the_socket_emit_updates(agents, api, ingest) -> None:
    conversation_id = (await ingest("thanks, all sorted"))["conversation"]["id"]
    me = await api.user(Role.agent)
    agent = await agents(me["access_token"])
    assigned = await agent.call("update", {"conversation_id": conversation_id,
                                           "changes": {"assignee_id": me["user"]["id"]}})
    assert assigned["conversation"]["assignee_id"] == me["user"]["id"]
    resolved = await agent.call(
        "update", {"conversation_id": conversation_id, "changes": {"status": "resolved"}}
    )
    assert resolved["conversation"]["status"] == "resolved"
    await agent.wait_for(lambda: len(agent.events("conversation.updated")) == 2)
    bad = await agent.call("update", {"conversation_id": conversation_id, "changes": {"status": "snoozed"}})
    assert bad["ok"] is False and "cannot become" in bad["error"]["detail"]


async def test_a_snooze_over_the_socket_needs_a_wake_up_time_and_files_the_wake(
    agents, api, client, ingest
) -> None:
    conversation_id = (await ingest("call me tomorrow"))["conversation"]["id"]
    agent = await agents((await api.user(Role.agent))["access_token"])
    bare = await agent.call("update", {"conversation_id": conversation_id, "changes": {"status": "snoozed"}})
    assert bare["ok"] is False and "wake-up time" in bare["error"]["detail"]
    past = await agent.call(
        "update",
        {
            "conversation_id": conversation_id,
            "changes": {"status": "snoozed", "snooze_until": "2020-01-01T09:00:00Z"},
        },
    )
    assert past["ok"] is False and "in the future" in past["error"]["detail"]
    until = "2099-01-05T07:00:00+00:00"
    snoozed = await agent.call("update", {"conversation_id": conversation_id,
                                          "changes": {"status": "snoozed", "snooze_until": until}})
    assert snoozed["ok"] is False and "within a year" in snoozed["error"]["detail"]
    until = (utcnow() + timedelta(hours=4)).replace(microsecond=0)
    snoozed = await agent.call(
        "update",
        {
            "conversation_id": conversation_id,
            "changes": {"status": "snoozed", "snooze_until": until.isoformat()},
        },
    )
    assert snoozed["ok"], snoozed
    assert snoozed["conversation"]["status"] == "snoozed"
    assert datetime.fromisoformat(snoozed["conversation"]["snooze_until"]) == until
    wake = await client.server.app[keys.STORE]["jobs"].find_one({"kind": "ticketing.wake"})
    assert wake is not None and wake["payload"]["conversation_id"] == conversation_id


async def test_presence_online_away_offline_is_published(agents, api, client) -> None:
    bus = client.server.app[keys.BUS]
    watcher = await agents((await api.user(Role.supervisor))["access_token"])
    me = await api.user(Role.agent)
    with bus.capture() as events:
        agent = await agents(me["access_token"])
        await watcher.wait_for(
            lambda: [p for p in watcher.of("presence") if p["user_id"] == me["user"]["id"]]
        )
        assert (await agent.call("presence", {"status": "away"}))["status"] == "away"
        assert (await agent.call("heartbeat"))["status"] == "away"
        load = await watcher.call("agents")
        assert {a["user_id"]: a["status"] for a in load["agents"]}[me["user"]["id"]] == "away"
        await agent.close()
        await watcher.wait_for(lambda: [p for p in watcher.of("presence")
                                        if p["user_id"] == me["user"]["id"] and p["status"] == "offline"])
    mine = [
        (e.previous, e.status) for e in events if e.name == "agent.presence" and e.user_id == me["user"]["id"]
    ]
    assert mine == [("offline", "online"), ("online", "away"), ("away", "offline")]


async def test_two_tabs_one_presence_offline_only_when_the_last_closes(agents, api, client) -> None:
    bus = client.server.app[keys.BUS]
    me = await api.user(Role.agent)
    with bus.capture() as events:
        first = await agents(me["access_token"])
        second = await agents(me["access_token"])
        away = await agents(me["access_token"])
        assert (await away.call("presence", {"status": "away"}))["status"] == "online"  # others are online
        await first.close()
        await asyncio.sleep(0.3)
        tracker = client.server.app[keys.EXTENSIONS]["agent_console"]["presence"]
        assert await tracker.status(me["user"]["id"]) == "online"
        await second.close()  # only the away tab is left
        for _ in range(50):
            if await tracker.status(me["user"]["id"]) == "away":
                break
            await asyncio.sleep(0.1)
        await away.close()
        for _ in range(50):
            if await tracker.status(me["user"]["id"]) == "offline":
                break
            await asyncio.sleep(0.1)
    mine = [
        (e.previous, e.status) for e in events if e.name == "agent.presence" and e.user_id == me["user"]["id"]
    ]
    assert mine == [("offline", "online"), ("online", "away"), ("away", "offline")]


@pytest.mark.parametrize("event,payload,code", [
    ("open", {}, "invalid"),
    ("open", {"conversation_id": "x", "extra": 1}, "invalid"),
    ("open", {"conversation_id": "../../etc"}, "invalid"),
    ("open", ["not", "an", "object"], "invalid"),
    ("open", {"conversation_id": "0" * 24}, "not_found"),
    ("reply", {"conversation_id": "0" * 24, "text": "x" * 100_001, "client_id": "abcdefgh"}, "invalid"),
    ("reply", {"conversation_id": "0" * 24, "text": "hi", "client_id": "short"}, "invalid"),
    ("update", {"conversation_id": "0" * 24, "changes": {"status": "exploded"}}, "invalid"),
    ("update", {"conversation_id": "0" * 24, "changes": {"number": 3}}, "invalid"),
    ("catch_up", {"last_id": -1}, "invalid"),
    ("presence", {"status": "invisible"}, "invalid"),
    ("list", {"view": "everything"}, "invalid"),
    ("list", {"q": "x" * 201}, "invalid"),
    ("drop_tables", {}, "unknown_event"),
])
async def test_malformed_events_get_a_clear_error_ack(agents, api, event, payload, code) -> None:
    agent = await agents((await api.user(Role.agent))["access_token"])
    answer = await agent.call(event, payload)
    assert answer["ok"] is False and answer["error"]["code"] == code, answer
    assert (await agent.call("heartbeat"))["ok"]  # still connected and served


async def test_oversized_frame_drops_only_that_connection(agents, api, ingest) -> None:
    token = (await api.user(Role.agent))["access_token"]
    big, other = await agents(token), await agents(token)
    # the connection drops with the frame: a timeout or a disconnection, whichever the client sees first
    with pytest.raises(Exception):  # noqa: B017
        await big.call("reply", {"conversation_id": "x", "text": "y" * 2_000_000, "client_id": "abcdefgh"},
                       timeout=3)
    await ingest("still flowing")
    await other.wait_for(lambda: other.events("message.created"))


async def test_flood_of_events_is_rate_limited(agents, api) -> None:
    agent = await agents((await api.user(Role.agent))["access_token"])
    answers = await asyncio.gather(*(agent.call("heartbeat") for _ in range(120)))
    limited = [a for a in answers if not a["ok"]]
    assert limited and all(a["error"]["code"] == "rate_limited" for a in limited)


async def test_notifications_go_only_to_their_user_and_are_caught_up(agents, api, client) -> None:
    from hub.ticketing.events import NotificationCreated

    me, other = await api.user(Role.agent), await api.user(Role.agent)
    mine, theirs = await agents(me["access_token"]), await agents(other["access_token"])
    note = {
        "_id": new_id(),
        "user_id": me["user"]["id"],
        "kind": "mention",
        "text": "@Agent look",
        "read": False,
    }
    await client.server.app[keys.BUS].publish(NotificationCreated(notification=note))
    await mine.wait_for(lambda: mine.events("notification.created"))
    assert mine.events("notification.created")[0]["data"]["notification"]["text"] == "@Agent look"
    await asyncio.sleep(0.2)
    assert theirs.events() == []
    assert [e["name"] for e in (await mine.call("catch_up", {"last_id": 0}))["events"]] == [
        "notification.created"
    ]
    assert (await theirs.call("catch_up", {"last_id": 0}))["events"] == []


async def test_a_connection_does_not_outlive_its_token(agents, api, client) -> None:
    secret = client.server.app[keys.SETTINGS].jwt_secret.get_secret_value()
    user = (await api.user(Role.agent))["user"]
    now = utcnow()
    # JWT "exp" is whole seconds: the token lasts 4-5 s, time enough to connect on a loaded box
    exp = now + timedelta(seconds=5)
    short = jwt.encode({"sub": user["id"], "role": "agent", "teams": [], "name": "A", "iat": now,
                        "exp": exp}, secret, algorithm="HS256")
    agent = await agents(short)
    assert (await agent.call("heartbeat"))["ok"]
    await asyncio.sleep((exp - utcnow()).total_seconds() + 0.5)
    answer = await agent.call("heartbeat")
    assert answer["ok"] is False and answer["error"]["code"] == "unauthorized"
    await agent.wait_for(lambda: not agent.sio.connected or None, timeout=5)


async def test_a_backlog_goes_out_as_batches_in_order_exactly_once(agents, api, client, ingest) -> None:
    """Fan-out cost: events queued while the forwarder was busy leave as one frame per socket."""
    agent = await agents((await api.user(Role.agent))["access_token"])
    conversation_id = (await ingest("first"))["conversation"]["id"]
    await agent.wait_for(lambda: agent.events("message.created"))
    forwarder = client.server.app[keys.EXTENSIONS]["agent_console"]["forwarder"]
    from hub.events import MessageCreated
    from hub.models import Conversation, Message
    conversation = await client.server.app[keys.CONVERSATIONS].get(conversation_id)
    message = (await client.server.app[keys.CONVERSATIONS].messages(conversation_id))[0]
    texts = [f"burst {i}" for i in range(30)]
    frames_before = len(agent.frames)
    for text in texts:  # queued in one go, as if published while the forwarder was busy
        copy = Message.model_validate({**message.model_dump(), "id": new_id(), "text": text})
        forwarder.queue.put_nowait(
            MessageCreated(message=copy, conversation=Conversation.model_validate(conversation))
        )
    await agent.wait_for(lambda: len([e for e in agent.events("message.created")
                                      if e["data"]["message"]["text"].startswith("burst")]) == 30)
    await asyncio.sleep(0.3)
    got = [e for e in agent.events("message.created") if e["data"]["message"]["text"].startswith("burst")]
    assert [e["data"]["message"]["text"] for e in got] == texts  # in order, once each
    ids = [e["id"] for e in agent.events()]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert "events" in agent.frames[frames_before:] and len(agent.frames) - frames_before < 30
    assert forwarder.queue.empty()


async def test_a_dropped_connection_goes_offline_only_if_not_back_within_the_grace(store) -> None:
    """A blip (reconnect within BERRY_CONSOLE_OFFLINE_GRACE_S) publishes nothing, so routing hands
    none of the agent's tickets away; staying away publishes offline once the grace is over."""
    import asyncio

    from agent_console.presence import PresenceTracker
    from hub.events import EventBus

    bus, told = EventBus(), []

    async def notify(data: dict) -> None:
        told.append(data["status"])

    tracker = PresenceTracker(store, bus, "n1", notify, grace_s=1.0)
    try:
        with bus.capture() as events:
            await tracker.connected("s1", "u1", "Vera")
            await tracker.disconnected("s1", "u1", "Vera")
            await tracker.connected("s2", "u1", "Vera")  # back within the grace
            await asyncio.sleep(1.5)
            assert await tracker.status("u1") == "online" and told == ["online"]
            await tracker.disconnected("s2", "u1", "Vera")
            assert await tracker.status("u1") == "online"  # not yet
            await asyncio.sleep(2.0)
            assert await tracker.status("u1") == "offline"
            await tracker.connected("s3", "u2", "Sipho")
            await tracker.disconnected("s3", "u2", "Sipho")
            await tracker.close()  # a node shutting down within the grace: nobody else would notice
            assert await tracker.status("u2") == "offline"
        assert [(e.user_id, e.previous, e.status) for e in events] == [
            ("u1", "offline", "online"), ("u1", "online", "offline"), ("u2", "offline", "online"),
            ("u2", "online", "offline")]
    finally:
        await tracker.close()
