"""Canned responses (macros' reply text) with variables such as ``{{contact.first_name}}``.

Rendering is one pass of a fixed substitution: only the names in ``VARIABLES`` (and
``contact.attributes.<key>`` / ``conversation.custom.<key>``) exist, a value is inserted as plain
text and never rendered again (a contact named ``{{agent.name}}`` stays that), and
``{{contact.first_name|there}}`` gives a fallback. Unknown variables are refused when the template
is saved, not discovered by a customer.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.errors import InvalidInput
from hub.models import Contact, Conversation, new_id, utcnow
from hub.store import ix, register

register("canned_responses", ix(("shortcut", 1), unique=True))

VAR = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z0-9_]+){1,2})\s*(?:\|([^{}|]{0,100}))?\}\}")
VARIABLES = {
    "contact.name",
    "contact.first_name",
    "contact.last_name",
    "contact.language",
    "contact.type",
    "conversation.number",
    "conversation.subject",
    "conversation.channel",
    "conversation.priority",
    "agent.name",
    "agent.first_name",
}
DYNAMIC = ("contact.attributes.", "conversation.custom.")
MAX_RENDERED = 20_000


def check_template(text: str) -> str:
    for match in VAR.finditer(text):
        name = match.group(1)
        if name not in VARIABLES and not name.startswith(DYNAMIC):
            raise InvalidInput(
                f"unknown variable {{{{{name}}}}}; known: {', '.join(sorted(VARIABLES))}", field="text"
            )
    if "{{" in VAR.sub("", text) or "}}" in VAR.sub("", text):
        raise InvalidInput("unbalanced or malformed {{ }} in the template", field="text")
    return text


def variables(
    contact: Contact | None, conversation: Conversation | None, agent: dict[str, Any] | None = None
) -> dict[str, str]:
    values: dict[str, str] = {}
    if contact is not None:
        parts = contact.name.split()
        values.update(
            {
                "contact.name": contact.name,
                "contact.first_name": parts[0] if parts else "",
                "contact.last_name": " ".join(parts[1:]),
                "contact.language": contact.language or "",
                "contact.type": contact.type.value,
            }
        )
        values.update({f"contact.attributes.{k}": str(v) for k, v in contact.custom_fields.items()})
    if conversation is not None:
        values.update(
            {
                "conversation.number": str(conversation.number),
                "conversation.subject": conversation.subject,
                "conversation.channel": conversation.channel.value,
                "conversation.priority": conversation.priority.value,
            }
        )
        values.update({f"conversation.custom.{k}": str(v) for k, v in conversation.custom_fields.items()})
    if agent:
        name = str(agent.get("name") or "")
        values.update({"agent.name": name, "agent.first_name": name.split()[0] if name.split() else ""})
    return values


def render(text: str, values: dict[str, str], defaults: dict[str, str] | None = None) -> str:
    """``defaults``: what an empty variable without a ``|fallback`` of its own becomes (the agent's
    name in a reply no agent wrote: the signature)."""
    defaults = defaults or {}
    out = VAR.sub(
        lambda m: values.get(m.group(1)) or (m.group(2) or "").strip() or defaults.get(m.group(1), ""), text
    )
    return out[:MAX_RENDERED]


def signed(signature: str) -> dict[str, str]:
    """The agent variables of a reply no named agent wrote (a rule's): the team's signature."""
    return {"agent.name": signature, "agent.first_name": signature}


class CannedResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=new_id)
    shortcut: str = Field(pattern=r"^[a-z0-9_-]{1,40}$")
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=5000)
    team_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("text")
    @classmethod
    def _template(cls, text: str) -> str:
        try:
            return check_template(text)
        except InvalidInput as exc:
            raise ValueError(exc.detail) from exc


__all__ = ["VARIABLES", "CannedResponse", "check_template", "render", "signed", "variables"]
