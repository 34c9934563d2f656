"""Cross-validate the embedded classifier on a training file alone, so a change can be chosen
without looking at the test set (the protocol of BENCHMARKS.md, sessions 5–7).

    python -P bench/nlu_cv.py --train ../shared/data/nlu/hwu64/train.yml --tune-epochs 0,2 [--only 0,1]

Stratified k folds (scikit-learn, shuffled, seed 0: the folds of sessions 5–7). Each configuration
is trained on a fold's training part by the shipped ``IntentClassifier.train`` without the
threshold's calibration (accuracy is the top intent's), then scores the held-out part. Prints one
JSON line (stdout) and a table (stderr). Out-of-scope examples in the file count as an intent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bot import nlu_data  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, required=True, help="Rasa-format NLU file or directory")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated fold numbers (default: all)")
    parser.add_argument("--tune-epochs", default="0,2", help="configurations to compare, e.g. 0,2")
    args = parser.parse_args()

    from sklearn.model_selection import StratifiedKFold

    from bot.embedded.classifier import IntentClassifier

    examples = nlu_data.load(args.train)
    intents = [ex.intent for ex in examples]
    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(intents, intents))
    chosen = [int(f) for f in args.only.split(",")] if args.only else list(range(args.folds))
    configs = [int(e) for e in args.tune_epochs.split(",")]
    rows = []
    for fold in chosen:
        train_rows, held_rows = folds[fold]
        train, held = [examples[i] for i in train_rows], [examples[i] for i in held_rows]
        for epochs in configs:
            cpu = time.process_time()
            clf = IntentClassifier.train(train, holdout=0, tune_epochs=epochs, progress=True)
            train_cpu = time.process_time() - cpu
            mlp = clf.mlp
            for with_mlp in (True, False) if mlp is not None else (False,):
                clf.mlp = mlp if with_mlp else None  # the regression heads do not depend on the MLP
                parses = clf.parse_many([ex.text for ex in held], apply_threshold=False)
                right = sum(p.intent == ex.intent for p, ex in zip(parses, held, strict=True))
                rows.append({"fold": fold, "config": f"tune_epochs={epochs}" + (" +mlp" if with_mlp else ""),
                             "right": right, "held_out": len(held), "accuracy": round(right / len(held), 4),
                             "train_cpu_seconds": round(train_cpu, 1)})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    totals = {}
    for config in dict.fromkeys(r["config"] for r in rows):
        mine = [r for r in rows if r["config"] == config]
        right, n = sum(r["right"] for r in mine), sum(r["held_out"] for r in mine)
        totals[config] = {"right": right, "held_out": n, "accuracy": round(right / n, 4)}
        print(f"{config}: {right}/{n} = {100 * right / n:.2f} %", file=sys.stderr)
    print(json.dumps({"bench": "nlu_cv", "train": str(args.train), "folds": args.folds, "chosen": chosen,
                      "results": rows, "totals": totals}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
