"""Rate limiting (per IP, user, API key) and login brute-force protection."""

from .backends import Decision, Limiter, MemoryLimiter, RedisLimiter
from .login import LoginGuard, TooManyAttempts
from .middleware import client_ip, install

__all__ = [
    "Decision",
    "Limiter",
    "LoginGuard",
    "MemoryLimiter",
    "RedisLimiter",
    "TooManyAttempts",
    "client_ip",
    "install",
]
