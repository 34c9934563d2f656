"""Rule conditions: a closed set of fields and operators, checked when a rule is saved
(``check_condition`` never writes) and evaluated against one event's facts.

Regexes are the hostile part: a pattern such as ``(a+)+$`` backtracks for ever on ``aaaa…!``.
They run on the ``regex`` engine with a timeout (a timed-out match counts as no match and is
logged), on at most ``MAX_TEXT`` characters, and a pattern that already times out on a few
adversarial probes when it is saved is refused with a 422.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import regex
from pydantic import BaseModel, ConfigDict, Field

from hub.errors import InvalidInput
from hub.models import Contact, Conversation, Message

from .business_hours import BusinessHours

log = logging.getLogger(__name__)

Op = Literal[
    "eq", "ne", "in", "not_in", "contains", "not_contains", "regex", "is_set", "not_set", "gte", "lte"
]
# field → kind; kinds decide which operators make sense.
FIELDS: dict[str, str] = {
    "channel": "enum",
    "direction": "enum",
    "author_type": "enum",
    "text": "text",
    "subject": "text",
    "priority": "enum",
    "status": "enum",
    "language": "enum",
    "tags": "list",
    "assignee_id": "enum",
    "team_id": "enum",
    "contact.type": "enum",
    "contact.vip": "bool",
    "contact.language": "enum",
    "contact.tags": "list",
    "contact.name": "text",
    "sla.metric": "enum",
    "in_business_hours": "bool",
    "changed": "list",
    "previous.status": "enum",
}
PREFIXED = {"contact.attributes.": "any", "custom.": "any"}
OPS: dict[str, set[str]] = {
    "enum": {"eq", "ne", "in", "not_in", "is_set", "not_set"},
    "text": {"eq", "ne", "contains", "not_contains", "regex", "is_set", "not_set"},
    "list": {"contains", "not_contains", "is_set", "not_set"},
    "bool": {"eq", "ne"},
    "any": {
        "eq",
        "ne",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "regex",
        "is_set",
        "not_set",
        "gte",
        "lte",
    },
}
MAX_TEXT = 10_000
MAX_PATTERN = 500
REGEX_TIMEOUT = 0.02  # seconds per match at run time
PROBES = [
    "a" * 5000 + "!",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!" * 20,
    " " * 5000 + "x",
    "ab" * 2500 + "!",
    "x@" * 2500 + "!",
    "1" * 5000 + "a",
]


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(max_length=100)
    op: Op
    value: Any = None
    case_sensitive: bool = False
    business_hours_id: str | None = Field(None, description="For in_business_hours")


def kind_of(name: str) -> str | None:
    if name in FIELDS:
        return FIELDS[name]
    for prefix, kind in PREFIXED.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return kind
    return None


def compile_pattern(pattern: Any, case_sensitive: bool) -> regex.Pattern[str]:
    if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN:
        raise InvalidInput(f"a regex is a string of 1–{MAX_PATTERN} characters", field="value")
    try:
        compiled = regex.compile(pattern, 0 if case_sensitive else regex.IGNORECASE)
    except regex.error as exc:
        raise InvalidInput(f"invalid regex: {exc}", field="value") from exc
    literals = list(dict.fromkeys(c for c in pattern if c.isalnum()))[:6]
    for probe in PROBES + [c * 3000 + "!" for c in literals]:
        try:
            compiled.search(probe, timeout=0.05)
        except TimeoutError as exc:
            raise InvalidInput(
                "regex rejected: it backtracks catastrophically (timed out on a probe)", field="value"
            ) from exc
    return compiled


def check_condition(cond: Condition) -> None:
    kind = kind_of(cond.field)
    if kind is None:
        raise InvalidInput(f"unknown field {cond.field!r}", field="field")
    if cond.op not in OPS[kind]:
        raise InvalidInput(f"operator {cond.op} does not apply to {cond.field}", field="op")
    if cond.op in ("in", "not_in") and not isinstance(cond.value, list):
        raise InvalidInput(f"{cond.op} needs a list value", field="value")
    values = cond.value if isinstance(cond.value, list) else [cond.value]
    if len(values) > 200 or not all(v is None or isinstance(v, (str, int, float, bool)) for v in values):
        raise InvalidInput(
            "a value is a string, number, boolean or a list of up to 200 of them", field="value"
        )
    if any(isinstance(v, str) and len(v) > 1000 for v in values):
        raise InvalidInput("values are at most 1000 characters", field="value")
    if cond.op in ("contains", "not_contains", "eq", "ne") and cond.value is None:
        raise InvalidInput(f"{cond.op} needs a value", field="value")
    if cond.op == "regex":
        compile_pattern(cond.value, cond.case_sensitive)
    if cond.field == "in_business_hours" and not cond.business_hours_id:
        raise InvalidInput("in_business_hours needs business_hours_id", field="business_hours_id")


@dataclass
class Facts:
    """What one rule evaluation may look at."""

    conversation: Conversation
    message: Message | None = None
    contact: Contact | None = None
    now: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    hours: dict[str, BusinessHours] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        memo = self.__dict__.setdefault("_memo", {})
        if name not in memo:
            memo[name] = self._get(name)
        return memo[name]

    def _get(self, name: str) -> Any:
        c, m = self.conversation, self.message
        if name == "text":
            return (m.text if m else "")[:MAX_TEXT]
        if name in ("direction", "author_type"):
            return getattr(m, name).value if m else None
        if name == "channel":
            return c.channel.value
        if name in ("priority", "status"):
            return getattr(c, name).value
        if name in ("language", "tags", "assignee_id", "team_id", "subject"):
            return getattr(c, name)
        if name.startswith("custom."):
            return c.custom_fields.get(name[7:])
        if name in ("sla.metric", "changed", "previous.status"):
            return self.extra.get(name)
        if name.startswith("contact."):
            contact = self.contact
            if contact is None:
                return None
            if name.startswith("contact.attributes."):
                return contact.custom_fields.get(name[19:])
            return {
                "contact.type": contact.type.value,
                "contact.vip": contact.vip,
                "contact.language": contact.language,
                "contact.tags": contact.tags,
                "contact.name": contact.name,
            }[name]
        return None


def _fold(value: Any, case_sensitive: bool) -> Any:
    return value.lower() if isinstance(value, str) and not case_sensitive else value


@dataclass
class Compiled:
    cond: Condition
    pattern: regex.Pattern[str] | None = None
    want: Any = None
    wants: list[Any] = field(default_factory=list)

    @classmethod
    def of(cls, cond: Condition) -> Compiled:
        check_condition(cond)
        values = cond.value if isinstance(cond.value, list) else []
        return cls(
            cond,
            compile_pattern(cond.value, cond.case_sensitive) if cond.op == "regex" else None,
            _fold(cond.value, cond.case_sensitive),
            [_fold(v, cond.case_sensitive) for v in values],
        )

    @property
    def cost(self) -> int:
        """Evaluation order inside a rule: cheap tests first, regexes last."""
        return 2 if self.cond.op == "regex" else 1 if self.cond.field in ("text", "subject") else 0

    def test(self, facts: Facts) -> bool:
        cond = self.cond
        if cond.field == "in_business_hours":
            hours = facts.hours.get(cond.business_hours_id or "")
            is_open = hours.is_open(facts.now) if hours and facts.now else False
            return is_open == bool(cond.value) if cond.op == "eq" else is_open != bool(cond.value)
        value = facts.get(cond.field)
        op = cond.op
        if op == "is_set":
            return value not in (None, "", [])
        if op == "not_set":
            return value in (None, "", [])
        if op == "regex":
            if value is None or self.pattern is None:
                return False
            try:
                return self.pattern.search(str(value)[:MAX_TEXT], timeout=REGEX_TIMEOUT) is not None
            except TimeoutError:
                log.warning("rule regex timed out", extra={"pattern": cond.value[:100]})
                return False
        want, have = self.want, _fold(value, cond.case_sensitive)
        if op == "eq":
            return bool(have == want)
        if op == "ne":
            return bool(have != want)
        if op in ("in", "not_in"):
            inside = have in self.wants
            return inside if op == "in" else not inside
        if op in ("contains", "not_contains"):
            if isinstance(have, list):
                found = want in [_fold(v, cond.case_sensitive) for v in have]
            else:
                found = isinstance(have, str) and str(want) in have
            return found if op == "contains" else not found
        try:
            return bool(have >= want) if op == "gte" else bool(have <= want)
        except TypeError:
            return False


__all__ = ["FIELDS", "Compiled", "Condition", "Facts", "check_condition", "compile_pattern"]
