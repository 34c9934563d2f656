"""Socket rooms follow team changes live: on ``team.membership_changed`` every open console socket
of the users concerned (on any node: the sockets are listed in ``console_sockets``, and with Redis
the Socket.IO manager moves a socket held by another node) joins or leaves the teams' rooms, and
the user's console is told (``teams``) so it reloads its inbox. Before, a new team's tickets only
appeared after a reconnect, and a removed agent kept receiving the old team's events."""

from __future__ import annotations

import logging
from typing import Any

import socketio

from hub.store import Store

from . import access
from .presence import reachable_sockets

log = logging.getLogger(__name__)


class TeamRooms:
    def __init__(self, sio: socketio.AsyncServer, namespace: str, store: Store, node: str) -> None:
        self.sio, self.namespace, self.store, self.node = sio, namespace, store, node

    async def on_changed(self, event: Any) -> None:
        for user_id in event.user_ids:
            user = await self.store.users.find_one({"_id": user_id}, {"role": 1})
            if user is None or user.get("role") in {r.value for r in access.visibility.SEES_ALL}:
                continue  # supervisors and admins are in the "all" room whatever their teams
            now = set(await access.teams_now(self.store, user_id))
            async for sid in reachable_sockets(self.sio, self.namespace, self.store, self.node, user_id):
                for team_id in event.team_ids:
                    room = access.scope_room(team_id)
                    if team_id in now:
                        await self.sio.enter_room(sid, room, namespace=self.namespace)
                    else:
                        await self.sio.leave_room(sid, room, namespace=self.namespace)
            await self.sio.emit(
                "teams", {"team_ids": sorted(now)}, to=access.agent_room(user_id), namespace=self.namespace
            )
            log.info("console rooms follow a team change", extra={"user_id": user_id, "teams": sorted(now)})


__all__ = ["TeamRooms"]
