"""Teams and routing on real FerretDB: round-robin, least-loaded, skills, capacity under concurrency,
offline hand-over, the unassigned queue, manual assign/transfer."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from hub.errors import InvalidInput
from hub.models import Status
from hub.ticketing.context import SYSTEM
from hub.ticketing.teams import Member, Presence, Team

from .conftest import Hub


async def make_team(hub: Hub, members: list[Member], **kw: object) -> Team:
    return await hub.t.teams.create(Team(name=f"team-{len(members)}-{id(members)}", members=members, **kw))  # type: ignore[arg-type]


async def tickets(hub: Hub, n: int, **kw: object) -> list[str]:
    return [
        (await hub.inbound(f"ticket {i}", sender=f"+2782000{i:04d}", **kw)).conversation.id for i in range(n)
    ]


async def test_round_robin_spreads_over_online_agents(hub: Hub) -> None:
    a, b, c = [await hub.agent(n) for n in ("Ann", "Ben", "Cara")]
    off = await hub.agent("Dan", online=False)
    await make_team(hub, [Member(user_id=u, capacity=10) for u in (a, b, c, off)], default=True)
    ids = await tickets(hub, 6)
    owners = Counter([(await hub.get(i)).assignee_id for i in ids])
    assert owners == {a: 2, b: 2, c: 2}
    assert await hub.t.routing.load(a) == 2


async def test_least_loaded_and_capacity_hold_under_concurrency(hub: Hub) -> None:
    a, b = await hub.agent("Ann"), await hub.agent("Ben")
    team = await make_team(
        hub, [Member(user_id=a, capacity=3), Member(user_id=b, capacity=3)], strategy="least_loaded"
    )
    hub.settings.auto_assign = False
    ids = await tickets(hub, 10)
    results = await asyncio.gather(*(hub.t.routing.auto_assign(i, team_id=team.id) for i in ids))
    assert Counter(results) == {a: 3, b: 3, None: 4}
    assert await hub.t.routing.load(a) == 3 and await hub.t.routing.load(b) == 3
    queue = await hub.t.routing.queue(team.id)
    assert len(queue) == 4 and all(q.assignee_id is None for q in queue)
    # Resolving one frees a slot; the next queued ticket can take it.
    done = next(i for i, r in zip(ids, results, strict=True) if r == a)
    await hub.conversations.update(done, {"status": "resolved"}, SYSTEM)
    assert await hub.t.routing.load(a) == 2
    assert await hub.t.routing.drain_queue(team) == 1
    assert len(await hub.t.routing.queue(team.id)) == 3


async def test_skills_language_and_product_area(hub: Hub) -> None:
    zulu, english = await hub.agent("Sipho"), await hub.agent("Emma")
    team = await make_team(
        hub,
        [
            Member(user_id=zulu, languages=["zu", "en"], product_areas=["venues"]),
            Member(user_id=english, languages=["en"]),
        ],
        default=True,
    )
    hub.settings.auto_assign = False
    zu = (await hub.inbound("Sawubona", sender="+27820000001", language="zu")).conversation.id
    assert await hub.t.routing.auto_assign(zu) == zulu
    af = (await hub.inbound("Goeie môre", sender="+27820000002", language="af")).conversation.id
    assert await hub.t.routing.auto_assign(af) is None  # nobody speaks Afrikaans: the queue
    assert [c.id for c in await hub.t.routing.queue(team.id)] == [af]
    catering = (await hub.inbound("menu?", sender="+27820000003", language="en-ZA")).conversation.id
    await hub.t.lifecycle.set_custom_fields(catering, {"product_area": "catering"}, SYSTEM)
    assert await hub.t.routing.auto_assign(catering) == english  # Sipho only does venues


async def test_agent_offline_hands_tickets_over_and_online_drains_queue(hub: Hub) -> None:
    a, b = await hub.agent("Ann"), await hub.agent("Ben", online=False)
    await make_team(hub, [Member(user_id=a, capacity=5), Member(user_id=b, capacity=5)], default=True)
    ids = await tickets(hub, 3)
    assert {(await hub.get(i)).assignee_id for i in ids} == {a}
    await hub.t.statuses.set(a, Presence.offline)  # nobody else online: back to the queue
    assert {(await hub.get(i)).assignee_id for i in ids} == {None}
    assert await hub.t.routing.load(a) == 0
    await hub.t.statuses.set(b, Presence.online)  # Ben comes online and takes the queue
    assert {(await hub.get(i)).assignee_id for i in ids} == {b}
    assert await hub.t.routing.load(b) == 3
    await hub.t.statuses.set(a, Presence.online)
    await hub.t.statuses.set(b, Presence.away)  # away keeps tickets
    assert {(await hub.get(i)).assignee_id for i in ids} == {b}


async def test_manual_assign_transfer_and_over_capacity(hub: Hub) -> None:
    a, b = await hub.agent("Ann"), await hub.agent("Ben")
    sales = await make_team(hub, [Member(user_id=a, capacity=1)], default=True)
    support = await hub.t.teams.create(Team(name="support", members=[Member(user_id=b, capacity=2)]))
    ids = await tickets(hub, 2)
    assert (await hub.get(ids[0])).assignee_id == a and (await hub.get(ids[1])).assignee_id is None
    # An agent may be given work beyond capacity by hand; it counts in the load.
    over = await hub.t.routing.assign(ids[1], SYSTEM, assignee_id=a)
    assert over.assignee_id == a and await hub.t.routing.load(a) == 2
    moved = await hub.t.routing.assign(ids[1], SYSTEM, team_id=support.id)
    assert moved.team_id == support.id and moved.assignee_id == b
    assert await hub.t.routing.load(a) == 1 and await hub.t.routing.load(b) == 1
    with pytest.raises(InvalidInput):
        await hub.t.routing.assign(ids[0], SYSTEM, assignee_id=b, team_id=sales.id)
    back = await hub.t.routing.assign(ids[0], SYSTEM)  # to the queue
    assert back.assignee_id is None and await hub.t.routing.load(a) == 0


async def test_team_validation(hub: Hub) -> None:
    a = await hub.agent("Ann")
    with pytest.raises(InvalidInput):
        await hub.t.teams.create(Team(name="ghosts", members=[Member(user_id="nobody")]))
    with pytest.raises(ValueError):
        Team(name="dupes", members=[Member(user_id=a), Member(user_id=a)])
    with pytest.raises(ValueError):
        Member(user_id=a, capacity=-1)


async def test_reopened_ticket_of_offline_agent_goes_to_colleague(hub: Hub) -> None:
    a, b = await hub.agent("Ann"), await hub.agent("Ben", online=False)
    await make_team(hub, [Member(user_id=a), Member(user_id=b)], default=True)
    cid = (await hub.inbound("hi")).conversation.id
    assert (await hub.get(cid)).assignee_id == a
    await hub.conversations.update(cid, {"status": "pending"}, SYSTEM)
    await hub.t.statuses.set(b, Presence.online)
    await hub.t.statuses.set(a, Presence.offline)  # pending tickets stay with Ann...
    assert (await hub.get(cid)).assignee_id == a
    await hub.inbound("here are the details")  # ...until the customer writes again
    conversation = await hub.get(cid)
    assert conversation.status == Status.open and conversation.assignee_id == b


async def test_least_loaded_prefers_the_longest_idle_among_equals(hub: Hub) -> None:
    a, b = await hub.agent("Ann"), await hub.agent("Ben")
    team = await make_team(hub, [Member(user_id=u, capacity=5) for u in (a, b)], strategy="least_loaded")
    hub.settings.auto_assign = False
    first, second = await tickets(hub, 2)
    assert await hub.t.routing.auto_assign(first, team_id=team.id) == a  # both idle: by id
    await hub.conversations.update(first, {"status": "resolved"}, SYSTEM)  # Ann back to load 0
    # Equal load; Ann was assigned a moment ago, Ben never: Ben is the longest idle.
    assert await hub.t.routing.auto_assign(second, team_id=team.id) == b


async def test_presence_snapshot_never_routes_to_an_agent_gone_offline_on_another_node(hub: Hub) -> None:
    """Routing reads presence from a per-process snapshot; the agent it picks is re-read first."""
    from hub.ticketing.teams import AgentStatuses

    a, b = await hub.agent("Ann"), await hub.agent("Ben")
    team = await make_team(hub, [Member(user_id=a, capacity=5), Member(user_id=b, capacity=5)])
    hub.settings.auto_assign = False
    first = await tickets(hub, 1)
    assert await hub.t.routing.auto_assign(first[0], team_id=team.id) in (a, b)  # snapshot loaded
    other_node = AgentStatuses(hub.t.ctx)
    await other_node.col.update_one({"_id": a}, {"$set": {"status": Presence.offline.value}})
    await other_node.col.update_one({"_id": b}, {"$set": {"status": Presence.offline.value}})
    assert (await hub.t.statuses.many([a, b]))[a]["status"] == "online"  # this node's snapshot is stale…
    later = [(await hub.inbound(f"later {i}", sender=f"+2783000{i:04d}")).conversation.id for i in range(2)]
    assert [await hub.t.routing.auto_assign(i, team_id=team.id) for i in later] == [None, None]  # …unused
    assert await hub.t.routing.load(a) + await hub.t.routing.load(b) == 1


async def test_the_agent_who_answers_an_unassigned_ticket_owns_it(hub: Hub) -> None:
    """A public reply claims a queued ticket for its author (others stop answering it twice); a
    private note, an API key's reply or a reply to someone else's ticket changes no owner."""
    from hub.auth import Principal
    from hub.events import ConversationUpdated
    from hub.models import Role
    from hub.ticketing.events import TicketAssigned

    hub.settings.assign_on_reply = True  # BERRY_TICKETING_ASSIGN_ON_REPLY (off by default for now)
    ann, ben = await hub.agent("Ann", online=False), await hub.agent("Ben", online=False)
    await make_team(hub, [Member(user_id=u, capacity=5) for u in (ann, ben)], default=True)
    queued, noted, by_key = await tickets(hub, 3)  # nobody online: all wait in the queue
    assert [(await hub.get(i)).assignee_id for i in (queued, noted, by_key)] == [None, None, None]
    as_ann = Principal(role=Role.agent, user_id=ann, name="Ann")
    await hub.conversations.reply(noted, as_ann, "internal: looks like a duplicate", private=True)
    await hub.conversations.reply(
        by_key, Principal(role=Role.admin, api_key_id="key-1", name="CRM"), "Thanks!"
    )
    assert (await hub.get(noted)).assignee_id is None and (await hub.get(by_key)).assignee_id is None
    with hub.bus.capture() as events:
        await hub.conversations.reply(queued, as_ann, "Hi, I'm looking into it now")
    assert (await hub.get(queued)).assignee_id == ann and await hub.t.routing.load(ann) == 1
    [assigned] = [e for e in events if isinstance(e, TicketAssigned)]
    [updated] = [e for e in events if isinstance(e, ConversationUpdated)]
    assert assigned.reason == "replied" and updated.actor_id == ann  # she took it: no "assigned to you" push
    # Ben answering Ann's ticket later does not take it from her
    await hub.conversations.reply(
        queued, Principal(role=Role.agent, user_id=ben, name="Ben"), "Ben here, too"
    )
    assert (await hub.get(queued)).assignee_id == ann and await hub.t.routing.load(ben) == 0
    hub.settings.assign_on_reply = False
    await hub.conversations.reply(noted, as_ann, "Replying without claiming it")
    assert (await hub.get(noted)).assignee_id is None
