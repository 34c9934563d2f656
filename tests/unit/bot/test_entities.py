from bot.entities import extract


def values(text):
    return {(e["entity"], e["value"]) for e in extract(text)}


def test_booking_ref_is_normalized():
    assert values("my ref is be12345") == {("booking_ref", "BE-12345")}
    assert values("BE-123456789") == set()


def test_email_and_dates():
    found = values("mail thandi@gmail.com about the 12th of December or next friday")
    assert ("email", "thandi@gmail.com") in found
    assert ("date", "the 12th of December") in found and ("date", "next friday") in found


def test_hostile_input_is_fast_and_safe():
    assert extract("a" * 10_000 + "@" * 5000) == []
