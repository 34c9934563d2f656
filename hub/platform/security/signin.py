"""One sign-in check for every place that takes a password (the API's ``POST /auth/login``, the
help center's form, …): brute-force lock per account+IP, password, then TOTP when it is on.
Other packages call it as ``app[keys.EXTENSIONS]["platform"]["sign_in"](request, email, password, otp)``."""

from __future__ import annotations

from aiohttp import web

from hub import keys
from hub.errors import Unauthorized
from hub.models import User

from ..appkeys import LOGIN_GUARD, TOTP
from ..ratelimit import client_ip


async def sign_in(request: web.Request, email: str, password: str, otp: str | None = None) -> User:
    """Raises ``TooManyAttempts`` (429, ``retry_after``) or ``Unauthorized``; returns the user."""
    app = request.app
    ip = client_ip(request)
    guard = app[LOGIN_GUARD]
    await guard.check(email, ip)
    try:
        user = await app[keys.USERS].authenticate(email, password)
        await app[TOTP].verify(user.id, otp)
    except Unauthorized:
        await guard.failed(email, ip)
        raise
    await guard.succeeded(email, ip)
    return user
