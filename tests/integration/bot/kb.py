"""A small real implementation of the knowledge base's SearchBackend protocol (keyword overlap over
a few Berry articles), so the bot's tests do not depend on the knowledge-base package's state."""

from __future__ import annotations

import re

from knowledge_base.search.base import SearchDocument, SearchHit, SearchQuery

_WORD = re.compile(r"[a-z0-9]+")
STOP = {
    "the",
    "a",
    "my",
    "i",
    "is",
    "to",
    "of",
    "and",
    "for",
    "how",
    "do",
    "can",
    "what",
    "where",
    "it",
    "on",
    "me",
    "please",
    "you",
    "your",
    "in",
    "with",
    "be",
    "will",
    "when",
    "want",
    "need",
    "get",
}

ARTICLES = [
    SearchDocument(
        id="kb-status",
        title="Checking your booking status",
        summary="Open My Bookings in the app: every booking shows Pending until the provider "
        "confirms, usually within 24 hours.",
        body="booking status confirmed pending confirmation provider accepted track",
        url="https://help.berry.example/booking-status",
    ),
    SearchDocument(
        id="kb-cancel",
        title="Cancelling a booking",
        summary="Cancel from My Bookings; more than 7 days before the event the deposit is refunded in full.",
        body="cancel cancellation policy fee call off",
        url="https://help.berry.example/cancel",
    ),
    SearchDocument(
        id="kb-refund",
        title="How refunds work",
        summary="Refunds go back to the card you paid with within 5 to 7 working days.",
        body="refund money back deposit refunded",
        url="https://help.berry.example/refunds",
    ),
    SearchDocument(
        id="kb-payout",
        title="Provider payouts",
        summary="Providers are paid 3 working days after the event, to the bank account in "
        "Settings > Payouts.",
        body="payout paid earnings bank provider money",
        url="https://help.berry.example/payouts",
    ),
    SearchDocument(
        id="kb-payment",
        title="When a payment fails",
        summary="Check that 3-D Secure is on for your card, or pay by instant EFT.",
        body="payment failed declined card eft error pay",
        url="https://help.berry.example/payments",
    ),
]


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOP}


class TinyKB:
    def __init__(self, documents: list[SearchDocument] | None = None) -> None:
        self.docs = {d.id: d for d in (documents if documents is not None else ARTICLES)}
        self.queries: list[SearchQuery] = []

    async def index(self, documents: list[SearchDocument]) -> None:
        self.docs.update({d.id: d for d in documents})

    async def delete(self, ids: list[str]) -> None:
        for i in ids:
            self.docs.pop(i, None)

    async def clear(self) -> None:
        self.docs.clear()

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        self.queries.append(query)
        words = _words(query.text)
        scored = []
        for doc in self.docs.values():
            if doc.visibility not in query.visibilities:  # as the real backends (the protocol's contract)
                continue
            overlap = len(words & _words(f"{doc.title} {doc.body} {doc.summary}"))
            if overlap:
                scored.append((overlap, doc))
        scored.sort(key=lambda pair: -pair[0])
        return [SearchHit(id=d.id, title=d.title, summary=d.summary, url=d.url, score=float(s))
                for s, d in scored[:query.limit]]
