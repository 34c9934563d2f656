"""Sign-in sessions: one per refresh-token family (see ``hub/auth/tokens.py``), with the IP and
user agent of the sign-in. Revoking a session revokes its whole refresh family and cuts the access
tokens already handed out at their next request (``Tokens.revoke_session``)."""

from __future__ import annotations

import hashlib
from typing import Any

from hub.auth import Tokens
from hub.errors import NotFound
from hub.models import utcnow
from hub.store import Store, ix, register

register("sessions", ix(("user_id", 1), ("created_at", -1)))  # _id = refresh family


class Sessions:
    def __init__(self, store: Store, tokens: Tokens) -> None:
        self.store = store
        self.auth = tokens
        self.col = store["sessions"]
        self.tokens = store["refresh_tokens"]

    async def record(self, refresh_token: str, user_id: str, ip: str, user_agent: str) -> str:
        doc = await self.tokens.find_one({"_id": hashlib.sha256(refresh_token.encode()).hexdigest()}, {"family": 1})
        family = doc["family"] if doc else ""
        await self.col.insert_one({"_id": family, "user_id": user_id, "ip": ip[:64], "user_agent": user_agent[:300],
                                   "created_at": utcnow()})
        return family

    async def list(self, user_id: str) -> list[dict[str, Any]]:
        now = utcnow()
        out = []
        async for s in self.col.find({"user_id": user_id}).sort("created_at", -1).limit(200):
            tokens = [t async for t in self.tokens.find({"family": s["_id"]}, {"used_at": 1, "revoked": 1,
                                                                               "expires_at": 1})]
            active = any(not t["revoked"] and t["used_at"] is None and t["expires_at"] > now for t in tokens)
            used = [t["used_at"] for t in tokens if t.get("used_at")]
            out.append({"id": s["_id"], "ip": s["ip"], "user_agent": s["user_agent"], "created_at": s["created_at"],
                        "last_refreshed_at": max(used) if used else None, "active": active})
        return out

    async def revoke(self, user_id: str, session_id: str) -> None:
        doc = await self.col.find_one({"_id": session_id}, {"user_id": 1})  # lone _id, then the owner
        if doc is None or doc.get("user_id") != user_id:
            raise NotFound(f"session {session_id} not found")
        await self.auth.revoke_session(session_id, user_id)

    async def revoke_all(self, user_id: str) -> None:
        await self.auth.revoke_user(user_id)
