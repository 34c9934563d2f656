"""Roles and permissions: the one table every handler's check reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.errors import Forbidden
from hub.models import Role

STAFF = frozenset({Role.admin, Role.supervisor, Role.agent})

PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.admin: frozenset({"*"}),
    Role.supervisor: frozenset(
        {
            "contacts:read",
            "contacts:write",
            "contacts:merge",
            "contacts:delete",
            "contacts:import",
            "conversations:read",
            "conversations:write",
            "conversations:assign",
            "messages:read",
            "messages:write",
            "users:read",
            "teams:read",
            "teams:write",
            "reports:read",
            "reports:schedule",
            "audit:read",
            "articles:read",
            "articles:write",
            "ticketing:read",
            "ticketing:configure",
            "messages:redact",
        }
    ),
    Role.agent: frozenset(
        {
            "contacts:read",
            "contacts:write",
            "conversations:read",
            "conversations:write",
            "conversations:assign",
            "messages:read",
            "messages:write",
            "users:read",
            "teams:read",
            "articles:read",
            "ticketing:read",
        }
    ),
    # Portal users see only their own tickets; handlers narrow by principal.contact_id.
    Role.provider: frozenset({"own:conversations", "articles:read"}),
    Role.customer: frozenset({"own:conversations", "articles:read"}),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user or an API key, with its role."""

    role: Role
    user_id: str | None = None
    api_key_id: str | None = None
    contact_id: str | None = None
    team_ids: tuple[str, ...] = field(default_factory=tuple)
    name: str = ""
    session_id: str | None = None  # the sign-in (refresh family) a user's access token belongs to

    @property
    def actor_id(self) -> str:
        return self.user_id or f"api_key:{self.api_key_id}"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    def can(self, permission: str) -> bool:
        granted = PERMISSIONS[self.role]
        return "*" in granted or permission in granted


def require(principal: Principal | None, permission: str) -> Principal:
    """The one permission check: raises Forbidden unless the principal's role grants it."""
    from hub.errors import Unauthorized

    if principal is None:
        raise Unauthorized("sign in or send an API key")
    if not principal.can(permission):
        raise Forbidden(f"role {principal.role.value} may not {permission}")
    return principal
