"""Rules are checked completely before they are stored; conditions evaluate in memory; canned
templates render safely."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from hub.errors import InvalidInput
from hub.models import Channel, Contact, ContactType, Conversation
from hub.ticketing.canned import CannedResponse, check_template, render, variables
from hub.ticketing.conditions import Compiled, Condition, Facts
from hub.ticketing.rules import Rule, compile_rule


def rule(**kw: object) -> Rule:
    base: dict = {
        "name": "r",
        "trigger": {"type": "message.created"},
        "actions": [{"type": "add_tag", "params": {"tag": "x"}}],
    }
    return Rule.model_validate({**base, **kw})


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"conditions": [{"field": "mood", "op": "eq", "value": 1}]}, "field"),
        ({"conditions": [{"field": "tags", "op": "regex", "value": "x"}]}, "op"),
        ({"conditions": [{"field": "text", "op": "regex", "value": "(a+)+$"}]}, "value"),
        ({"conditions": [{"field": "text", "op": "regex", "value": "(unclosed"}]}, "value"),
        ({"conditions": [{"field": "text", "op": "regex", "value": "a" * 600}]}, "value"),
        ({"conditions": [{"field": "channel", "op": "in", "value": "sms"}]}, "value"),
        ({"conditions": [{"field": "in_business_hours", "op": "eq", "value": True}]}, "business_hours_id"),
        (
            {"actions": [{"type": "set_priority", "params": {"priority": "mega"}}]},
            "actions[0].params.priority",
        ),
        (
            {"actions": [{"type": "add_tag", "params": {"tag": "x", "colour": "red"}}]},
            "actions[0].params.colour",
        ),
        ({"actions": [{"type": "snooze", "params": {"minutes": 0}}]}, "actions[0].params.minutes"),
        # tags a run would refuse (lifecycle.normalize_tags) are refused when the rule is saved
        ({"actions": [{"type": "add_tag", "params": {"tag": "   "}}]}, "actions[0].params.tag"),
        ({"actions": [{"type": "add_tag", "params": {"tag": "x" * 51}}]}, "actions[0].params.tag"),
        ({"actions": [{"type": "add_tag", "params": {"tag": "vip!"}}]}, "actions[0].params.tag"),
        ({"actions": [{"type": "remove_tag", "params": {"tag": "-leading"}}]}, "actions[0].params.tag"),
        (
            {"actions": [{"type": "set_priority", "params": {"priority": "high", "reason": "r" * 201}}]},
            "actions[0].params.reason",
        ),
        ({"actions": [{"type": "snooze", "params": {"minutes": True}}]}, "actions[0].params.minutes"),
        (
            {"actions": [{"type": "private_note", "params": {"text": "hi {{contact.password}}"}}]},
            "actions[0].params.text",
        ),
        ({"actions": [{"type": "assign", "params": {}}]}, "actions[0].params"),
        ({"trigger": {"type": "time"}}, "trigger"),
        ({"trigger": {"type": "message.created", "after_minutes": 5}}, "trigger"),
    ],
)
def test_bad_rules_are_refused_with_the_field(kw: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        compile_rule(rule(**kw), new=True)
    assert err.value.field == field


def test_unknown_keys_and_actions_fail_validation() -> None:
    with pytest.raises(ValidationError):
        rule(actions=[{"type": "delete_everything"}])
    with pytest.raises(ValidationError):
        rule(colour="red")
    with pytest.raises(ValidationError):
        rule(actions=[])


def facts(text: str, **conv: object) -> Facts:
    conversation = Conversation(number=1, contact_id="c", channel=Channel.sms, thread_key="t", **conv)  # type: ignore[arg-type]
    from hub.models import Direction, Message

    message = Message(
        conversation_id=conversation.id,
        contact_id="c",
        direction=Direction.inbound,
        author_type="customer",
        text=text,
        channel=Channel.sms,
    )  # type: ignore[arg-type]
    return Facts(
        conversation=conversation,
        message=message,
        contact=Contact(name="Zanele Dube", type=ContactType.provider, custom_fields={"tier": "gold"}),
    )


def test_conditions() -> None:
    f = facts("I want a REFUND for order 12345", tags=["vip"], priority="high")

    def ok(**c: object) -> bool:
        return Compiled.of(Condition.model_validate(c)).test(f)

    assert ok(field="text", op="contains", value="refund")
    assert not ok(field="text", op="contains", value="refund", case_sensitive=True)
    assert ok(field="text", op="regex", value=r"order \d{5}")
    assert ok(field="tags", op="contains", value="VIP")
    assert ok(field="priority", op="in", value=["high", "urgent"])
    assert ok(field="channel", op="eq", value="sms") and not ok(field="channel", op="eq", value="email")
    assert ok(field="contact.type", op="eq", value="provider")
    assert ok(field="contact.attributes.tier", op="eq", value="gold")
    assert ok(field="direction", op="eq", value="in")
    assert ok(field="language", op="not_set")


def test_hostile_text_cannot_stall_a_regex_at_run_time() -> None:
    cond = Compiled.of(Condition(field="text", op="regex", value=r"(\d+)*z"))
    start = time.perf_counter()
    assert not cond.test(facts("1" * 100_000))
    assert time.perf_counter() - start < 1.0


def test_canned_templates() -> None:
    contact = Contact(name="Zanele Dube", custom_fields={"tier": "gold"})
    conversation = Conversation(number=42, contact_id="c", channel=Channel.whatsapp, thread_key="t")
    values = variables(contact, conversation, {"name": "Sipho Ndlovu"})
    text = ("Hi {{contact.first_name}}, ticket #{{ conversation.number }} ({{contact.attributes.tier}})"
            " — {{agent.first_name}}")
    assert render(check_template(text), values) == "Hi Zanele, ticket #42 (gold) — Sipho"
    assert render("Hi {{contact.first_name|there}}", variables(Contact(name=""), None)) == "Hi there"
    # A value is never rendered again: a contact named like a template stays text.
    sneaky = variables(Contact(name="{{agent.name}}"), None, {"name": "Sipho"})
    assert render("Hi {{contact.name}}", sneaky) == "Hi {{agent.name}}"
    for bad in ("Hi {{contact.secret}}", "Hi {{contact.first_name", "{{ 7*7 }}", "{{__class__.__init__}}"):
        with pytest.raises(InvalidInput):
            check_template(bad)
    with pytest.raises(ValidationError):
        CannedResponse(shortcut="BAD SHORTCUT", title="x", text="y")


def test_a_tag_a_run_accepts_is_accepted() -> None:
    compile_rule(rule(actions=[{"type": "add_tag", "params": {"tag": " VIP: gold/2026 "}}]), new=True)


def test_a_stored_rule_whose_tag_is_no_longer_valid_still_loads() -> None:
    """Loading is not saving: its other actions still run, the tag action fails alone (logged)."""
    compile_rule(rule(actions=[{"type": "add_tag", "params": {"tag": "vip!"}}]))
