"""Ticketing events (dotted names, published after the store accepted the write)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from hub.events import Event


class TicketAssigned(Event):
    name: ClassVar[str] = "ticket.assigned"
    conversation_id: str
    assignee_id: str | None
    team_id: str | None
    previous_assignee_id: str | None = None
    reason: str = ""


class TicketMerged(Event):
    name: ClassVar[str] = "ticket.merged"
    source_id: str
    target_id: str
    actor_id: str


class AgentStatusChanged(Event):
    name: ClassVar[str] = "agent.status_changed"
    user_id: str
    status: str
    previous: str | None = None


class NotificationCreated(Event):
    name: ClassVar[str] = "notification.created"
    notification: dict[str, Any]


class SlaWarning(Event):
    name: ClassVar[str] = "sla.warning"
    conversation_id: str
    metric: str
    due_at: datetime


class SlaBreached(Event):
    name: ClassVar[str] = "sla.breached"
    conversation_id: str
    metric: str
    due_at: datetime


class CsatReceived(Event):
    name: ClassVar[str] = "csat.received"
    conversation_id: str
    score: int
    late: bool = False
    repeated: bool = False


class RuleExecuted(Event):
    name: ClassVar[str] = "rule.executed"
    rule_id: str
    conversation_id: str
    trigger: str
    actions: list[dict[str, Any]]


__all__ = [
    "AgentStatusChanged",
    "CsatReceived",
    "NotificationCreated",
    "RuleExecuted",
    "SlaBreached",
    "SlaWarning",
    "TicketAssigned",
    "TicketMerged",
]
