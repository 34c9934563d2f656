"""Unit tests of the channel building blocks: visitor tokens, support hours, the spool, Twilio
signatures behind a proxy with connection overrides, SMS keywords."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from channels.base import MalformedInbound, SignatureInvalid
from channels.hours import is_open, parse
from channels.spool import Spool
from channels.twilio.inbound import keyword
from channels.twilio.signature import verify_signature
from channels.webchat import tokens
from hub.errors import InvalidInput, StoreUnavailable


def test_visitor_tokens_resist_tampering_and_expire() -> None:
    token = tokens.issue("s3cret", "vabc", now=1000.0)
    assert tokens.verify("s3cret", token, now=1001.0) == "vabc"
    head, vid, exp, mac = token.split(".")
    assert tokens.verify("s3cret", f"{head}.vother.{exp}.{mac}", now=1001.0) is None  # another visitor
    assert tokens.verify("s3cret", f"{head}.{vid}.{int(exp) + 999}.{mac}", now=1001.0) is None  # longer life
    assert tokens.verify("other", token, now=1001.0) is None
    assert tokens.verify("s3cret", token, now=float(exp) + 1) is None  # expired
    for garbage in ("", "v1", "v1.a.b.c.d", "x" * 300, "v1.a.notanumber.c"):
        assert tokens.verify("s3cret", garbage) is None
    signed = tokens.identity_hash("k", "u1", "a@example.com")
    assert tokens.verify_identity("k", "u1", "a@example.com", signed)
    assert not tokens.verify_identity("k", "u1", "victim@example.com", signed)  # the e-mail is signed too
    assert not tokens.verify_identity(
        "k", "u1|a@example.com", "", tokens.identity_hash("k", "u1|a@example.com", "")
    )
    assert not tokens.verify_identity(
        "", "u1", "a@example.com", tokens.identity_hash("", "u1", "a@example.com")
    )


def test_support_hours_in_their_time_zone() -> None:
    spec = "Mon-Fri 08:00-17:00; Sat 09:00-13:00"
    tz = "Africa/Johannesburg"  # UTC+2
    assert is_open(spec, tz, datetime(2026, 11, 23, 6, 30, tzinfo=UTC))  # Mon 08:30 local
    assert not is_open(spec, tz, datetime(2026, 11, 23, 5, 30, tzinfo=UTC))  # Mon 07:30 local
    assert is_open(spec, tz, datetime(2026, 11, 28, 10, 0, tzinfo=UTC))  # Sat 12:00 local
    assert not is_open(spec, tz, datetime(2026, 11, 29, 10, 0, tzinfo=UTC))  # Sunday
    assert parse("Fri-Mon 10:00-11:00")[0][0] == {4, 5, 6, 0}
    last_second = datetime(2026, 11, 29, 21, 59, 59, 999999, tzinfo=UTC)  # Sunday 23:59:59.999999 local
    assert is_open("Mon-Sun 00:00-24:00", tz, last_second) and is_open("Sun 22:00-24:00", tz, last_second)
    assert is_open("Mon-Sun 00:00-24:00", tz, datetime(2026, 11, 29, 22, 0, tzinfo=UTC))  # Monday 00:00
    assert not is_open("Mon-Sun 00:00-23:59", tz, last_second)
    for bad in ("Mon-Fri 8am-5pm", "Mon 24:00-24:00", "Mon 08:00-25:00"):
        with pytest.raises(ValueError):
            parse(bad)


async def test_spool_is_durable_and_dead_letters_what_never_parses(tmp_path: Path) -> None:
    dead: list[tuple[str, Any, str]] = []

    async def dead_letter(key: str, payload: Any, error: str) -> None:
        dead.append((key, payload, error))

    spool = Spool(tmp_path / "spool", dead_letter)
    await spool.hold("twilio:sms:SM1", {"n": 1})
    await spool.hold("twilio:sms:SM2", {"n": 2})
    await spool.hold("twilio:sms:SM1", {"n": 1})  # a retried webhook overwrites, never doubles
    assert sorted(p["n"] for _, p in spool.pending()) == [1, 2]
    assert not list((tmp_path / "spool").glob("*.tmp"))

    async def store_down(payload: Any) -> None:
        raise StoreUnavailable("down")

    seen: list[Any] = []

    async def ingest(payload: Any) -> None:
        seen.append(payload)

    # held by their (still running) requests: however old, the drainer leaves them alone
    assert await spool.drain(ingest) == 0 and seen == [] and len(spool.pending()) == 2
    spool.release("twilio:sms:SM1")
    spool.release("twilio:sms:SM2")

    assert await spool.drain(store_down) == 0 and len(spool.pending()) == 2  # kept for the next round

    async def bad(payload: Any) -> None:
        if payload["n"] == 2:
            raise InvalidInput("never valid")

    assert await spool.drain(bad) == 1
    assert spool.pending() == [] and [d[0] for d in dead] == ["twilio:sms:SM2"]
    # a payload that can never parse (no sender, no form) is a dead letter, not a spool blocked forever
    await spool.hold("twilio:sms:SM3", {"channel": "sms", "form": {"MessageSid": "SM3"}})
    await spool.hold("twilio:sms:SM4", {"channel": "sms"})
    spool.release("twilio:sms:SM3")
    spool.release("twilio:sms:SM4")

    async def unusable(payload: Any) -> None:
        if "form" not in payload:
            raise KeyError("form")
        raise MalformedInbound("MessageSid and From are required", field="From")

    assert await spool.drain(unusable) == 0
    assert spool.pending() == [] and sorted(d[0] for d in dead[1:]) == ["twilio:sms:SM3", "twilio:sms:SM4"]
    (tmp_path / "spool" / "broken.json").write_text("{not json")
    assert spool.pending() == []  # an unreadable entry is logged, not fatal


async def test_spool_hold_off_the_loop_is_durable_and_held_until_done(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    keys = [f"twilio:sms:SM{i}" for i in range(20)]
    # concurrent writers (threads): every entry whole on disk, no temp file left
    paths = await asyncio.gather(*(spool.hold(k, {"n": i}) for i, k in enumerate(keys)))
    assert all(p.exists() for p in paths) and not list((tmp_path / "spool").glob("*.tmp"))
    # a restart finds all
    assert sorted(p["n"] for _, p in Spool(tmp_path / "spool").pending()) == list(range(20))

    seen: list[Any] = []

    async def ingest(payload: Any) -> None:
        seen.append(payload["n"])

    assert await spool.drain(ingest) == 0 and seen == []  # every one held by its request
    spool.release(keys[0])  # its request gave up (store down): the drainer's now
    assert await spool.drain(ingest) == 1 and seen == [0]
    for k in keys[1:]:
        await spool.done(k)
    await spool.done(keys[1])  # twice (a retry finished first): no error
    assert spool.pending() == [] and await spool.drain(ingest) == 0 and seen == [0]


def test_signature_behind_a_proxy_with_connection_overrides() -> None:
    token, params = "t" * 32, MultiDict([("Body", "hi"), ("MessageSid", "SM1"), ("Body", "again")])
    public = "https://support.berry.test/webhooks/twilio/sms?x=1"
    for signed_url in (public, public + "#rc=5&rp=all", "https://support.berry.test:443/webhooks/twilio/sms?x=1"):
        sig = RequestValidator(token).compute_signature(signed_url, params)
        verify_signature(token, [public, public + "#rc=5&rp=all"], params, {"X-Twilio-Signature": sig})
    sig = RequestValidator(token).compute_signature("http://10.0.0.5:8080/webhooks/twilio/sms?x=1", params)
    with pytest.raises(SignatureInvalid):  # the internal URL is not what Twilio signed
        verify_signature(token, [public], params, {"X-Twilio-Signature": sig})
    with pytest.raises(SignatureInvalid):
        verify_signature("", [public], params, {"X-Twilio-Signature": sig})


def test_sms_keywords() -> None:
    assert [keyword(w) for w in ("STOP", " stop. ", "Unsubscribe", "start", "HELP", "stop please", "")] == [
        "stop", "stop", "stop", "start", "help", None, None]


def test_body_sha256_signature_variant() -> None:
    import hashlib
    token, body = "t" * 32, b'{"MessageSid": "SM1", "Body": "hi"}'
    url = "https://hub.example/webhooks/twilio/sms?bodySHA256=" + hashlib.sha256(body).hexdigest()
    sig = RequestValidator(token).compute_signature(url, {})
    verify_signature(token, [url], MultiDict(), {"X-Twilio-Signature": sig}, body)
    for wrong in (body + b" ", b""):
        with pytest.raises(SignatureInvalid):
            verify_signature(token, [url], MultiDict(), {"X-Twilio-Signature": sig}, wrong)
    with pytest.raises(SignatureInvalid):  # no body handed over: never a pass on the URL alone
        verify_signature(token, [url], MultiDict(), {"X-Twilio-Signature": sig})
