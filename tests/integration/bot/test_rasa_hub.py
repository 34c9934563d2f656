"""End to end through a real Rasa server and action server: a WhatsApp message comes in through the
one ingest path, Rasa's custom action searches the knowledge base over the hub's REST API (API
key), the answer is queued for the outbox; "I want to talk to a person" hands off into the queue."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from bot.service import FORGET_JOB
from hub import keys
from hub.events import BotHandoff
from hub.jobs import Worker
from hub.models import (
    AuthorType,
    Channel,
    ContactType,
    Direction,
    Role,
    new_id,
)

from .conftest import whatsapp

pytestmark = pytest.mark.integration


async def send(app: Any, text: str, phone: str) -> str:
    result = await app[keys.INBOX].ingest(whatsapp(text, phone))
    await app[keys.BUS].drain()
    return result.conversation.id


async def bot_texts(app: Any, conv: str) -> list[Any]:
    return [m for m in await app[keys.CONVERSATIONS].messages(conv) if m.author_type == AuthorType.bot
            and not m.private]


async def test_whatsapp_question_answered_from_the_knowledge_base(rasa_stack) -> None:
    app = rasa_stack.client.server.app
    conv = await send(app, "how long does a refund take to reach my card?", "+27831110001")
    [answer] = await bot_texts(app, conv)
    assert answer.direction == Direction.outbound and answer.channel == Channel.whatsapp
    assert answer.delivery_status.value == "queued"
    assert "How refunds work" in answer.text and "https://help.berry.example/refunds" in answer.text
    assert "\n1. Yes, thanks\n2. No, I need help" in answer.text
    state = (await app[keys.CONVERSATIONS].get(conv)).bot
    assert state["intents"][0]["intent"] == "refund_request" and state["articles"] == ["kb-refund"]
    assert rasa_stack.kb.queries[-1].text.startswith("how long does a refund")


async def test_talk_to_a_person_hands_off_into_the_agents_queue(rasa_stack) -> None:
    client = rasa_stack.client
    app = client.server.app
    conv = await send(app, "hi", "+27831110002")
    with app[keys.BUS].capture() as events:
        await send(app, "I want to talk to a person", "+27831110002")
    [handoff] = [e for e in events if isinstance(e, BotHandoff)]
    assert handoff.reason == "explicit_request" and handoff.summary["intents"] == ["greet", "request_human"]
    assert "passing you to a person" in (await bot_texts(app, conv))[-1].text
    user = await app[keys.USERS].create(
        f"agent-{new_id()}@example.com", "correct horse", Role.agent, name="A"
    )
    resp = await client.post("/api/v1/auth/login", json={"email": user.email, "password": "correct horse"})
    token = (await resp.json())["access_token"]
    resp = await client.get("/api/v1/conversations?tag=bot-handoff&status=open",
                            headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    assert conv in [c["id"] for c in (await resp.json())["items"]]


async def test_answer_did_not_help_form_opens_the_ticket(rasa_stack) -> None:
    """deny → ticket_form (email, booking ref, summary) → action_open_ticket PATCHes the ticket over
    the REST API and hands off with reason ticket_collected."""
    app = rasa_stack.client.server.app
    phone = "+27831110003"
    conv = await send(app, "my card payment keeps getting declined", phone)
    first = (await app[keys.CONVERSATIONS].get(conv)).bot["articles"]
    await send(app, "2", phone)  # "No, I need help": the search's runner-up first …
    offered = (await bot_texts(app, conv))[-1].text
    assert offered.startswith("Maybe this one helps:\n") and "2. No, I need help" in offered
    assert len((await app[keys.CONVERSATIONS].get(conv)).bot["articles"]) == len(first) + 1
    await send(app, "2", phone)  # … then the form
    await send(app, "naledi@example.co.za", phone)
    await send(app, "BE-44120", phone)
    await send(app, "the checkout fails after 3-D secure", phone)
    conversation = await app[keys.CONVERSATIONS].get(conv)
    assert conversation.bot["handoff"]["reason"] == "ticket_collected"
    assert conversation.subject == "the checkout fails after 3-D secure"
    assert "bot-ticket" in conversation.tags and "payment" in conversation.tags
    notes = [m.text for m in await app[keys.CONVERSATIONS].messages(conv) if m.private]
    assert any("BE-44120" in n and "naledi@example.co.za" in n for n in notes)


async def test_a_booking_question_asks_for_the_reference_once_then_answers_it(rasa_stack) -> None:
    """As the embedded engine (test_bot_service.py): booking status, rescheduling or cancelling with
    no reference known asks for it, once; the reference (BE- and 5 to 10 digits) or "none" brings back
    the question it was asked for, answered."""
    app = rasa_stack.client.server.app
    phone = "+27831110030"
    conv = await send(app, "where is my booking?", phone)
    [ask] = await bot_texts(app, conv)
    assert ask.text.startswith("What's the booking reference?")
    await send(app, "BE-12345678", phone)
    noted, answer = (await bot_texts(app, conv))[1:]
    assert noted.text == "Thanks, I've noted booking ref BE-12345678."
    assert answer.text.startswith("Checking your booking status") and "1. Yes, thanks" in answer.text
    state = (await app[keys.CONVERSATIONS].get(conv)).bot
    assert state["entities"]["booking_ref"] == "BE-12345678" and state["articles"] == ["kb-status"]
    # no reference to give: the question answered all the same, and not asked for again
    other = "+27831110031"
    conv = await send(app, "how do I cancel my booking?", other)
    assert (await bot_texts(app, conv))[-1].text.startswith("What's the booking reference?")
    await send(app, "none", other)
    assert (await bot_texts(app, conv))[-1].text.startswith("Cancelling a booking")
    await send(app, "is my booking confirmed?", other)
    assert (await bot_texts(app, conv))[-1].text.startswith("Checking your booking status")


async def test_action_server_failure_is_a_handoff(rasa_stack, monkeypatch) -> None:
    app = rasa_stack.client.server.app

    async def down(query: Any) -> Any:
        raise ConnectionError("search down")

    monkeypatch.setattr(rasa_stack.kb, "search", down)
    conv = await send(app, "how do I get an invoice for my booking?", "+27831110004")
    assert (await app[keys.CONVERSATIONS].get(conv)).bot["handoff"]["reason"] == "bot_error"
    assert "passing you to a person" in (await bot_texts(app, conv))[-1].text


async def _tracker_text(rasa_url: str, conversation_id: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{rasa_url}/conversations/{conversation_id}/tracker") as resp,
    ):
        assert resp.status == 200
        return json.dumps(await resp.json())


async def test_erasing_the_contact_empties_its_rasa_tracker(rasa_stack) -> None:
    """Rasa's tracker store holds every message the customer wrote: erasure drops it (a job, so a
    Rasa server that is down at that moment is retried)."""
    client = rasa_stack.client
    app = client.server.app
    conv = await send(app, "where is my booking BE-77310? my name is Thandeka", "+27831110009")
    assert "BE-77310" in await _tracker_text(rasa_stack.rasa_url, conv)
    other = await send(app, "hello, booking BE-77311 please", "+27831110010")

    admin = await app[keys.USERS].create(
        f"admin-{new_id()}@example.com", "correct horse", Role.admin, name="Ad"
    )
    resp = await client.post("/api/v1/auth/login", json={"email": admin.email, "password": "correct horse"})
    headers = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
    contact_id = (await app[keys.CONVERSATIONS].get(conv)).contact_id
    resp = await client.post(
        f"/api/v1/contacts/{contact_id}/erase", json={"confirm": contact_id}, headers=headers
    )
    assert resp.status == 200, await resp.text()
    worker = Worker(app[keys.JOBS], app[keys.JOB_HANDLERS])
    while await worker.run_once():
        pass

    text = await _tracker_text(rasa_stack.rasa_url, conv)
    assert "BE-77310" not in text and "Thandeka" not in text
    assert await app[keys.STORE]["jobs"].count_documents({"kind": FORGET_JOB, "state": {"$ne": "done"}}) == 0
    assert "BE-77311" in await _tracker_text(rasa_stack.rasa_url, other)  # another contact's is kept


async def _run_action(rasa_stack: Any, action: str, events: list[dict[str, Any]],
                      ranking: list[tuple[str, float]] = (), metadata: dict[str, Any] | None = None,
                      slots: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call the real action server as the Rasa server does (rasa_sdk's webhook: next_action, tracker,
    domain). DIET's ranking for a given text is not fixed, so these tests write the ranking."""
    import yaml

    from bot.rasa_runtime import PROJECT

    domain = yaml.safe_load((PROJECT / "domain.yml").read_text())
    said = [e for e in events if e["event"] == "user"]
    latest = {**said[-1], "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
              "metadata": metadata or {}}
    call = {"next_action": action, "sender_id": "s1", "domain": domain,
            "tracker": {"sender_id": "s1", "slots": slots or {}, "latest_message": latest, "events": events,
                        "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": None}}
    async with aiohttp.ClientSession() as http, http.post(rasa_stack.actions_url, json=call) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_unclear_message_offers_the_likely_topics_and_a_person(rasa_stack) -> None:
    said = [{"event": "user", "text": "the money thing from last week"}]
    result = await _run_action(rasa_stack, "action_unclear", said, [
        ("nlu_fallback", 0.7), ("refund_request", 0.41), ("greet", 0.3), ("payment_failed", 0.2),
        ("provider_payout", 0.05)])
    clarify, marker = result["responses"]
    assert clarify["response"] == "utter_clarify"
    payloads = [b["payload"] for b in clarify["buttons"]]
    assert payloads == ["/refund_request", "/payment_failed", "/request_human"]
    assert clarify["buttons"][0]["title"] == "Getting a refund" and marker["custom"] == {"unclear": True}
    # small talk as the best guess, or no topic likely enough: ask to rephrase, no buttons
    for ranking in ([("nlu_fallback", 0.6), ("greet", 0.5), ("refund_request", 0.3)],
                    [("nlu_fallback", 0.9), ("refund_request", 0.05)]):
        rephrase, _ = (await _run_action(rasa_stack, "action_unclear", said, ranking))["responses"]
        assert rephrase["response"] == "utter_default" and not rephrase.get("buttons")


async def test_a_topic_button_searches_what_the_customer_wrote(rasa_stack) -> None:
    rasa_stack.kb.queries.clear()
    said = [{"event": "user", "text": "money back for the cake"}, {"event": "bot", "text": "Is it about…"},
            {"event": "user", "text": "/refund_request"}]
    result = await _run_action(rasa_stack, "action_answer_from_kb", said, [("refund_request", 1.0)])
    assert rasa_stack.kb.queries[-1].text == "money back for the cake Getting a refund"
    assert "How refunds work" in result["responses"][0]["text"]


async def test_a_provider_is_answered_from_provider_articles_too(rasa_stack) -> None:
    # the hub's Rasa engine sends the contact's type as message metadata (RasaEngine.respond)
    app = rasa_stack.client.server.app
    msg = whatsapp("where is my payout", "+27831110020").model_copy(
        update={"contact_type": ContactType.provider}
    )
    await app[keys.INBOX].ingest(msg)
    await app[keys.BUS].drain()
    assert rasa_stack.kb.queries[-1].text == "where is my payout A provider payout"
    assert rasa_stack.kb.queries[-1].visibilities == ["public", "providers"]
    said = [{"event": "user", "text": "when is my payout paid?"}]
    for metadata, visibilities in (({"contact_type": "provider"}, ["public", "providers"]),
                                   ({"contact_type": "consumer"}, ["public"]), ({}, ["public"])):
        await _run_action(rasa_stack, "action_answer_from_kb", said, [("provider_payout", 1.0)], metadata)
        assert rasa_stack.kb.queries[-1].visibilities == visibilities


async def test_no_gets_the_runner_up_only_right_after_the_answer(rasa_stack) -> None:
    """The runner-up slot outlives the turns in between: a "No" after "thanks" (or anything else
    the bot said since) is not about that answer, and opens the ticket form instead."""
    runner_up = {"id": "kb-refund", "title": "How refunds work", "summary": "When you get your money back",
                 "url": "https://help.berry.example/refunds"}
    slots = {"next_article": runner_up, "has_next_article": True}
    asked = [{"event": "user", "text": "my card was declined"},
             {"event": "action", "name": "action_answer_from_kb"}, {"event": "bot", "text": "Card declined"},
             {"event": "action", "name": "action_listen"}]
    right_after = await _run_action(rasa_stack, "action_next_article",
                                    [*asked, {"event": "user", "text": "no"}], [("deny", 1.0)], slots=slots)
    assert right_after["responses"][0]["text"].startswith("Maybe this one helps:\nHow refunds work")
    later = [*asked, {"event": "user", "text": "thanks"}, {"event": "action", "name": "utter_glad"},
             {"event": "action", "name": "action_listen"}, {"event": "user", "text": "no"}]
    stale = await _run_action(rasa_stack, "action_next_article", later, [("deny", 1.0)], slots=slots)
    assert not stale["responses"]
    assert {"event": "followup", "name": "ticket_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in stale["events"]]
    assert {"event": "slot", "name": "has_next_article"} in [
        {k: e.get(k) for k in ("event", "name")} for e in stale["events"]]


async def test_the_reply_to_a_stale_ask_for_the_reference_gets_what_it_would_have(rasa_stack) -> None:
    """The rule after "what's the booking reference?" holds while the flag is set; the action answers
    the remembered question only right after the ask. Later (after "hi" here) a "no" is about
    nothing of the sort: it goes where a "no" goes (the runner-up, else the ticket form)."""
    question = {"intent": "booking_status", "query": "where is my booking? Where my booking stands"}
    slots = {"pending_question": question, "asked_booking_ref": True, "awaiting_booking_ref": True}
    asked = [{"event": "user", "text": "where is my booking?"},
             {"event": "action", "name": "action_answer_from_kb"},
             {"event": "bot", "text": "What's the booking reference?"},
             {"event": "slot", "name": "awaiting_booking_ref", "value": True},
             {"event": "action", "name": "action_listen"}]
    no = {"event": "user", "text": "I don't have one", "intent": {"name": "deny", "confidence": 1.0}}
    right_after = await _run_action(rasa_stack, "action_answer_pending", [*asked, no], [("deny", 1.0)],
                                    slots=slots)
    assert right_after["responses"][0]["text"].startswith("Checking your booking status")
    later = [*asked, {"event": "user", "text": "hi"}, {"event": "action", "name": "utter_greet"},
             {"event": "action", "name": "action_listen"}, no]
    stale = await _run_action(rasa_stack, "action_answer_pending", later, [("deny", 1.0)], slots=slots)
    assert not stale["responses"]
    assert {"event": "followup", "name": "action_next_article"} in [
        {k: e.get(k) for k in ("event", "name")} for e in stale["events"]]
    assert {"name": "awaiting_booking_ref", "value": False} in [
        {k: e.get(k) for k in ("name", "value")} for e in stale["events"] if e["event"] == "slot"]
