"""Request and response bodies of the REST API (the stored models are reused where they fit)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.models import (
    Channel,
    Contact,
    ContactType,
    Conversation,
    Identity,
    IdentityKind,
    Message,
    Priority,
    Role,
    Status,
    User,
)

from .fields import restricted


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class RefreshIn(Strict):
    refresh_token: str = Field(max_length=200)


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    team_ids: list[str]
    contact_id: str | None
    active: bool
    mfa_enabled: bool | None = restricted(description="Two-factor authentication is on (admins only)")

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls.model_validate(user.model_dump(exclude={"password_hash"}))


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int
    user: UserOut


class UserIn(Strict):
    email: str = Field(max_length=320)
    password: str = Field(min_length=8, max_length=1024)
    name: str = Field("", max_length=200)
    role: Role
    team_ids: list[str] = Field(default_factory=list, max_length=100)
    contact_id: str | None = None


class UserPatch(Strict):
    name: str | None = Field(None, max_length=200)
    role: Role | None = None
    team_ids: list[str] | None = Field(None, max_length=100)
    active: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=1024)


class ApiKeyIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.agent


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    role: Role
    created_at: Any
    revoked_at: Any = None
    created_by: str | None = restricted(description="Who created it (admins only)")
    last_used_at: Any = restricted(description="When it was last used (admins only)")


class ApiKeyPatch(Strict):
    name: str = Field(min_length=1, max_length=100)


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret: shown once, store it now")


class IdentityIn(Strict):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)


class ContactIn(Strict):
    name: str = Field("", max_length=200)
    type: ContactType = ContactType.consumer
    language: str | None = Field(None, max_length=10)
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    vip: bool = False
    identities: list[IdentityIn] = Field(default_factory=list, max_length=20)


class ContactPatch(Strict):
    name: str | None = Field(None, max_length=200)
    type: ContactType | None = None
    language: str | None = Field(None, max_length=10)
    tags: list[str] | None = Field(None, max_length=50)
    custom_fields: dict[str, Any] | None = None
    vip: bool | None = None


class ContactQuery(Strict):
    q: str = Field("", max_length=200)
    type: ContactType | None = None
    identity_kind: IdentityKind | None = None
    identity_value: str | None = Field(None, max_length=320)
    limit: int = Field(50, ge=1, le=200)
    after: str | None = None


class Contact360(BaseModel):
    contact: Contact
    identities: list[Identity]
    conversations: list[Conversation]


class MergeIn(Strict):
    into: str = Field(description="Id of the contact that remains")


class ConversationQuery(Strict):
    status: list[Status] = Field(default_factory=list)
    channel: Channel | None = None
    priority: Priority | None = None
    assignee_id: str | None = None
    unassigned: bool = False
    team_id: str | None = None
    contact_id: str | None = None
    tag: str | None = None
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=500)


class ConversationPage(BaseModel):
    items: list[Conversation]
    next_cursor: str | None


class ConversationPatch(Strict):
    status: Status | None = None
    priority: Priority | None = None
    assignee_id: str | None = None
    team_id: str | None = None
    tags: list[str] | None = Field(None, max_length=50)
    subject: str | None = Field(None, max_length=1000)
    language: str | None = Field(None, max_length=10)


class MessageQuery(Strict):
    limit: int = Field(100, ge=1, le=500)
    after: str | None = None


class ReplyIn(Strict):
    text: str = Field(min_length=1, max_length=50_000)
    private: bool = False
    subject: str | None = Field(None, max_length=1000)
    cc: list[str] = Field(default_factory=list, max_length=10, description="E-mail only: Cc recipients")


class IngestOut(BaseModel):
    message: Message
    conversation: Conversation
    duplicate: bool
