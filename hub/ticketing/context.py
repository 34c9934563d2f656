"""What every ticketing service needs, in one place (built once in ``setup``'s cleanup context)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ConfigDict

from hub.audit import Audit
from hub.auth import Principal
from hub.contacts import Contacts
from hub.conversations import Conversations
from hub.events import EventBus
from hub.jobs import Jobs
from hub.models import Model, Role
from hub.store import Store

from .clock import Clock, SystemClock

# The actor recorded for changes the hub makes by itself (routing, SLA escalation, rules, wake-ups).
SYSTEM = Principal(role=Role.admin, user_id="system:ticketing", name="Berry automation")


class Stored(Model):
    """A ticketing configuration document: ``id`` is ``_id`` (``Model``), unknown fields refused."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Ctx:
    store: Store
    bus: EventBus
    conversations: Conversations
    contacts: Contacts
    audit: Audit
    jobs: Jobs
    clock: Clock = SystemClock()  # noqa: RUF009 - stateless


__all__ = ["SYSTEM", "Ctx", "Stored"]
