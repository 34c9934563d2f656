"""The ``/agents`` Socket.IO namespace: thin handlers (validate, authorize, call a service, ack).

Connect: ``auth = {"token": <access JWT>}``; refused unless it verifies, its sign-in was not revoked,
and it belongs to an active staff member whose role is still the token's. Every other event checks
that again (at most every ``LIVE_CHECK_S`` per socket; a sign-out everywhere also disconnects the
user's sockets at once, ``signout``), is validated (``payloads``), rate limited, authorized per conversation
(``access.can_see``) and answered with an ack ``{"ok": true, ...}`` or
``{"ok": false, "error": {"code", "detail"}}``. Server → client events:

    event      {id, name, data}       logged hub events (see forwarder); ids increase
    events     [{id, name, data}, ...] several of them at once (a backlog), in order
    presence   {user_id, name, status}
    typing     {conversation_id, user_id, name, typing}
    viewing    {conversation_id, user_id, name, viewing}
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import socketio
from aiohttp import web
from pydantic import BaseModel, ValidationError

from hub import keys
from hub.auth import Principal
from hub.errors import HubError, NotFound, Unauthorized
from hub.models import Conversation, Status, utcnow
from hub.store import upsert

from . import access, holding, payloads
from .eventlog import EventLog
from .forwarder import TRANSFERRED
from .presence import PresenceTracker
from .ratelimit import Bucket

log = logging.getLogger(__name__)

NAMESPACE = "/agents"
VIEWERS = "console_viewers"
MAX_VIOLATIONS = 200  # rate-limited events before the socket is disconnected
# How long a socket's "still signed in" check holds (a revoked sign-in, a deactivated user, a new
# role): two reads by _id, which a console sending a typing event every few hundred ms would repeat
# for nothing. A sign-out everywhere disconnects the sockets at once anyway (``signout``); this
# bounds what any other revocation (one session signed out, a refresh token replayed) leaves open.
LIVE_CHECK_S = 1.0

Ack = dict[str, Any]
# An event without a payload, or one whose payload is validated by the model first (each handler
# takes its own model's instance: hence Any for the body in this shared table).
Spec = (tuple[None, Callable[[str, dict[str, Any]], Awaitable[Ack]]]
        | tuple[type[BaseModel], Callable[[str, dict[str, Any], Any], Awaitable[Ack]]])


class Refused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _error(code: str, detail: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "detail": detail}}


class AgentsNamespace(socketio.AsyncNamespace):
    def __init__(self, app: web.Application, node: str) -> None:
        super().__init__(NAMESPACE)
        self.app = app
        self.node = node
        self._tasks: set[asyncio.Task[None]] = set()
        self.handlers: dict[str, Spec] = {
            "hello": (None, self.hello),
            "catch_up": (payloads.CatchUp, self.catch_up),
            "list": (payloads.ListQuery, self.list),
            "open": (payloads.ConversationRef, self.open),
            "close": (payloads.ConversationRef, self.close),
            "typing": (payloads.Typing, self.typing),
            "reply": (payloads.Reply, self.reply),
            "update": (payloads.Update, self.update),
            "presence": (payloads.Presence, self.presence_status),
            "heartbeat": (None, self.heartbeat),
            "agents": (None, self.agents),
        }

    # services exist only after start-up: look them up when needed
    @property
    def ext(self) -> dict[str, Any]:
        return self.app[keys.EXTENSIONS]["agent_console"]

    @property
    def log(self) -> EventLog:
        return self.ext["log"]

    @property
    def presence(self) -> PresenceTracker:
        return self.ext["presence"]

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        if event == "connect":
            return await self.on_connect(*args)
        if event == "disconnect":
            return await self.on_disconnect(args[0])
        sid, rest = args[0], args[1:]
        spec = self.handlers.get(event) if isinstance(event, str) else None
        if spec is None:
            return _error("unknown_event", "unknown event")
        try:
            session = await self.get_session(sid)
        except KeyError:
            return _error("unauthorized", "not connected")
        if time.time() >= session["exp"]:  # the access token ran out while connected
            self._disconnect_soon(sid)  # after this ack has gone out
            return _error("unauthorized", "token expired; reconnect with a fresh token")
        if not session["bucket"].take():
            return await self._violation(sid, session)
        self._follow_rooms(sid, session)
        try:
            if (refused := await self._still_signed_in(session)) is not None:
                self._disconnect_soon(sid)  # after this ack has gone out
                return _error("unauthorized", f"{refused}; sign in again")
            if spec[0] is None:
                return await spec[1](sid, session)
            model, handler = spec
            if len(rest) != 1 or not isinstance(rest[0], dict):
                return _error("invalid", "expected one JSON object")
            return await handler(sid, session, model.model_validate(rest[0]))
        except ValidationError as exc:
            first = exc.errors()[0]
            return _error("invalid", f"{'.'.join(map(str, first['loc'])) or 'payload'}: {first['msg']}")
        except Refused as exc:
            return _error(exc.code, exc.detail)
        except NotFound as exc:
            return _error("not_found", exc.detail)
        except HubError as exc:
            return _error(type(exc).__name__.lower(), exc.detail)
        except Exception:
            log.exception("console event failed", extra={"event": event, "sid": sid})
            return _error("internal", "internal error")

    async def _refusal(self, principal: Principal) -> str | None:
        """Why this principal may no longer use the console (None: it may): its sign-in revoked
        (REST's check, ``Tokens.check_live``), the user deactivated, or their role changed."""
        live, user = await asyncio.gather(  # the two reads at once: one round trip of latency
            self.app[keys.TOKENS].check_live(principal),
            self.app[keys.STORE].users.find_one({"_id": principal.user_id}, {"active": 1, "role": 1}),
            return_exceptions=True)
        if isinstance(live, Unauthorized):
            return "session revoked"
        for result in (live, user):
            if isinstance(result, BaseException):
                raise result
        if not isinstance(user, dict) or not user.get("active", True):
            return "user inactive"
        if user.get("role") != principal.role.value:
            return "role changed"
        return None

    async def _still_signed_in(self, session: dict[str, Any]) -> str | None:
        now = time.monotonic()
        if now < session["live_until"]:
            return None
        refused = await self._refusal(session["principal"])
        if refused is None:
            session["live_until"] = now + LIVE_CHECK_S
        return refused

    def _disconnect_soon(self, sid: str) -> None:
        async def later() -> None:
            await asyncio.sleep(0.2)
            await self.disconnect(sid)

        task = asyncio.create_task(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _follow_rooms(self, sid: str, session: dict[str, Any]) -> None:
        """A team change moves the socket in or out of team rooms (``membership``, from any node):
        what it may see follows the rooms it is in, not the teams its token was signed with."""
        principal: Principal = session["principal"]
        if access.is_supervisor(principal):
            return
        rooms = [r for r in self.rooms(sid) if r != sid and not r.startswith("conv:")]
        session["rooms"] = rooms
        teams = access.team_ids_of(rooms)
        if teams != principal.team_ids:
            session["principal"] = dataclasses.replace(principal, team_ids=teams)

    async def _violation(self, sid: str, session: dict[str, Any]) -> dict[str, Any]:
        session["violations"] += 1
        if session["violations"] >= MAX_VIOLATIONS:
            log.warning(
                "console client flooding; disconnected", extra={"user_id": session["principal"].user_id}
            )
            await self.disconnect(sid)
        return _error("rate_limited", "slow down")

    # --- connection -----------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not 0 < len(token) <= 4096:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized: send auth.token")
        try:
            principal = self.app[keys.TOKENS].verify_access(token)
        except Unauthorized as exc:
            raise socketio.exceptions.ConnectionRefusedError(f"unauthorized: {exc.detail}") from None
        if not principal.is_staff:
            raise socketio.exceptions.ConnectionRefusedError("forbidden: staff only")
        if (refused := await self._refusal(principal)) is not None:
            raise socketio.exceptions.ConnectionRefusedError(f"unauthorized: {refused}")
        if not access.is_supervisor(principal):  # the teams of now, not of the token's sign-in
            principal = dataclasses.replace(
                principal, team_ids=await access.teams_now(self.app[keys.STORE], principal.user_id or ""))
        rooms = access.rooms_for(principal)
        # verified above; read exp so a connection does not outlive its token
        exp = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        await self.save_session(sid, {"principal": principal, "rooms": rooms, "open": set(), "exp": exp,
                                      "bucket": Bucket(50, 20), "typing": Bucket(3, 1), "violations": 0,
                                      "live_until": time.monotonic() + LIVE_CHECK_S})
        for room in rooms:
            await self.enter_room(sid, room)
        await self.presence.connected(sid, principal.user_id or "", principal.name, principal.session_id)
        log.info("console connected", extra={"user_id": principal.user_id, "sid": sid})

    async def on_disconnect(self, sid: str) -> None:
        try:
            session = await self.get_session(sid)
        except KeyError:
            return
        principal: Principal = session["principal"]
        for conversation_id in list(session["open"]):
            await self._leave(sid, principal, conversation_id)
        await self.presence.disconnected(sid, principal.user_id or "", principal.name)

    # --- catch-up -------------------------------------------------------------------------------

    async def hello(self, sid: str, session: dict[str, Any]) -> dict[str, Any]:
        """Who am I, which rooms, and the newest event id (a fresh page starts from there)."""
        principal: Principal = session["principal"]
        return {"ok": True, "head": await self.log.last_id(), "rooms": session["rooms"],
                "user": {"id": principal.user_id, "name": principal.name, "role": principal.role.value,
                         "team_ids": list(principal.team_ids)}}

    async def catch_up(self, sid: str, session: dict[str, Any], body: payloads.CatchUp) -> dict[str, Any]:
        seen = set(body.seen) if body.seen is not None else None
        events, more = await self.log.since(body.last_id, session["rooms"], seen)
        # a ticket may have moved to another team since: check today's visibility, not the log's
        ids = list({e["data"]["conversation_id"] for e in events} - {None})
        current = {d["_id"]: Conversation.from_doc(d)
                   async for d in self.app[keys.STORE].conversations.find({"_id": {"$in": ids}})}
        visible = [
            e
            for e in events
            if e["data"]["conversation_id"] is None  # personal, or a contact's ids
            or e["name"] == TRANSFERRED  # a notice that carries nothing of the ticket
            or ((c := current.get(e["data"]["conversation_id"])) and access.can_see(session["principal"], c))
        ]
        next_id = events[-1]["id"] if events else body.last_id
        return {"ok": True, "events": visible, "more": more, "next_id": next_id}

    # --- the inbox ------------------------------------------------------------------------------

    async def list(self, sid: str, session: dict[str, Any], body: payloads.ListQuery) -> dict[str, Any]:
        """One inbox view, newest activity first, only what this agent may see; ``q`` matches the
        contact's name, the subject, the ticket number or a tag (on a bounded recent window)."""
        principal: Principal = session["principal"]
        filters: dict[str, Any] = {"status": body.status or None, "channel": body.channel,
                                   "priority": body.priority, "tag": body.tag}
        if body.view == "mine":
            filters["assignee_id"] = principal.user_id
        elif body.view == "unassigned":  # the queue: not what the bot is still answering
            filters.update(unassigned=True, where=holding.not_held(self.app))
        window = 500 if body.q else body.limit * 3
        items, _next = await self.app[keys.CONVERSATIONS].list(**filters, limit=window)
        items = [c for c in items if access.can_see(principal, c)]
        if body.view == "teams":
            items = [c for c in items if c.team_id and c.team_id in principal.team_ids]
        contacts = {d["_id"]: d async for d in self.app[keys.STORE].contacts.find(
            {"_id": {"$in": list({c.contact_id for c in items})}}, {"name": 1, "type": 1, "vip": 1})}
        if body.q:
            needle = body.q.strip().lower().lstrip("#")
            items = [c for c in items if needle in (contacts.get(c.contact_id, {}).get("name") or "").lower()
                     or needle in c.subject.lower() or needle == str(c.number)
                     or any(needle == t.lower() for t in c.tags)]
        items = items[:body.limit]
        return {"ok": True, "items": [holding.item(self.app, c) for c in items],
                "contacts": {k: {"name": v.get("name", ""), "type": v.get("type"), "vip": v.get("vip", False)}
                             for k, v in contacts.items()}}

    # --- a conversation -------------------------------------------------------------------------

    async def _visible(self, session: dict[str, Any], conversation_id: str) -> Conversation:
        conversation = await self.app[keys.CONVERSATIONS].get(conversation_id)
        if not access.can_see(session["principal"], conversation):
            raise NotFound("conversation not found")  # same answer as a missing one: reveal nothing
        return conversation

    async def open(self, sid: str, session: dict[str, Any], body: payloads.ConversationRef) -> dict[str, Any]:
        conversation = await self._visible(session, body.conversation_id)
        principal: Principal = session["principal"]
        room = access.conversation_room(conversation.id)
        await self.enter_room(sid, room)
        session["open"].add(conversation.id)
        viewers = self.app[keys.STORE][VIEWERS]
        await upsert(viewers, {"_id": f"{self.node}:{sid}:{conversation.id}"},
                     {"$set": {"conversation_id": conversation.id, "user_id": principal.user_id,
                               "name": principal.name, "node": self.node, "sid": sid, "at": utcnow()}})
        others = [
            {"user_id": d["user_id"], "name": d["name"]}
            async for d in viewers.find(
                {"conversation_id": conversation.id, "user_id": {"$ne": principal.user_id}}
            )
        ]
        await self.emit("viewing", {"conversation_id": conversation.id, "user_id": principal.user_id,
                                    "name": principal.name, "viewing": True}, room=room, skip_sid=sid)
        messages = await self.app[keys.CONVERSATIONS].messages(conversation.id, limit=500)
        return {"ok": True, "conversation": holding.item(self.app, conversation),
                "messages": [m.model_dump(mode="json") for m in messages],
                "viewers": list({v["user_id"]: v for v in others}.values())}

    async def close(
        self, sid: str, session: dict[str, Any], body: payloads.ConversationRef
    ) -> dict[str, Any]:
        if body.conversation_id in session["open"]:
            await self._leave(sid, session["principal"], body.conversation_id)
        return {"ok": True}

    async def _leave(self, sid: str, principal: Principal, conversation_id: str) -> None:
        room = access.conversation_room(conversation_id)
        session = await self.get_session(sid)
        session["open"].discard(conversation_id)
        await self.leave_room(sid, room)
        await self.app[keys.STORE][VIEWERS].delete_one({"_id": f"{self.node}:{sid}:{conversation_id}"})
        await self.emit("viewing", {"conversation_id": conversation_id, "user_id": principal.user_id,
                                    "name": principal.name, "viewing": False}, room=room)

    async def typing(self, sid: str, session: dict[str, Any], body: payloads.Typing) -> dict[str, Any]:
        if body.conversation_id not in session["open"]:
            raise Refused("not_open", "open the conversation first")
        if not session["typing"].take():
            return await self._violation(sid, session)
        principal: Principal = session["principal"]
        await self.emit("typing", {"conversation_id": body.conversation_id, "user_id": principal.user_id,
                                   "name": principal.name, "typing": body.typing},
                        room=access.conversation_room(body.conversation_id), skip_sid=sid)
        return {"ok": True}

    async def reply(self, sid: str, session: dict[str, Any], body: payloads.Reply) -> dict[str, Any]:
        principal = self._require(session, "messages:write")
        conversation = await self._visible(session, body.conversation_id)
        message, duplicate = await self.ext["replies"].send(principal, body, conversation)
        return {"ok": True, "duplicate": duplicate, "message": message}

    async def update(self, sid: str, session: dict[str, Any], body: payloads.Update) -> dict[str, Any]:
        principal = self._require(session, "conversations:write")
        changes = body.changes.model_dump(exclude_unset=True, mode="json")
        if not changes:
            raise Refused("invalid", "changes: nothing to change")
        if "assignee_id" in changes or "team_id" in changes:
            self._require(session, "conversations:assign")
        await self._visible(session, body.conversation_id)
        ticketing = self.app[keys.EXTENSIONS].get("ticketing")
        routing = getattr(ticketing, "routing", None)
        until = body.changes.snooze_until
        if changes.get("status") == Status.snoozed.value and until and ticketing is not None:
            # ticketing's snooze checks the time and files the wake-up
            updated = await ticketing.lifecycle.snooze(body.conversation_id, until, principal)
            del changes["status"], changes["snooze_until"]
        elif "snooze_until" in changes:
            changes["snooze_until"] = until  # a datetime, as the store keeps it
        if changes.get("team_id") and routing is not None:
            # a transfer: routing picks an agent of the new team (or queues it there)
            updated = await routing.assign(body.conversation_id, principal, team_id=changes.pop("team_id"),
                                           assignee_id=changes.pop("assignee_id", None), reason="transfer")
        if changes:
            updated = await self.app[keys.CONVERSATIONS].update(body.conversation_id, changes, principal)
        # the agent may no longer see a ticket they transferred away: say so, show nothing of it
        visible = access.can_see(principal, updated)
        return {"ok": True, "conversation": holding.item(self.app, updated) if visible else None,
                "transferred": not visible}

    def _require(self, session: dict[str, Any], permission: str) -> Principal:
        principal: Principal = session["principal"]
        if not principal.can(permission):
            raise Refused("forbidden", f"role {principal.role.value} may not {permission}")
        return principal

    # --- presence and the team ------------------------------------------------------------------

    async def presence_status(
        self, sid: str, session: dict[str, Any], body: payloads.Presence
    ) -> dict[str, Any]:
        principal: Principal = session["principal"]
        status = await self.presence.heartbeat(sid, principal.user_id or "", principal.name, body.status)
        return {"ok": True, "status": status}

    async def heartbeat(self, sid: str, session: dict[str, Any]) -> dict[str, Any]:
        principal: Principal = session["principal"]
        await self.app[keys.STORE][VIEWERS].update_many(
            {"node": self.node, "sid": sid}, {"$set": {"at": utcnow()}}
        )
        return {
            "ok": True,
            "status": await self.presence.heartbeat(sid, principal.user_id or "", principal.name),
        }

    async def agents(self, sid: str, session: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "agents": await self.ext["team"].load()}

