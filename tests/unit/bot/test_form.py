"""The embedded engine's ticket form: asks what is missing, validates, pre-fills, can be left."""

from __future__ import annotations

import pytest

from bot.embedded import form


def test_asks_each_missing_slot_in_order_and_files_the_ticket() -> None:
    step = form.start({})
    assert step.form == {"slots": {}, "requested": "email", "channel": "webchat"} and "e-mail" in step.say[0]
    step = form.step(step.form, "it's Thandi.M@Example.co.za thanks")
    assert step.form["requested"] == "booking_ref" and "BE-12345" in step.say[0]
    step = form.step(step.form, "be12345")
    assert step.form["requested"] == "issue_summary"
    step = form.step(step.form, "The invoice shows the wrong company name")
    assert step.form is None and step.ticket == {"email": "thandi.m@example.co.za", "booking_ref": "BE-12345",
                                                 "issue_summary": "The invoice shows the wrong company name"}
    assert "here, or by e-mail at thandi.m@example.co.za once you've left the chat" in step.say[0]


def test_a_longer_reference_is_a_reference_and_whatsapp_is_answered_on_whatsapp() -> None:
    step = form.start({"email": "a@b.co"}, "whatsapp")
    step = form.step(step.form, "booking reference is BE-1234567")
    assert step.form["slots"]["booking_ref"] == "BE-1234567"
    step = form.step(step.form, "The DJ never arrived at all")
    assert step.say[0].endswith("Someone will get back to you here; we've noted a@b.co on your details too.")


def test_known_entities_are_not_asked_again() -> None:
    step = form.start({"booking_ref": "BE-55555", "date": "tomorrow"})
    assert step.form == {"slots": {"booking_ref": "BE-55555"}, "requested": "email", "channel": "webchat"}
    step = form.step(step.form, "me@berry.example")
    assert step.form["requested"] == "issue_summary"


@pytest.mark.parametrize(("slot", "answer"), [
    ("email", "my email is secret"), ("email", ""), ("email", "a@" + "b" * 300 + ".com"),
    ("booking_ref", "12345"), ("booking_ref", "BE-1234"), ("booking_ref", "BE-12345678901"),
    ("issue_summary", "🙃"), ("issue_summary", "ok"), ("issue_summary", "12 34"),
])
def test_unusable_answers_are_asked_again_as_an_unclear_turn(slot: str, answer: str) -> None:
    current = {"slots": {}, "requested": slot}
    step = form.step(current, answer)
    assert step.form == current and step.unclear and step.ticket is None
    assert step.say[0] == form.HINTS[slot]


@pytest.mark.parametrize("answer", ["none", "No.", "I don't have one", "n/a"])
def test_no_booking_reference_is_an_answer(answer: str) -> None:
    step = form.step({"slots": {"email": "a@b.co"}, "requested": "booking_ref"}, answer)
    assert step.form == {"slots": {"email": "a@b.co", "booking_ref": "none"}, "requested": "issue_summary"}


def test_cancel_leaves_the_form_and_a_long_summary_is_cut() -> None:
    assert form.step({"slots": {}, "requested": "email"}, "Cancel").cancelled
    step = form.step({"slots": {"email": "a@b.co", "booking_ref": "none"}, "requested": "issue_summary"},
                     "the stage lights " * 200)
    assert step.ticket is not None and len(step.ticket["issue_summary"]) == form.MAX_SUMMARY
