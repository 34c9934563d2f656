"""The ``BotEngine`` protocol: one customer message in, the bot's reply (or a handoff) out.

Engines: ``bot.embedded.engine.EmbeddedEngine`` (in-process classifier + knowledge base) and
``bot.rasa_engine.RasaEngine`` (a Rasa server over its REST channel). Both pass
tests/integration/bot/test_engine_contract.py. Whether to hand off is decided by
``bot.handoff.HandoffPolicy`` from what the engine reports, not by each engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


def has_words(text: str) -> bool:
    """False for empty, whitespace-, emoji-, digit- or punctuation-only messages: nothing to classify."""
    return bool(_LETTERS.search(text))


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class OutMessage:
    text: str = ""
    buttons: tuple[Button, ...] = ()
    custom: dict[str, Any] | None = None


@dataclass
class Turn:
    """One inbound customer message for an engine (``state`` is the conversation's bot state)."""

    conversation_id: str
    text: str
    channel: str = "webchat"
    language: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    contact_type: str = "consumer"  # "provider": the knowledge base's provider-only articles answer too

    @property
    def visibilities(self) -> list[str]:
        return article_visibilities(self.contact_type)


def article_visibilities(contact_type: str) -> list[str]:
    """The knowledge-base articles a customer may be offered: the help center's rule for a provider
    who signed in, or for anyone else (never internal ones)."""
    from hub.models import Role
    from knowledge_base.models import visibilities_for

    return visibilities_for(Role.provider if contact_type == "provider" else None)


@dataclass
class Reply:
    messages: list[OutMessage] = field(default_factory=list)
    intent: str | None = None
    confidence: float = 0.0
    entities: list[dict[str, Any]] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)
    unclear: bool = False
    handoff: str | None = None  # the engine asks for a person (reason)
    state: dict[str, Any] = field(default_factory=dict)  # engine state kept on the conversation (None = drop)
    ticket: dict[str, str] | None = None  # what a completed ticket form collected (the hub files it)


@runtime_checkable
class BotEngine(Protocol):
    name: str

    async def respond(self, turn: Turn) -> Reply: ...

    async def forget(self, conversation_id: str) -> None:
        """Drop what the engine keeps about a conversation outside the hub's store (the contact was
        erased or the ticket deleted). Raises if that could not be done."""
        ...

    async def close(self) -> None: ...
