"""Access tokens (short-lived JWT, HS256) and refresh tokens (opaque, rotated, reuse detected).

A refresh token belongs to a family (one sign-in, a "session"). Each use marks it used and issues
the next of the family; presenting a used token again means it was stolen or replayed, so the
whole family is revoked and the user must sign in again.

An access token names its session (``sid`` claim). Revoking a session (sign-out, reuse, password
change, deactivation) also writes ``revoked_sessions`` (``_id`` = family), which the API reads by
``_id`` on every request (``check_live``), so the access tokens already handed out stop working
at once instead of living out their TTL.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import jwt

from hub.errors import Unauthorized
from hub.events import EventBus, UserSignedOut
from hub.models import Role, User, new_id, utcnow
from hub.store import Store, ix, register, upsert

from .permissions import Principal

ALGORITHM = "HS256"
REVOKED = "revoked_sessions"  # _id = refresh family; kept until its access tokens expired
register(REVOKED, ix(("expires_at", 1)), expire=("expires_at", timedelta(0)))
# _id = refresh token digest; outlives any token
register("refresh_spends", expire=("at", timedelta(days=60)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    def __init__(self, store: Store, secret: str, access_ttl_s: int, refresh_ttl_s: int,
                 bus: EventBus | None = None) -> None:
        if len(secret) < 32:
            raise ValueError("BERRY_JWT_SECRET must be at least 32 characters")
        self.store = store
        self.secret = secret
        self.access_ttl = timedelta(seconds=access_ttl_s)
        self.refresh_ttl = timedelta(seconds=refresh_ttl_s)
        self.bus = bus  # ``user.signed_out``: the console cuts the user's open sockets

    def access_token(self, user: User, session_id: str | None = None) -> str:
        now = utcnow()
        claims = {"sub": user.id, "role": user.role.value, "teams": user.team_ids, "cid": user.contact_id,
                  "name": user.name, "iat": now, "exp": now + self.access_ttl, "jti": new_id()}
        if session_id:
            claims["sid"] = session_id
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    async def session_of(self, refresh_token: str) -> str | None:
        doc = await self.store["refresh_tokens"].find_one({"_id": _digest(refresh_token)}, {"family": 1})
        return doc["family"] if doc else None

    async def check_live(self, principal: Principal) -> Principal:
        """Refuse an access token whose session was revoked (one ``_id`` read)."""
        if principal.session_id and await self.store[REVOKED].find_one(
            {"_id": principal.session_id}, {"_id": 1}
        ):
            raise Unauthorized("session revoked; sign in again")
        return principal

    async def revoke_session(self, family: str, user_id: str | None = None,
                             reason: str | None = "signed out of this session") -> None:
        """End one sign-in; with a ``reason``, its open console sockets are told and disconnected
        (``user.signed_out`` naming the session), else they stop at their next event."""
        # the revocation record first, the tokens second: a rotation racing with this one checks the
        # record after storing its new token, so either it sees the record or the token gets marked
        await upsert(self.store[REVOKED], {"_id": family},  # race-safe: two revocations of one sign-in
                     {"$set": {"user_id": user_id, "expires_at": utcnow() + self.access_ttl}})
        await self.store["refresh_tokens"].update_many({"family": family}, {"$set": {"revoked": True}})
        if reason and user_id and self.bus is not None:
            await self.bus.publish(UserSignedOut(user_id=user_id, reason=reason, session_id=family))

    def verify_access(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
            return Principal(role=Role(claims["role"]), user_id=claims["sub"], contact_id=claims.get("cid"),
                             team_ids=tuple(claims.get("teams") or ()), name=claims.get("name") or "",
                             session_id=claims.get("sid"))
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
            raise Unauthorized("invalid token") from exc

    async def issue_refresh(self, user_id: str, family: str | None = None,
                            ttl: timedelta | None = None) -> str:
        """``ttl``: shorter than refresh_ttl for a sign-in whose refresh token never leaves the server
        (the help center's cookie session: its session ends with its access token)."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        await self.store["refresh_tokens"].insert_one({
            "_id": _digest(token), "user_id": user_id, "family": family or new_id(), "used_at": None,
            "revoked": False, "created_at": now, "expires_at": now + (ttl or self.refresh_ttl),
        })
        return token

    async def rotate(self, token: str) -> tuple[str, str]:
        """Spend a refresh token: returns (user_id, next refresh token)."""
        col = self.store["refresh_tokens"]
        now = utcnow()
        digest = _digest(token)
        doc = await col.find_one({"_id": digest})  # a lone _id: an index look-up on FerretDB too
        if doc is None:
            raise Unauthorized("invalid refresh token")
        # spending is a claim, so of two concurrent refreshes with one token exactly one wins
        if (
            doc["used_at"] is not None
            or doc["revoked"]
            or not await self.store.claim("refresh_spends", digest, {"at": now})
        ):
            await self.revoke_session(doc["family"], doc["user_id"], "a spent sign-in token was used again")
            raise Unauthorized("refresh token reuse detected; sign in again")
        await col.update_one({"_id": digest}, {"$set": {"used_at": now}})
        if doc["expires_at"] < now:
            raise Unauthorized("refresh token expired")
        fresh = await self.issue_refresh(doc["user_id"], doc["family"])
        if await self.store[REVOKED].find_one({"_id": doc["family"]}, {"_id": 1}):  # revoked meanwhile
            await col.update_one({"_id": _digest(fresh)}, {"$set": {"revoked": True}})
            raise Unauthorized("this sign-in was revoked; sign in again")
        return doc["user_id"], fresh

    async def revoke_user(self, user_id: str, reason: str = "signed out everywhere") -> None:
        """Sign a user out everywhere: every session, including live access tokens, and (through
        ``user.signed_out``) the console sockets they have open on any node."""
        families = {d["family"] async for d in self.store["refresh_tokens"].find(
            {"user_id": user_id, "revoked": False}, {"family": 1})}
        for family in families:
            await self.revoke_session(family, user_id, reason=None)  # one event for all, below
        if self.bus is not None:
            await self.bus.publish(UserSignedOut(user_id=user_id, reason=reason))
