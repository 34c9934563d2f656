"""Domain models (pydantic v2): what the store holds and the API speaks."""

from .common import (
    Channel,
    Model,
    Role,
    Tag,
    TimeZoneName,
    TimeZoneOrDefault,
    before_closing,
    closing_time,
    is_digits,
    json_default,
    new_id,
    utcnow,
)
from .contact import Contact, ContactType, Identity, IdentityKind
from .conversation import (
    ACTIVE_STATUSES,
    ACTIVE_VALUES,
    Conversation,
    Priority,
    Status,
    bot_deflected,
    bot_engaged,
)
from .inbound import InboundMessage, SenderIdentity
from .message import Attachment, AuthorType, DeliveryStatus, Direction, Message
from .user import ApiKey, User

__all__ = [
    "ACTIVE_STATUSES",
    "ACTIVE_VALUES",
    "ApiKey",
    "Attachment",
    "AuthorType",
    "Channel",
    "Contact",
    "ContactType",
    "Conversation",
    "DeliveryStatus",
    "Direction",
    "Identity",
    "IdentityKind",
    "InboundMessage",
    "Message",
    "Model",
    "Priority",
    "Role",
    "SenderIdentity",
    "Status",
    "Tag",
    "TimeZoneName",
    "TimeZoneOrDefault",
    "User",
    "new_id",
    "utcnow",
    "before_closing",
    "bot_deflected",
    "bot_engaged",
    "closing_time",
    "is_digits",
    "json_default",
]
