from __future__ import annotations

from datetime import datetime

from pydantic import Field

from .common import Model, Role, new_id, utcnow


class User(Model):
    id: str = Field(default_factory=new_id)
    email: str
    name: str = ""
    role: Role
    team_ids: list[str] = Field(default_factory=list)
    contact_id: str | None = Field(None, description="For provider/customer users: their contact")
    password_hash: str = ""
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(Model):
    id: str = Field(default_factory=new_id)
    name: str
    prefix: str
    secret_hash: str
    role: Role
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
