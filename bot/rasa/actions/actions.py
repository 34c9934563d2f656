"""Answer from the knowledge base, open/update the ticket, hand off to a person.

The conversation id is Rasa's sender id (the hub's Rasa engine sends it), so every action knows
which ticket it works on. A handoff is a ``custom`` payload ``{"handoff": true, "reason": …}``
that the hub's Rasa engine turns into the hub's handoff; an unclear turn says ``{"unclear": true}``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .hub_api import HubApi, HubError

log = logging.getLogger(__name__)
# Booking references: BE- and 5 to 10 digits, as the hub's bot/entities.py and data/regex.yml.
BOOKING_REF = re.compile(r"^BE[-\s]?\d{5,10}$", re.IGNORECASE)
REF_IN_TEXT = re.compile(r"\bBE[-\s]?\d{5,10}\b", re.IGNORECASE)
NONE = {"none", "no", "n/a", "-"}
# Asked for their booking reference once per conversation, as the embedded engine (NEEDS_REF).
NEEDS_REF = frozenset({"booking_status", "reschedule_booking", "cancel_booking"})
# A reply (the rule's intents) to a stale "what's the reference?": what it would have done without the ask.
NOT_A_REF = {"inform": "action_answer_from_kb", "deny": "action_next_article",
             "nlu_fallback": "action_unclear"}
EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
# Intent → ticket tag, so agents can filter what the bot collected.
TAGS = {"refund_request": "refund", "payment_failed": "payment", "provider_payout": "payout",
        "cancel_booking": "cancellation", "reschedule_booking": "reschedule", "complaint": "complaint"}
SUGGESTIONS = 2  # "did you mean…" topics offered for an unclear message, at most (as the embedded engine)
SUGGEST_FLOOR = 0.1  # the least confidence a topic needs to be offered


def _hub() -> HubApi:
    return HubApi()


class ActionAnswerFromKb(Action):
    """A question answered from the knowledge base. Booking status, rescheduling and cancelling with
    no reference known ask for it first, once per conversation (``pending_question``); the reference
    given next brings the question back (here, or ``action_answer_pending`` for the other replies)."""

    def name(self) -> str:
        return "action_answer_from_kb"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        pending = _pending(tracker)
        if pending and _ref_given(tracker):  # the reference asked for, read as another booking question
            return _answer_pending(dispatcher, tracker, pending)
        known = tracker.get_slot("booking_ref") or tracker.get_slot("asked_booking_ref")
        if intent in NEEDS_REF and not known:
            dispatcher.utter_message(response="utter_ask_booking_ref")
            return [SlotSet("pending_question", {"intent": intent, "query": _query(tracker, domain)}),
                    SlotSet("asked_booking_ref", True), SlotSet("awaiting_booking_ref", True),
                    SlotSet("next_article", None), SlotSet("has_next_article", False)]
        return _answer(dispatcher, tracker, _query(tracker, domain))


class ActionAnswerPending(Action):
    """The reply to "what's the booking reference?" (a reference, "none", anything that is not a new
    question): the question it was asked for, answered. A stale ask (the customer said something else
    in between) does what the reply would have done without it."""

    def name(self) -> str:
        return "action_answer_pending"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        pending = _pending(tracker)
        if pending:
            return _answer_pending(dispatcher, tracker, pending)
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        return [*_done_waiting(), FollowupAction(NOT_A_REF.get(intent, "action_answer_from_kb"))]


def _pending(tracker: Tracker) -> dict[str, Any] | None:
    """The question waiting for its reference, when the bot asked for it right before this message."""
    pending = tracker.get_slot("pending_question")
    events = list(tracker.events)
    said = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if not pending or len(said) < 2:
        return None
    asked = any(e.get("event") == "slot" and e.get("name") == "awaiting_booking_ref" and e.get("value")
                for e in events[said[-2]:said[-1]])
    return pending if asked else None


def _ref_given(tracker: Tracker) -> bool:
    text = (tracker.latest_message.get("text") or "").strip()
    return bool(REF_IN_TEXT.search(text)) or text.lower() in NONE


def _answer_pending(dispatcher: CollectingDispatcher, tracker: Tracker,
                    pending: dict[str, Any]) -> list[dict]:
    refs = [_ref(m) for m in REF_IN_TEXT.findall(tracker.latest_message.get("text") or "")]
    noted = [SlotSet("booking_ref", refs[0])] if refs else []
    if refs:
        dispatcher.utter_message(text=f"Thanks, I've noted booking ref {refs[0]}.")
    return [*noted, *_answer(dispatcher, tracker, pending["query"])]


def _ref(text: str) -> str:
    """As the customer typed it ("be 1234567") to how agents read it ("BE-1234567")."""
    return "BE-" + re.sub(r"\D", "", text)


def _done_waiting() -> list[dict]:
    return [SlotSet("pending_question", None), SlotSet("awaiting_booking_ref", False)]


def _answer(dispatcher: CollectingDispatcher, tracker: Tracker, query: str) -> list[dict]:
    """The knowledge base's best article for ``query`` and "Did that answer…", its runner-up kept
    for a "No"; a question waiting for its reference is dropped (one turn only)."""
    try:
        # the hub's engine sends the contact's type with each message: providers get their articles too
        audience = (tracker.latest_message.get("metadata") or {}).get("contact_type") or "consumer"
        hits = _hub().search(query, limit=3, audience="provider" if audience == "provider" else "consumer")
    except HubError as exc:
        log.warning("kb search failed: %s", exc)
        dispatcher.utter_message(json_message={"handoff": True, "reason": "bot_error", "detail": str(exc)})
        return _done_waiting()
    if not hits:
        dispatcher.utter_message(text="I couldn't find an article about that. Did you want me to log it "
                                      "for the team?", buttons=_yes_no())
        return [*_done_waiting(), SlotSet("articles_offered", tracker.get_slot("articles_offered") or [])]
    runner_up = {k: hits[1].get(k) for k in ("id", "title", "summary", "url")} if len(hits) > 1 else None
    return [*_done_waiting(), *_offer(dispatcher, tracker, hits[0]), SlotSet("next_article", runner_up),
            SlotSet("has_next_article", runner_up is not None)]


class ActionNextArticle(Action):
    """"No" right after an answer: the search's runner-up (right among the top two for 86 % of
    questions, on top for 80 %: bench/bot_answers.py), as the embedded engine; the next "No" opens
    the ticket form."""

    def name(self) -> str:
        return "action_next_article"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        article = tracker.get_slot("next_article")
        if not article or not _answered_last(tracker):  # none, or a stale one: the form, as any other "No"
            return [SlotSet("next_article", None), SlotSet("has_next_article", False),
                    FollowupAction("ticket_form")]
        offered = _offer(dispatcher, tracker, article, "Maybe this one helps:\n")
        return [*offered, SlotSet("next_article", None), SlotSet("has_next_article", False)]


def _answered_last(tracker: Tracker) -> bool:
    """The bot's last action before the latest message was an answer from the knowledge base: the
    runner-up slot outlives the turns in between ("thanks", another question the bot could not
    answer), and a "No" to those is not about that answer."""
    events = list(tracker.events)
    latest = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=0)
    for event in reversed(events[:latest]):
        if event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name") == "action_answer_from_kb"
    return False


def _offer(dispatcher: CollectingDispatcher, tracker: Tracker, article: dict[str, Any],
           intro: str = "") -> list[dict]:
    """An article as the answer (title, summary, link, each on its own line) and "Did that answer…"."""
    text = "\n".join(part for part in (article["title"], article.get("summary"), article.get("url")) if part)
    dispatcher.utter_message(text=f"{intro}{text}\n\nDid that answer your question?", buttons=_yes_no())
    dispatcher.utter_message(json_message={"articles": [article["id"]]})
    return [SlotSet("articles_offered", list(tracker.get_slot("articles_offered") or []) + [article["id"]])]


def _query(tracker: Tracker, domain: dict[str, Any]) -> str:
    """What to search for, as the hub's embedded engine: the message named by its intent's topic
    ("… Getting a refund"; English only). A topic button (``/cancel_booking``, offered by
    ``action_unclear``): the message it was offered for, named as the customer chose."""
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):
        intent = text[1:].split("{")[0]
        said = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
        text = said[-2] if len(said) > 1 and not said[-2].startswith("/") else ""
    else:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        if (tracker.latest_message.get("metadata") or {}).get("language") not in (None, "en"):
            return text
    return f"{text} {_topic(domain, intent) or intent.replace('_', ' ')}".strip()


def _topic(domain: dict[str, Any], intent: str) -> str | None:
    """The hub's embedded engine reads the same responses (bot/responses.py ``topic``)."""
    variants = (domain.get("responses") or {}).get(f"utter_topic_{intent}") or []
    return variants[0].get("text") if variants else None


def _yes_no() -> list[dict[str, str]]:
    return [{"title": "Yes, thanks", "payload": "/affirm"}, {"title": "No, I need help", "payload": "/deny"}]


class ValidateTicketForm(FormValidationAction):
    def name(self) -> str:
        return "validate_ticket_form"

    def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> dict[str, Any]:
        text = str(value or tracker.latest_message.get("text") or "").strip()
        if EMAIL.match(text):
            return {"email": text}
        dispatcher.utter_message(text="That doesn't look like an e-mail address (like name@example.co.za).")
        return {"email": None}

    def validate_booking_ref(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict[str, Any]) -> dict[str, Any]:
        text = str(value or "").strip().upper()
        if BOOKING_REF.match(text):
            return {"booking_ref": _ref(text)}
        if (tracker.latest_message.get("text") or "").strip().lower() in NONE:
            return {"booking_ref": "none"}
        dispatcher.utter_message(text="Booking references look like BE-12345.")
        return {"booking_ref": None}

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> list[str]:
        return domain_slots

    async def extract_booking_ref(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: dict[str, Any]) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") == "booking_ref":
            text = (tracker.latest_message.get("text") or "").strip()
            if text.lower() in NONE:
                return {"booking_ref": "none"}
        return {}


class ActionOpenTicket(Action):
    def name(self) -> str:
        return "action_open_ticket"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        intents = [e.get("parse_data", {}).get("intent", {}).get("name") for e in tracker.events
                   if e.get("event") == "user"]
        tags = sorted({TAGS[i] for i in intents if i in TAGS} | {"bot-ticket"})
        summary = (tracker.get_slot("issue_summary") or "").strip()[:200]
        ref, email = tracker.get_slot("booking_ref"), tracker.get_slot("email")
        try:
            hub = _hub()
            tags = sorted(set(tags) | set(hub.ticket(tracker.sender_id).get("tags") or []))
            hub.update_ticket(tracker.sender_id, {"subject": summary or "Logged by the bot", "tags": tags})
            hub.note(tracker.sender_id, f"Bot ticket: {summary}\nBooking: {ref}\nE-mail: {email}")
        except HubError as exc:
            log.warning("ticket update failed: %s", exc)
            dispatcher.utter_message(json_message={"handoff": True, "reason": "bot_error",
                                                   "detail": str(exc)})
            return []
        dispatcher.utter_message(text="Thanks, I've logged this for the team. Someone will get back to you "
                                      f"at {email}.")
        dispatcher.utter_message(json_message={"handoff": True, "reason": "ticket_collected"})
        return [SlotSet("issue_summary", None)]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        reason = "explicit_request" if intent == "request_human" else f"human_only_intent:{intent}"
        dispatcher.utter_message(json_message={"handoff": True, "reason": reason})
        return []


class ActionUnclear(Action):
    def name(self) -> str:
        return "action_unclear"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        """As the embedded engine: when the likeliest intent is a topic, it and the next likely topic
        as "did you mean…" buttons and a person last; otherwise ask to rephrase."""
        ranking = [r for r in tracker.latest_message.get("intent_ranking") or []
                   if r.get("name") != "nlu_fallback"]
        likely = [r["name"] for r in ranking if r["name"] != "request_human"
                  and (r.get("confidence") or 0) >= SUGGEST_FLOOR and _topic(domain, r["name"])][:SUGGESTIONS]
        if ranking and _topic(domain, ranking[0]["name"]) and likely:
            dispatcher.utter_message(response="utter_clarify", buttons=[
                {"title": _topic(domain, i), "payload": f"/{i}"} for i in [*likely, "request_human"]])
        else:
            dispatcher.utter_message(response="utter_default")
        dispatcher.utter_message(json_message={"unclear": True})
        return []
