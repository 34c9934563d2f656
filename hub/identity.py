"""Identity keys: one normalized text per way of reaching a person (``phone:+27821234567``)."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from hub.errors import InvalidInput
from hub.models import IdentityKind

DEFAULT_REGION = "ZA"  # Berry Events is South African; numbers without +country are read as local
_CHAT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def normalize_phone(value: str, region: str = DEFAULT_REGION) -> str:
    raw = value.strip()
    for prefix in ("whatsapp:", "tel:", "sms:"):
        if raw.lower().startswith(prefix):
            raw = raw[len(prefix):]
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"not a phone number: {value!r}", field="sender.value") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"not a possible phone number: {value!r}", field="sender.value")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str, field: str = "sender.value") -> str:
    try:
        info = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"not an e-mail address: {value!r}", field=field) from exc
    return info.normalized.lower()


def normalize(kind: IdentityKind, value: str) -> str:
    """The normalized value of an identity; raises InvalidInput when it is not one."""
    match kind:
        case IdentityKind.phone | IdentityKind.whatsapp:
            return normalize_phone(value)
        case IdentityKind.email:
            return normalize_email(value)
        case _:
            value = value.strip()
            if not _CHAT_ID.match(value):
                raise InvalidInput(f"invalid {kind.value} id", field="sender.value")
            return value


def identity_key(kind: IdentityKind, value: str) -> str:
    return f"{kind.value}:{normalize(kind, value)}"
