"""Shared pieces of the domain models: ids, clocks, enums."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bson import ObjectId
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints


def new_id() -> str:
    """A new document id: an ObjectId as text, so ids sort by creation time."""
    return str(ObjectId())


def utcnow() -> datetime:
    # MongoDB keeps milliseconds; truncate so a stored-and-read value equals the original.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def closing_time(text: str) -> time:
    """The end of an opening-hours interval: ``HH:MM`` or ``24:00``, the end of the day (``time.max``;
    "00:00-23:59" would close for the day's last minute). ValueError if malformed."""
    return time.max if text.strip() in ("24:00", "24:00:00") else time.fromisoformat(text.strip())


# A contact's or a ticket's tag as input (API, console): what the console shows in a chip. Not on the
# stored models, whose older documents must stay readable.
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


def json_default(value: object) -> str:
    """``json.dumps``'s fallback for what the API, webhooks and exports send: datetimes in RFC 3339
    as pydantic writes them (``2026-11-27T15:05:31.218000Z``; ``str()`` gave ``… 15:05:31…+00:00``
    with a space, which OpenAPI's ``date-time`` does not allow), anything else as text."""
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def is_digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit()`` also takes "٣" (which ``int()`` reads as 3) and "²" (which
    it refuses with a ValueError: a 500 where a 4xx was meant)."""
    return text.isascii() and text.isdigit()


def before_closing(at: time, closing: time) -> bool:
    return at < closing or closing == time.max


class Channel(StrEnum):
    sms = "sms"
    whatsapp = "whatsapp"
    email = "email"
    webchat = "webchat"
    voice = "voice"
    api = "api"


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    agent = "agent"
    provider = "provider"
    customer = "customer"


class Model(BaseModel):
    """Base of stored documents: ``id`` in Python is ``_id`` in MongoDB."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    @classmethod
    def from_doc(cls, doc: dict) -> Self:
        doc = dict(doc)
        doc["id"] = doc.pop("_id")
        return cls.model_validate(doc)

    def to_doc(self) -> dict:
        doc = self.model_dump(mode="python")
        doc["_id"] = doc.pop("id")
        return doc


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


TimeZoneName = Annotated[str, AfterValidator(_zone_name)]  # an IANA zone this machine knows
# "" (the hub's default) or a zone; one validator, so a bad zone's error names the zone instead of
# a union branch ("timezone.literal['']: Input should be ''")
TimeZoneOrDefault = Annotated[str, AfterValidator(lambda value: _zone_name(value) if value else value)]
