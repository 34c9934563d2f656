"""Secrets at rest: encrypt, decrypt, rotate to a new key, refuse unknown keys."""

from __future__ import annotations

import pytest

from hub.platform.secrets import SecretBox, SecretError


def test_round_trip_and_ciphertext_hides_plaintext() -> None:
    box = SecretBox([SecretBox.new_key()])
    token = box.encrypt("twilio-auth-token-123")
    assert "twilio" not in token
    assert box.decrypt(token) == "twilio-auth-token-123"


def test_rotation_moves_secrets_to_the_new_key() -> None:
    old_key, new_key = SecretBox.new_key(), SecretBox.new_key()
    old = SecretBox([old_key])
    token = old.encrypt("s3cret")
    both = SecretBox([new_key, old_key])
    assert both.decrypt(token) == "s3cret"
    rotated = both.rotate(token)
    only_new = SecretBox([new_key])
    assert only_new.decrypt(rotated) == "s3cret"
    with pytest.raises(SecretError):
        only_new.decrypt(token)


def test_derived_dev_key_is_stable_and_garbage_is_refused() -> None:
    a = SecretBox.from_settings("", "x" * 40)
    b = SecretBox.from_settings("", "x" * 40)
    assert b.decrypt(a.encrypt("v")) == "v"
    with pytest.raises(SecretError):
        a.decrypt("not-a-token")
    with pytest.raises(ValueError):
        SecretBox.from_settings("not-a-fernet-key", "x" * 40)
