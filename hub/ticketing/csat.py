"""CSAT: after a ticket is resolved, one survey goes out on the ticket's own channel (through
``Conversations.reply`` → outbox); the customer's answer (``1``–``5``, ``4/5``, words, emoji) is parsed
and stored on ``conversation.csat``.

    resolved  → job ``ticketing.csat_send`` (keyed per resolve) → claim → reply (one survey per resolve)
    inbound message on a surveyed ticket, parsed as a score:
        within the window  → stored; a repeated answer replaces the score (history kept, ``repeated``)
        after the window   → kept as ``late_answers``, the score does not change
    a remark on the service while the survey is open ("the DJ was late but ok"), before or after
    the score, or with it ("4 - the DJ was late") → ``csat.comment`` (up to ``MAX_COMMENTS``)
    a bare score on a ticket reopened meanwhile (by a question), while the survey is open and no
    one has written to the customer since it → still the survey's answer
The inbox's ``ResolvedTicketPolicy`` asks ``survey_reply`` what a message is: an answer or a remark
never reopens the ticket; a question, a request or anything unclear does (a person looks at it).

A worker may die between the claim and the end of the send. The job then runs again; it finds the
claim, and if the claim is older than ``STALE_CLAIM`` (longer than a job lease: its holder is gone)
it looks for the survey by its idempotency key: found → it is recorded and its outbox job queued
again (keyed: never twice); not found → the next claim (``<key>:2``…) takes over and sends. A claim
younger than that means a send may be under way: the job fails and is retried with back-off.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from hub.models import (
    AuthorType,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    Status,
    bot_deflected,
)
from hub.outbox import JOB_KIND as OUTBOX_JOB
from hub.store import register

from .context import SYSTEM, Ctx
from .events import CsatReceived

log = logging.getLogger(__name__)
# answers later than that are not matched
# _id = "<conversation>:<resolved_at>": one survey per resolve
register("csat_sends", expire=("at", timedelta(days=90)))

SEND_JOB = "ticketing.csat_send"
SURVEY_TEXT = (
    "How did we do? Reply with a number from 1 (very poor) to 5 (excellent), or an emoji. Thank you!"
)
MAX_ANSWER_CHARS = 60
STALE_CLAIM = timedelta(minutes=3)  # > the job lease (60 s) + a slow send
MAX_TAKEOVERS = 5
MAX_HISTORY = 10
MAX_COMMENTS = 5  # remarks kept per survey; a longer exchange is a conversation (it reopens)
MAX_COMMENT_CHARS = 500  # a longer message is a message, not a remark on the service

WORDS = {
    "excellent": 5,
    "amazing": 5,
    "perfect": 5,
    "great": 5,
    "awesome": 5,
    "very good": 5,
    "outstanding": 5,
    "five": 5,
    "good": 4,
    "four": 4,
    "fine": 3,
    "ok": 3,
    "okay": 3,
    "average": 3,
    "three": 3,
    "meh": 3,
    "bad": 2,
    "poor": 2,
    "two": 2,
    "not good": 2,
    "terrible": 1,
    "awful": 1,
    "horrible": 1,
    "very bad": 1,
    "very poor": 1,
    "one": 1,
    "worst": 1,
}
EMOJI = {
    "😡": 1,
    "😠": 1,
    "🤬": 1,
    "😭": 1,
    "👎": 2,
    "😞": 2,
    "😢": 2,
    "🙁": 2,
    "☹": 2,
    "😕": 2,
    "😐": 3,
    "😑": 3,
    "🙂": 4,
    "👍": 4,
    "😊": 5,
    "😀": 5,
    "😃": 5,
    "😄": 5,
    "😁": 5,
    "😍": 5,
    "🤩": 5,
    "🥰": 5,
    "❤": 5,
    "💯": 5,
}
DIGIT = re.compile(r"^(?:rating|score|i give( (it|you))?)?[:\s]*([1-5])\s*(?:/\s*5|out of 5|stars?|⭐+)?$")
NOISE = re.compile(r"[\s.!,;\uFE0F\u200d]+")
# A question, a request or a problem still open: such a message reopens the ticket, remark or not.
ASKS = re.compile(
    r"\?|^\W*(?:how|when|where|why|what|which|who|is|are|do|does|did|can|could|would|will|may)\b"
    r"|\b(?:can|could|would|will)\s+(?:you|i|we|someone|somebody|u)\b"
    r"|\b(?:please|pls|plz|help|need|needs|want|refund|cancel|reschedule|invoice|urgent|asap|still|never"
    r"|yet)\b"
)
NOT_REMARKS = {"very", "not", "one", "two", "three", "four", "five"}
# Words that judge the service: a message with one of them (and no ASKS) is a remark on the survey.
REMARKS = frozenset(w for phrase in WORDS for w in phrase.split() if w not in NOT_REMARKS) | {
    "thanks", "thank", "thx", "cheers", "late", "slow", "quick", "quickly", "fast", "rude", "friendly",
    "helpful", "unhelpful", "professional", "unprofessional", "polite", "disappointed", "disappointing",
    "happy", "unhappy", "satisfied", "dissatisfied", "love", "loved", "lovely", "nice", "brilliant",
    "superb", "fantastic", "wonderful", "service", "experience", "overall", "smooth", "smoothly", "easy",
    "efficient", "patient", "kind", "pleased", "impressed", "recommend", "appreciated", "appreciate",
}


def parse_score(text: str | None) -> int | None:
    """A 1–5 score if the whole message is an answer, else None (a long message is a message)."""
    if not text:
        return None
    raw = text.strip().lower()
    if not raw or len(raw) > MAX_ANSWER_CHARS:
        return None
    cleaned = NOISE.sub(" ", raw).strip()
    if m := DIGIT.match(cleaned):
        return int(m.group(3))
    if cleaned in WORDS:
        return WORDS[cleaned]
    if cleaned.strip("⭐ ") == "" and "⭐" in cleaned:
        stars = cleaned.count("⭐")
        return stars if 1 <= stars <= 5 else None
    symbols = [c for c in cleaned if not c.isspace() and not ("\U0001f3fb" <= c <= "\U0001f3ff")]
    scores = {EMOJI.get(c) for c in symbols}
    if symbols and None not in scores and len(scores) == 1:
        return scores.pop()
    return None


def is_remark(text: str | None) -> bool:
    """Whether a message is clearly a remark on the service ("the DJ was late but ok"), not a new
    question: short, no question or request, and a word (or emoji) that judges. Unclear → False."""
    raw = (text or "").strip().lower()
    if not raw or len(raw) > MAX_COMMENT_CHARS or ASKS.search(raw):
        return False
    return bool(REMARKS.intersection(re.findall(r"[a-z]+", raw))) or any(c in EMOJI for c in raw)


_OUT_OF = r"\s*(?:/\s*5|out of 5|stars?|⭐+)"
LEADING = re.compile(
    rf"^(?:([1-5]){_OUT_OF}[\s\-–—,.:;!]*|([1-5])\s*[-–—,.:;!]+\s*)(\S.*)$", re.IGNORECASE | re.DOTALL
)
TRAILING = re.compile(rf"^(.*?\S)[\s\-–—,.:;!(]*\b([1-5]){_OUT_OF}\W*$", re.IGNORECASE | re.DOTALL)


def split_answer(text: str | None) -> tuple[int | None, str]:
    """A score and the remark sent with it ("4 - the DJ was late but ok", "loved it, 5/5"); a bare
    score has no remark. A score with anything but a remark is not an answer ("2 guests cancelled")."""
    if (score := parse_score(text)) is not None:
        return score, ""
    raw = (text or "").strip()
    if m := LEADING.match(raw):
        score, rest = int(m.group(1) or m.group(2)), m.group(3)
    elif m := TRAILING.match(raw):
        rest, score = m.group(1), int(m.group(2))
    else:
        return None, ""
    return (score, rest.strip()) if is_remark(rest) else (None, "")


def survey_reply(
    csat: dict[str, Any] | None, text: str | None, now: datetime, window: timedelta
) -> str | None:
    """What a customer's message on a surveyed, resolved ticket is to the survey: ``"score"`` (an
    answer, a late one too: it is kept), ``"comment"`` (a remark while the survey is open) or None
    (a message of its own)."""
    sent_at = (csat or {}).get("sent_at")
    if sent_at is None:
        return None
    if split_answer(text)[0] is not None:
        return "score"
    if now - sent_at <= window and len((csat or {}).get("comments", [])) < MAX_COMMENTS and is_remark(text):
        return "comment"
    return None


class CsatSendInFlight(Exception):
    """Another worker claimed this survey moments ago; the job is retried later."""


class Csat:
    def __init__(self, ctx: Ctx, window: timedelta, *, enabled: bool = True) -> None:
        self.ctx = ctx
        self.window = window
        self.enabled = enabled

    async def on_resolved(self, conversation: Conversation) -> None:
        if not self.enabled or conversation.resolved_at is None or conversation.merged_into:
            return
        if bot_deflected(conversation.bot, conversation.first_response_at):
            return  # the survey rates people's service, and no person served this customer
        if await self._only_machines_wrote(conversation.id):
            return  # a newsletter, an out-of-office, a no-reply sender: nobody to ask
        key = f"{conversation.id}:{conversation.resolved_at.isoformat()}"
        await self.ctx.jobs.enqueue(
            SEND_JOB,
            {"conversation_id": conversation.id, "resolved_at": conversation.resolved_at.isoformat()},
            key=f"csat:{key}",
        )

    async def _only_machines_wrote(self, conversation_id: str) -> bool:
        """Every customer message on the ticket was automatic (``meta.no_auto_reply``); a ticket an
        agent opened, with no customer message yet, is surveyed."""
        inbound = {"conversation_id": conversation_id, "direction": Direction.inbound.value}
        messages = self.ctx.store.messages
        if await messages.find_one({**inbound, "meta.no_auto_reply": {"$ne": True}}, {"_id": 1}):
            return False
        return await messages.find_one(inbound, {"_id": 1}) is not None

    async def send(self, payload: dict[str, Any]) -> bool:
        """The job handler: one survey per resolve, even if the job runs twice."""
        doc = await self.ctx.store.conversations.find_one({"_id": payload["conversation_id"]})
        if doc is None or doc["status"] != Status.resolved.value or doc.get("resolved_at") is None:
            return False  # reopened (or gone) before the survey left: nothing to ask
        resolved_at = doc["resolved_at"]
        if resolved_at.isoformat() != payload["resolved_at"]:
            return False  # a later resolve has its own job
        if (doc.get("csat") or {}).get("resolved_at") == resolved_at:
            return False  # this resolve's survey is recorded: a re-run job
        key = f"{doc['_id']}:{payload['resolved_at']}"
        for n in range(1, MAX_TAKEOVERS + 1):
            claim_id = key if n == 1 else f"{key}:{n}"
            if await self.ctx.store.claim("csat_sends", claim_id, {"at": self.ctx.clock.now()}):
                if n > 1 and (found := await self._find_survey(doc["_id"], key)):
                    await self._record(doc["_id"], resolved_at, found)
                    return False
                message = await self.ctx.conversations.reply(
                    doc["_id"],
                    SYSTEM,
                    SURVEY_TEXT,
                    author_type=AuthorType.system,
                    meta={"csat_survey": True, "idempotency_key": f"csat:{key}"},
                )
                await self._record(doc["_id"], resolved_at, message)
                return True
            held = await self.ctx.store["csat_sends"].find_one({"_id": claim_id})
            if held and self.ctx.clock.now() - held["at"] < STALE_CLAIM:
                raise CsatSendInFlight(f"survey {claim_id} is being sent; retry later")
            if found := await self._find_survey(doc["_id"], key):  # the holder died after sending
                await self._record(doc["_id"], resolved_at, found)
                return False
        log.error("csat: survey not sent after %d takeovers", MAX_TAKEOVERS, extra={"key": key})
        return False

    async def _find_survey(self, conversation_id: str, key: str) -> Message | None:
        """The survey a dead worker may have stored (rare path: a query by conversation)."""
        doc = await self.ctx.store.messages.find_one(
            {"conversation_id": conversation_id, "meta.idempotency_key": f"csat:{key}"}
        )
        if doc is None:
            return None
        message = Message.from_doc(doc)
        if not message.external_id and message.delivery_status == DeliveryStatus.queued:
            # It may never have reached the outbox: queue its first attempt (keyed, so never twice).
            await self.ctx.jobs.enqueue(
                OUTBOX_JOB, {"message_id": message.id, "attempt": 1}, key=f"outbox:{message.id}:1"
            )
        return message

    async def _record(self, conversation_id: str, resolved_at: datetime, message: Message) -> None:
        await self.ctx.store.conversations.update_one(
            {"_id": conversation_id},
            {
                "$set": {
                    "csat": {
                        "state": "sent",
                        "sent_at": self.ctx.clock.now(),
                        "resolved_at": resolved_at,
                        "survey_message_id": message.id,
                        "score": None,
                        "answers": [],
                        "late_answers": [],
                        "comment": None,
                        "comments": [],
                    }
                }
            },
        )

    async def on_inbound(self, message: Message, conversation: Conversation) -> int | None:
        """A customer message on a surveyed ticket: its score (when it is an answer), else None."""
        csat = conversation.csat or {}
        sent_at: datetime | None = csat.get("sent_at")
        if sent_at is None:
            return None
        now = self.ctx.clock.now()
        score = parse_score(message.text)
        if conversation.status != Status.resolved:
            # reopened by a question: a bare score still answers the open survey, unless someone wrote
            # to the customer since it (then "3" may answer them)
            if score is None or now - sent_at > self.window:
                return None
            if await self._written_since(conversation.id, csat):
                return None
            return await self._score(message, conversation, score, now)
        if survey_reply(csat, message.text, now, self.window) == "comment":
            await self._comment(message, conversation, (message.text or "").strip(), now)
            return None
        score, remark = split_answer(message.text)
        if score is None:
            return None
        if now - sent_at > self.window:
            answer = {"score": score, "message_id": message.id, "at": now}
            await self.ctx.store.conversations.update_one(
                {"_id": conversation.id},
                {"$set": {"csat.late_answers": [*csat.get("late_answers", []), answer][-MAX_HISTORY:]}},
            )
            await self.ctx.bus.publish(CsatReceived(conversation_id=conversation.id, score=score, late=True))
            return None
        await self._score(message, conversation, score, now)
        if remark and len(csat.get("comments", [])) < MAX_COMMENTS:
            await self._comment(message, conversation, remark, now)
        return score

    async def _score(self, message: Message, conversation: Conversation, score: int, now: datetime) -> int:
        csat = conversation.csat or {}
        answer = {"score": score, "message_id": message.id, "at": now}
        repeated = csat.get("score") is not None
        await self.ctx.store.conversations.update_one(
            {"_id": conversation.id},
            {
                "$set": {
                    "csat.score": score,
                    "csat.state": "answered",
                    "csat.answered_at": now,
                    "csat.answers": [*csat.get("answers", []), answer][-MAX_HISTORY:],
                }
            },
        )
        await self.ctx.bus.publish(
            CsatReceived(conversation_id=conversation.id, score=score, repeated=repeated)
        )
        return score

    async def _comment(self, message: Message, conversation: Conversation, text: str, now: datetime) -> None:
        """Keep a remark with the survey: ``comment`` is the remarks' text, one per line."""
        comments = [
            *(conversation.csat or {}).get("comments", []),
            {"text": text, "message_id": message.id, "at": now},
        ]
        await self.ctx.store.conversations.update_one(
            {"_id": conversation.id},
            {"$set": {"csat.comments": comments, "csat.comment": "\n".join(c["text"] for c in comments)}},
        )

    async def _written_since(self, conversation_id: str, csat: dict[str, Any]) -> bool:
        """Whether anyone (agent, bot, automation) wrote to the customer after the survey."""
        return bool(
            await self.ctx.store.messages.find_one(
                {
                    "conversation_id": conversation_id,
                    "direction": Direction.outbound.value,
                    "private": False,
                    "_id": {"$gt": csat.get("survey_message_id") or ""},  # ids sort by creation time
                },
                {"_id": 1},
            )
        )


__all__ = ["Csat", "SURVEY_TEXT", "is_remark", "parse_score", "split_answer", "survey_reply"]
