"""The Rasa engine: the hub talks to a Rasa server over HTTP, never imports Rasa.

Per message: ``POST /model/parse`` (intent, confidence, entities for the handoff policy and the
agent's summary) then ``POST /webhooks/rest/webhook`` with ``sender`` = conversation id (Rasa keeps
the dialogue state per sender). Rasa's messages map to ``OutMessage``: ``text``, ``buttons``
(title/payload), ``custom`` (``{"handoff": true, "reason": …}`` → handoff, ``{"unclear": true}``
→ an unclear turn). A timeout, a connection error, a 5xx or an empty answer becomes a handoff.
Rasa keeps each sender's tracker (the dialogue, with the customer's words): ``forget`` empties it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.engine import Button, OutMessage, Reply, Turn, has_words

log = logging.getLogger(__name__)
MAX_TEXT = 2000  # Rasa gets the start of a very long message; the agent sees all of it


class RasaEngine:
    name = "rasa"

    def __init__(
        self, url: str, *, timeout: float = 8.0, session: aiohttp.ClientSession | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._own = session is None

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._own = True
        return self._session

    async def respond(self, turn: Turn) -> Reply:
        text = turn.text.strip()[:MAX_TEXT]
        if not has_words(text) and not text.startswith("/"):
            # nothing to classify (Rasa answers an empty message with nothing): ask again
            from bot import responses

            return Reply(messages=[OutMessage(responses.text("utter_default"))], intent="nlu_fallback",
                         unclear=True)
        try:
            http = await self._http()
            reply = Reply()
            if not text.startswith("/"):
                async with http.post(
                    f"{self.url}/model/parse", json={"text": text}, timeout=self.timeout
                ) as resp:
                    resp.raise_for_status()
                    parsed = await resp.json()
                reply.intent = (parsed.get("intent") or {}).get("name")
                reply.confidence = float((parsed.get("intent") or {}).get("confidence") or 0.0)
                reply.entities = [{k: e.get(k) for k in ("entity", "value", "start", "end")}
                                  for e in parsed.get("entities") or []]
            else:
                reply.intent, reply.confidence = text[1:].split("{")[0], 1.0
            body = {"sender": turn.conversation_id, "message": text,
                    "metadata": {"channel": turn.channel, "language": turn.language,
                                 "contact_type": turn.contact_type}}
            async with http.post(
                f"{self.url}/webhooks/rest/webhook", json=body, timeout=self.timeout
            ) as resp:
                resp.raise_for_status()
                answer = await resp.json()
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.warning(
                "rasa unavailable", extra={"conversation_id": turn.conversation_id, "error": repr(exc)}
            )
            return Reply(handoff="bot_error", intent=None)
        return _map(answer if isinstance(answer, list) else [], reply)

    async def forget(self, conversation_id: str) -> None:
        """Replace the sender's tracker in Rasa's tracker store with an empty one (Rasa's HTTP API,
        ``PUT /conversations/{id}/tracker/events``): it holds every message the customer wrote."""
        http = await self._http()
        async with http.put(f"{self.url}/conversations/{quote(conversation_id, safe='')}/tracker/events",
                            json=[], timeout=self.timeout) as resp:
            resp.raise_for_status()

    async def close(self) -> None:
        if self._own and self._session is not None:
            await self._session.close()


def _map(items: list[dict[str, Any]], reply: Reply) -> Reply:
    for item in items:
        if not isinstance(item, dict):
            continue
        custom = item.get("custom")
        if isinstance(custom, dict):
            if custom.get("handoff"):
                reply.handoff = str(custom.get("reason") or "rasa_handoff")
                continue
            if custom.get("unclear"):
                reply.unclear = True
                continue
            if isinstance(custom.get("articles"), list):
                reply.articles.extend(str(a) for a in custom["articles"])
                continue
        buttons = tuple(Button(str(b.get("title", "")), str(b.get("payload", "")))
                        for b in item.get("buttons") or [] if isinstance(b, dict))
        text = str(item.get("text") or "")
        if item.get("image"):
            text = f"{text}\n{item['image']}".strip()
        if text or buttons or custom:
            reply.messages.append(OutMessage(text, buttons, custom if isinstance(custom, dict) else None))
    if reply.intent == "nlu_fallback":
        reply.unclear = True
    return reply
