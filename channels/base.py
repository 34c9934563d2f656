"""The ``ChannelAdapter`` protocol: what one channel (Twilio SMS, WhatsApp, e-mail, web chat, voice)
implements, and the registry that maps a channel to its adapter.

    parse_inbound(RawInbound) -> list[InboundMessage]   verify + normalize; never writes
    send(OutboundMessage)     -> SendResult             provider id, or a SendError
    parse_status(RawInbound)  -> DeliveryUpdate | None  a provider's delivery-status callback

Errors, translated from the provider's at the adapter edge::

    ChannelError
    ├── SignatureInvalid     403  forged, replayed with another body, or unsigned
    ├── MalformedInbound     400  missing/invalid fields (``field`` names it)
    └── InboundTooLarge      413
    SendError (hub.outbox)
    ├── PermanentSendError   no retry: the agent sees delivery "failed" with the reason
    └── TransientSendError   retried with back-off by the outbox

Adding a channel = one adapter module, one ``registry.add`` in ``channels.setup``, one parameter
in ``tests/integration/channels/test_contract.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from hub.models import Channel, DeliveryStatus, InboundMessage
from hub.outbox import OutboundMessage, PermanentSendError, SendError, SendResult, TransientSendError


class ChannelError(Exception):
    status = 400

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class SignatureInvalid(ChannelError):
    status = 403


class MalformedInbound(ChannelError):
    status = 400


class InboundTooLarge(ChannelError):
    status = 413


@dataclass(frozen=True)
class RawInbound:
    """What arrived, before any trust: the URL it was sent to, headers, the raw body."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    form: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryUpdate:
    external_id: str
    status: DeliveryStatus
    error: str | None = None


@runtime_checkable
class ChannelAdapter(Protocol):
    channel: Channel

    async def parse_inbound(self, raw: RawInbound) -> list[InboundMessage]: ...

    async def send(self, message: OutboundMessage) -> SendResult: ...

    def parse_status(self, raw: RawInbound) -> DeliveryUpdate | None: ...


class Registry(Mapping[Channel, ChannelAdapter]):
    """Channel → adapter. The outbox reads it as its senders."""

    def __init__(self) -> None:
        self._adapters: dict[Channel, ChannelAdapter] = {}

    def add(self, adapter: ChannelAdapter) -> None:
        if not isinstance(adapter, ChannelAdapter):
            raise TypeError(f"{adapter!r} does not implement ChannelAdapter")
        self._adapters[adapter.channel] = adapter

    def remove(self, channel: Channel) -> None:
        self._adapters.pop(channel, None)

    def __getitem__(self, channel: Channel) -> ChannelAdapter:
        return self._adapters[channel]

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._adapters)

    def __len__(self) -> int:
        return len(self._adapters)


__all__ = [
    "ChannelAdapter",
    "ChannelError",
    "DeliveryUpdate",
    "InboundTooLarge",
    "MalformedInbound",
    "OutboundMessage",
    "PermanentSendError",
    "RawInbound",
    "Registry",
    "SendError",
    "SendResult",
    "SignatureInvalid",
    "TransientSendError",
]
