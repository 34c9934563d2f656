"""Keyboard mashing vs new words (issue 9): how close random mashes come to the training data, the
figure ``NEW_WORDS_KNOWN`` (bot/embedded/classifier.py) must stay above.

For the project's data and HWU64's training set: the nearest-neighbour similarity of 300 seeded
random mashes (1–3 "words" of 3–8 letters from a keyboard row or the alphabet), and how many of
them are out of scope.

    python -P bench/nlu_mashing.py   →   one JSON line
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bot import nlu_data  # noqa: E402
from bot.embedded.classifier import NEW_WORDS_KNOWN, IntentClassifier  # noqa: E402

CACHE = Path(os.environ.get("BERRY_CACHE_DIR", Path.home() / ".cache" / "berry")) / "bench-models"
HWU64 = Path(os.environ.get("BERRY_HWU64_DIR", ROOT.parent / "shared" / "data" / "nlu" / "hwu64"))
ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def mashes(n: int = 300, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = []
        for _ in range(rng.randint(1, 3)):
            letters = rng.choice(ROWS) if rng.random() < 0.6 else "abcdefghijklmnopqrstuvwxyz"
            words.append("".join(rng.choice(letters) for _ in range(rng.randint(3, 8))))
        out.append(" ".join(words))
    return out


def main() -> int:
    texts = mashes()
    results = {}
    for name, data in {"berry": ROOT / "bot" / "rasa" / "data", "hwu64": HWU64 / "train.yml"}.items():
        clf = IntentClassifier.train(nlu_data.load(data), cache_dir=CACHE)
        parses = clf.parse_many(texts)
        sims = np.array([p.similarity for p in parses])
        results[name] = {"threshold": clf.threshold, "similarity_p50": round(float(np.median(sims)), 3),
                         "similarity_p99": round(float(np.percentile(sims, 99)), 3),
                         "similarity_max": round(float(sims.max()), 3),
                         "out_of_scope": sum(p.out_of_scope for p in parses), "mashes": len(texts)}
    print(json.dumps({"bench": "nlu_mashing", "machine": f"{os.cpu_count()} cpu, {platform.machine()}",
                      "new_words_known": NEW_WORDS_KNOWN, **results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
