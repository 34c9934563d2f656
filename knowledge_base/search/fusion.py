"""Fusing keyword and semantic rankings.

``rrf``: reciprocal-rank fusion (Cormack et al. 2009), score(d) = Σ w_i / (k + rank_i(d)).

``convex``: a weighted sum of min-max normalized scores, alpha · BM25' + (1 − alpha) · cosine',
over the union of both candidate lists (the cosine is known for every document; a document the
keyword search did not return scores 0 there). Unlike RRF it keeps *how much* better the best
match is, which matters when thousands of look-alike articles share a query's words: on two
sets of paraphrased questions (bench/search.py) it lets the vectors lift the right article past them for alpha
0.4–0.6, while RRF with k = 60 did not beat keyword-only (BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

K = 60


def rrf(
    rankings: Sequence[Sequence[str]], k: int = K, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    scores: dict[str, float] = {}
    for i, ranking in enumerate(rankings):
        w = weights[i] if weights else 1.0
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def _minmax(scores: Mapping[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:  # nothing to tell apart: all count fully
        return dict.fromkeys(scores, 1.0)
    return {doc_id: (score - low) / (high - low) for doc_id, score in scores.items()}


def convex(
    keyword: Sequence[tuple[str, float]], cosine: Mapping[str, float], alpha: float
) -> list[tuple[str, float]]:
    bm25, cos = _minmax(dict(keyword)), _minmax(cosine)
    scores = {
        doc_id: alpha * bm25.get(doc_id, 0.0) + (1 - alpha) * cos.get(doc_id, 0.0)
        for doc_id in bm25.keys() | cos.keys()
    }
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
