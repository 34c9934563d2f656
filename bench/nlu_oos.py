"""How well the embedded classifier's scores tell out-of-scope messages from in-scope ones, on a
train/test pair whose test has out-of-scope examples (``out_of_scope``/``nlu_fallback`` or their
retrieval intents) that training never saw (BENCHMARKS.md, session 8).

    python -P bench/nlu_oos.py --train T.yml --test E.yml [--oos O.yml ...]

For each score — the classifier's confidence, and the shipped similarity to the nearest in-scope
training vector (centroids past the budget, ``condense``) beside the same over every example —
AUROC and out-of-scope recall at 5 % and 10 % of in-scope examples rejected (thresholds read off
the test set: this compares scores; ``python -m bot evaluate`` measures the calibrated decision).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from bot import nlu_data  # noqa: E402
from bot.nlu_data import is_out_of_scope  # noqa: E402


def separation(scores: np.ndarray, oos: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    inside = np.sort(scores[~oos])
    out = {"auroc": round(float(roc_auc_score(oos, -scores)), 4)}
    for share in (0.05, 0.10):
        out[f"recall_at_{int(share * 100)}pct_rejected"] = round(
            float((scores[oos] < inside[int(len(inside) * share)]).mean()), 3)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--oos", type=Path, action="append", default=[])
    args = parser.parse_args()

    from bot.embedded.classifier import IntentClassifier
    from bot.embedded.features import sentence

    train = nlu_data.load(args.train)
    test = nlu_data.load(args.test) + [ex for f in args.oos for ex in nlu_data.load(f)]
    oos = np.array([is_out_of_scope(ex.intent) for ex in test])
    if not oos.any() or oos.all():
        parser.error("the test examples need both in-scope and out-of-scope ones")
    clf = IntentClassifier.train(train, progress=True)
    def encode(texts: list[str]) -> np.ndarray:
        return sentence(clf.featurizer.encoder.encode(texts))

    vectors = encode([ex.text for ex in test])
    parses = clf.parse_many([ex.text for ex in test], apply_threshold=False)
    predicted_oos = np.array([p.out_of_scope for p in parses])  # a trained out-of-scope intent
    every = encode([ex.text for ex in train if not is_out_of_scope(ex.intent)])
    scores = {"confidence": np.array([p.confidence for p in parses]),
              "similarity (shipped)": np.array([p.similarity for p in parses]),
              "similarity, every example": (vectors @ every.T).max(axis=1)}
    result = {name: separation(np.where(predicted_oos, -1.0, s), oos) for name, s in scores.items()}
    print(json.dumps({"bench": "nlu_oos", "train": str(args.train),
                      "test": [str(args.test), *map(str, args.oos)], "n_in_scope": int((~oos).sum()),
                      "n_out_of_scope": int(oos.sum()),
                      "support": len(clf.support), "scores": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
