"""Sign-in sessions: one per refresh-token family (see ``hub/auth/tokens.py``), with the IP and
user agent of the sign-in. Revoking a session revokes its whole refresh family and cuts the access
tokens already handed out at their next request (``Tokens.revoke_session``)."""

from __future__ import annotations

import hashlib
from typing import Any

from hub.api import pages
from hub.api.pages import PageQuery, Sorts
from hub.auth import Tokens
from hub.errors import NotFound
from hub.models import utcnow
from hub.store import Store, ix, register

register("sessions", ix(("user_id", 1), ("created_at", -1)))  # _id = refresh family
SESSION_SORTS = Sorts({"id": "_id", "created_at": "created_at"}, "-created_at")


class Sessions:
    def __init__(self, store: Store, tokens: Tokens) -> None:
        self.store = store
        self.auth = tokens
        self.col = store["sessions"]
        self.tokens = store["refresh_tokens"]

    async def record(self, refresh_token: str, user_id: str, ip: str, user_agent: str) -> str:
        doc = await self.tokens.find_one(
            {"_id": hashlib.sha256(refresh_token.encode()).hexdigest()}, {"family": 1}
        )
        family = doc["family"] if doc else ""
        await self.col.insert_one(
            {
                "_id": family,
                "user_id": user_id,
                "ip": ip[:64],
                "user_agent": user_agent[:300],
                "created_at": utcnow(),
            }
        )
        return family

    async def page(self, user_id: str, query: PageQuery) -> dict[str, Any]:
        """A page of the user's sessions (``hub/api/pages.py``), each with its live state."""
        docs, cursor = await pages.fetch(self.col, {"user_id": user_id}, query, SESSION_SORTS)
        return {"items": await self._described(docs), "next_cursor": cursor}

    async def _described(self, sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        now = utcnow()
        out = []
        for s in sessions:
            tokens = [t async for t in self.tokens.find({"family": s["_id"]}, {"used_at": 1, "revoked": 1,
                                                                               "expires_at": 1})]
            active = any(not t["revoked"] and t["used_at"] is None and t["expires_at"] > now for t in tokens)
            used = [t["used_at"] for t in tokens if t.get("used_at")]
            out.append(
                {
                    "id": s["_id"],
                    "ip": s["ip"],
                    "user_agent": s["user_agent"],
                    "created_at": s["created_at"],
                    "last_refreshed_at": max(used) if used else None,
                    "active": active,
                }
            )
        return out

    async def list(self, user_id: str) -> list[dict[str, Any]]:
        """The user's 200 newest sessions (the portal's page of them)."""
        return (await self.page(user_id, PageQuery(limit=200)))["items"]  # type: ignore[no-any-return]

    async def revoke(self, user_id: str, session_id: str) -> None:
        doc = await self.col.find_one({"_id": session_id}, {"user_id": 1})  # lone _id, then the owner
        if doc is None or doc.get("user_id") != user_id:
            raise NotFound(f"session {session_id} not found")
        await self.auth.revoke_session(session_id, user_id)

    async def revoke_all(self, user_id: str) -> None:
        await self.auth.revoke_user(user_id)
