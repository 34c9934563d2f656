"""The embedded search backend (default): tantivy BM25 with typo tolerance and prefix matching,
fused with all-MiniLM-L6-v2 cosine similarity (``fusion.convex``, weight ``ALPHA`` tuned on
held-out questions). Queries of one or two words (search as you type, typos, prefixes: where
the vectors do not help) are keyword-only and skip the encoder; longer ones encode the query
(cached) while the keyword search runs. Persisted under
``<var_dir>/search``: the tantivy index, plus ``vectors.npy`` / ``meta.json`` for the vectors.

One process writes the directory (the web node with its inline worker, or one worker); several
hub nodes should use Meilisearch instead.

Typo tolerance follows Meilisearch's defaults: words of 5+ characters allow 1 typo, 9+ allow 2.
The last word of the query also matches as a prefix (search as you type).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import tantivy

from .base import MAX_QUERY_TERMS, SearchDocument, SearchHit, SearchQuery, SearchUnavailable
from .encoder import DIMENSIONS, Encoder, cosines
from .fusion import convex

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"[^\W_]+", re.UNICODE)
STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "my",
        "of",
        "on",
        "or",
        "the",
        "to",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "me",
        "we",
        "our",
    ]
)
CANDIDATES = 50
MIN_SIMILARITY = 0.35  # a vector hit below this is noise, not an answer
ALPHA = 0.4  # keyword share of the fused score: see BENCHMARKS.md (2-fold check over both question sets)
SEMANTIC_MIN_WORDS = 3  # shorter queries are keyword-only


def tokens(text: str) -> list[str]:
    return [t for t in TOKEN_RE.findall(text.lower()) if len(t) <= 40][:MAX_QUERY_TERMS]


def typo_budget(term: str) -> int:
    return 2 if len(term) >= 9 else 1 if len(term) >= 5 else 0


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", stored=True, tokenizer_name="raw")
    b.add_text_field("title", stored=True)
    b.add_text_field("summary", stored=True)
    b.add_text_field("body")
    b.add_text_field("tags")
    b.add_text_field("url", stored=True, index_option="basic")
    b.add_text_field("locale", stored=True, tokenizer_name="raw")
    b.add_text_field("visibility", tokenizer_name="raw")
    b.add_text_field("category", stored=True, tokenizer_name="raw")
    return b.build()


FIELD_BOOST = {"title": 3.0, "tags": 2.0, "summary": 1.5, "body": 1.0}


class EmbeddedBackend:
    def __init__(self, path: Path | str, encoder: Encoder, alpha: float = ALPHA) -> None:
        self.path = Path(path)
        self.encoder = encoder
        self.alpha = alpha
        self._lock = threading.Lock()  # one writer at a time; readers use snapshots
        self._schema = _schema()
        self._index: tantivy.Index | None = None
        self._ids: list[str] = []
        self._vectors = np.zeros((0, DIMENSIONS), dtype=np.float32)
        self._meta: dict[str, dict[str, Any]] = {}
        self._snapshot: tuple[list[str], np.ndarray, dict[str, Any]] | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def _open(self) -> tantivy.Index:
        if self._index is None:
            try:
                (self.path / "tantivy").mkdir(parents=True, exist_ok=True)
                self._index = tantivy.Index(self._schema, path=str(self.path / "tantivy"), reuse=True)
            except (OSError, ValueError) as exc:
                raise SearchUnavailable(f"search index at {self.path} cannot be opened: {exc}") from exc
            self._load_vectors()
        return self._index

    def _load_vectors(self) -> None:
        meta_file, vec_file = self.path / "meta.json", self.path / "vectors.npy"
        if meta_file.exists() and vec_file.exists():
            self._meta = json.loads(meta_file.read_text())
            self._ids = list(self._meta)
            self._vectors = np.load(vec_file)
            if self._vectors.shape[0] != len(self._ids):  # torn write: the tantivy index is the truth
                log.warning(
                    "vector file out of step with its metadata; vectors dropped",
                    extra={"path": str(self.path)},
                )
                self._meta, self._ids = {}, []
                self._vectors = np.zeros((0, DIMENSIONS), dtype=np.float32)

    def _set(self, ids: list[str], vectors: np.ndarray, meta: dict[str, dict[str, Any]]) -> None:
        # ids last: a reader that sees the new ids also sees the vectors and metadata that go with them
        self._vectors, self._meta = vectors, meta
        self._ids = ids

    def _save_vectors(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp_vec, tmp_meta = self.path / "vectors.tmp.npy", self.path / "meta.json.tmp"
        np.save(tmp_vec, self._vectors)
        tmp_meta.write_text(json.dumps(self._meta))
        os.replace(tmp_vec, self.path / "vectors.npy")
        os.replace(tmp_meta, self.path / "meta.json")

    # --- writes ---------------------------------------------------------------------------------

    async def index(self, documents: list[SearchDocument]) -> None:
        if not documents:
            return
        vectors = await self.encoder.encode([d.embed_text for d in documents])
        await asyncio.to_thread(self._index_sync, documents, vectors)

    def _index_sync(self, documents: list[SearchDocument], vectors: np.ndarray) -> None:
        with self._lock:
            index = self._open()
            writer = index.writer(heap_size=50_000_000, num_threads=1)
            for doc in documents:
                writer.delete_documents_by_term("id", doc.id)
                writer.add_document(
                    tantivy.Document(
                        id=doc.id,
                        title=doc.title,
                        summary=doc.summary,
                        body=doc.body,
                        tags=" ".join(doc.tags),
                        url=doc.url,
                        locale=doc.locale,
                        visibility=doc.visibility,
                        category=doc.category or "",
                    )
                )
            writer.commit()
            writer.wait_merging_threads()
            index.reload()
            new = {d.id for d in documents}
            keep = [i for i, doc_id in enumerate(self._ids) if doc_id not in new]
            ids = [self._ids[i] for i in keep] + [d.id for d in documents]
            meta = {self._ids[i]: self._meta[self._ids[i]] for i in keep}
            for d in documents:
                meta[d.id] = {
                    "locale": d.locale,
                    "visibility": d.visibility,
                    "category": d.category,
                    "fingerprint": d.fingerprint,
                }
            self._set(ids, np.vstack([self._vectors[keep], vectors]) if keep else vectors, meta)
            self._save_vectors()

    async def delete(self, ids: list[str]) -> None:
        if ids:
            await asyncio.to_thread(self._delete_sync, set(ids))

    def _delete_sync(self, ids: set[str]) -> None:
        with self._lock:
            index = self._open()
            writer = index.writer(heap_size=15_000_000, num_threads=1)
            for doc_id in ids:
                writer.delete_documents_by_term("id", doc_id)
            writer.commit()
            writer.wait_merging_threads()
            index.reload()
            keep = [i for i, doc_id in enumerate(self._ids) if doc_id not in ids]
            kept = [self._ids[i] for i in keep]
            self._set(kept, self._vectors[keep], {k: self._meta[k] for k in kept})
            self._save_vectors()

    async def clear(self) -> None:
        def clear_sync() -> None:
            with self._lock:
                index = self._open()
                writer = index.writer(heap_size=15_000_000, num_threads=1)
                writer.delete_all_documents()
                writer.commit()
                writer.wait_merging_threads()
                index.reload()
                self._set([], np.zeros((0, DIMENSIONS), dtype=np.float32), {})
                self._save_vectors()

        await asyncio.to_thread(clear_sync)

    async def fingerprints(self) -> dict[str, str]:
        await asyncio.to_thread(self._open)
        return {doc_id: m["fingerprint"] for doc_id, m in self._meta.items()}

    # --- search ---------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        text = query.clipped
        terms = tokens(text)
        if not terms:
            return []
        complete = text.endswith(" ")
        if not (query.semantic and len(terms) >= SEMANTIC_MIN_WORDS):
            return await asyncio.to_thread(self._search_sync, query, terms, complete, None)
        encoding = asyncio.ensure_future(self.encoder.encode_query(text))  # overlaps the keyword search
        try:
            keyword = await asyncio.to_thread(self._keyword_sync, query, terms, complete)
        except BaseException:
            encoding.cancel()
            raise
        vector = await encoding
        return await asyncio.to_thread(self._search_sync, query, terms, complete, vector, keyword)

    def _keyword_sync(
        self, query: SearchQuery, terms: list[str], complete: bool
    ) -> tuple[Any, list[tuple[str, float]], dict[str, Any]]:
        searcher = self._open().searcher()
        keyword_query = self._keyword_query(query, terms, prefix_last=not complete)
        found = searcher.search(keyword_query, limit=max(CANDIDATES, query.limit), count=False).hits
        stored: dict[str, Any] = {}
        ranked: list[tuple[str, float]] = []
        for score, address in found:
            doc = searcher.doc(address)
            doc_id = str(doc.get_first("id"))
            stored[doc_id] = doc
            ranked.append((doc_id, score))
        return searcher, ranked, stored

    def _search_sync(
        self,
        query: SearchQuery,
        terms: list[str],
        complete: bool,
        vector: np.ndarray | None,
        keyword: tuple[Any, list[tuple[str, float]], dict[str, Any]] | None = None,
    ) -> list[SearchHit]:
        searcher, ranked, stored = keyword or self._keyword_sync(query, terms, complete)
        if vector is None:
            fused = ranked[: query.limit]
        else:
            fused = convex(
                ranked, self._cosines(query, vector, [doc_id for doc_id, _ in ranked]), self.alpha
            )[: query.limit]
        missing = [doc_id for doc_id, _ in fused if doc_id not in stored]
        for doc_id in missing:
            found = searcher.search(
                tantivy.Query.term_query(self._schema, "id", doc_id), limit=1, count=False
            ).hits
            if found:
                stored[doc_id] = searcher.doc(found[0][1])
        hits = []
        for doc_id, score in fused:
            doc = stored.get(doc_id)
            if doc is None:  # in the vectors but not (yet/anymore) in tantivy
                continue
            hits.append(
                SearchHit(
                    id=doc_id,
                    title=doc.get_first("title") or "",
                    summary=doc.get_first("summary") or "",
                    url=doc.get_first("url") or "",
                    locale=doc.get_first("locale") or "",
                    category=doc.get_first("category") or None,
                    score=round(score, 6),
                )
            )
        return hits

    def _keyword_query(self, query: SearchQuery, terms: list[str], *, prefix_last: bool) -> tantivy.Query:
        schema, Q, occur = self._schema, tantivy.Query, tantivy.Occur
        should: list[tuple[Any, Any]] = []
        for i, term in enumerate(terms):
            last = i == len(terms) - 1
            for field, boost in FIELD_BOOST.items():
                should.append((occur.Should, Q.boost_query(Q.term_query(schema, field, term), boost)))
                if term in STOP:
                    continue
                budget = typo_budget(term)
                if budget:
                    fuzzy = Q.fuzzy_term_query(
                        schema, field, term, distance=budget, transposition_cost_one=True
                    )
                    should.append((occur.Should, Q.const_score_query(fuzzy, 0.4 * boost)))
                if (last and prefix_last) or len(term) >= 4:
                    prefix = Q.fuzzy_term_query(schema, field, term, distance=0, prefix=True)
                    should.append((occur.Should, Q.const_score_query(prefix, (0.6 if last else 0.3) * boost)))
        clauses: list[tuple[Any, Any]] = [(occur.Must, Q.boolean_query(should))]
        if query.locale:
            clauses.append(
                (occur.Must, Q.const_score_query(Q.term_query(schema, "locale", query.locale), 0.0))
            )
        clauses.append(
            (
                occur.Must,
                Q.const_score_query(
                    Q.term_set_query(schema, "visibility", list(query.visibilities) or ["public"]), 0.0
                ),
            )
        )
        if query.category:
            clauses.append(
                (occur.Must, Q.const_score_query(Q.term_query(schema, "category", query.category), 0.0))
            )
        return Q.boolean_query(clauses)

    def _columns(self) -> tuple[list[str], np.ndarray, dict[str, Any]]:
        """One consistent snapshot of ids, vectors and the filter columns (rebuilt after a write)."""
        snap = self._snapshot
        if snap is None or snap[0] is not self._ids:
            ids, vectors, meta = self._ids, self._vectors, self._meta
            if vectors.shape[0] != len(ids):  # caught mid-write: use the previous snapshot
                return snap or ([], vectors[:0], {})
            cols: dict[str, Any] = {
                key: np.array([meta[i][key] or "" for i in ids], dtype=object)
                for key in ("locale", "visibility", "category")
            }
            cols["_pos"] = {doc_id: i for i, doc_id in enumerate(ids)}
            snap = self._snapshot = (ids, vectors, cols)
        return snap

    def _cosines(self, query: SearchQuery, vector: np.ndarray, keyword_ids: list[str]) -> dict[str, float]:
        """Cosine of the keyword candidates and of the best semantic matches (≥ MIN_SIMILARITY)."""
        ids, matrix, cols = self._columns()
        if not ids:
            return {}
        mask = np.isin(cols["visibility"], list(query.visibilities))
        if query.locale:
            mask &= cols["locale"] == query.locale
        if query.category:
            mask &= cols["category"] == query.category
        sims = cosines(matrix, vector)
        out = {ids[i]: float(sims[i]) for i in (cols["_pos"].get(d) for d in keyword_ids) if i is not None}
        sims = np.where(mask & (sims >= MIN_SIMILARITY), sims, -1.0)
        n = min(CANDIDATES, len(ids))
        top = np.argpartition(-sims, n - 1)[:n]
        out.update({ids[i]: float(sims[i]) for i in top if sims[i] >= MIN_SIMILARITY})
        return out
