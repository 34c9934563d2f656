"""Login brute-force protection: failed sign-ins are counted per account+IP (and per IP across
accounts, against credential stuffing); past the limit the login answers 429 with
``Retry-After`` until the window ends, even for the right password. A success clears the
account+IP counter. Counters live in the rate limiter's backend, so Redis shares them."""

from __future__ import annotations

import hashlib
import math
import time

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

    def _retry_after(self) -> int:
        now = time.time()
        return max(1, math.ceil((int(now // self.window_s) + 1) * self.window_s - now))

    async def check(self, email: str, ip: str) -> None:
        pair, per_ip = self._keys(email, ip)
        if (await self.limiter.peek(pair, self.window_s) >= self.max_failures
                or await self.limiter.peek(per_ip, self.window_s) >= self.max_failures * IP_FACTOR):
            raise TooManyAttempts("too many failed sign-ins; try again later", self._retry_after())

    async def failed(self, email: str, ip: str) -> None:
        for key in self._keys(email, ip):
            await self.limiter.count(key, self.window_s)

    async def succeeded(self, email: str, ip: str) -> None:
        await self.limiter.reset(self._keys(email, ip)[0], self.window_s)
