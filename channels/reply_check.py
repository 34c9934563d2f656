"""Refuse up front (422, nothing stored or queued) an agent's reply its channel can only fail to send.

The send job prepares a reply (``Outbox.build``: recipient, consent, the customer's last message)
and asks the adapter's ``check_sendable`` whether the provider would take it. Running the same two
steps when the agent presses send turns "accepted, queued, failed a moment later" into a 422 with
the same reason: an opted-out contact (STOP), a WhatsApp text outside the 24-hour window (send a
template instead: ``POST /conversations/{id}/whatsapp-template``), a text over Twilio's 1,600
characters, a contact without an address on the channel. Adapters without ``check_sendable`` (e-mail,
web chat) and transient trouble are left to the send job and its retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import InvalidInput
from hub.models import Channel, Message
from hub.outbox import Outbox, PermanentSendError


class ReplyCheck:
    def __init__(self, outbox: Outbox, senders: Mapping[Channel, Any]) -> None:
        self.outbox = outbox
        self.senders = senders

    async def __call__(self, message: Message) -> None:
        check = getattr(self.senders.get(message.channel), "check_sendable", None)
        if check is None:
            return
        try:
            check(await self.outbox.build(message))
        except PermanentSendError as exc:
            raise InvalidInput(f"this reply cannot be sent on {message.channel.value}: {exc.describe()}",
                               field="text") from exc
