"""A rule's canned reply claims the turn of the message it answers (``bot_turns``) so that the bot
does not answer it too: the hub's copy of the claim's key must be the bot's own."""

from __future__ import annotations

from bot.service import turn_key
from hub.models import new_id
from hub.ticketing.actions import bot_turn_key


def test_the_rules_and_the_bot_claim_a_turn_under_the_same_key() -> None:
    conversation, message = new_id(), new_id()
    assert bot_turn_key(conversation, message) == turn_key(conversation, message)
    assert bot_turn_key(conversation, message) != bot_turn_key(message, conversation)
