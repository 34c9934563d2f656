"""Webhook signatures: valid, tampered, replayed, malformed."""

from __future__ import annotations

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


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000", "t=1," + "v1=0" * 400,
                                    "t=²,v1=00", "t=١٧٠٠٠٠٠٠٠٠,v1=00"])  # not ASCII digits
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, header, BODY, now=1_700_000_000)


def test_any_of_several_v1_values_may_match() -> None:
    good = sign(SECRET, BODY, timestamp=1_700_000_000)
    header = f"t=1700000000,v1={'0' * 64},{good.split(',')[1]}"
    assert verify(SECRET, header, BODY, now=1_700_000_000) == 1_700_000_000


async def test_guarded_resolver_refuses_private_answers() -> None:
    from hub.platform.webhooks.urls import GuardedResolver

    with pytest.raises(OSError, match="private"):
        await GuardedResolver(allow_private=False).resolve("localhost", 80)
    assert await GuardedResolver(allow_private=True).resolve("localhost", 80)
