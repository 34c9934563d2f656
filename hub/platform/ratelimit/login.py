"""Login brute-force protection: failed sign-ins are logged per account+IP (and per IP across
accounts, against credential stuffing); with the limit reached within the last window the login
answers 429 with ``Retry-After`` (until the oldest counted failure leaves the window), even for the
right password. A sliding window, not fixed ones: those let 2x the limit through around an edge.
A success clears the account+IP log. The logs live in the rate limiter's backend, so Redis shares
them."""

from __future__ import annotations

import hashlib

from hub.errors import HubError

from .backends import Limiter

IP_FACTOR = 4  # one IP may fail this many times the per-account limit across all accounts


class TooManyAttempts(HubError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def _account(email: str) -> str:
    # Hash so that counter keys carry no e-mail addresses (and no injection surface).
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class LoginGuard:
    def __init__(self, limiter: Limiter, max_failures: int, window_s: int) -> None:
        self.limiter = limiter
        self.max_failures = max_failures
        self.window_s = window_s

    def _keys(self, email: str, ip: str) -> tuple[str, str]:
        return f"login:{_account(email)}:{ip}", f"login-ip:{ip}"

    async def check(self, email: str, ip: str) -> None:
        pair, per_ip = self._keys(email, ip)
        wait = max(await self.limiter.wait(pair, self.max_failures, self.window_s),
                   await self.limiter.wait(per_ip, self.max_failures * IP_FACTOR, self.window_s))
        if wait:
            raise TooManyAttempts("too many failed sign-ins; try again later", wait)

    async def failed(self, email: str, ip: str) -> None:
        for key in self._keys(email, ip):
            await self.limiter.count(key, self.window_s)

    async def succeeded(self, email: str, ip: str) -> None:
        await self.limiter.reset(self._keys(email, ip)[0])
