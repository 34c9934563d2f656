"""Webhook signatures: valid, tampered, replayed, malformed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from hub.platform.webhooks.signing import SignatureError, sign, verify

SECRET = "whsec_test"
BODY = b'{"id":"1","type":"contact.created"}'


def test_valid_signature_verifies() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    assert verify(SECRET, header, BODY, now=1_700_000_010) == 1_700_000_000


@pytest.mark.parametrize("mutate", [
    lambda h, b: (h, b + b" "),                              # body tampered
    lambda h, b: (h.replace("t=1700000000", "t=1700000001"), b),  # timestamp tampered
    lambda h, b: (sign("other", b, 1_700_000_000), b),        # wrong secret
])
def test_tampered_signature_is_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    header, body = mutate(sign(SECRET, BODY, timestamp=1_700_000_000), BODY)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, header, body, now=1_700_000_000)


def test_replayed_signature_outside_window_is_refused() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, header, BODY, now=1_700_000_000 + 301)
    with pytest.raises(SignatureError, match="tolerance"):  # from the future too
        verify(SECRET, header, BODY, now=1_700_000_000 - 301)


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000",
                                    "t=1," + "v1=0" * 400,
                                    "t=²,v1=00", "t=١٧٠٠٠٠٠٠٠٠,v1=00",  # not ASCII digits
                                    "t=" + "9" * 400 + ",v1=00"])  # was an OverflowError, not refused
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, header, BODY, now=1_700_000_000)


def _documented_verify():  # type: ignore[no-untyped-def]
    """The receiver's check as docs/platform.md prints it ("Verifying a signature")."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "platform.md").read_text()
    code = doc.split("### Verifying a signature", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(code, scope)  # noqa: S102 - our own documentation
    return scope["verify"]


def test_the_documented_receiver_check_agrees_with_the_code() -> None:
    """What the docs tell integrators to run accepts what the hub sends (also during a rotation)
    and refuses what verify() refuses, with a ValueError (not a crash of the receiver)."""
    documented = _documented_verify()
    now = int(time.time())
    documented(SECRET, sign(SECRET, BODY), BODY)
    documented(SECRET, sign("new", BODY, also=(SECRET,)), BODY)
    refused = [
        (sign(SECRET, BODY), BODY + b" "),
        (sign("other", BODY), BODY),
        (sign(SECRET, BODY, timestamp=now - 400), BODY),
        ("t=" + "9" * 400 + ",v1=00", BODY),
        ("v1=00", BODY),
        (f"t={now}", BODY),
        ("garbage", BODY),
    ]
    for header, body in refused:
        with pytest.raises(SignatureError):
            verify(SECRET, header, body)
        with pytest.raises(ValueError):
            documented(SECRET, header, body)


def test_any_of_several_v1_values_may_match() -> None:
    good = sign(SECRET, BODY, timestamp=1_700_000_000)
    header = f"t=1700000000,v1={'0' * 64},{good.split(',')[1]}"
    assert verify(SECRET, header, BODY, now=1_700_000_000) == 1_700_000_000


@pytest.mark.parametrize("host", ["64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "2002:a00:8::1",
                                  "::ffff:10.0.0.8", "::127.0.0.1"])
async def test_delivery_refuses_ipv6_forms_of_private_ipv4_addresses(host: str) -> None:
    """NAT64 and 6to4 addresses were global to Python whatever IPv4 address they carry."""
    from hub.platform.webhooks.urls import check_resolved

    with pytest.raises(PermissionError, match="private"):
        await check_resolved(f"http://[{host}]:8080/x", allow_private=False)
    await check_resolved(f"http://[{host}]:8080/x", allow_private=True)
    await check_resolved("http://[64:ff9b::101:101]/x", allow_private=False)  # 1.1.1.1: public
    await check_resolved("http://[2002:101:101::1]/x", allow_private=False)


async def test_guarded_resolver_refuses_private_answers() -> None:
    from hub.platform.webhooks.urls import GuardedResolver

    with pytest.raises(OSError, match="private"):
        await GuardedResolver(allow_private=False).resolve("localhost", 80)
    assert await GuardedResolver(allow_private=True).resolve("localhost", 80)
