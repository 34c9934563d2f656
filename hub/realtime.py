"""Socket.IO client managers that fan an event out without one asyncio task per recipient.

python-socketio's ``AsyncManager.emit`` encodes an event once, then creates a task per recipient
and waits for them all; each task only puts the packet on that socket's queue, which never blocks
(the socket's own writer task sends it). At 500 agents and 50 events a second that is 25,000
tasks a second doing nothing a loop can't: here the packet is queued on each socket in a plain
loop. Events with an ack callback (a packet per recipient) keep the library's path. With Redis
the publishing side is the library's; each node's local delivery comes here.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio
from aiohttp import web
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import packet

log = logging.getLogger(__name__)


class DirectEmit(socketio.AsyncManager):
    async def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
                   callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        if callback is not None:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to,
                               **kwargs)
            return
        if namespace not in self.rooms:
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        parts = encoded if isinstance(encoded, list) else [encoded]
        packets = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in parts]
        for sid, eio_sid in self.get_participants(namespace, to or room):
            if sid in skip:
                continue
            try:
                for p in packets:
                    await self.server._send_eio_packet(eio_sid, p)
            except Exception:  # one broken socket must not cost the others their event
                log.exception("socket.io send failed", extra={"sid": sid})


class LocalManager(DirectEmit):
    """One node."""


class RedisManager(socketio.AsyncRedisManager, DirectEmit):
    """Several nodes through Redis: ``AsyncPubSubManager`` publishes; its local delivery
    (``super().emit`` in ``_handle_emit``) resolves to ``DirectEmit.emit`` by the MRO."""


class PlainWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """engine.io's aiohttp WebSocket with permessage-deflate refused. aiohttp accepts a browser's
    deflate offer by default, and then compresses every frame for every socket on its own (each
    socket keeps its own compression window: the same event is compressed once per recipient, and
    each socket holds a compressor and its buffers)."""

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


def websocket_deflate(sio: socketio.AsyncServer, enabled: bool) -> None:
    """Whether the Socket.IO server's websockets accept permessage-deflate (``BERRY_WS_DEFLATE``)."""
    if not enabled:
        sio.eio._async = {**sio.eio._async, "websocket": PlainWebSocket}  # this server only


__all__ = ["LocalManager", "PlainWebSocket", "RedisManager", "websocket_deflate"]
