"""The ChannelAdapter contract: one suite, every adapter. A new channel adds one harness here.

Each harness builds its adapter against a real server (or the Twilio stand-in) and gives: a valid
raw inbound, a forged/invalid one, an outbound message to a good and to a bad recipient, and a
way to check the provider received a send.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
import socketio
from aiohttp.test_utils import TestClient
from multidict import MultiDict

from channels.base import ChannelAdapter, ChannelError, RawInbound, SignatureInvalid
from channels.email.adapter import EmailAdapter
from channels.twilio.messaging import TwilioMessagingAdapter
from channels.webchat import tokens
from hub import keys
from hub.app import create_app
from hub.models import Channel
from hub.outbox import OutboundMessage, PermanentSendError, SendError
from hub.settings import Settings
from tests.conftest import altered, running

from .conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC, SMS_FROM, WA_FROM, sign, sms_form
from .mailservers import Collector
from .standin import TwilioStandIn


@dataclass
class Harness:
    adapter: ChannelAdapter
    valid: Callable[[], RawInbound]
    forged: Callable[[], RawInbound]
    good_to: str
    bad_to: str
    provider_saw: Callable[[str], Awaitable[bool]]
    cleanup: Callable[[], Awaitable[None]] | None = None


def _twilio_raw(path: str, form: dict[str, str], signature: str | None = None) -> RawInbound:
    url = PUBLIC + path
    body = urlencode(form).encode()
    return RawInbound(url=url, headers={"X-Twilio-Signature": signature or sign(url, form)}, body=body,
                      form=MultiDict(form))


async def _twilio_harness(channel: Channel, standin: TwilioStandIn) -> Harness:
    adapter = TwilioMessagingAdapter(channel=channel, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                                     from_number=SMS_FROM if channel == Channel.sms else WA_FROM,
                                     api_base=standin.url)
    prefix = "whatsapp:" if channel == Channel.whatsapp else ""
    path = f"/webhooks/twilio/{channel.value}"
    form = sms_form(From=prefix + "+27821234567")

    async def saw(provider_id: str) -> bool:
        return provider_id in standin.messages

    return Harness(
        adapter=adapter,
        valid=lambda: _twilio_raw(path, form),
        forged=lambda: _twilio_raw(path, dict(form, Body="forged"), signature=sign(PUBLIC + path, form)),
        good_to="+27821234567",
        bad_to="+15005550001",
        provider_saw=saw,
        cleanup=adapter.close,
    )


async def _email_harness(smtp: tuple[int, Collector]) -> Harness:
    port, collector = smtp
    adapter = EmailAdapter(from_address="support@berry.test", smtp_host="127.0.0.1", smtp_port=port)
    raw = (b"From: Lerato <lerato@example.co.za>\r\nTo: support@berry.test\r\nSubject: Quote\r\n"
           b"Message-ID: <contract-1@example.co.za>\r\n\r\nHello")

    async def saw(provider_id: str) -> bool:
        return any(f"Message-ID: {provider_id}".encode() in mail for _, _, mail in collector.mails)

    return Harness(adapter=adapter, valid=lambda: RawInbound(url="imap://", headers={}, body=raw),
                   forged=lambda: RawInbound(url="imap://", headers={}, body=b"Subject: no sender\r\n\r\nhi"),
                   good_to="lerato@example.co.za", bad_to="nobody@example.net", provider_saw=saw)


async def _webchat_harness(client: TestClient[Any, Any]) -> Harness:
    app = client.server.app
    adapter = app[keys.EXTENSIONS]["channels"].registry[Channel.webchat]
    secret = app[keys.SETTINGS].chat_secret.get_secret_value()
    token = tokens.issue(secret, "vcontract")
    body = b'{"text": "hi", "client_id": "k1"}'
    listener = socketio.AsyncClient(reconnection=False)
    got: list[str] = []
    listener.on("message", lambda data: got.append(data["id"]), namespace="/chat")
    await listener.connect(str(client.server.make_url("")), namespaces=["/chat"], transports=["websocket"],
                           auth={"token": tokens.issue(secret, "vonline")}, wait_timeout=15)

    async def saw(provider_id: str) -> bool:
        for _ in range(500):  # up to 10 s: a loaded box delays the socket, the answer is "yes" at once
            if provider_id in got:
                return True
            await asyncio.sleep(0.02)
        return False

    class Refusing:  # an offline visitor whose e-mail fallback refuses the address
        async def send(self, message: OutboundMessage) -> Any:
            raise PermanentSendError("the mail server refused nobody@example.net", code=550)

    async def email_of(_: str) -> str:
        return "nobody@example.net"

    adapter = dataclasses.replace(adapter, email=Refusing(), email_lookup=email_of)
    forged = altered(token)
    return Harness(
        adapter=adapter,
        valid=lambda: RawInbound(url="ws://", headers={"X-Visitor-Token": token}, body=body),
        forged=lambda: RawInbound(url="ws://", headers={"X-Visitor-Token": forged}, body=body),
        good_to="vonline",
        bad_to="voffline",
        provider_saw=saw,
        cleanup=listener.disconnect,
    )


HARNESSES: dict[str, Callable[..., Awaitable[Harness]]] = {
    "sms": lambda standin, smtp, client: _twilio_harness(Channel.sms, standin),
    "whatsapp": lambda standin, smtp, client: _twilio_harness(Channel.whatsapp, standin),
    "email": lambda standin, smtp, client: _email_harness(smtp),
    "webchat": lambda standin, smtp, client: _webchat_harness(client),
}


@pytest.fixture(params=sorted(HARNESSES))
async def harness(request: pytest.FixtureRequest, twilio_standin: TwilioStandIn,
                  smtp_sink: tuple[int, Collector], settings: Settings) -> AsyncIterator[Harness]:
    async with contextlib.AsyncExitStack() as hub:
        # only the web chat needs the running hub (its Socket.IO server); the others stand alone
        client = None
        if request.param == "webchat":
            client = await hub.enter_async_context(running(create_app(settings)))
        h = await HARNESSES[request.param](twilio_standin, smtp_sink, client)
        yield h
        if h.cleanup:
            await h.cleanup()


def _outbound(h: Harness, to: str) -> OutboundMessage:
    from hub.models import utcnow
    return OutboundMessage(message_id=secrets.token_hex(12), conversation_id="c1", contact_id="k1",
                           channel=h.adapter.channel, to=to, text="Your booking is confirmed.",
                           subject="Booking", last_inbound_at=utcnow())


async def test_implements_the_protocol(harness: Harness) -> None:
    assert isinstance(harness.adapter, ChannelAdapter)


async def test_valid_inbound_normalizes_deterministically(harness: Harness) -> None:
    first = await harness.adapter.parse_inbound(harness.valid())
    again = await harness.adapter.parse_inbound(harness.valid())
    assert first and all(m.channel == harness.adapter.channel for m in first)
    assert [m.external_id for m in first] == [m.external_id for m in again]  # ingest is idempotent on it


async def test_forged_inbound_is_a_channel_error(harness: Harness) -> None:
    with pytest.raises(ChannelError) as info:
        await harness.adapter.parse_inbound(harness.forged())
    assert info.value.status in (400, 403)


async def test_garbage_is_a_channel_error_never_a_crash(harness: Harness) -> None:
    garbage = RawInbound(url=PUBLIC + "/x", headers={}, body=b"\x00\xff" * 10, form=MultiDict())
    with pytest.raises(ChannelError):
        await harness.adapter.parse_inbound(garbage)
    with contextlib.suppress(ChannelError):
        harness.adapter.parse_status(garbage)


async def test_send_returns_the_provider_id(harness: Harness) -> None:
    result = await harness.adapter.send(_outbound(harness, harness.good_to))
    assert result.provider_id and await harness.provider_saw(result.provider_id)


async def test_send_to_a_bad_recipient_is_a_clear_permanent_failure(harness: Harness) -> None:
    with pytest.raises(SendError) as info:
        await harness.adapter.send(_outbound(harness, harness.bad_to))
    assert isinstance(info.value, PermanentSendError) and info.value.describe()


def test_signature_invalid_is_403() -> None:
    assert SignatureInvalid("x").status == 403
