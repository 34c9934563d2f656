"""The ``SearchBackend`` protocol: what the help center, the agent console and the bot search with.

Implementations: ``embedded`` (in-process keyword + vectors) and ``meilisearch``; one contract
test-suite (tests/integration/knowledge_base/test_search_contract.py) runs against each.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field


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


class SearchHit(BaseModel):
    id: str
    title: str
    summary: str = ""
    url: str = ""
    locale: str = "en"
    score: float = 0.0


class SearchQuery(BaseModel):
    text: str
    locale: str | None = None
    visibilities: list[str] = Field(default_factory=lambda: ["public"])
    category: str | None = None
    limit: int = 10


@runtime_checkable
class SearchBackend(Protocol):
    async def index(self, documents: list[SearchDocument]) -> None: ...

    async def delete(self, ids: list[str]) -> None: ...

    async def search(self, query: SearchQuery) -> list[SearchHit]: ...

    async def clear(self) -> None: ...
