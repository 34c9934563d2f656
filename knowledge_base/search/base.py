"""The ``SearchBackend`` protocol: what the help center, the agent console and the bot search with.

Implementations: ``embedded`` (tantivy BM25 with typo tolerance + MiniLM vectors, fused) and
``meilisearch`` (hybrid search with user-provided vectors); one contract test-suite
(tests/integration/knowledge_base/test_search_contract.py) runs against each.

Errors: a backend that cannot answer raises ``SearchUnavailable`` (503); callers degrade (the
help center says search is down and still lists categories, the bot hands off).
"""

from __future__ import annotations

import hashlib
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from hub.errors import HubError

MAX_QUERY_CHARS = 500  # longer queries are cut here (a 5,000-character paste still gets an answer)
MAX_QUERY_TERMS = 32


class SearchUnavailable(HubError):
    status = 503
    title = "Search unavailable"


class SearchDocument(BaseModel):
    """One searchable article (or FAQ entry / video transcript) as the index sees it."""

    id: str
    title: str
    body: str = ""
    summary: str = ""
    url: str = ""
    locale: str = "en"
    visibility: str = "public"  # public | providers | internal
    category: str | None = None
    tags: list[str] = Field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """Content hash: the drift check compares the store's and the index's."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    @property
    def embed_text(self) -> str:
        """What the vector encodes: title and summary carry the meaning; the body's start adds context."""
        return f"{self.title}. {self.summary} {self.body[:600]}"


class SearchHit(BaseModel):
    id: str
    title: str
    summary: str = ""
    url: str = ""
    locale: str = "en"
    category: str | None = None
    score: float = 0.0


class SearchQuery(BaseModel):
    text: str
    locale: str | None = None
    visibilities: list[str] = Field(default_factory=lambda: ["public"])
    category: str | None = None
    limit: int = Field(10, ge=1, le=100)
    semantic: bool = Field(True, description="False: keyword-only (benchmarks compare both)")

    @property
    def clipped(self) -> str:
        return self.text[:MAX_QUERY_CHARS].strip()


@runtime_checkable
class SearchBackend(Protocol):
    async def index(self, documents: list[SearchDocument]) -> None:
        """Add or replace documents (same id = replace)."""

    async def delete(self, ids: list[str]) -> None: ...

    async def search(self, query: SearchQuery) -> list[SearchHit]: ...

    async def clear(self) -> None: ...

    async def fingerprints(self) -> dict[str, str]:
        """id → fingerprint of every indexed document (the drift check)."""
        ...
