"""Who may see what in the console: the rooms a staff member joins and the conversations they may open.

Rooms (Socket.IO ``/agents`` namespace):

    staff            every signed-in staff member (presence)
    all              supervisors and admins: every conversation event
    team:<id>        agents of team <id>: events of conversations routed to that team
    team:-           every agent: conversations not routed to a team (the shared inbox)
    agent:<id>       one staff member: assignments and mentions addressed to them
    conv:<id>        whoever has the conversation open: typing, viewers (never logged)

A conversation routed to a team is private to that team (and to supervisors/admins, and to the
agent it is assigned to): the one rule of ``hub/auth/visibility.py``. Everything here only reads.
"""

from __future__ import annotations

from typing import Any

from hub.auth import Principal, visibility
from hub.models import Conversation

NO_TEAM = "team:-"
ALL = "all"
STAFF = "staff"


def is_supervisor(principal: Principal) -> bool:
    return principal.role in visibility.SEES_ALL


def scope_room(team_id: str | None) -> str:
    return f"team:{team_id}" if team_id else NO_TEAM


def agent_room(user_id: str) -> str:
    return f"agent:{user_id}"


def conversation_room(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


def rooms_for(principal: Principal) -> list[str]:
    """The rooms joined on connect; everything logged is filtered by these on catch-up."""
    rooms = [STAFF, agent_room(principal.user_id or "-")]
    if is_supervisor(principal):
        return [*rooms, ALL]
    return [*rooms, NO_TEAM, *(scope_room(t) for t in principal.team_ids)]


async def teams_now(store: Any, user_id: str) -> tuple[str, ...]:
    """The teams a user is in now: their own ``team_ids`` and the teams listing them as member or
    supervisor (a token lists the teams of its sign-in)."""
    user = await store.users.find_one({"_id": user_id}, {"team_ids": 1}) or {}
    teams = set(user.get("team_ids") or [])
    teams |= {d["_id"] async for d in store["teams"].find(
        {"$or": [{"members.user_id": user_id}, {"supervisor_id": user_id}]}, {"_id": 1})}
    return tuple(sorted(teams))


def team_ids_of(rooms: list[str]) -> tuple[str, ...]:
    """The teams whose rooms a socket is in (the socket's rooms are what it may see, kept current
    by ``membership``)."""
    return tuple(sorted(r.removeprefix("team:") for r in rooms if r.startswith("team:") and r != NO_TEAM))


def can_see(principal: Principal, conversation: Conversation) -> bool:
    """The REST API's rule (``hub.auth.visibility``), for staff only: the console is no portal."""
    return principal.is_staff and visibility.can_see(principal, conversation)


def event_rooms(conversation: Conversation) -> list[str]:
    """Where a conversation's event goes: supervisors, its team's agents, its assignee."""
    rooms = {ALL, scope_room(conversation.team_id)}
    if conversation.assignee_id:
        rooms.add(agent_room(conversation.assignee_id))
    return sorted(rooms)
