"""The sign-in route with brute-force protection, TOTP and session recording.

It takes the place of the foundation's ``POST /auth/login`` handler (same path, same response,
one optional ``otp`` field more): ``install`` swaps the handler and body model of that route
declaration before the routes are installed, so OpenAPI describes what runs.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from hub import keys
from hub.api.problem import problem
from hub.api.routing import ApiRouter, Route
from hub.api.schemas import LoginIn, TokensOut, UserOut

from ..appkeys import SESSIONS
from ..ratelimit import TooManyAttempts, client_ip
from .signin import sign_in


class LoginWithOtpIn(LoginIn):
    otp: str | None = Field(None, max_length=10, description="Current TOTP code, when two-factor auth is on")


async def login(request: web.Request, _: object, body: LoginWithOtpIn) -> TokensOut | web.Response:
    app = request.app
    try:
        user = await sign_in(request, body.email, body.password, body.otp)
    except TooManyAttempts as exc:
        return problem(429, exc.title, exc.detail, headers={"Retry-After": str(exc.retry_after)})
    tokens = app[keys.TOKENS]
    refresh = await tokens.issue_refresh(user.id)
    session = await app[SESSIONS].record(
        refresh, user.id, client_ip(request), request.headers.get("User-Agent", "")
    )
    return TokensOut(access_token=tokens.access_token(user, session), refresh_token=refresh,
                     expires_in=int(tokens.access_ttl.total_seconds()), user=UserOut.of(user))


def install(routers: list[ApiRouter]) -> None:
    for router in routers:
        for route in router.routes:
            if route.method == "POST" and route.path == "/auth/login":
                _swap(route)
                return
    raise RuntimeError("the foundation's POST /auth/login route was not found")


def _swap(route: Route) -> None:
    route.handler = login
    route.body = LoginWithOtpIn
