"""The SearchBackend contract: every backend (embedded, Meilisearch through its SDK) passes it."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge_base.search import SearchBackend, SearchDocument, SearchQuery

DOCS = [
    SearchDocument(
        id="refunds",
        title="How refunds work",
        summary="When and how you get your money back",
        body="If a provider cancels your booking you receive a full refund to your card "
        "within 5 working days.",
        url="/help/en/articles/refunds",
        category="payments",
        tags=["refund", "money"],
    ),
    SearchDocument(
        id="payouts",
        title="Provider payouts",
        summary="When Berry pays providers",
        body="Payouts are sent every Friday to the bank account in your provider profile.",
        url="/help/en/articles/payouts",
        visibility="providers",
        category="providers",
        tags=["payout"],
    ),
    SearchDocument(
        id="venue",
        title="Booking a venue",
        summary="Reserve a venue for your event",
        body="Pick a date, confirm the guest count and pay the deposit to reserve the venue.",
        url="/help/en/articles/venue",
        category="booking",
        tags=["booking"],
    ),
    SearchDocument(
        id="escalation",
        title="Escalation playbook",
        summary="Internal: when to escalate",
        body="Agents escalate disputes above R10,000 to the supervisor on duty.",
        url="/help/en/articles/escalation",
        visibility="internal",
        category="internal",
    ),
    SearchDocument(
        id="refunds-af",
        title="Hoe terugbetalings werk",
        summary="Wanneer jy jou geld terugkry",
        body="As 'n verskaffer jou bespreking kanselleer, kry jy jou geld binne 5 werksdae terug.",
        url="/help/af/articles/refunds",
        locale="af",
        category="payments",
    ),
]


async def ids(backend: Any, text: str, **kw: Any) -> list[str]:
    return [h.id for h in await backend.search(SearchQuery(text=text, **kw))]


async def test_is_a_search_backend(backend: Any) -> None:
    assert isinstance(backend, SearchBackend)


async def test_keyword_typo_prefix_and_meaning(backend: Any) -> None:
    await backend.index(DOCS)
    assert (await ids(backend, "refund", locale="en"))[0] == "refunds"
    assert (await ids(backend, "refnud", locale="en"))[0] == "refunds"  # one typo (transposition)
    assert (await ids(backend, "venu", locale="en"))[0] == "venue"  # prefix: search as you type
    assert (await ids(backend, "get my money back", locale="en"))[0] == "refunds"
    assert await ids(backend, "zxqv wvut", locale="en") == []  # nonsense: nothing, not noise
    hits = await backend.search(SearchQuery(text="refund", locale="en"))
    assert hits[0].title == "How refunds work" and hits[0].url == "/help/en/articles/refunds"
    assert hits[0].category == "payments" and hits[0].locale == "en"


async def test_visibility_and_locale_filters(backend: Any) -> None:
    await backend.index(DOCS)
    assert "payouts" not in await ids(backend, "payouts provider bank")
    assert "payouts" in await ids(backend, "payouts provider bank", visibilities=["public", "providers"])
    assert "escalation" not in await ids(backend, "escalate disputes", visibilities=["public", "providers"])
    assert "escalation" in await ids(
        backend, "escalate disputes", visibilities=["public", "providers", "internal"]
    )
    assert await ids(backend, "terugbetalings", locale="af") == ["refunds-af"]
    assert "refunds-af" not in await ids(backend, "terugbetalings", locale="en")
    assert set(await ids(backend, "refund", category="booking")) <= {"venue"}


async def test_replace_delete_clear_and_fingerprints(backend: Any) -> None:
    await backend.index(DOCS)
    prints = await backend.fingerprints()
    assert prints == {d.id: d.fingerprint for d in DOCS}
    changed = DOCS[2].model_copy(update={"title": "Booking a marquee", "body": "Tents for garden weddings."})
    await backend.index([changed])
    assert "venue" in await ids(backend, "marquee")
    assert (await backend.fingerprints())["venue"] == changed.fingerprint
    await backend.delete(["refunds", "no-such-id"])
    assert "refunds" not in await ids(backend, "refund", locale="en")
    assert len(await backend.fingerprints()) == len(DOCS) - 1
    await backend.clear()
    assert await backend.fingerprints() == {}
    assert await ids(backend, "venue") == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "!!! ???",
        "a" * 5000,
        "refund " * 1000,
        "<script>alert(1)</script>",
        'title:"x" OR (',
        "\x00\ud7ff",
    ],
)
async def test_hostile_and_oversized_queries_answer(backend: Any, text: str) -> None:
    await backend.index(DOCS)
    hits = await backend.search(SearchQuery(text=text, locale="en"))
    assert isinstance(hits, list) and len(hits) <= 10


async def test_limit_is_respected(backend: Any) -> None:
    docs = [SearchDocument(id=f"d{i}", title=f"Deposit rule {i}", body="deposit deposit") for i in range(15)]
    await backend.index(docs)
    assert len(await ids(backend, "deposit", limit=5)) == 5
