"""Web Push from the hub, end to end against a push-service stand-in that checks the VAPID JWT and
decrypts each payload as the agent's browser would (``pushservice.py``): subscribing (and the bad
input it refuses), the four notifying events, retries, dead endpoints and unsubscribing."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from agent_console.push import JOB_KIND
from hub import keys
from hub.events import BotHandoff
from hub.jobs import Worker
from hub.models import Role
from hub.ticketing.events import SlaWarning
from hub.ticketing.teams import Member, Presence, Team

from .conftest import team_agent
from .pushservice import PushService, b64url, unb64url

SUBS = "/api/v1/console/push/subscriptions"


@pytest.fixture
def settings(settings: Any) -> Any:
    return settings.model_copy(
        update={
            "push_services": "http://127.0.0.1,fcm.googleapis.com",
            "vapid_subject": "mailto:support@berry.test",
        }
    )


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()
    server = TestServer(service.app, host="127.0.0.1")
    await server.start_server()
    service.origin = f"http://127.0.0.1:{server.port}"
    yield service
    await server.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _run_push_jobs(client: Any) -> int:
    """Run every queued push job now (back-off waits skipped)."""
    app = client.server.app
    worker = Worker(app[keys.JOBS], {JOB_KIND: app[keys.JOB_HANDLERS][JOB_KIND]})
    ran = 0
    for _ in range(100):
        await app[keys.STORE]["job_queue"].update_many(
            {}, {"$set": {"next_at": datetime(2000, 1, 1, tzinfo=UTC)}}
        )
        if not await worker.run_once():
            return ran
        ran += 1
    return ran


async def _subscribe(client: Any, push_service: PushService, headers: dict[str, str]) -> Any:
    resp = await client.get("/api/v1/console/push/key", headers=headers)
    assert resp.status == 200, await resp.text()
    browser, subscription = push_service.subscribe((await resp.json())["public_key"])
    resp = await client.post(SUBS, json=subscription, headers=headers)
    assert resp.status == 201, await resp.text()
    return browser, subscription


async def _ticket(
    client: Any, admin: dict[str, Any], ingest: Any, phone: str, team_id: str | None = None
) -> str:
    conversation_id = str((await ingest("Is the venue booked?", phone=phone))["conversation"]["id"])
    if team_id:
        resp = await client.patch(
            f"/api/v1/conversations/{conversation_id}", json={"team_id": team_id}, headers=admin["headers"]
        )
        assert resp.status == 200, await resp.text()
    return conversation_id


async def test_pushes_reach_the_agents_browser_encrypted_and_signed(
    client, api, ingest, push_service
) -> None:
    admin = await api.user(Role.admin)
    vera = _bearer(await team_agent(client, "Vera", ["venues"]))
    carl = _bearer(await team_agent(client, "Carl", ["catering"]))
    vera_browser, _ = await _subscribe(client, push_service, vera)
    carl_browser, _ = await _subscribe(client, push_service, carl)
    vera_id = (await (await client.get("/api/v1/auth/me", headers=vera)).json())["id"]
    app = client.server.app

    # assigned to Vera (by someone else)
    ticket = await _ticket(client, admin, ingest, "+27825550001")
    resp = await client.patch(
        f"/api/v1/conversations/{ticket}", json={"assignee_id": vera_id}, headers=admin["headers"]
    )
    assert resp.status == 200, await resp.text()
    assert await _run_push_jobs(client) == 1
    [assigned] = push_service.messages(vera_browser)
    number = (await resp.json())["number"]
    assert assigned["payload"]["title"] == f"#{number} assigned to you"
    assert assigned["payload"]["conversation_id"] == ticket and assigned["payload"]["kind"] == "assigned"
    assert assigned["urgency"] == "high" and assigned["ttl"] > 0 and assigned["topic"]
    assert (
        assigned["claims"]["aud"] == push_service.origin
        and assigned["claims"]["sub"] == "mailto:support@berry.test"
    )

    # @mentioned in a colleague's note
    resp = await client.post(
        f"/api/v1/conversations/{ticket}/messages",
        headers=admin["headers"],
        json={"text": "@vera can you confirm the deposit?", "private": True},
    )
    assert resp.status == 201, await resp.text()
    await _run_push_jobs(client)
    mention = push_service.messages(vera_browser)[-1]["payload"]
    assert mention["kind"] == "mention" and "confirm the deposit" in mention["body"]

    # SLA warning: the assignee is told
    await app[keys.BUS].publish(
        SlaWarning(
            conversation_id=ticket, metric="first_response", due_at=datetime.now(UTC) + timedelta(minutes=10)
        )
    )
    await _run_push_jobs(client)
    warning = push_service.messages(vera_browser)[-1]["payload"]
    assert warning["kind"] == "sla_warning" and warning["title"] == f"#{number}: first response due soon"

    # the bot hands a venues conversation over: the venues team is told, catering is not
    venues_ticket = await _ticket(client, admin, ingest, "+27825550002", team_id="venues")
    conversation = await app[keys.CONVERSATIONS].get(venues_ticket)
    await app[keys.BUS].publish(BotHandoff(conversation=conversation, reason="asked for a person"))
    await _run_push_jobs(client)
    handoff = push_service.messages(vera_browser)[-1]["payload"]
    assert handoff["kind"] == "handoff" and handoff["body"] == "asked for a person"
    assert push_service.messages(carl_browser) == []  # nothing of another team's tickets
    assert push_service.refused == []

    # the same event again (a replayed publish) is pushed once
    await app[keys.BUS].publish(BotHandoff(conversation=conversation, reason="asked for a person"))
    assert await _run_push_jobs(client) == 0


async def test_a_customer_reopening_a_ticket_tells_its_assignee(client, api, ingest, push_service) -> None:
    """The customer writes to a pending ticket: its assignee is pushed "#N reopened by the customer"
    with the message, once; not for a message to an open ticket; and not when routing hands the
    reopened ticket of an offline assignee to a colleague (who is pushed the assignment)."""
    admin = await api.user(Role.admin)
    vera = _bearer(await team_agent(client, "Vera", ["venues"]))
    carl = _bearer(await team_agent(client, "Carl", ["venues"]))
    vera_browser, _ = await _subscribe(client, push_service, vera)
    carl_browser, _ = await _subscribe(client, push_service, carl)
    vera_id = (await (await client.get("/api/v1/auth/me", headers=vera)).json())["id"]
    carl_id = (await (await client.get("/api/v1/auth/me", headers=carl)).json())["id"]
    app = client.server.app
    ticketing = app[keys.EXTENSIONS]["ticketing"]
    await ticketing.teams.create(Team(name="Venues desk", members=[Member(user_id=vera_id),
                                                                   Member(user_id=carl_id)], default=True))
    await ticketing.statuses.set(vera_id, Presence.online)  # Carl is offline: routing gives it to Vera
    phone = "+27825550031"
    ticket = await _ticket(client, admin, ingest, phone)
    conversation = await app[keys.CONVERSATIONS].get(ticket)
    assert conversation.assignee_id == vera_id

    async def pending() -> None:
        resp = await client.patch(f"/api/v1/conversations/{ticket}", json={"status": "pending"},
                                  headers=admin["headers"])
        assert resp.status == 200, await resp.text()

    await pending()
    await _run_push_jobs(client)
    seen = len(push_service.messages(vera_browser))  # the assignment
    await ingest("Is the marquee still  booked for Saturday?", phone=phone)
    await _run_push_jobs(client)
    [reopened] = push_service.messages(vera_browser)[seen:]
    assert reopened["payload"]["kind"] == "reopened" and reopened["urgency"] == "high"
    assert reopened["payload"]["title"] == f"#{conversation.number} reopened by the customer"
    assert reopened["payload"]["body"] == "Is the marquee still booked for Saturday?"
    assert reopened["payload"]["conversation_id"] == ticket
    await ingest("hello?", phone=phone)  # already open: no status change, no push
    assert await _run_push_jobs(client) == 0

    await pending()
    await ticketing.statuses.set(carl_id, Presence.online)
    await ticketing.statuses.set(vera_id, Presence.offline)  # her pending ticket stays hers until...
    seen = len(push_service.messages(vera_browser))
    await ingest("One more thing: 40 chairs", phone=phone)  # ...the customer writes: Carl takes it
    await _run_push_jobs(client)
    assert (await app[keys.CONVERSATIONS].get(ticket)).assignee_id == carl_id
    assert len(push_service.messages(vera_browser)) == seen
    assert [m["payload"]["kind"] for m in push_service.messages(carl_browser)] == ["assigned"]
    assert push_service.refused == []


async def test_a_push_is_retried_and_a_dead_subscription_removed(client, api, ingest, push_service) -> None:
    admin = await api.user(Role.admin)
    vera = _bearer(await team_agent(client, "Vera", ["venues"]))
    browser, subscription = await _subscribe(client, push_service, vera)
    app = client.server.app

    async def handoff(phone: str) -> None:
        ticket = await _ticket(client, admin, ingest, phone, team_id="venues")
        await app[keys.BUS].publish(
            BotHandoff(conversation=await app[keys.CONVERSATIONS].get(ticket), reason="x")
        )

    push_service.fail_next = 2  # 503 twice: the job is retried with back-off, then delivered
    await handoff("+27825550011")
    assert await _run_push_jobs(client) == 3
    assert len(push_service.messages(browser)) == 1
    job = await app[keys.STORE]["jobs"].find_one({"kind": JOB_KIND})
    assert job["state"] == "done" and job["attempts"] == 3

    push_service.gone.add(browser.token)  # the browser unsubscribed / the subscription expired
    await handoff("+27825550012")
    await _run_push_jobs(client)
    listed = await (await client.get(SUBS, headers=vera)).json()
    assert listed == [] and len(push_service.messages(browser)) == 1
    await handoff("+27825550013")  # nobody left to push to: no job
    assert await _run_push_jobs(client) == 0

    # subscribe again, then unsubscribe: nothing is sent
    resp = await client.post(SUBS, json=subscription, headers=vera)
    assert resp.status == 201
    resp = await client.delete(SUBS, json={"endpoint": subscription["endpoint"]}, headers=vera)
    assert resp.status == 204, await resp.text()
    assert await (await client.get(SUBS, headers=vera)).json() == []


async def test_subscribing_refuses_bad_input(client, api, push_service) -> None:
    vera = _bearer(await team_agent(client, "Vera", ["venues"]))
    key = (await (await client.get("/api/v1/console/push/key", headers=vera)).json())["public_key"]
    _, good = push_service.subscribe(key)
    raw = bytearray(unb64url(good["keys"]["p256dh"]))
    raw[-1] ^= 1  # 65 bytes, but no longer a point on the curve
    bad_point = b64url(bytes(raw))
    for body, field in (
        ({**good, "endpoint": "https://evil.example/push/1"}, "endpoint"),  # not a push service
        ({**good, "endpoint": "http://fcm.googleapis.com/x"}, "endpoint"),  # https only there
        ({**good, "endpoint": "https://user:pw@fcm.googleapis.com/x"}, "endpoint"),
        ({**good, "endpoint": "file:///etc/passwd"}, "endpoint"),
        ({**good, "keys": {**good["keys"], "p256dh": bad_point}}, "p256dh"),
        ({**good, "keys": {**good["keys"], "p256dh": "!" * 87}}, "p256dh"),
        ({**good, "keys": {**good["keys"], "auth": "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}, "auth"),
        ({"endpoint": good["endpoint"]}, "keys"),
        ({**good, "endpoint": "https://fcm.googleapis.com/" + "a" * 3000}, "endpoint"),
    ):
        resp = await client.post(SUBS, json=body, headers=vera)
        assert resp.status == 422, (field, await resp.text())
        assert field in (await resp.json()).get("field", ""), (field, await resp.json())
    assert (await client.post(SUBS, json=good)).status == 401
    customer = await api.user(Role.customer)
    assert (await client.post(SUBS, json=good, headers=customer["headers"])).status == 403
    assert (await client.get("/api/v1/console/push/key", headers=customer["headers"])).status == 403
    # the same browser twice is one subscription; the store holds no endpoint in the listing
    for _ in range(2):
        assert (await client.post(SUBS, json=good, headers=vera)).status == 201
    listed = await (await client.get(SUBS, headers=vera)).json()
    assert [s["push_service"] for s in listed] == ["127.0.0.1"]
    assert listed[0]["id"] == hashlib.sha256(good["endpoint"].encode()).hexdigest()[:40]


async def test_the_vapid_key_is_made_once_and_stored_encrypted(client, api) -> None:
    vera = _bearer(await team_agent(client, "Vera", ["venues"]))
    first = (await (await client.get("/api/v1/console/push/key", headers=vera)).json())["public_key"]
    doc = await client.server.app[keys.STORE]["console_push_keys"].find_one({"_id": "vapid"})
    assert "PRIVATE KEY" not in str(doc) and doc["private_enc"]
    vapid = client.server.app[keys.EXTENSIONS]["agent_console"]["vapid"]
    vapid._vapid = None  # as a restarted node: read back from the store
    assert await vapid.public_key() == first
    assert (await (await client.get("/api/v1/console/push/key", headers=vera)).json())["public_key"] == first


async def test_a_shared_inbox_tickets_handoff_and_sla_warning_reach_the_supervisors(
    client, api, ingest, push_service
) -> None:
    """No team, nobody assigned: nobody in particular watches it, so the supervisors are told."""
    admin = await api.user(Role.admin)
    supervisor = await api.user(Role.supervisor)
    carl = _bearer(await team_agent(client, "Carl", ["catering"]))
    boss_browser, _ = await _subscribe(client, push_service, supervisor["headers"])
    carl_browser, _ = await _subscribe(client, push_service, carl)
    app = client.server.app

    shared = await _ticket(client, admin, ingest, "+27825550021")
    conversation = await app[keys.CONVERSATIONS].get(shared)
    await app[keys.BUS].publish(BotHandoff(conversation=conversation, reason="angry"))
    await app[keys.BUS].publish(
        SlaWarning(conversation_id=shared, metric="first_response",
                   due_at=datetime.now(UTC) + timedelta(minutes=5))
    )
    await _run_push_jobs(client)
    kinds = [m["payload"]["kind"] for m in push_service.messages(boss_browser)]
    assert kinds == ["handoff", "sla_warning"]
    assert push_service.messages(carl_browser) == []

    # a team's ticket is the team's: the supervisor outside it is not pushed
    catering = await _ticket(client, admin, ingest, "+27825550022", team_id="catering")
    conversation = await app[keys.CONVERSATIONS].get(catering)
    await app[keys.BUS].publish(BotHandoff(conversation=conversation, reason="x"))
    await _run_push_jobs(client)
    assert len(push_service.messages(boss_browser)) == 2
    assert [m["payload"]["kind"] for m in push_service.messages(carl_browser)] == ["handoff"]

    # assigned, no team: the assignee answers for it; the supervisors are not pushed
    carl_id = (await (await client.get("/api/v1/auth/me", headers=carl)).json())["id"]
    mine = await _ticket(client, admin, ingest, "+27825550023")
    resp = await client.patch(
        f"/api/v1/conversations/{mine}", json={"assignee_id": carl_id}, headers=admin["headers"]
    )
    assert resp.status == 200, await resp.text()
    await _run_push_jobs(client)  # the "assigned to you" push
    conversation = await app[keys.CONVERSATIONS].get(mine)
    await app[keys.BUS].publish(BotHandoff(conversation=conversation, reason="y"))
    await _run_push_jobs(client)
    assert [m["payload"]["kind"] for m in push_service.messages(carl_browser)] == [
        "handoff",
        "assigned",
        "handoff",
    ]
    assert len(push_service.messages(boss_browser)) == 2
