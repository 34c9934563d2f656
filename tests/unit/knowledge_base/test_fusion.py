"""Score fusion: convex combination of min-max normalized BM25 and cosine; RRF kept for reference."""

from __future__ import annotations

from knowledge_base.search.fusion import convex, rrf


def test_convex_lets_a_much_closer_meaning_beat_a_slightly_better_keyword_match() -> None:
    keyword = [("look-alike", 10.0), ("answer", 9.0), ("far", 2.0)]
    cosine = {"look-alike": 0.40, "answer": 0.80, "far": 0.30, "semantic-only": 0.70}
    ranked = [doc for doc, _ in convex(keyword, cosine, alpha=0.4)]
    assert ranked[0] == "answer" and ranked[-1] == "far"
    assert [doc for doc, _ in convex(keyword, cosine, alpha=1.0)][:2] == ["look-alike", "answer"]
    assert [doc for doc, _ in convex(keyword, cosine, alpha=0.0)][0] == "answer"


def test_convex_edge_cases() -> None:
    assert convex([], {}, 0.5) == []
    assert convex([("a", 3.0)], {}, 0.4) == [("a", 0.4)]  # one score: nothing to normalize, counts fully
    assert [d for d, _ in convex([], {"b": 0.5, "c": 0.9}, 0.4)] == ["c", "b"]


def test_rrf() -> None:
    assert [d for d, _ in rrf([["a", "b"], ["b", "c"]])] == ["b", "a", "c"]
