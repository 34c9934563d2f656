"""The bot inside the hub (embedded engine, real FerretDB, a small real knowledge base): messages go
in through the one ingest path, the bot answers or hands off, its state lives on the conversation."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from pymongo.errors import AutoReconnect

from bot.service import BotService
from hub import keys
from hub.events import BotHandoff, MessageCreated
from hub.models import (
    AuthorType,
    Channel,
    Direction,
    IdentityKind,
    InboundMessage,
    Role,
    SenderIdentity,
    new_id,
)
from hub.ticketing.teams import Member, Presence, Team

from .conftest import whatsapp

pytestmark = pytest.mark.integration


async def send(client: TestClient[Any, Any], msg: InboundMessage) -> str:
    app = client.server.app
    result = await app[keys.INBOX].ingest(msg)
    await app[keys.BUS].drain()
    return result.conversation.id


async def bot_messages(client: TestClient[Any, Any], conv_id: str, *, private: bool = False) -> list[Any]:
    msgs = await client.server.app[keys.CONVERSATIONS].messages(conv_id)
    return [m for m in msgs if m.author_type == AuthorType.bot and m.private == private]


async def state(client: TestClient[Any, Any], conv_id: str) -> dict[str, Any]:
    return (await client.server.app[keys.CONVERSATIONS].get(conv_id)).bot


async def test_question_answered_from_the_knowledge_base_with_numbered_buttons(bot_client, kb) -> None:
    conv = await send(bot_client, whatsapp("hi, has the provider confirmed my booking BE-10234 yet?"))
    [reply] = await bot_messages(bot_client, conv)
    assert reply.direction == Direction.outbound and reply.channel == Channel.whatsapp
    assert reply.delivery_status.value == "queued"  # the outbox sends it
    assert reply.text.startswith("Checking your booking status\nOpen My Bookings in the app")
    assert "\nhttps://help.berry.example/booking-status\n" in reply.text
    assert "\n1. Yes, thanks\n2. No, I need help" in reply.text
    assert reply.meta["buttons"][0]["payload"] == "/affirm"
    s = await state(bot_client, conv)
    assert s["intents"][-1]["intent"] == "booking_status"
    assert s["entities"]["booking_ref"] == "BE-10234"
    assert s["articles"] == ["kb-status"] and s["active"] is True
    # "1" answers the first button: /affirm → the glad-it-helped text, still no handoff
    await send(bot_client, whatsapp("1"))
    replies = await bot_messages(bot_client, conv)
    assert len(replies) == 2 and "glad" in replies[-1].text.lower()
    assert (await state(bot_client, conv)).get("handoff") is None


async def test_explicit_request_hands_off_with_summary_and_stops_answering(bot_client, api) -> None:
    app = bot_client.server.app
    conv = await send(bot_client, whatsapp("my payout for BE-51207 is late, where is my payout?"))
    with app[keys.BUS].capture() as events:
        await send(bot_client, whatsapp("I want to talk to a person"))
    handoffs = [e for e in events if isinstance(e, BotHandoff)]
    assert len(handoffs) == 1 and handoffs[0].reason == "explicit_request"
    summary = handoffs[0].summary
    assert summary["intents"][0] == "provider_payout" and summary["entities"]["booking_ref"] == "BE-51207"
    assert summary["articles"] == ["kb-payout"]
    public = await bot_messages(bot_client, conv)
    assert "passing you to a person" in public[-1].text
    [note] = await bot_messages(bot_client, conv, private=True)
    assert "Articles offered: kb-payout" in note.text  # not in the store: the id, all there is
    assert "explicit_request" in note.text and "BE-51207" in note.text
    # the ticket is in the agents' queue, tagged for routing
    agent = await api.user(Role.agent)
    resp = await bot_client.get("/api/v1/conversations?tag=bot-handoff", headers=agent["headers"])
    assert resp.status == 200, await resp.text()
    assert [c["id"] for c in (await resp.json())["items"]] == [conv]
    # the bot stays quiet from now on
    await send(bot_client, whatsapp("hello?"))
    assert len(await bot_messages(bot_client, conv)) == len(public)


async def test_two_unclear_turns_hand_off(bot_client) -> None:
    conv = await send(bot_client, whatsapp("xqzv blorp fnargle"))
    [first] = await bot_messages(bot_client, conv)
    assert "didn't quite get that" in first.text
    assert (await state(bot_client, conv))["unclear_streak"] == 1
    await send(bot_client, whatsapp("🙃🙃🙃"))
    s = await state(bot_client, conv)
    assert s["handoff"]["reason"] == "unclear_twice" and s["active"] is False



async def test_unclear_message_offers_numbered_topics_and_the_chosen_one_is_answered(bot_client, kb,
                                                                                     monkeypatch) -> None:
    # the app's real classifier, made to find every message too far from its training data: the
    # likeliest topics come back as numbered choices; the customer answers with a number
    engine = await bot_client.server.app[keys.EXTENSIONS]["bot"]._engine()
    strict = copy.copy(engine.classifier)
    strict.threshold = 1.01
    monkeypatch.setattr(engine, "classifier", strict)
    text = "the party got cancelled so where is my money"
    conv = await send(bot_client, whatsapp(text))
    [ask] = await bot_messages(bot_client, conv)
    payloads = [b["payload"] for b in ask.meta["buttons"]]
    assert "not sure I understood" in ask.text and "/refund_request" in payloads
    number = payloads.index("/refund_request") + 1
    assert f"\n{number}. Getting a refund" in ask.text
    assert ask.text.endswith(". Something else: a person, please")
    s = await state(bot_client, conv)
    assert s["unclear_text"] == text and s["unclear_streak"] == 1
    await send(bot_client, whatsapp(str(number)))
    answer = (await bot_messages(bot_client, conv))[-1]
    assert kb.queries[-1].text == f"{text} Getting a refund"
    assert "How refunds work" in answer.text
    s = await state(bot_client, conv)
    assert "unclear_text" not in s and s["unclear_streak"] == 0 and s["articles"] == ["kb-refund"]
    assert s["intents"][-1]["intent"] == "refund_request" and s.get("handoff") is None

@pytest.mark.parametrize(("text", "reason"), [
    ("The DJ was rude and arrived two hours late, I want to complain", "human_only:complaint"),
    ("I want a refund of R8000 for the cancelled wedding booking", "refund_over_limit"),
    ("我的预订在哪里？请帮我查一下", "language:zh"),
])
async def test_policy_handoffs(bot_client, text: str, reason: str) -> None:
    app = bot_client.server.app
    conv = await send(bot_client, whatsapp(text))
    assert (await state(bot_client, conv))["handoff"]["reason"] == reason
    assert "passing you to a person" in (await bot_messages(bot_client, conv))[-1].text
    assert (await state(bot_client, conv)).get("articles", []) == []  # none was shown: none "offered"
    if reason.startswith("language:"):
        assert (await app[keys.CONVERSATIONS].get(conv)).language == "zh"


async def test_a_refund_over_the_limit_named_in_the_next_message_hands_off_with_the_amount(
        bot_client) -> None:
    conv = await send(bot_client, whatsapp("I want a refund for the cancelled wedding booking",
                                           phone="+27820001111"))
    assert (await state(bot_client, conv)).get("handoff") is None  # no amount yet: answered
    await send(bot_client, whatsapp("it was R8k", phone="+27820001111"))
    s = await state(bot_client, conv)
    assert s["handoff"]["reason"] == "refund_over_limit" and s["entities"]["amount"] == "R 8 000"
    [note] = await bot_messages(bot_client, conv, private=True)
    assert "Bot handoff: refund_over_limit (R 8 000, over the R 2 000 limit)" in note.text
    assert note.meta["bot_summary"]["entities"]["amount"] == "R 8 000"


@pytest.mark.parametrize(
    "text", ["", "👍", "a" * 10_000, "where is my booking " * 500, "\u202e\u0000<script>"]
)
async def test_bad_input_always_gets_an_answer_or_a_handoff_notice(bot_client, text: str) -> None:
    conv = await send(bot_client, whatsapp(text))
    replies = await bot_messages(bot_client, conv)
    assert replies and all(r.text.strip() for r in replies)


@pytest.mark.parametrize(("text", "handoff"), [
    (" \t\n  ", None),
    ("https://berry.example/bookings/BE-12345?utm_source=wa", None),
    ("BE-12345", None),
    ("\u2067where is my booking\u2069 \u200f\u200b", None),
    ("where is my\u0000 booking BE-10234", None),
    ("Sawubona, ngicela ukuthi ungisize nge-booking yami kakhulu", "language:zu"),
    ("مرحبا، أين حجزي؟ لم يصلني أي تأكيد", "language:ar"),
    ("你好，我的预订在哪里？我还没有收到确认。", "language:zh"),
])
async def test_odd_input_gets_an_answer_or_a_handoff_notice_and_the_message_is_kept(
        bot_client, text: str, handoff: str | None) -> None:
    conv = await send(bot_client, whatsapp(text))
    replies = await bot_messages(bot_client, conv)
    assert replies and all(r.text.strip() for r in replies)
    s = await state(bot_client, conv)
    assert (s.get("handoff") or {}).get("reason") == handoff
    if handoff:  # the last word is the notice (in isiZulu for isiZulu)
        notice = "Ngikudlulisela" if handoff == "language:zu" else "I'm passing you"
        assert replies[-1].text.startswith(notice)
    msgs = await bot_client.server.app[keys.CONVERSATIONS].messages(conv)
    assert [m.text for m in msgs if m.author_type == AuthorType.customer] == [text]


async def test_the_same_words_sent_twice_are_two_messages_each_answered(bot_client) -> None:
    # not a replay (each has its own id): the customer wrote it twice
    conv = await send(bot_client, whatsapp("how do refunds work?", phone="+27820002222"))
    await send(bot_client, whatsapp("how do refunds work?", phone="+27820002222"))
    assert (await state(bot_client, conv))["turns"] == 2
    assert len(await bot_messages(bot_client, conv)) == 2


async def test_two_quick_first_messages_are_one_conversation_and_both_answered(bot_client) -> None:
    app = bot_client.server.app
    phone = "+27820003333"
    results = await asyncio.gather(*(app[keys.INBOX].ingest(whatsapp(t, phone=phone))
                                     for t in ("hi", "where is my booking BE-10234?")))
    await app[keys.BUS].drain()
    [conv] = {r.conversation.id for r in results}
    s = await state(bot_client, conv)
    replies = await bot_messages(bot_client, conv)
    assert s["turns"] == 2 and len(replies) >= 2 and all(r.text.strip() for r in replies)


async def test_a_message_right_behind_a_handoff_request_waits_for_people_not_the_bot(bot_client) -> None:
    app = bot_client.server.app
    phone = "+27820004444"
    conv = await send(bot_client, whatsapp("hello", phone=phone))
    await asyncio.gather(*(app[keys.INBOX].ingest(whatsapp(t, phone=phone))
                           for t in ("I want to talk to a person", "my booking is BE-10234")))
    await app[keys.BUS].drain()
    s = await state(bot_client, conv)
    replies = await bot_messages(bot_client, conv)
    # the handoff notice is the bot's last word whichever message ran first; both messages are kept
    assert s["handoff"]["reason"] == "explicit_request" and "passing you to a person" in replies[-1].text
    msgs = await app[keys.CONVERSATIONS].messages(conv)
    assert {m.text for m in msgs if m.author_type == AuthorType.customer} == {
        "hello", "I want to talk to a person", "my booking is BE-10234"}


async def test_engine_failure_becomes_a_handoff_never_silence(bot_client) -> None:
    service = bot_client.server.app[keys.EXTENSIONS]["bot"]

    class Broken:
        name = "broken"

        async def respond(self, turn: Any) -> Any:
            raise RuntimeError("boom")

        async def close(self) -> None:
            return None

    async def broken() -> Broken:
        return Broken()

    service._engine = broken
    conv = await send(bot_client, whatsapp("where is my booking?"))
    assert (await state(bot_client, conv))["handoff"]["reason"] == "bot_error"
    assert "passing you to a person" in (await bot_messages(bot_client, conv))[-1].text


async def test_replayed_message_gets_one_answer(bot_client) -> None:
    msg = whatsapp("how do refunds work?", external_id="wamid.replayed")
    conv = await send(bot_client, msg)
    await send(bot_client, msg)
    assert len(await bot_messages(bot_client, conv)) == 1


async def test_concurrent_messages_on_one_conversation_each_get_a_turn(bot_client) -> None:
    app = bot_client.server.app
    conv = await send(bot_client, whatsapp("hello"))
    await asyncio.gather(*(app[keys.INBOX].ingest(whatsapp(t)) for t in ("thanks", "how do refunds work?")))
    await app[keys.BUS].drain()
    assert (await state(bot_client, conv))["turns"] == 3
    assert len(await bot_messages(bot_client, conv)) == 3


async def test_assigned_conversation_and_disabled_inbox_are_left_to_people(bot_client, api) -> None:
    app = bot_client.server.app
    admin = await api.user(Role.admin)
    agent = await api.user(Role.agent)
    conv = await send(bot_client, whatsapp("hello", phone="+27825550000"))
    await app[keys.STORE].conversations.update_one(
        {"_id": conv}, {"$set": {"assignee_id": agent["user"]["id"]}}
    )
    await send(bot_client, whatsapp("hello again", phone="+27825550000"))
    assert len(await bot_messages(bot_client, conv)) == 1

    resp = await bot_client.put(
        "/api/v1/bot/inboxes/whatsapp", json={"enabled": False}, headers=admin["headers"]
    )
    assert resp.status == 200, await resp.text()
    other = await send(bot_client, whatsapp("hello", phone="+27826660000"))
    assert await bot_messages(bot_client, other) == []
    resp = await bot_client.put(
        "/api/v1/bot/inboxes/whatsapp", json={"enabled": "maybe"}, headers=admin["headers"]
    )
    assert resp.status == 422
    resp = await bot_client.put(
        "/api/v1/bot/inboxes/../etc", json={"enabled": True}, headers=admin["headers"]
    )
    assert resp.status in (400, 404, 422)
    resp = await bot_client.put("/api/v1/bot/inboxes/sms", json={"enabled": False}, headers=agent["headers"])
    assert resp.status == 403


def _inbox_hours(app: Any, spec: str) -> None:
    """The admin's support hours of the WhatsApp inbox (as saved through PUT /channels/inboxes)."""
    services = app[keys.EXTENSIONS]["channels"]
    services.inbox_docs = {**services.inbox_docs, Channel.whatsapp: {"business_hours": spec,
                                                                     "timezone": "Africa/Johannesburg"}}


def _closed_until_in_three_days() -> tuple[str, str]:
    """Hours open only on the weekday three days from now (Johannesburg), and that day's name."""
    day = (datetime.now(ZoneInfo("Africa/Johannesburg")) + timedelta(days=3)).strftime("%A")
    return f"{day[:3]} 09:30-10:00", day


async def test_after_hours_notice_once_with_the_inboxes_hours_in_good_grammar(bot_client) -> None:
    spec, day = _closed_until_in_three_days()
    _inbox_hours(bot_client.server.app, spec)
    conv = await send(bot_client, whatsapp("hello"))
    await send(bot_client, whatsapp("thanks"))
    texts = [m.text for m in await bot_messages(bot_client, conv)]
    assert sum("offline" in t for t in texts) == 1 and len(texts) == 3
    assert f"our team is offline right now and back on {day} at 09:30." in texts[0]


async def test_no_after_hours_notice_when_the_inbox_is_open_all_day_or_an_agent_is_online(bot_client,
                                                                                          api) -> None:
    app = bot_client.server.app
    _inbox_hours(app, "Mon-Sun 00:00-24:00")  # the bot's own office hours were Mon-Fri 08:00-17:00
    conv = await send(bot_client, whatsapp("hello", phone="+27821110000"))
    assert not any("offline" in m.text for m in await bot_messages(bot_client, conv))
    _inbox_hours(app, "Sat 00:00-00:00")  # never open, but someone is at the console right now
    agent = (await api.user(Role.agent))["user"]
    await app[keys.EXTENSIONS]["agent_console"]["presence"].connected("sid-1", agent["id"], agent["name"])
    conv = await send(bot_client, whatsapp("hello", phone="+27821110001"))
    await send(bot_client, whatsapp("I want to talk to a person", phone="+27821110001"))
    texts = [m.text for m in await bot_messages(bot_client, conv)]
    assert not any("offline" in t for t in texts) and "passing you to a person" in texts[-1]


async def test_kb_search_route_for_the_action_server(bot_client, api) -> None:
    agent = await api.user(Role.agent)
    resp = await bot_client.get("/api/v1/bot/kb-search?q=refund+my+deposit", headers=agent["headers"])
    assert resp.status == 200
    assert (await resp.json())[0]["id"] == "kb-refund"
    for bad in ("", "x" * 501):
        resp = await bot_client.get(f"/api/v1/bot/kb-search?q={bad}", headers=agent["headers"])
        assert resp.status in (400, 422)  # a bad query string: 400 under the API's newer convention
    resp = await bot_client.get("/api/v1/bot/kb-search?q=refund")
    assert resp.status == 401



@pytest.mark.parametrize(("text", "intent", "topic"), [
    ("do you take snapscan or zapper?", "payment_methods", "Ways to pay"),  # not "a payment that failed"
    ("my card got charged two times for the DJ", "payment_failed", "A payment that failed"),  # not a refund
])
async def test_payment_questions_are_told_apart(bot_client, kb, text: str, intent: str, topic: str) -> None:
    conv = await send(bot_client, whatsapp(text))
    assert (await state(bot_client, conv))["intents"][-1]["intent"] == intent
    assert kb.queries[-1].text == f"{text} {topic}"


async def test_the_agent_reads_the_titles_of_the_articles_offered(bot_client) -> None:
    store = bot_client.server.app[keys.STORE]
    await store["articles"].insert_one({"_id": "kb-refund", "title": "How refunds work"})
    conv = await send(bot_client, whatsapp("how long do refunds take to come back to my card?"))
    await send(bot_client, whatsapp("I want to talk to a person"))
    [note] = await bot_messages(bot_client, conv, private=True)
    assert "Articles offered: “How refunds work”" in note.text and "kb-refund" not in note.text


async def test_article_links_are_whole_urls_a_customer_can_open(bot_client, kb, api) -> None:
    # the knowledge base's articles live at help-center paths; "/help/en/articles/refunds" in a
    # WhatsApp message (or the action server's answer) opens nothing
    from knowledge_base.search.base import SearchDocument

    await kb.clear()
    await kb.index([SearchDocument(id="kb-refund", title="How refunds work", url="/help/en/articles/refunds",
                                   summary="Refunds reach your card in 5 to 7 working days.", body="refund")])
    base = bot_client.server.app[keys.SETTINGS].base_url
    conv = await send(bot_client, whatsapp("how long do refunds take to come back to my card?"))
    [answer] = await bot_messages(bot_client, conv)
    assert f"\n{base}/help/en/articles/refunds\n" in answer.text and base.startswith("http")
    agent = await api.user(Role.agent)
    resp = await bot_client.get("/api/v1/bot/kb-search?q=refund", headers=agent["headers"])
    assert [h["url"] for h in await resp.json()] == [f"{base}/help/en/articles/refunds"]


async def test_a_provider_is_answered_from_provider_articles_a_consumer_is_not(bot_client, kb, api) -> None:
    # provider-only articles (payouts, listings, fees) are what a provider asks about; a consumer
    # must never be offered them, as in the help center
    from hub.models import ContactType
    from knowledge_base.search.base import SearchDocument

    await kb.clear()
    await kb.index(
        [
            SearchDocument(
                id="kb-payout",
                title="When and how providers get paid",
                visibility="providers",
                summary="Payouts are paid every Friday after the event.",
                body="payout paid provider bank",
                url="/help/en/articles/provider-payouts",
            ),
            SearchDocument(
                id="kb-deposit",
                title="Deposits and when the balance is due",
                body="paid deposit balance",
                summary="Most bookings need a deposit.",
                url="/help/en/articles/deposits",
            ),
        ]
    )
    question = "when does my payout get paid into my bank?"
    provider = whatsapp(question, phone="+27829990001").model_copy(
        update={"contact_type": ContactType.provider}
    )
    conv = await send(bot_client, provider)
    assert (await state(bot_client, conv))["articles"] == ["kb-payout"]
    assert "When and how providers get paid" in (await bot_messages(bot_client, conv))[0].text
    consumer = await send(bot_client, whatsapp(question, phone="+27829990002"))
    assert "kb-payout" not in (await state(bot_client, consumer)).get("articles", [])
    # the action server's route takes the audience the same way
    agent = await api.user(Role.agent)
    for audience, ids in (("provider", {"kb-payout", "kb-deposit"}), ("consumer", {"kb-deposit"})):
        resp = await bot_client.get(f"/api/v1/bot/kb-search?q=payout+paid&audience={audience}",
                                    headers=agent["headers"])
        assert {h["id"] for h in await resp.json()} == ids
    resp = await bot_client.get("/api/v1/bot/kb-search?q=payout&audience=internal", headers=agent["headers"])
    assert resp.status == 400  # a bad query parameter; internal articles are never a customer's answer


async def test_no_after_an_answer_collects_a_ticket_through_the_form(bot_client) -> None:
    app = bot_client.server.app
    conv = await send(bot_client, whatsapp("hi, has the provider confirmed my booking BE-10234 yet?"))
    first = (await state(bot_client, conv))["articles"]
    runner_up = (await state(bot_client, conv))["next_article"]
    assert len(first) == 1 and runner_up["id"] not in first
    await send(bot_client, whatsapp("2"))  # "No, I need help": the runner-up first, then the form
    offered = (await bot_messages(bot_client, conv))[-1].text
    assert offered.startswith(f"Maybe this one helps:\n{runner_up['title']}")
    assert "2. No, I need help" in offered
    assert (await state(bot_client, conv))["articles"] == [*first, runner_up["id"]]
    await send(bot_client, whatsapp("2"))  # no again, nothing else to offer: the form; BE-10234 is known
    assert "e-mail" in (await bot_messages(bot_client, conv))[-1].text
    assert (await state(bot_client, conv))["form"]["requested"] == "email"
    await send(bot_client, whatsapp("my email is secret"))  # not an address: asked again, one unclear turn
    assert "doesn't look like an e-mail" in (await bot_messages(bot_client, conv))[-2].text
    await send(bot_client, whatsapp("sam@example.co.za"))
    assert "what went wrong" in (await bot_messages(bot_client, conv))[-1].text
    with app[keys.BUS].capture() as events:
        await send(bot_client, whatsapp("The invoice shows the wrong company name"))
    [handoff] = [e for e in events if isinstance(e, BotHandoff)]
    assert handoff.reason == "ticket_collected"
    assert handoff.summary["ticket"] == {"email": "sam@example.co.za", "booking_ref": "BE-10234",
                                         "issue_summary": "The invoice shows the wrong company name"}
    assert "logged this for the team" in (await bot_messages(bot_client, conv))[-2].text
    ticket = await app[keys.CONVERSATIONS].get(conv)
    assert ticket.subject == "The invoice shows the wrong company name"
    assert {"bot-handoff", "bot-ticket"} <= set(ticket.tags) and "form" not in ticket.bot
    [note] = await bot_messages(bot_client, conv, private=True)
    assert "ticket_collected" in note.text and "sam@example.co.za" in note.text and "BE-10234" in note.text


async def test_the_bot_asks_once_for_a_booking_reference_then_answers_the_question_it_was_for(
        bot_client) -> None:
    def msg(text: str) -> InboundMessage:
        return whatsapp(text, phone="+27824445555")

    conv = await send(bot_client, msg("has the provider confirmed my booking yet?"))
    [ask] = await bot_messages(bot_client, conv)
    assert ask.text.startswith("What's the booking reference?")
    await send(bot_client, msg("it's BE-1234567"))
    noted, answer = (await bot_messages(bot_client, conv))[1:]
    assert noted.text == "Thanks, I've noted booking ref BE-1234567."
    assert answer.text.startswith("Checking your booking status") and "1. Yes, thanks" in answer.text
    s = await state(bot_client, conv)
    assert s["entities"]["booking_ref"] == "BE-1234567" and s["articles"] == ["kb-status"]
    assert "pending" not in s
    # a detail given after an answer goes back to that answer rather than "what would you like to know?"
    await send(bot_client, msg("my email is sizwe@example.co.za"))
    assert (await bot_messages(bot_client, conv))[-1].text == (
        "Thanks, I've noted email sizwe@example.co.za. Did the answer above help?\n"
        "1. Yes, thanks\n2. No, I need help")
    # asked once: a cancellation later in the conversation is answered straight away
    other = await send(bot_client, whatsapp("how do I cancel my booking?", phone="+27824446666"))
    assert (await bot_messages(bot_client, other))[-1].text.startswith("What's the booking reference?")
    await send(bot_client, whatsapp("none", phone="+27824446666"))  # none to give: the question answered
    assert (await bot_messages(bot_client, other))[-1].text.startswith("Cancelling a booking")
    await send(bot_client, whatsapp("and how do I check if my booking is confirmed?", phone="+27824446666"))
    assert (await bot_messages(bot_client, other))[-1].text.startswith("Checking your booking status")


def webchat(text: str, visitor: str) -> InboundMessage:
    return InboundMessage(channel=Channel.webchat, external_id=new_id(), text=text,
                          sender=SenderIdentity(kind=IdentityKind.chat, value=visitor))


async def _through_the_form(client: TestClient[Any, Any], msg: Any, email: str) -> str:
    conv = await send(client, msg("hi, has the provider confirmed my booking BE-10234 yet?"))
    for text in ("2", "2", email, "The invoice shows the wrong company name"):  # no, no: the form
        await send(client, msg(text))
    return conv


async def test_the_e_mail_the_web_chat_form_collects_is_where_the_answer_goes(bot_client) -> None:
    app = bot_client.server.app
    conv = await _through_the_form(bot_client, lambda t: webchat(t, "visitor-form-1"), "Lee@Example.co.za")
    said = (await bot_messages(bot_client, conv))[-2].text
    assert "logged this for the team" in said and "by e-mail at lee@example.co.za once you've left" in said
    contact_id = (await app[keys.CONVERSATIONS].get(conv)).contact_id
    # the same as the widget's "continue by e-mail": the chat adapter finds the address for replies
    chat = app[keys.EXTENSIONS]["channels"].registry.get(Channel.webchat)
    assert await chat.email_lookup(contact_id) == "lee@example.co.za"
    assert await app[keys.STORE].identities.find_one({"contact_id": contact_id, "kind": "email"})
    # an address that is another contact's: kept on this one for replies all the same
    conv = await _through_the_form(bot_client, lambda t: webchat(t, "visitor-form-2"), "lee@example.co.za")
    contact_id = (await app[keys.CONVERSATIONS].get(conv)).contact_id
    assert await chat.email_lookup(contact_id) == "lee@example.co.za"
    # WhatsApp answers on WhatsApp; the address is on the contact for the team all the same
    conv = await _through_the_form(bot_client, lambda t: whatsapp(t, phone="+27823334444"),
                                   "kim@example.co.za")
    assert "Someone will get back to you here; we've noted kim@example.co.za" in (
        await bot_messages(bot_client, conv))[-2].text
    contact_id = (await app[keys.CONVERSATIONS].get(conv)).contact_id
    assert await app[keys.STORE].identities.find_one({"contact_id": contact_id, "value": "kim@example.co.za"})


async def test_the_rasa_forms_e_mail_joins_the_contact_too(bot_client, monkeypatch) -> None:
    # Rasa's action server files its own ticket and hands off with ticket_collected; the address it
    # collected is the e-mail entity Rasa extracted from the customer's answer
    from bot.engine import OutMessage, Reply

    class RasaLike:
        name = "rasa"

        async def respond(self, turn: Any) -> Reply:
            return Reply(intent="inform", confidence=0.9, handoff="ticket_collected",
                         entities=[{"entity": "email", "value": "rasa.form@example.co.za"}],
                         messages=[OutMessage("Thanks, I've logged this for the team.")])

    async def engine() -> RasaLike:
        return RasaLike()

    app = bot_client.server.app
    monkeypatch.setattr(app[keys.EXTENSIONS]["bot"], "_engine", engine)
    conv = await send(bot_client, webchat("rasa.form@example.co.za", "visitor-rasa-1"))
    assert (await state(bot_client, conv))["handoff"]["reason"] == "ticket_collected"
    contact_id = (await app[keys.CONVERSATIONS].get(conv)).contact_id
    chat = app[keys.EXTENSIONS]["channels"].registry.get(Channel.webchat)
    assert await chat.email_lookup(contact_id) == "rasa.form@example.co.za"


async def test_bot_answers_first_then_routes_by_language_skill(bot_client, api) -> None:
    app = bot_client.server.app
    ticketing = app[keys.EXTENSIONS]["ticketing"]
    afrikaans, english = (
        (await api.user(Role.agent))["user"]["id"],
        (await api.user(Role.agent))["user"]["id"],
    )
    await ticketing.teams.create(Team(name="support", default=True, members=[
        Member(user_id=english, languages=["en"]), Member(user_id=afrikaans, languages=["af", "en"])]))
    for agent in (english, afrikaans):
        await ticketing.statuses.set(agent, Presence.online)
    # agents are online, yet the bot answers first: the ticket waits unassigned while it does
    conv = await send(bot_client, whatsapp("how long do refunds take?", phone="+27827770000"))
    assert len(await bot_messages(bot_client, conv)) == 1
    await send(bot_client, whatsapp("thanks", phone="+27827770000"))
    assert (await app[keys.CONVERSATIONS].get(conv)).assignee_id is None
    # an Afrikaans conversation is handed off and routed to the agent with that language skill
    af = await send(
        bot_client,
        whatsapp(
            "Goeie môre, ek wil asseblief weet wanneer my bespreking bevestig word", phone="+27827771111"
        ),
    )
    ticket = await app[keys.CONVERSATIONS].get(af)
    assert ticket.bot["handoff"]["reason"] == "language:af" and ticket.language == "af"
    assert ticket.assignee_id == afrikaans
    notice = (await bot_messages(bot_client, af))[-1].text  # told so in Afrikaans
    assert notice.startswith("Ek gee jou oor aan iemand in ons span")
    # an explicit request in English goes to whoever is next
    await send(bot_client, whatsapp("can I talk to a person please", phone="+27827770000"))
    assert (await app[keys.CONVERSATIONS].get(conv)).assignee_id in {english, afrikaans}


async def test_two_nodes_answer_each_turn_exactly_once(bot_client) -> None:
    app = bot_client.server.app
    node1 = app[keys.EXTENSIONS]["bot"]
    # a second hub node: its own BotService (own locks) on the same database
    node2 = BotService(app[keys.STORE], app[keys.BUS], app[keys.CONVERSATIONS], node1.settings, node1._engine)
    conv = ""
    for text in ("hello", "how do refunds work?"):
        node1.wants = lambda _: False  # the events are delivered to both nodes by hand below
        with app[keys.BUS].capture() as events:
            conv = await send(bot_client, whatsapp(text, phone="+27828880000"))
        [event] = [e for e in events if isinstance(e, MessageCreated) and e.message.text == text]
        del node1.wants
        # each node sees the event, some twice (a replay): one answer per turn
        await asyncio.gather(*(node.on_message(event) for node in (node1, node2, node1, node2, node2)))
    replies = await bot_messages(bot_client, conv)
    assert len(replies) == 2 and "Berry" in replies[0].text and "How refunds work" in replies[1].text
    assert (await state(bot_client, conv))["turns"] == 2
    assert await app[keys.STORE]["bot_turns"].count_documents({"conversation_id": conv}) == 2


async def test_agent_coming_online_does_not_take_a_conversation_the_bot_is_answering(bot_client, api) -> None:
    app = bot_client.server.app
    ticketing = app[keys.EXTENSIONS]["ticketing"]
    agent = (await api.user(Role.agent))["user"]["id"]
    await ticketing.teams.create(Team(name="support", default=True, members=[Member(user_id=agent)]))
    conv = await send(bot_client, whatsapp("how long do refunds take?", phone="+27829990000"))
    await ticketing.statuses.set(agent, Presence.online)  # drains the queue
    assert (await app[keys.CONVERSATIONS].get(conv)).assignee_id is None
    await send(bot_client, whatsapp("I want to talk to a person", phone="+27829990000"))
    assert (await app[keys.CONVERSATIONS].get(conv)).assignee_id == agent


class _Outage:
    """The store failing for the bot's next ``n`` writes of messages: what PyMongo raises when
    FerretDB goes away mid-request (AutoReconnect), injected at the one call the bot writes through."""

    def __init__(self, conversations: Any, n: int, after: int = 0) -> None:
        self.real, self.left, self.after = conversations.reply, n, after

    async def __call__(self, conversation_id: str, actor: Any, text: str, **kw: Any) -> Any:
        if kw.get("author_type") == AuthorType.bot and self.after > 0:
            self.after -= 1  # these writes go through first
        elif kw.get("author_type") == AuthorType.bot and self.left > 0:
            self.left -= 1
            raise AutoReconnect("connection refused")
        return await self.real(conversation_id, actor, text, **kw)


async def test_a_turn_dying_on_a_store_error_hands_off_and_routes_instead_of_holding(bot_client, api,
                                                                                    monkeypatch) -> None:
    app = bot_client.server.app
    service, ticketing = app[keys.EXTENSIONS]["bot"], app[keys.EXTENSIONS]["ticketing"]
    agent = (await api.user(Role.agent))["user"]["id"]
    await ticketing.teams.create(Team(name="support", default=True, members=[Member(user_id=agent)]))
    await ticketing.statuses.set(agent, Presence.online)
    # the answer fails, and so does the first attempt to tell the customer about the handoff
    monkeypatch.setattr(app[keys.CONVERSATIONS], "reply", _Outage(app[keys.CONVERSATIONS], 2))
    conv = await send(bot_client, whatsapp("how do refunds work?", phone="+27826660000"))
    fresh = await app[keys.CONVERSATIONS].get(conv)
    assert fresh.bot["handoff"]["reason"] == "bot_error" and not service.holds(fresh)
    assert fresh.assignee_id == agent and "bot-handoff" in fresh.tags
    [notice] = await bot_messages(bot_client, conv)
    assert "passing you to a person" in notice.text
    [summary] = await bot_messages(bot_client, conv, private=True)
    assert summary.meta["bot_summary"]["reason"] == "bot_error"


@pytest.mark.parametrize("after", [0, 1], ids=["notice-fails", "agent-note-fails"])
async def test_a_store_error_right_after_the_handoff_is_saved_still_tells_the_customer_once(
        bot_client, api, monkeypatch, after: int) -> None:
    """The handoff is saved (the bot lets go), then writing the customer's notice (or the agent's
    summary after it) fails: recovery finishes every step left, and repeats none that was done."""
    app = bot_client.server.app
    ticketing = app[keys.EXTENSIONS]["ticketing"]
    agent = (await api.user(Role.agent))["user"]["id"]
    await ticketing.teams.create(Team(name="support", default=True, members=[Member(user_id=agent)]))
    await ticketing.statuses.set(agent, Presence.online)
    monkeypatch.setattr(app[keys.CONVERSATIONS], "reply", _Outage(app[keys.CONVERSATIONS], 1, after=after))
    with app[keys.BUS].capture() as events:
        conv = await send(bot_client, whatsapp("I want to talk to a person", phone=f"+2782666{after}444"))
    fresh = await app[keys.CONVERSATIONS].get(conv)
    assert fresh.bot["handoff"]["reason"] == "explicit_request"
    assert fresh.assignee_id == agent and "bot-handoff" in fresh.tags
    [notice] = await bot_messages(bot_client, conv)
    assert "passing you to a person" in notice.text
    [summary] = await bot_messages(bot_client, conv, private=True)
    assert summary.meta["bot_summary"]["reason"] == "explicit_request"
    assert [e.reason for e in events if isinstance(e, BotHandoff)] == ["explicit_request"]
    assert not any(fresh.bot["handoff"]["todo"].values())


async def test_a_turn_that_cannot_start_on_a_store_error_hands_off(bot_client, monkeypatch) -> None:
    service = bot_client.server.app[keys.EXTENSIONS]["bot"]

    @contextlib.asynccontextmanager
    async def queue_down(*args: Any) -> Any:
        raise AutoReconnect("connection refused")
        yield  # pragma: no cover

    monkeypatch.setattr(service.turns, "turn", queue_down)
    conv = await send(bot_client, whatsapp("where is my booking?", phone="+27826661111"))
    assert (await state(bot_client, conv))["handoff"]["reason"] == "bot_error"
    assert "passing you to a person" in (await bot_messages(bot_client, conv))[-1].text


async def test_a_hung_turn_times_out_into_a_handoff(bot_client, monkeypatch) -> None:
    service = bot_client.server.app[keys.EXTENSIONS]["bot"]

    class Hung:
        name = "hung"

        async def respond(self, turn: Any) -> Any:
            await asyncio.Event().wait()

        async def close(self) -> None:
            return None

    async def hung() -> Hung:
        return Hung()

    monkeypatch.setattr(service, "_engine", hung)
    quick = service.settings.model_copy(update={"turn_timeout_s": 0.5, "ready_timeout_s": 1.0})
    monkeypatch.setattr(service, "settings", quick)
    conv = await send(bot_client, whatsapp("where is my booking?", phone="+27826662222"))
    assert (await state(bot_client, conv))["handoff"]["reason"] == "bot_error"


async def test_turns_of_one_conversation_on_two_nodes_run_one_at_a_time(bot_client) -> None:
    app = bot_client.server.app
    node1 = app[keys.EXTENSIONS]["bot"]
    node2 = BotService(app[keys.STORE], app[keys.BUS], app[keys.CONVERSATIONS], node1.settings, node1._engine)
    running, most = 0, 0

    class Slow:  # the real engine, slowed so that unserialized turns would overlap
        name = "slow"

        def __init__(self, engine: Any) -> None:
            self.engine = engine

        async def respond(self, turn: Any) -> Any:
            nonlocal running, most
            running += 1
            most = max(most, running)
            try:
                await asyncio.sleep(0.2)
                return await self.engine.respond(turn)
            finally:
                running -= 1

        async def close(self) -> None:
            return None

    real = node1._engine

    async def slow() -> Slow:
        return Slow(await real())

    node1._engine = node2._engine = slow
    node1.wants = lambda _: False  # deliver the events to the nodes by hand
    events = []
    for text in ("hello", "how do refunds work?"):
        with app[keys.BUS].capture() as captured:
            conv = await send(bot_client, whatsapp(text, phone="+27826663333"))
        events += [e for e in captured if isinstance(e, MessageCreated) and e.message.text == text]
    del node1.wants
    # each node gets one of the two messages at the same time
    await asyncio.gather(node1.on_message(events[1]), node2.on_message(events[0]))
    assert most == 1
    assert (await state(bot_client, conv))["turns"] == 2  # neither turn overwrote the other's state
    assert len(await bot_messages(bot_client, conv)) == 2


@pytest.mark.parametrize("word", ["stop", "start", "help"])
async def test_opt_out_keywords_are_never_answered(bot_client, word: str) -> None:
    """STOP/START/HELP are for the carrier and the hub's consent (the Twilio adapter marks them
    ``meta.keyword``): the bot said "Goodbye, and enjoy your event!" to a STOP and handed off."""
    msg = whatsapp(word.upper()).model_copy(update={"meta": {"keyword": word, "no_auto_reply": True}})
    conv = await send(bot_client, msg)
    assert await bot_messages(bot_client, conv) == []
    assert await bot_messages(bot_client, conv, private=True) == []
    assert not (await state(bot_client, conv)).get("handoff")
