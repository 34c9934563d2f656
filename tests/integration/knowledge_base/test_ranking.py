"""Ranking on the bundled help-center articles (the embedded backend: keyword + MiniLM, fused)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.importer import read_folder
from knowledge_base.markdown import plain_text
from knowledge_base.search import Encoder, SearchDocument, SearchQuery
from knowledge_base.search.embedded import EmbeddedBackend
from knowledge_base.seed import CONTENT


def bundled_english() -> list[SearchDocument]:
    sources, errors = read_folder(CONTENT / "en")
    assert not errors, errors
    return [
        SearchDocument(
            id=s.data["slug"],
            title=s.data["title"],
            summary=s.data.get("summary", ""),
            body=plain_text(s.data["body"]),
            category=s.data.get("category"),
            tags=s.data.get("tags", []),
        )
        for s in sources
    ]


@pytest.fixture
async def bundled(encoder: Encoder, tmp_path: Path) -> EmbeddedBackend:
    backend = EmbeddedBackend(tmp_path / "search", encoder)
    await backend.index(bundled_english())
    return backend


# Known fault, not fixed (BENCHMARKS.md, 2026-11-27 session 15): both sides rank the cancellation
# article first — keyword ("how do I" matches its title "How do I cancel a booking?"; the query's
# "refund" misses the title's "refunds") and vector (its body's refund-of-deposit table). Every
# variant tried that fixes it lost MRR@10 on the tuning set. strict: a fix makes this XPASS → fail,
# so whoever fixes it removes the mark.
@pytest.mark.xfail(strict=True, reason="known ranking fault: cancellation article above the refund one")
async def test_a_refund_question_finds_the_refund_article_first(bundled: EmbeddedBackend) -> None:
    hits = await bundled.search(SearchQuery(text="how do I get a refund for my deposit?"))
    assert hits[0].id == "how-refunds-work", [h.id for h in hits[:3]]


async def test_the_refund_article_is_still_in_the_top_two(bundled: EmbeddedBackend) -> None:
    """What holds today (hybrid and keyword-only): the refund article is second, not lost."""
    for semantic in (True, False):
        hits = await bundled.search(
            SearchQuery(text="how do I get a refund for my deposit?", semantic=semantic)
        )
        assert "how-refunds-work" in [h.id for h in hits[:2]], [h.id for h in hits[:3]]
