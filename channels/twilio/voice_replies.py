"""Replies on a voice ticket (a voicemail, a missed call) go to the caller's number as an SMS.

A call cannot carry an agent's text, so the voice channel's sender hands the reply to the SMS
inbox, read when sending (admins rebuild the adapters). Without an SMS inbox, or for a withheld
caller (no number), the reply is refused up front with the reason (``channels.reply_check``).
Twilio's status callbacks for these come to ``/webhooks/twilio/status/voice``, so delivery moves on
the voice message like on any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from channels.base import DeliveryUpdate, RawInbound
from hub.models import Channel, InboundMessage
from hub.outbox import OutboundMessage, PermanentSendError, SendResult

from .messaging import TwilioMessagingAdapter

NO_SMS = ("a voice ticket is answered by SMS to the caller's number, and no SMS inbox is configured: "
          "call the customer back")


@dataclass
class VoiceRepliesBySms:
    twilio: Mapping[Channel, TwilioMessagingAdapter]  # the live adapters (services.twilio)
    status_callback: str
    channel: Channel = Channel.voice

    def sms(self) -> TwilioMessagingAdapter:
        adapter = self.twilio.get(Channel.sms)
        if adapter is None:
            raise PermanentSendError(NO_SMS)
        return adapter

    def check_sendable(self, message: OutboundMessage) -> None:
        self.sms().check_sendable(message)  # SMS consent (a STOP by text), length, sender number

    async def send(self, message: OutboundMessage) -> SendResult:
        return await self.sms().send(message, status_callback=self.status_callback)

    async def parse_inbound(self, raw: RawInbound) -> list[InboundMessage]:
        return []  # calls come in through channels.twilio.voice

    def parse_status(self, raw: RawInbound) -> DeliveryUpdate | None:
        return self.sms().parse_status(raw)
