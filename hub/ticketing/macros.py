"""Macros: a named list of actions an agent applies to a ticket in one click — a canned reply with
variables, tags, priority, assignment, a note, snooze, resolve. They are the automation rules'
actions (``rules.Action``), checked the same way when saved and run by the same ``Actions``, but
as the agent who clicked: the audit log and the events name that agent, and a canned reply is the
agent's reply (it meets the first-response SLA)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import Field

from hub.auth import Principal
from hub.errors import NotFound
from hub.models import new_id, utcnow
from hub.store import register

from .conditions import Facts
from .context import Ctx, Stored
from .rules import Action, check_actions

log = logging.getLogger(__name__)
register("macros")


class Macro(Stored):
    id: str = Field(default_factory=new_id)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    actions: list[Action] = Field(min_length=1, max_length=20)
    team_id: str | None = Field(None, description="Offered to this team's agents (None: everyone)")
    created_at: datetime = Field(default_factory=utcnow)

    def check(self) -> None:
        check_actions(self.actions)


class Macros:
    def __init__(self, ctx: Ctx, actions: Any) -> None:
        self.ctx = ctx
        self.actions = actions  # ``Actions``: the same runner as the rules'

    async def get(self, macro_id: str) -> Macro:
        doc = await self.ctx.store["macros"].find_one({"_id": macro_id})
        if doc is None:
            raise NotFound(f"macro {macro_id} not found")
        return Macro.from_doc(doc)

    async def run(self, macro_id: str, conversation_id: str, actor: Principal) -> list[dict[str, Any]]:
        """Apply the macro's actions in order; one failing action does not stop the next ones."""
        macro = await self.get(macro_id)
        if not await self.actions.may_use(actor, macro.team_id):
            raise NotFound(f"macro {macro_id} not found")  # another team's macro: as if missing
        results: list[dict[str, Any]] = []
        for action in macro.actions:
            conversation = await self.ctx.conversations.get(conversation_id)  # sees earlier actions
            facts = Facts(conversation=conversation, message=None, contact=None, now=self.ctx.clock.now())
            try:
                await self.actions.run(action, conversation, facts, macro, actor=actor)
                results.append({"type": action.type, "ok": True})
            except Exception as exc:
                log.warning("macro action failed", extra={"macro": macro.id, "action": action.type})
                results.append({"type": action.type, "ok": False, "error": str(exc)[:500]})
        await self.ctx.audit.record(
            actor.actor_id,
            "macro.run",
            "conversation",
            conversation_id,
            None,
            {"macro_id": macro.id, "macro": macro.name, "actions": results},
        )
        return results


__all__ = ["Macro", "Macros"]
