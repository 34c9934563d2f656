"""Meilisearch-only behaviour (the shared contract is in test_search_contract.py): the index
settings the backend sends through the SDK, the filter syntax, and a server that is down."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge_base.search import SearchDocument, SearchQuery, SearchUnavailable
from knowledge_base.search.meili import MeilisearchBackend, filter_for


async def test_settings_vectors_and_hybrid_request(fake_meili: Any, encoder: Any) -> None:
    fake, url = fake_meili
    backend = MeilisearchBackend(url, "key", encoder)
    await backend.index([SearchDocument(id="a", title="Deposits", body="Pay 30% to confirm")])
    settings = fake.indexes["articles"]["settings"]
    assert settings["filterableAttributes"] == ["locale", "visibility", "category"]
    assert settings["searchableAttributes"][0] == "title"
    assert settings["typoTolerance"]["minWordSizeForTypos"] == {"oneTypo": 5, "twoTypos": 9}
    assert settings["embedders"]["default"] == {"source": "userProvided", "dimensions": 384}
    stored = fake.indexes["articles"]["docs"]["a"]
    assert len(stored["_vectors"]["default"]) == 384 and stored["fingerprint"]
    assert [h.id for h in await backend.search(SearchQuery(text="deposit"))] == ["a"]
    assert "POST /indexes/articles/search" in fake.requests
    await backend.close()


def test_filter_quotes_values() -> None:
    q = SearchQuery(text="x", locale="en", visibilities=["public", 'pro"viders'], category="pay ments")
    assert (
        filter_for(q)
        == 'visibility IN ["public", "pro\\"viders"] AND locale = "en" AND category = "pay ments"'
    )


async def test_server_down_is_search_unavailable(fake_meili: Any, encoder: Any) -> None:
    fake, url = fake_meili
    backend = MeilisearchBackend(url, "key", encoder)
    await backend.index([SearchDocument(id="a", title="Deposits")])
    fake.down = True
    with pytest.raises(SearchUnavailable):
        await backend.search(SearchQuery(text="deposit"))
    with pytest.raises(SearchUnavailable):
        await backend.index([SearchDocument(id="b", title="Refunds")])
    await backend.close()
    nowhere = MeilisearchBackend("http://127.0.0.1:9", None, encoder, timeout=1)
    with pytest.raises(SearchUnavailable):
        await nowhere.search(SearchQuery(text="deposit"))
    await nowhere.close()
