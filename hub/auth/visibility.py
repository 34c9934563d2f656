"""Who may see which conversation: the one rule the REST API, the channel routes (attachments,
WhatsApp templates), canned responses and the agent console's rooms all apply.

Staff see every conversation except those routed to a team they are not in: a team's tickets
are private to its agents, the agent it is assigned to, and supervisors/admins. API keys act for
the organisation (no teams), so a staff-role key sees everything its role may read. Portal users
(providers, customers) see only their own contact's conversations. Team-owned configuration
(canned responses) follows the same scope: shared when it has no team, else its team's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hub.errors import HubError
from hub.models import Conversation, Role

from .permissions import Principal

SEES_ALL = frozenset({Role.admin, Role.supervisor})


def sees_all(principal: Principal) -> bool:
    """Supervisors, admins and staff-role API keys: no team narrows what they see."""
    return principal.role in SEES_ALL or (principal.api_key_id is not None and principal.is_staff)


def in_scope(principal: Principal, team_id: str | None) -> bool:
    """Whether something owned by ``team_id`` (None: shared) is within this staff member's teams."""
    return team_id is None or sees_all(principal) or team_id in principal.team_ids


def can_see(principal: Principal, conversation: Conversation) -> bool:
    if principal.can("conversations:read"):
        return in_scope(principal, conversation.team_id) or (
            principal.user_id is not None and conversation.assignee_id == principal.user_id)
    return principal.can("own:conversations") and principal.contact_id == conversation.contact_id


async def with_current_teams(store: Any, principal: Principal) -> Principal:
    """The principal with the teams it belongs to now: the token lists the user's teams as of
    sign-in, while a team's members and supervisor change in its document (``teams``). A small
    collection, read only where a team decides (a hidden ticket, a list): not on the hot path."""
    if principal.user_id is None or sees_all(principal) or not principal.can("conversations:read"):
        return principal
    now = {d["_id"] async for d in store["teams"].find(
        {"$or": [{"members.user_id": principal.user_id}, {"supervisor_id": principal.user_id}]}, {"_id": 1})}
    if now <= set(principal.team_ids):
        return principal
    return dataclasses.replace(principal, team_ids=tuple(sorted(now | set(principal.team_ids))))


async def with_current_contact(contacts: Any, principal: Principal) -> Principal:
    """A portal user (``own:conversations``) with the contact they are now: their account's
    ``contact_id`` merged into another since (an agent folded a duplicate into the customer) is the
    one that stayed (``merged_into``, followed a bounded number of hops by ``Contacts.get``), whose
    tickets theirs are now. A contact gone or a chain too long keeps the stored id: no tickets rather
    than someone else's. The help-center portal and the REST API both use this."""
    if not principal.contact_id or principal.can("conversations:read"):
        return principal
    try:
        contact = await contacts.get(principal.contact_id)
    except HubError:
        return principal
    if contact.id == principal.contact_id:
        return principal
    return dataclasses.replace(principal, contact_id=contact.id)


__all__ = ["SEES_ALL", "can_see", "in_scope", "sees_all", "with_current_contact", "with_current_teams"]
