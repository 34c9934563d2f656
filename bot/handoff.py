"""The handoff policy, in one place for both engines: when the bot stops and a person takes over.

Reasons (first that applies): ``bot_error``, ``explicit_request``, ``language:<code>``,
``human_only:<intent>``, ``refund_over_limit``, ``negative_sentiment``, ``unclear_twice``, or the
engine's own reason (a Rasa action's ``{"handoff": true, "reason": …}``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .engine import Reply
from .entities import amounts
from .sentiment import negativity

EXPLICIT = re.compile(
    r"\b(speak|talk|chat|connect|transfer|put)\b.{0,30}\b(human|person|agent|someone|somebody|consultant|"
    r"manager|people|representative|operator)\b|"
    r"\b(human|live agent|real person|agent please|representative)\b",
    re.IGNORECASE,
)


@dataclass
class HandoffPolicy:
    human_only_intents: frozenset[str] = frozenset({"complaint", "request_human"})
    refund_limit: float = 2000.0
    unclear_limit: int = 2
    negativity_limit: float = 0.6
    languages: frozenset[str] = field(default_factory=lambda: frozenset({"en"}))

    def decide(self, text: str, reply: Reply, *, unclear_streak: int, language: str | None = None,
               refund_requested: bool = False, amount: float | None = None) -> str | None:
        """The reason to hand off after this turn, or None. ``unclear_streak`` counts the unclear
        turns before this one; ``refund_requested``: an earlier turn of the conversation asked for a
        refund, so an amount named now is that refund's; ``amount``: the last one named earlier,
        for a refund requested now without one ("I paid R5 000" … "I want my money back")."""
        if reply.handoff == "bot_error":
            return "bot_error"
        if reply.intent == "request_human" or EXPLICIT.search(text):
            return "explicit_request"
        if language and language not in self.languages:
            return f"language:{language}"
        if reply.intent in self.human_only_intents:
            return f"human_only:{reply.intent}"
        refund = reply.intent == "refund_request" or refund_requested
        named = amounts(text) or ([amount] if amount is not None and reply.intent == "refund_request" else [])
        if refund and any(a > self.refund_limit for a in named):
            return "refund_over_limit"
        if negativity(text) >= self.negativity_limit:
            return "negative_sentiment"
        if reply.unclear and unclear_streak + 1 >= self.unclear_limit:
            return "unclear_twice"
        if reply.handoff:
            return reply.handoff
        if not reply.messages:
            return "no_reply"  # never leave the customer in silence
        return None
