"""Routes: own sessions, TOTP enrolment, admin resets, secrets key rotation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from hub import keys
from hub.api.pages import PageQuery, page_of, query_model
from hub.api.routing import ApiRouter
from hub.api.schemas import Strict
from hub.auth import Principal
from hub.errors import NotFound

from ..appkeys import SESSIONS, TOTP, WEBHOOKS
from .sessions import SESSION_SORTS


class SessionOut(BaseModel):
    id: str
    ip: str
    user_agent: str
    created_at: datetime
    last_refreshed_at: datetime | None
    active: bool


SessionQuery = query_model("SessionQuery", SESSION_SORTS)


class TotpSetupOut(BaseModel):
    secret: str
    otpauth_uri: str


class CodeIn(Strict):
    code: str = Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")


class TotpStatus(BaseModel):
    enabled: bool


class RotatedOut(BaseModel):
    webhooks: int
    totp: int
    extra: dict[str, int] = Field(default_factory=dict)


def _user_id(principal: Principal) -> str:
    if principal.user_id is None:
        raise NotFound("an API key has no sessions or two-factor settings")
    return principal.user_id


def install(router: ApiRouter) -> None:
    route = router.route

    @route("GET", "/auth/sessions", summary="My sign-in sessions", tag="auth", query=SessionQuery,
           response=page_of(SessionOut))
    async def list_my_sessions(
        request: web.Request, principal: Principal, query: PageQuery
    ) -> dict[str, Any]:
        return await request.app[SESSIONS].page(_user_id(principal), query)

    @route("DELETE", "/auth/sessions/{session_id}", summary="Sign out one of my sessions", tag="auth")
    async def revoke_my_session(request: web.Request, principal: Principal) -> None:
        await request.app[SESSIONS].revoke(_user_id(principal), request.match_info["session_id"])

    @route("GET", "/users/{user_id}/sessions", summary="A user's sessions", tag="users",
           permission="users:write", query=SessionQuery, response=page_of(SessionOut))
    async def list_user_sessions(request: web.Request, _: Principal, query: PageQuery) -> dict[str, Any]:
        user = await request.app[keys.USERS].get(request.match_info["user_id"])
        return await request.app[SESSIONS].page(user.id, query)

    @route("DELETE", "/users/{user_id}/sessions", summary="Sign a user out everywhere", tag="users",
           permission="users:write", conditional=False)  # signing out is never blocked by a stale ETag
    async def revoke_user_sessions(request: web.Request, principal: Principal) -> None:
        user = await request.app[keys.USERS].get(request.match_info["user_id"])
        await request.app[SESSIONS].revoke_all(user.id)
        await request.app[keys.AUDIT].record(principal.actor_id, "user.sessions.revoke", "user", user.id)

    @route(
        "GET", "/auth/totp", summary="Is two-factor authentication on for me", tag="auth", response=TotpStatus
    )
    async def my_totp_status(request: web.Request, principal: Principal) -> dict[str, bool]:
        return {"enabled": await request.app[TOTP].enabled(_user_id(principal))}

    @route("POST", "/auth/totp/setup", summary="Start two-factor enrolment (secret shown once)", tag="auth",
           response=TotpSetupOut)
    async def setup_totp(request: web.Request, principal: Principal) -> dict[str, str]:
        user = await request.app[keys.USERS].get(_user_id(principal))
        return await request.app[TOTP].setup(user.id, user.email)

    @route(
        "POST",
        "/auth/totp/confirm",
        summary="Confirm enrolment with a current code",
        tag="auth",
        body=CodeIn,
        response=TotpStatus,
    )
    async def confirm_totp(request: web.Request, principal: Principal, body: CodeIn) -> dict[str, bool]:
        user_id = _user_id(principal)
        await request.app[TOTP].confirm(user_id, body.code)
        await request.app[keys.AUDIT].record(principal.actor_id, "user.totp.enable", "user", user_id)
        return {"enabled": True}

    @route("POST", "/auth/totp/disable", summary="Turn two-factor off (needs a current code)", tag="auth",
           body=CodeIn, response=TotpStatus)
    async def disable_totp(request: web.Request, principal: Principal, body: CodeIn) -> dict[str, bool]:
        user_id = _user_id(principal)
        await request.app[TOTP].verify(user_id, body.code)
        await request.app[TOTP].disable(user_id)
        await request.app[keys.AUDIT].record(principal.actor_id, "user.totp.disable", "user", user_id)
        return {"enabled": False}

    @route("DELETE", "/users/{user_id}/totp", summary="Reset a user's two-factor (lost device)", tag="users",
           permission="users:write")
    async def reset_user_totp(request: web.Request, principal: Principal) -> None:
        user = await request.app[keys.USERS].get(request.match_info["user_id"])
        await request.app[TOTP].disable(user.id)
        await request.app[keys.AUDIT].record(principal.actor_id, "user.totp.reset", "user", user.id)

    @route("POST", "/platform/secrets/rotate", summary="Re-encrypt stored secrets under the newest key",
           tag="platform", permission="secrets:rotate", response=RotatedOut)
    async def rotate_secrets(request: web.Request, principal: Principal) -> dict[str, Any]:
        extra: dict[str, int] = {}
        for name, rotate in request.app[keys.EXTENSIONS].get("secret_rotators", {}).items():
            extra[name] = await rotate()
        out = {
            "webhooks": await request.app[WEBHOOKS].reencrypt(),
            "totp": await request.app[TOTP].reencrypt(),
            "extra": extra,
        }
        await request.app[keys.AUDIT].record(
            principal.actor_id, "secrets.rotate", "platform", "secrets", after=out
        )
        return out
