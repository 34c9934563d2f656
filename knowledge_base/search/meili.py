"""The Meilisearch backend, through the async SDK (``meilisearch-python-sdk``).

Index settings: searchable title > tags > summary > body; filterable locale, visibility, category;
sortable updated order; typo tolerance on (1 typo from 5 letters, 2 from 9, as the embedded
backend). Vectors are user-provided (``embedders.default.source = userProvided``, 384 dimensions):
the hub encodes documents and queries with the same MiniLM model and asks for hybrid search.

SDK / HTTP errors are translated here, at the edge, into ``SearchUnavailable``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx2
from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.errors import MeilisearchError
from meilisearch_python_sdk.models.search import Hybrid
from meilisearch_python_sdk.models.settings import (
    MeilisearchSettings,
    MinWordSizeForTypos,
    TypoTolerance,
    UserProvidedEmbedder,
)

from .base import SearchDocument, SearchHit, SearchQuery, SearchUnavailable
from .embedded import tokens
from .encoder import DIMENSIONS, Encoder

ERRORS = (MeilisearchError, httpx2.HTTPError, OSError)  # the SDK speaks httpx2

log = logging.getLogger(__name__)

EMBEDDER = "default"
SEMANTIC_RATIO = 0.5
MIN_SCORE = 0.35  # like the embedded MIN_SIMILARITY: nearest neighbours of nonsense are not answers
SETTINGS = MeilisearchSettings(
    searchable_attributes=["title", "tags", "summary", "body"],
    filterable_attributes=["locale", "visibility", "category"],
    sortable_attributes=["title"],
    displayed_attributes=["id", "title", "summary", "url", "locale", "category", "fingerprint"],
    typo_tolerance=TypoTolerance(
        enabled=True, min_word_size_for_typos=MinWordSizeForTypos(one_typo=5, two_typos=9)
    ),
    embedders={EMBEDDER: UserProvidedEmbedder(dimensions=DIMENSIONS)},
)


def _quote(value: str) -> str:
    return json.dumps(value)  # Meilisearch filter strings take double-quoted, backslash-escaped values


def filter_for(query: SearchQuery) -> str:
    parts = [f"visibility IN [{', '.join(_quote(v) for v in query.visibilities or ['public'])}]"]
    if query.locale:
        parts.append(f"locale = {_quote(query.locale)}")
    if query.category:
        parts.append(f"category = {_quote(query.category)}")
    return " AND ".join(parts)


class MeilisearchBackend:
    def __init__(
        self,
        url: str,
        api_key: str | None,
        encoder: Encoder,
        *,
        index_uid: str = "articles",
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.encoder = encoder
        self.index_uid = index_uid
        self.timeout = timeout
        self._client: AsyncClient | None = None
        self._ready = False

    async def _index(self) -> Any:
        try:
            if self._client is None:
                self._client = AsyncClient(self.url, self.api_key, timeout=int(self.timeout))
            if not self._ready:
                index = await self._client.get_or_create_index(self.index_uid, primary_key="id")
                task = await index.update_settings(SETTINGS)
                await self._client.wait_for_task(task.task_uid, timeout_in_ms=int(self.timeout * 1000))
                self._ready = True
            return self._client.index(self.index_uid)
        except ERRORS as exc:
            raise SearchUnavailable(f"Meilisearch at {self.url}: {exc}") from exc

    async def _wait(self, task: Any) -> None:
        assert self._client is not None
        result = await self._client.wait_for_task(task.task_uid, timeout_in_ms=int(self.timeout * 1000))
        if result.status != "succeeded":
            raise SearchUnavailable(f"Meilisearch task {task.task_uid} {result.status}: {result.error}")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def index(self, documents: list[SearchDocument]) -> None:
        if not documents:
            return
        vectors = await self.encoder.encode([d.embed_text for d in documents])
        payload = [
            {**d.model_dump(), "fingerprint": d.fingerprint, "_vectors": {EMBEDDER: v.tolist()}}
            for d, v in zip(documents, vectors, strict=True)
        ]
        index = await self._index()
        try:
            await self._wait(await index.add_documents(payload, primary_key="id"))
        except ERRORS as exc:
            raise SearchUnavailable(f"Meilisearch: {exc}") from exc

    async def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        index = await self._index()
        try:
            await self._wait(await index.delete_documents(ids))
        except ERRORS as exc:
            raise SearchUnavailable(f"Meilisearch: {exc}") from exc

    async def clear(self) -> None:
        index = await self._index()
        try:
            await self._wait(await index.delete_all_documents())
        except ERRORS as exc:
            raise SearchUnavailable(f"Meilisearch: {exc}") from exc

    async def fingerprints(self) -> dict[str, str]:
        index = await self._index()
        out: dict[str, str] = {}
        offset = 0
        try:
            while True:
                page = await index.get_documents(offset=offset, limit=1000, fields=["id", "fingerprint"])
                out.update({d["id"]: d.get("fingerprint", "") for d in page.results})
                offset += len(page.results)
                if not page.results or offset >= page.total:
                    return out
        except ERRORS as exc:
            raise SearchUnavailable(f"Meilisearch: {exc}") from exc

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        text = query.clipped
        if not tokens(text):
            return []
        kwargs: dict[str, Any] = {}
        if query.semantic:
            kwargs["vector"] = (await self.encoder.encode_query(text)).tolist()
            kwargs["hybrid"] = Hybrid(semantic_ratio=SEMANTIC_RATIO, embedder=EMBEDDER)
        index = await self._index()
        try:
            result = await index.search(
                text,
                limit=query.limit,
                filter=filter_for(query),
                show_ranking_score=True,
                ranking_score_threshold=MIN_SCORE,
                **kwargs,
            )
        except ERRORS as exc:
            raise SearchUnavailable(f"Meilisearch: {exc}") from exc
        return [
            SearchHit(
                id=h["id"],
                title=h.get("title", ""),
                summary=h.get("summary", ""),
                url=h.get("url", ""),
                locale=h.get("locale", ""),
                category=h.get("category"),
                score=float(h.get("_rankingScore", 0.0)),
            )
            for h in result.hits
        ]
