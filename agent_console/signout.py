"""A user signed out everywhere (``user.signed_out``: deactivated, password, role or teams changed,
an admin's "sign out everywhere"), or out of one sign-in (the event names the session: "sign out
this session", a replayed refresh token), loses those open console sockets at once, on every node: the
sockets are listed in ``console_sockets``, and with Redis the Socket.IO manager disconnects a socket
held by another node (as ``membership`` moves one). The user's console is told why first
(``signed_out``); its refresh token was revoked too, so it cannot reconnect without signing in.

Each event also re-checks the sign-in (``AgentsNamespace._still_signed_in``): this is what makes
the cut immediate rather than up to ``LIVE_CHECK_S`` later."""

from __future__ import annotations

import logging
from typing import Any

import socketio

from hub.store import Store

from . import access
from .presence import reachable_sockets

log = logging.getLogger(__name__)


class SignOut:
    def __init__(self, sio: socketio.AsyncServer, namespace: str, store: Store, node: str) -> None:
        self.sio, self.namespace, self.store, self.node = sio, namespace, store, node

    async def on_signed_out(self, event: Any) -> None:
        user_id, session_id = event.user_id, event.session_id
        told = {"reason": event.reason}
        if session_id is None:  # everywhere: the user's room reaches every socket at once
            await self.sio.emit("signed_out", told, to=access.agent_room(user_id), namespace=self.namespace)
        cut = 0
        sockets = reachable_sockets(self.sio, self.namespace, self.store, self.node, user_id, session_id)
        async for sid in sockets:
            if session_id is not None:  # one sign-in: only its sockets are told
                await self.sio.emit("signed_out", told, to=sid, namespace=self.namespace)
            await self.sio.disconnect(sid, namespace=self.namespace)  # another node's: through Redis
            cut += 1
        if cut:
            log.info("console sockets of a signed-out user disconnected",
                     extra={"user_id": user_id, "sockets": cut, "reason": event.reason})


__all__ = ["SignOut"]
