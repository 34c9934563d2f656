"""Request and response bodies of the REST API (the stored models are reused where they fit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    Tag,
    User,
)

from .fields import restricted
from .pages import PageQuery, Sorts, page_of


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


UserPage = page_of(UserOut)


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


ApiKeyPage = page_of(ApiKeyOut)


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
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    vip: bool = False
    identities: list[IdentityIn] = Field(default_factory=list, max_length=20)


class ContactPatch(Strict):
    name: str | None = Field(None, max_length=200)
    type: ContactType | None = None
    language: str | None = Field(None, max_length=10)
    tags: list[Tag] | None = Field(None, max_length=50)
    custom_fields: dict[str, Any] | None = None
    vip: bool | None = None


CONTACT_SORTS = Sorts(
    {"id": "_id", "name": "name", "created_at": "created_at", "updated_at": "updated_at"}, "-id"
)
CONVERSATION_SORTS = Sorts({"last_message_at": "last_message_at", "created_at": "created_at",
                            "updated_at": "updated_at", "number": "number"}, "-last_message_at")
USER_SORTS = Sorts({"id": "_id", "email": "email", "name": "name", "created_at": "created_at"}, "email")
API_KEY_SORTS = Sorts({"id": "_id", "name": "name", "created_at": "created_at"}, "-created_at")


class ContactQuery(PageQuery):
    q: str = Field("", max_length=200, description=(
        "A name fragment, or the start of an e-mail address or phone number (spaces and a leading 0 "
        "are fine: '082 123' finds +2782123…)"))
    type: ContactType | None = None
    identity_kind: IdentityKind | None = None
    identity_value: str | None = Field(None, max_length=320)
    sort: str | None = Field(None, max_length=64, description=CONTACT_SORTS.describe())
    after: str | None = Field(None, max_length=100, json_schema_extra={"deprecated": True},
                              description="Deprecated: use cursor. Contacts with a smaller id (default sort)")


class UserQuery(PageQuery):
    role: Role | None = None
    active: bool | None = None
    sort: str | None = Field(None, max_length=64, description=USER_SORTS.describe())


class ApiKeyQuery(PageQuery):
    revoked: bool | None = Field(None, description="true: only revoked keys; false: only live ones")
    sort: str | None = Field(None, max_length=64, description=API_KEY_SORTS.describe())


class MergedFrom(BaseModel):
    id: str = Field(description="The merged-away contact (unmerge it with POST /contacts/{id}/unmerge)")
    name: str
    merged_at: datetime
    identities: list[str] = Field(default_factory=list, description=(
        "Up to 3 of the addresses the merge moved (tells a nameless contact apart)"))


class Contact360(BaseModel):
    contact: Contact
    identities: list[Identity]
    conversations: list[Conversation] = Field(description=(
        "The newest 100 conversations this caller may see (another team's tickets are left out)"))
    conversations_next_cursor: str | None = Field(None, description=(
        "Set when there are more: GET /conversations?contact_id=<id>&cursor=<this> continues the list"))
    merged_from: list[MergedFrom] = Field(default_factory=list, description=(
        "Contacts merged into this one that POST /contacts/{id}/unmerge can restore, newest merge first (at "
        "most 20); empty for a caller without contacts:merge"))


class MergeIn(Strict):
    into: str = Field(description="Id of the contact that remains")


class ConversationMoveIn(Strict):
    contact_id: str = Field(min_length=1, max_length=64, description=(
        "The contact the ticket moves to (not one merged into another, erased or deleted)"))


class UnmergeOut(BaseModel):
    source: Contact = Field(description="The contact merged away before, active again")
    target_id: str = Field(description="The contact it had been merged into")
    target: Contact | None = Field(description="That contact now (None: deleted since)")
    restored: dict[str, list[str]] = Field(description=(
        "Ids moved back to the source: identities, conversations (with their messages), threads, consents"))
    left: dict[str, list[str]] = Field(description=(
        "Ids the merge had moved that stay where they are (removed, or moved to another contact since)"))
    mixed: list[str] = Field(default_factory=list, description=(
        "Tickets the target got after the merge with customer messages from both contacts' addresses: they "
        "stay with the target (an agent moves or splits them by hand); an SMS, WhatsApp or chat thread of a "
        "restored address into one is forgotten"))
    threads_detached: int = Field(description=(
        "Threads on the source's addresses that led to tickets the target opened after the merge: forgotten, "
        "so the next message from such an address opens a ticket for the source"))


class ConversationQuery(PageQuery):
    status: list[Status] = Field(default_factory=list)
    channel: Channel | None = None
    priority: Priority | None = None
    assignee_id: str | None = None
    unassigned: bool = False
    team_id: str | None = None
    contact_id: str | None = None
    tag: str | None = None
    sort: str | None = Field(None, max_length=64, description=CONVERSATION_SORTS.describe())


ConversationPage = page_of(Conversation)
ContactPage = page_of(Contact)


class ConversationPatch(Strict):
    status: Status | None = Field(
        None, description="snoozed: use POST /conversations/{id}/snooze, which takes the wake-up time "
                          "(refused here: nothing would wake it)")
    priority: Priority | None = None
    assignee_id: str | None = None
    team_id: str | None = None
    tags: list[Tag] | None = Field(None, max_length=50)
    subject: str | None = Field(None, max_length=1000)
    language: str | None = Field(None, max_length=10)


MESSAGE_SORTS = Sorts({"created_at": "created_at", "id": "_id"}, "created_at")


class MessageQuery(PageQuery):
    limit: int = Field(100, ge=1, le=500, description="Items per page")
    sort: str | None = Field(None, max_length=64, description=MESSAGE_SORTS.describe())
    after: str | None = Field(None, max_length=100, json_schema_extra={"deprecated": True},
                              description="Deprecated: use cursor. Messages with a greater id (default sort)")


MessagePage = page_of(Message)


class ReplyIn(Strict):
    text: str = Field(min_length=1, max_length=50_000)
    private: bool = False
    subject: str | None = Field(None, max_length=1000)
    cc: list[str] = Field(default_factory=list, max_length=10, description="E-mail only: Cc recipients")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():  # the customer would get an empty message
            raise ValueError("a reply needs some text, not only spaces")
        return text


class IngestOut(BaseModel):
    message: Message
    conversation: Conversation
    duplicate: bool
