"""Who may see which conversation: the one rule the REST API applies (the agent console keeps
the same rule in ``agent_console/access.py`` for its rooms).

Staff see every conversation except those routed to a team they are not in: a team's tickets
are private to its agents, the agent it is assigned to, and supervisors/admins. API keys act for
the organisation (no teams), so a staff-role key sees everything its role may read. Portal users
(providers, customers) see only their own contact's conversations.
"""

from __future__ import annotations

from hub.models import Conversation, Role

from .permissions import Principal

SEES_ALL = frozenset({Role.admin, Role.supervisor})


def can_see(principal: Principal, conversation: Conversation) -> bool:
    if principal.can("conversations:read"):
        if principal.role in SEES_ALL or principal.api_key_id is not None or conversation.team_id is None:
            return True
        return conversation.team_id in principal.team_ids or conversation.assignee_id == principal.user_id
    return principal.can("own:conversations") and principal.contact_id == conversation.contact_id


__all__ = ["can_see"]
