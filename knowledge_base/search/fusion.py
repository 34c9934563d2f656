"""Reciprocal-rank fusion (Cormack et al. 2009): score(d) = Σ 1 / (k + rank_i(d))."""

from __future__ import annotations

from collections.abc import Sequence

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
