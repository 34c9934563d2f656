"""A local stand-in for the Meilisearch HTTP API (tests only; Meilisearch cannot be installed here).

It implements the documented endpoints ``MeilisearchBackend`` calls through the real SDK, with
Meilisearch's wire format: tasks (enqueued → succeeded, polled on ``GET /tasks/{uid}``), index
creation, settings, documents add/replace/delete/fetch, and ``POST /indexes/{uid}/search`` with
``filter`` (``attr = "v"``, ``attr IN [...]``, ``AND``), typo tolerance (``minWordSizeForTypos``),
prefix search on the last word, ``hybrid`` + user-provided ``vector`` (cosine), ``_rankingScore``
and ``rankingScoreThreshold``. Ranking is simpler than the real engine; the contract tests only
assert what the documentation promises. ``down = True`` makes every call fail with 503.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _lev(a: str, b: str, limit: int) -> int:
    """Damerau (optimal string alignment) distance: Meilisearch counts a swap of two letters as one typo."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {
            "message": message,
            "code": code,
            "type": "invalid_request",
            "link": f"https://docs.meilisearch.com/errors#{code}",
        },
        status=status,
    )


class FakeMeilisearch:
    def __init__(self) -> None:
        self.indexes: dict[str, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.down = False
        self.app = web.Application(middlewares=[self._log])
        r = self.app.router
        r.add_get("/health", self.health)
        r.add_get("/tasks/{task}", self.get_task)
        r.add_post("/indexes", self.create_index)
        r.add_get("/indexes/{uid}", self.get_index)
        r.add_patch("/indexes/{uid}/settings", self.update_settings)
        r.add_get("/indexes/{uid}/settings", self.get_settings)
        r.add_post("/indexes/{uid}/documents", self.add_documents)
        r.add_put("/indexes/{uid}/documents", self.add_documents)
        r.add_get("/indexes/{uid}/documents", self.get_documents)
        r.add_post("/indexes/{uid}/documents/fetch", self.get_documents)
        r.add_post("/indexes/{uid}/documents/delete-batch", self.delete_batch)
        r.add_delete("/indexes/{uid}/documents", self.delete_all)
        r.add_post("/indexes/{uid}/search", self.search)

    @web.middleware
    async def _log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        if self.down:
            return _error(503, "internal", "the fake is down")
        return await handler(request)

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "available"})

    def _task(self, uid: str | None, kind: str, details: dict[str, Any] | None = None) -> web.Response:
        n = len(self.tasks)
        now = _now()
        self.tasks[n] = {
            "uid": n,
            "indexUid": uid,
            "status": "succeeded",
            "type": kind,
            "details": details or {},
            "error": None,
            "duration": "PT0S",
            "enqueuedAt": now,
            "startedAt": now,
            "finishedAt": now,
        }
        return web.json_response(
            {"taskUid": n, "indexUid": uid, "status": "enqueued", "type": kind, "enqueuedAt": now}, status=202
        )

    def _idx(self, request: web.Request) -> dict[str, Any]:
        uid = request.match_info["uid"]
        if uid not in self.indexes:
            raise web.HTTPNotFound(
                text=json.dumps(
                    {
                        "message": f"Index `{uid}` not found.",
                        "code": "index_not_found",
                        "type": "invalid_request",
                        "link": "",
                    }
                ),
                content_type="application/json",
            )
        return self.indexes[uid]

    async def get_task(self, request: web.Request) -> web.Response:
        task = self.tasks.get(int(request.match_info["task"]))
        return web.json_response(task) if task else _error(404, "task_not_found", "no such task")

    async def create_index(self, request: web.Request) -> web.Response:
        body = await request.json()
        uid = body["uid"]
        if uid not in self.indexes:
            self.indexes[uid] = {
                "uid": uid,
                "primaryKey": body.get("primaryKey"),
                "docs": {},
                "settings": {},
                "createdAt": _now(),
                "updatedAt": _now(),
            }
        return self._task(uid, "indexCreation")

    async def get_index(self, request: web.Request) -> web.Response:
        idx = self._idx(request)
        return web.json_response({k: idx[k] for k in ("uid", "primaryKey", "createdAt", "updatedAt")})

    async def update_settings(self, request: web.Request) -> web.Response:
        idx = self._idx(request)
        idx["settings"].update(await request.json())
        return self._task(idx["uid"], "settingsUpdate")

    async def get_settings(self, request: web.Request) -> web.Response:
        return web.json_response(self._idx(request)["settings"])

    async def add_documents(self, request: web.Request) -> web.Response:
        idx = self._idx(request)
        key = request.query.get("primaryKey") or idx["primaryKey"] or "id"
        docs = await request.json()
        for doc in docs:
            idx["docs"][str(doc[key])] = doc
        return self._task(idx["uid"], "documentAdditionOrUpdate", {"receivedDocuments": len(docs)})

    async def get_documents(self, request: web.Request) -> web.Response:
        idx = self._idx(request)
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            params.update(await request.json())
        fields = params.get("fields")
        if isinstance(fields, str):
            fields = fields.split(",")
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 20))
        docs = list(idx["docs"].values())
        page = [self._shown(idx, d, fields) for d in docs[offset : offset + limit]]
        return web.json_response({"results": page, "offset": offset, "limit": limit, "total": len(docs)})

    async def delete_batch(self, request: web.Request) -> web.Response:
        idx = self._idx(request)
        for doc_id in await request.json():
            idx["docs"].pop(str(doc_id), None)
        return self._task(idx["uid"], "documentDeletion")

    async def delete_all(self, request: web.Request) -> web.Response:
        idx = self._idx(request)
        idx["docs"].clear()
        return self._task(idx["uid"], "documentDeletion")

    def _shown(
        self, idx: dict[str, Any], doc: dict[str, Any], fields: list[str] | None = None
    ) -> dict[str, Any]:
        displayed = fields or idx["settings"].get("displayedAttributes") or ["*"]
        return {k: v for k, v in doc.items() if k != "_vectors" and ("*" in displayed or k in displayed)}

    async def search(self, request: web.Request) -> web.Response:
        idx = self._idx(request)
        body = await request.json()
        settings = idx["settings"]
        words = WORD.findall((body.get("q") or "").lower())
        keep = _parse_filter(body.get("filter"))
        typo = (settings.get("typoTolerance") or {}).get("minWordSizeForTypos") or {}
        one, two = typo.get("oneTypo", 5), typo.get("twoTypos", 9)
        attrs = settings.get("searchableAttributes") or ["*"]
        hybrid = body.get("hybrid")
        ratio = float(hybrid["semanticRatio"]) if hybrid else 0.0
        vector = body.get("vector")
        scored = []
        for doc in idx["docs"].values():
            if not keep(doc):
                continue
            kw = _keyword_score(doc, words, attrs, one, two)
            sem = 0.0
            if hybrid and vector:
                doc_vec = (doc.get("_vectors") or {}).get(hybrid["embedder"])
                sem = max(0.0, _cosine(vector, doc_vec)) if doc_vec else 0.0
            score = max(kw, sem) if hybrid and 0 < ratio < 1 else (sem if ratio >= 1 else kw)
            if score > 0:
                scored.append((score, doc))
        threshold = body.get("rankingScoreThreshold")
        if threshold is not None:
            scored = [(s, d) for s, d in scored if s >= threshold]
        scored.sort(key=lambda sd: -sd[0])
        offset, limit = body.get("offset", 0), body.get("limit", 20)
        hits = []
        for score, doc in scored[offset : offset + limit]:
            hit = self._shown(idx, doc)
            if body.get("showRankingScore"):
                hit["_rankingScore"] = round(score, 4)
            hits.append(hit)
        return web.json_response(
            {
                "hits": hits,
                "query": body.get("q") or "",
                "processingTimeMs": 0,
                "limit": limit,
                "offset": offset,
                "estimatedTotalHits": len(scored),
            }
        )


def _words_of(doc: dict[str, Any], attrs: list[str]) -> list[list[str]]:
    names = [k for k in doc if k not in ("_vectors", "id")] if "*" in attrs else attrs
    out = []
    for name in names:
        value = doc.get(name)
        text = " ".join(value) if isinstance(value, list) else str(value or "")
        out.append(WORD.findall(text.lower()))
    return out


def _keyword_score(doc: dict[str, Any], words: list[str], attrs: list[str], one: int, two: int) -> float:
    if not words:
        return 0.0
    per_attr = _words_of(doc, attrs)
    total = 0.0
    for i, word in enumerate(words):
        budget = 2 if len(word) >= two else 1 if len(word) >= one else 0
        best = 0.0
        for rank, doc_words in enumerate(per_attr):
            weight = 1.0 - 0.05 * rank  # earlier searchable attributes rank higher
            for dw in doc_words:
                if dw == word:
                    best = max(best, weight)
                elif i == len(words) - 1 and dw.startswith(word):
                    best = max(best, 0.9 * weight)
                elif budget and _lev(word, dw, budget) <= budget:
                    best = max(best, 0.8 * weight)
        total += best
    return total / len(words)


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


CLAUSE = re.compile(r"^\s*(\w+)\s*(=|IN)\s*(.+?)\s*$")


def _parse_filter(expr: Any) -> Any:
    if not expr:
        return lambda doc: True
    if isinstance(expr, list):
        expr = " AND ".join(expr)
    tests = []
    for clause in re.split(r"\s+AND\s+", expr):
        m = CLAUSE.match(clause)
        if not m:
            raise web.HTTPBadRequest(
                text=json.dumps(
                    {
                        "message": f"invalid filter {clause!r}",
                        "code": "invalid_search_filter",
                        "type": "invalid_request",
                        "link": "",
                    }
                ),
                content_type="application/json",
            )
        attr, op, raw = m.groups()
        values = json.loads(raw) if op == "IN" else [json.loads(raw)]
        tests.append((attr, set(values)))
    return lambda doc: all(doc.get(attr) in values for attr, values in tests)
