"""The hub's exception tree. The API turns each into RFC 9457 problem+json in one middleware.

    HubError                      500  unexpected domain failure
    ├── InvalidInput              422  a value is wrong (``field`` names it)
    ├── NotFound                  404
    ├── Conflict                  409  e.g. a duplicate e-mail, a stale ETag
    ├── Unauthorized              401  no or bad credentials
    ├── Forbidden                 403  authenticated, but the role may not do this
    ├── PayloadTooLarge           413
    └── StoreUnavailable          503  the database does not answer
"""

from __future__ import annotations


class HubError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str = "", *, field: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.field = field


class InvalidInput(HubError):
    status = 422
    title = "Invalid input"


class NotFound(HubError):
    status = 404
    title = "Not found"


class Conflict(HubError):
    status = 409
    title = "Conflict"


class Unauthorized(HubError):
    status = 401
    title = "Unauthorized"


class Forbidden(HubError):
    status = 403
    title = "Forbidden"


class PayloadTooLarge(HubError):
    status = 413
    title = "Payload too large"


class StoreUnavailable(HubError):
    status = 503
    title = "Store unavailable"


__all__ = [
    "Conflict",
    "Forbidden",
    "HubError",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "StoreUnavailable",
    "Unauthorized",
]
