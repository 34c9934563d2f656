"""What "did you mean…" buttons do for unclear messages (issue 9): in 5-fold cross-validation on
the project's data (every example held out once), plus its out-of-scope utterances (never trained
on; tested in every fold), the embedded classifier rejects some messages as unclear. For those it
may answer with the likeliest topics as buttons (``bot.embedded.engine._clarify``, the shipped
code). Figures:

- in scope, rejected: how many got buttons, and how many of those had the right intent among them
  (the customer is one tap from an answer instead of being asked to rephrase);
- out of scope, rejected: how many got buttons anyway (noise: "a person, please" is always one).

    python -P bench/bot_clarify.py   →   one JSON line
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bot import nlu_data, responses  # noqa: E402
from bot.embedded.classifier import FALLBACK, IntentClassifier, Parse, _folds  # noqa: E402
from bot.embedded.engine import _clarify  # noqa: E402

CACHE = Path(os.environ.get("BERRY_CACHE_DIR", Path.home() / ".cache" / "berry")) / "bench-models"
OOS = ROOT / "bot" / "rasa" / "eval" / "berry_out_of_scope.yml"


def main() -> int:
    oos = nlu_data.load(OOS)
    counts = {"in_scope": 0, "in_scope_rejected": 0, "in_scope_offered": 0, "in_scope_right_offered": 0,
              "in_scope_rejected_topic": 0, "out_of_scope": 0, "out_of_scope_rejected": 0,
              "out_of_scope_offered": 0}
    thresholds = []
    for train, held in _folds(nlu_data.load(ROOT / "bot" / "rasa" / "data"), 0.1):  # 5 folds
        clf = IntentClassifier.train(train, cache_dir=CACHE)
        thresholds.append(clf.threshold)
        test = held + oos
        for ex, parse in zip(test, clf.parse_many([ex.text for ex in test]), strict=True):
            tally(counts, ex.intent, parse)
    print(json.dumps({"bench": "bot_clarify", "machine": f"{os.cpu_count()} cpu, {platform.machine()}",
                      "folds": len(thresholds), "thresholds": thresholds, **counts}))
    return 0


def tally(counts: dict[str, int], intent: str, parse: Parse) -> None:
    kind = "out_of_scope" if nlu_data.is_out_of_scope(intent) else "in_scope"
    counts[kind] += 1
    if parse.intent != FALLBACK:
        return
    counts[f"{kind}_rejected"] += 1
    offered = [b.payload[1:] for b in _clarify(parse).buttons]
    counts[f"{kind}_offered"] += bool(offered)
    if kind == "in_scope":
        counts["in_scope_rejected_topic"] += responses.topic(intent) is not None
        counts["in_scope_right_offered"] += intent in offered


if __name__ == "__main__":
    sys.exit(main())
