"""Field-level restrictions: fields reserved to admins are left out of what other roles receive.

A response model marks a field with ``restricted()`` (``x-restricted: admin`` in OpenAPI, and
the field has a default so leaving it out keeps every response valid against the schema).
Contacts' custom fields named in ``BERRY_RESTRICTED_CONTACT_FIELDS`` are restricted the same
way. The API serializes every response through ``exclusions`` (``hub/api/routing.py``), so no
handler can forget it; writes by non-admins keep the restricted values they could not see.

A customer (the help-center portal's user) gets less still: of a ticket, its messages and their
attachments only what the portal shows them (``CUSTOMER_SEES``), never the staff fields (tags,
assignee, team, SLA, bot state, priority reason, message meta): ``exclusions`` gets the caller's
role from ``routing.dump``.
"""

from __future__ import annotations

import types
import typing
from functools import cache
from typing import Any

from pydantic import BaseModel, Field

from hub.models import Attachment, Contact, Conversation, Message, Role

MARK = "x-restricted"
VISIBLE_TO = frozenset({Role.admin})
# What a customer receives of these models (and of subclasses): the rest is for staff only.
CUSTOMER_SEES: dict[type[BaseModel], frozenset[str]] = {
    Conversation: frozenset({"id", "number", "contact_id", "channel", "status", "subject", "created_at",
                             "updated_at", "last_message_at", "resolved_at"}),
    Message: frozenset({"id", "conversation_id", "contact_id", "direction", "author_type", "text",
                        "attachments", "channel", "created_at"}),
    Attachment: frozenset({"filename", "content_type", "size", "blob_id"}),  # blob_id: GET /blobs/{id}
}


def restricted(default: Any = None, **kwargs: Any) -> Any:
    """A response field only admins receive."""
    return Field(default, json_schema_extra={MARK: "admin"}, **kwargs)


def sees_restricted(role: Role | None) -> bool:
    return role in VISIBLE_TO


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (list, tuple, set, typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


@cache
def _restricted_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, f in model.model_fields.items()
        if isinstance(f.json_schema_extra, dict) and MARK in f.json_schema_extra
    )


@cache
def _staff_only_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of ``model`` a customer does not receive."""
    for base, shown in CUSTOMER_SEES.items():
        if issubclass(model, base):
            return frozenset(model.model_fields) - shown
    return frozenset()


@cache
def _has_restrictions(model: type[BaseModel], customer: bool = False) -> bool:
    if model is Contact or issubclass(model, Contact) or _restricted_fields(model):
        return True
    if customer and _staff_only_fields(model):
        return True
    return any(_has_restrictions(m, customer)
               for f in model.model_fields.values() for m in _models_in(f.annotation))


def exclusions(obj: BaseModel, contact_fields: frozenset[str],
               role: Role | None = None) -> dict[str, Any] | None:
    """The ``model_dump(exclude=…)`` spec hiding restricted fields of ``obj`` and what it nests
    (and, for a customer, the staff fields). ``role``: the caller's."""
    customer = role == Role.customer
    if not _has_restrictions(type(obj), customer):
        return None
    spec: dict[str, Any] = {name: True for name in _restricted_fields(type(obj))}
    if customer:
        spec.update({name: True for name in _staff_only_fields(type(obj))})
    if isinstance(obj, Contact) and contact_fields:
        hidden = {k: True for k in obj.custom_fields if k in contact_fields}
        if hidden:
            spec["custom_fields"] = hidden
    for name in type(obj).model_fields:
        if name in spec:
            continue
        value = getattr(obj, name, None)
        if isinstance(value, BaseModel):
            if (sub := exclusions(value, contact_fields, role)) is not None:
                spec[name] = sub
        elif isinstance(value, list):
            items = {
                i: sub
                for i, v in enumerate(value)
                if isinstance(v, BaseModel) and (sub := exclusions(v, contact_fields, role)) is not None
            }
            if items:
                spec[name] = items
    return spec or None


def keep_hidden(
    current: dict[str, Any], incoming: dict[str, Any], contact_fields: frozenset[str]
) -> dict[str, Any]:
    """A non-admin's new ``custom_fields`` with the restricted values they could not see kept."""
    return {
        **{k: v for k, v in incoming.items() if k not in contact_fields},
        **{k: v for k, v in current.items() if k in contact_fields},
    }


__all__ = ["CUSTOMER_SEES", "exclusions", "keep_hidden", "restricted", "sees_restricted"]
