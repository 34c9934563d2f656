"""Per-channel inboxes configured by an admin, stored in MongoDB (``channel_inboxes``, ``_id`` =
channel): address (number / mailbox), greeting, business hours, provider settings and
credentials. Credentials are encrypted with the platform's secret box and never returned: the
API only says which ones are set. Settings (``BERRY_…``) are the defaults an inbox overrides.

Saving an inbox rebuilds that channel's adapter in the registry, so the next send uses it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from hub.errors import InvalidInput
from hub.identity import normalize_phone
from hub.models import Channel, TimeZoneOrDefault, is_digits, utcnow
from hub.store import Store, register, upsert

from .hours import parse

register("channel_inboxes")

SECRET_NAMES = {"auth_token", "smtp_password", "imap_password"}
SETTING_NAMES = {"account_sid", "smtp_host", "smtp_port", "smtp_user", "smtp_starttls", "smtp_listen_port",
                 "imap_host", "imap_port", "imap_user", "imap_mailbox"}
PORTS = {"smtp_port", "imap_port", "smtp_listen_port"}
OFF_PORTS = {"smtp_listen_port"}  # 0 = not listening
FLAGS = {"smtp_starttls"}
Configurable = Literal["sms", "whatsapp", "voice", "email", "webchat"]
TWILIO = ({"account_sid"}, {"auth_token"})
MAILBOX = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL = (SETTING_NAMES - {"account_sid"}, {"smtp_password", "imap_password"})
# the settings and credentials each channel reads (channels/configure.py): another channel's are refused
TAKES: dict[Channel, tuple[set[str], set[str]]] = {
    Channel.sms: TWILIO, Channel.whatsapp: TWILIO, Channel.voice: TWILIO, Channel.email: EMAIL,
    Channel.webchat: (set(), set())}


class ChannelInboxIn(BaseModel):
    enabled: bool = True
    address: str = Field("", max_length=320, description="Sender number (E.164) or support e-mail address")
    greeting: str = Field("", max_length=1000, description="Voice greeting / chat welcome")
    business_hours: str = Field("", max_length=200, description='e.g. "Mon-Fri 08:00-17:00; Sat 09:00-13:00"')
    timezone: TimeZoneOrDefault = Field("", max_length=64, description="IANA zone of the business hours")
    settings: dict[str, str | int | bool] = Field(
        default_factory=dict, description=f"Any of {sorted(SETTING_NAMES)}"
    )
    credentials: dict[str, str] = Field(
        default_factory=dict, description=f"Write-only: any of {sorted(SECRET_NAMES)}"
    )

    @field_validator("settings")
    @classmethod
    def _settings(cls, value: dict[str, str | int | bool]) -> dict[str, str | int | bool]:
        def refused(name: str, why: str) -> PydanticCustomError:  # its field: settings.<name>
            return PydanticCustomError("setting", why, {"key": name})

        for name, item in value.items():
            if name not in SETTING_NAMES:
                raise refused(name, f"unknown setting; expected one of {', '.join(sorted(SETTING_NAMES))}")
            low = 0 if name in OFF_PORTS else 1
            port = not isinstance(item, bool) and is_digits(str(item)) and low <= int(item) < 65536
            if name in PORTS and not port:
                raise refused(name, f"a port number {low}-65535")
            if name in FLAGS and not isinstance(item, bool):
                raise refused(name, "true or false")
            if name not in PORTS | FLAGS and (not isinstance(item, str) or len(item) > 320
                                              or any(c.isspace() or not c.isprintable() for c in item)):
                raise refused(name, "a string without spaces or control characters, at most 320 characters")
        return {k: int(v) if k in PORTS else v for k, v in value.items()}

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if value:
            try:
                parse(value)
            except (ValueError, IndexError) as exc:
                raise ValueError("not like 'Mon-Fri 08:00-17:00; Sat 09:00-13:00'") from exc
        return value


class ChannelInboxOut(BaseModel):
    channel: Channel
    enabled: bool = True
    address: str = ""
    greeting: str = ""
    business_hours: str = ""
    timezone: str = ""
    settings: dict[str, str | int | bool] = Field(default_factory=dict)
    credentials_set: list[str] = Field(default_factory=list)
    updated_at: datetime | None = None
    status: dict[str, Any] = Field(
        default_factory=dict,
        description="E-mail: is the IMAP mailbox read (by which "
        "node), last error; the SMTP listener (smtp_listener: listening, port, last_error)",
    )


class Inboxes:
    def __init__(self, store: Store, box: Any) -> None:
        self.col = store["channel_inboxes"]
        self.box = box  # hub.platform SecretBox (encrypt/decrypt/rotate)

    async def all(self) -> dict[Channel, dict[str, Any]]:
        return {Channel(d["_id"]): d async for d in self.col.find({})}

    async def get(self, channel: Channel) -> dict[str, Any] | None:
        return await self.col.find_one({"_id": channel.value})  # type: ignore[no-any-return]

    async def delete(self, channel: Channel) -> bool:
        """Forget the inbox (its credentials too); False if there was none."""
        return bool((await self.col.delete_one({"_id": channel.value})).deleted_count)

    @staticmethod
    def public(channel: Channel, doc: dict[str, Any] | None) -> ChannelInboxOut:
        doc = doc or {}
        return ChannelInboxOut(
            channel=channel,
            **{k: v for k, v in doc.items() if k in ChannelInboxOut.model_fields and k != "channel"},
            credentials_set=sorted(doc.get("credentials", {})),
        )

    async def save(self, channel: Channel, body: ChannelInboxIn) -> dict[str, Any]:
        # each refusal names its path: settings.<name> or credentials.<name>
        unknown = sorted(f"credentials.{k}" for k in set(body.credentials) - SECRET_NAMES)
        if unknown:
            raise InvalidInput(f"unknown settings {unknown}", field=unknown[0])
        read, secrets = TAKES.get(channel, (SETTING_NAMES, SECRET_NAMES))
        foreign = sorted([f"settings.{k}" for k in set(body.settings) - read]
                         + [f"credentials.{k}" for k in set(body.credentials) - secrets])
        if foreign:  # e.g. an smtp_password on the SMS inbox: stored, never read
            raise InvalidInput(f"{channel.value} inboxes do not take {foreign}", field=foreign[0])
        if body.address:  # what the channel sends from: checked, kept as written
            if channel in (Channel.sms, Channel.whatsapp, Channel.voice):
                try:
                    normalize_phone(body.address)
                except InvalidInput as exc:
                    raise InvalidInput(f"address: {exc.detail}", field="address") from None
            elif channel == Channel.email and not MAILBOX.match(body.address):  # .test, .local domains too
                raise InvalidInput(f"address: not an e-mail address: {body.address!r}", field="address")
        if self.box is None and body.credentials:
            raise InvalidInput("no secret box configured: credentials cannot be stored", field="credentials")
        existing = await self.col.find_one({"_id": channel.value}) or {}
        credentials = dict(existing.get("credentials", {}))
        credentials.update({k: self.box.encrypt(v) for k, v in body.credentials.items() if v})
        for name in [k for k, v in body.credentials.items() if not v]:  # "" removes a credential
            credentials.pop(name, None)
        doc = {**body.model_dump(exclude={"credentials"}), "credentials": credentials, "updated_at": utcnow()}
        await upsert(self.col, {"_id": channel.value}, {"$set": doc})
        return {"_id": channel.value, **doc}

    def secret(self, doc: dict[str, Any], name: str) -> str | None:
        token = doc.get("credentials", {}).get(name)
        return self.box.decrypt(token) if token and self.box is not None else None

    async def reencrypt(self) -> int:
        """For ``POST /platform/secrets/rotate``."""
        count = 0
        async for doc in self.col.find({}):
            rotated = {k: self.box.rotate(v) for k, v in doc.get("credentials", {}).items()}
            await self.col.update_one({"_id": doc["_id"]}, {"$set": {"credentials": rotated}})
            count += len(rotated)
        return count
