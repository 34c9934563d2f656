"""The embedded engine: classify the intent, then answer from a template or the knowledge base.

No dialogue model: the few flows (answer → "did that help?" → yes/no; "no" → the ticket form, see
form.py; unclear → "is it about one of these?" → the chosen topic answered) are explicit here, and
the decision to hand off is the shared ``HandoffPolicy``'s.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from bot import responses
from bot.engine import Button, OutMessage, Reply, Turn, has_words
from bot.entities import extract

from . import form as ticket_form
from .classifier import FALLBACK, IntentClassifier, Parse

log = logging.getLogger(__name__)
TEMPLATES = {"greet": "utter_greet", "goodbye": "utter_goodbye", "thank_you": "utter_youre_welcome",
             "bot_challenge": "utter_iamabot", "affirm": "utter_glad", "out_of_scope": "utter_out_of_scope"}
NO_KB = frozenset({"request_human", "complaint", "deny", "inform", *TEMPLATES, FALLBACK})
YES_NO = (Button("Yes, thanks", "/affirm"), Button("No, I need help", "/deny"))
SUGGESTIONS = 2  # "did you mean…" topics offered for an unclear message, at most
SUGGEST_FLOOR = 0.1  # the least probability a topic needs to be offered
NEEDS_REF = frozenset({"booking_status", "reschedule_booking", "cancel_booking"})  # asked for once
ANSWERS_ASK = frozenset({"inform", "deny", FALLBACK})  # what a reply to "what's the reference?" is read as


class EmbeddedEngine:
    name = "embedded"

    def __init__(self, classifier: IntentClassifier, search: Any | None = None, *, kb_limit: int = 3,
                 min_score: float = 0.0) -> None:
        self.classifier = classifier
        self.search = search  # a knowledge_base SearchBackend (``.search(SearchQuery)``) or None
        self.kb_limit = kb_limit
        self.min_score = min_score
        self.background: asyncio.Task[None] | None = None  # a better classifier being trained (factory)
        self.stop_training = threading.Event()  # tells that training's thread to give up (close)

    async def respond(self, turn: Turn) -> Reply:
        text = turn.text.strip()
        if turn.state.get("form") and not _payload(text):
            return self._form_turn(turn.state["form"], text)
        parse: Parse | None = None
        if _payload(text):  # a button payload, e.g. /affirm
            intent, confidence = text[1:], 1.0
        elif not has_words(text):  # empty, emoji-only, digits: nothing to classify
            return Reply(
                messages=[OutMessage(responses.text("utter_default"))], intent=FALLBACK, unclear=True
            )
        else:
            parse = await asyncio.to_thread(self.classifier.parse, text[:1000])
            intent, confidence = parse.intent, parse.confidence
        entities = extract(text[:2000])
        reply = Reply(intent=intent, confidence=confidence, entities=entities)
        reply.state["unclear_text"] = None  # the message a "did you mean…" was about: one turn only
        reply.state["next_article"] = None  # the runner-up of the last answer: for the "No" right after it
        reply.state["pending"] = None  # a question waiting for its booking reference: one turn only
        known = {**turn.state.get("entities", {}), **{e["entity"]: e["value"] for e in entities}}
        pending = turn.state.get("pending")
        if pending and (intent in ANSWERS_ASK or _has(entities, "booking_ref") or _none(text)):
            # the reference asked for (or "none"): back to the question it was asked for
            if entities:
                reply.messages.append(OutMessage(_noted(entities, then="")))
            await self._answer(pending["query"], turn, reply)
        elif intent in NEEDS_REF and not known.get("booking_ref") and not turn.state.get("asked_ref"):
            reply.messages.append(OutMessage(responses.text("utter_ask_booking_ref")))
            reply.state.update(pending={"intent": intent, "query": _query(text, intent, turn)},
                               asked_ref=True)
        elif intent == "inform" and _asked_if_it_helped(turn.state):  # a detail after an answer: ask again
            reply.messages.append(OutMessage(_noted(entities, then="Did the answer above help?"), YES_NO))
            reply.state["next_article"] = turn.state.get("next_article")
        elif intent == FALLBACK:
            reply.unclear = True
            ask = _clarify(parse)
            reply.messages.append(ask)
            if ask.buttons:
                reply.state["unclear_text"] = text[:500]
        elif intent in TEMPLATES:
            reply.messages.append(OutMessage(responses.text(TEMPLATES[intent])))
        elif intent == "deny" and turn.state.get("next_article"):  # the answer did not help: the runner-up
            _offer(turn.state["next_article"], reply, "Maybe this one helps:\n")
        elif intent == "deny":  # nothing else to offer: collect what a ticket needs, as Rasa's form does
            self._apply(reply, ticket_form.start(known, turn.channel))
        elif intent == "inform":
            reply.messages.append(OutMessage(_noted(entities)))
        elif intent not in NO_KB:
            await self._answer(_query(text, intent, turn), turn, reply)
        return reply

    def _form_turn(self, form: dict[str, Any], text: str) -> Reply:
        entities = extract(text[:2000])
        reply = Reply(intent="inform", confidence=1.0, entities=entities)
        self._apply(reply, ticket_form.step(form, text[:2000]))
        return reply

    @staticmethod
    def _apply(reply: Reply, step: ticket_form.Step) -> None:
        reply.state["form"] = step.form
        reply.messages.extend(OutMessage(line) for line in step.say)
        reply.unclear = step.unclear
        if step.ticket is not None:
            reply.ticket = step.ticket
            reply.handoff = "ticket_collected"

    async def _answer(self, text: str, turn: Turn, reply: Reply) -> None:
        if self.search is None:
            reply.handoff = "no_answer"
            return
        from knowledge_base.search.base import SearchQuery

        locale = turn.language if turn.language and turn.language != "en" else None
        try:
            hits = await self.search.search(SearchQuery(text=text[:500], locale=locale, limit=self.kb_limit,
                                                        visibilities=turn.visibilities))
        except Exception:
            log.exception("knowledge-base search failed", extra={"conversation_id": turn.conversation_id})
            reply.handoff = "bot_error"
            return
        offered = set(turn.state.get("articles", []))
        hits = [h for h in hits if h.score >= self.min_score]
        fresh = [h for h in hits if h.id not in offered] or hits
        if not fresh:
            reply.handoff = "no_answer"
            return
        _offer(fresh[0].model_dump(include={"id", "title", "summary", "url"}), reply)
        if len(fresh) > 1:  # the right article is among the top two for 86 % of questions, 80 % on top
            reply.state["next_article"] = fresh[1].model_dump(include={"id", "title", "summary", "url"})

    async def forget(self, conversation_id: str) -> None:
        """Nothing to drop: the embedded engine's state lives on the conversation (``Reply.state``)."""

    async def close(self) -> None:
        """Stop a background training: its thread ends within one batch, so shutting down (which
        waits for the executor's threads) takes a second, not the rest of the training."""
        self.stop_training.set()
        if self.background is not None:
            await asyncio.wait({self.background}, timeout=30)
            self.background.cancel()  # no-op once it is done


def _offer(article: dict[str, Any], reply: Reply, intro: str = "") -> None:
    """An article as the answer: title, summary and link each on its own line (a title may end with
    "?": "…use?: Pay by card" read badly), then "Did that answer your question?" with Yes / No."""
    reply.articles.append(article["id"])
    text = "\n".join(part for part in (article["title"], article.get("summary"), article.get("url")) if part)
    reply.messages.append(OutMessage(f"{intro}{text}\n\nDid that answer your question?", YES_NO))


def _query(text: str, intent: str, turn: Turn) -> str:
    """The knowledge-base search for a question: what the customer wrote, named by its intent's topic
    ("… Getting a refund"): the right article on top for 80 % of held-out questions, 67 % for the
    words alone (bench/bot_answers.py). A topic button: the message it was offered for. Not for
    another language: the intent of a message the English data did not teach is a guess."""
    named = responses.topic(intent) or intent.replace("_", " ")
    if _payload(text):
        return " ".join(filter(None, [turn.state.get("unclear_text"), named]))
    return f"{text} {named}" if turn.language in (None, "en") else text


def _payload(text: str) -> bool:
    """A button payload such as ``/affirm`` (sent by a button or a numbered answer)."""
    return text.startswith("/") and text[1:].isidentifier()


def _clarify(parse: Parse | None) -> OutMessage:
    """An unclear message whose likeliest intent is a topic: that and the next likely topic as
    buttons, and a person last. Otherwise (the best guess is small talk or out of scope, or the text
    is nothing like the training data) ask to rephrase: offering topics to "who won the rugby"
    would be noise (bench/bot_clarify.py)."""
    if parse is None or parse.unseen or not responses.topic(parse.ranking[0][0]):
        return OutMessage(responses.text("utter_default"))
    likely = [intent for intent, p in parse.ranking
              if p >= SUGGEST_FLOOR and intent != "request_human" and responses.topic(intent)][:SUGGESTIONS]
    if not likely:
        return OutMessage(responses.text("utter_default"))
    return OutMessage(responses.text("utter_clarify"),
                      tuple(Button(str(responses.topic(i)), f"/{i}") for i in [*likely, "request_human"]))


def _noted(entities: list[dict[str, Any]], then: str = "What would you like to know?") -> str:
    parts = [f"{e['entity'].replace('_', ' ')} {e['value']}" for e in entities]
    got = f"Thanks, I've noted {', '.join(parts)}." if parts else "Thanks."
    return f"{got} {then}".strip()


def _has(entities: list[dict[str, Any]], name: str) -> bool:
    return any(e["entity"] == name for e in entities)


def _none(text: str) -> bool:
    """ "none", "I don't have one": no reference to give (the ticket form's words)."""
    return text.lower().strip().rstrip(".!") in ticket_form.NONE


def _asked_if_it_helped(state: dict[str, Any]) -> bool:
    """The bot's last message was an answer with "Did that answer your question?" (Yes / No)."""
    return any(b.get("payload") == "/deny" for b in state.get("buttons") or [])
