"""NLU benchmark: both engines side by side, in one run, on HWU64 (public, 64 intents) and on a
held-out split of the project's own data, each with out-of-scope utterances kept out of training.

    python bench/nlu.py [--engines embedded,rasa] [--datasets berry,hwu64]

Prints one JSON line (stdout) and a readable table (stderr). Writes the Berry split to a temp dir.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bot import nlu_data  # noqa: E402
from bot.evaluate import evaluate, table  # noqa: E402

# trained models are cached by a hash of their data; the recorded training time is reported
CACHE = Path(os.environ.get("BERRY_CACHE_DIR", Path.home() / ".cache" / "berry")) / "bench-models"
EVAL = ROOT / "bot" / "rasa" / "eval"
HWU64 = Path(os.environ.get("BERRY_HWU64_DIR", ROOT.parent / "shared" / "data" / "nlu" / "hwu64"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="embedded,rasa")
    parser.add_argument("--datasets", default="berry,hwu64")
    parser.add_argument(
        "--tune-epochs",
        type=int,
        default=None,
        help="embedded: encoder fine-tuning epochs (default BERRY_BOT_TUNE_EPOCHS, 0 = frozen)",
    )
    parser.add_argument("--rasa-config", action="append", default=[], metavar="[DATASET=]CONFIG",
                        help="Rasa config (default bot/rasa/config.yml); DATASET=CONFIG for one dataset "
                             "only (e.g. hwu64=bot/rasa/eval/config-fast.yml); repeatable")
    args = parser.parse_args()
    configs = dict(c.split("=", 1) if "=" in c else ("", c) for c in args.rasa_config)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = {}
        if "berry" in args.datasets:
            train, test = nlu_data.split(nlu_data.load(ROOT / "bot" / "rasa" / "data"), 0.2, seed=7)
            nlu_data.dump(train, Path(tmp) / "berry_train.yml")
            nlu_data.dump(test, Path(tmp) / "berry_test.yml")
            sets["berry"] = (Path(tmp) / "berry_train.yml", Path(tmp) / "berry_test.yml",
                             EVAL / "berry_out_of_scope.yml")
        if "hwu64" in args.datasets:
            sets["hwu64"] = (HWU64 / "train.yml", HWU64 / "test.yml", EVAL / "hwu64_out_of_scope.yml")
        for name, (train_file, test_file, oos) in sets.items():
            for engine in args.engines.split(","):
                started = time.perf_counter()
                config = configs.get(name, configs.get(""))
                result = evaluate(engine, train_file, test_file, extra_test=[oos], cache_dir=CACHE,
                                  rasa_config=Path(config) if config else None, tune_epochs=args.tune_epochs)
                result.update(dataset=name, wall_seconds=round(time.perf_counter() - started, 1),
                              loadavg=Path("/proc/loadavg").read_text().split()[:3])
                results.append(result)
                print(f"[{name}]\n{table([result])}", file=sys.stderr, flush=True)
    print(json.dumps({"bench": "nlu", "machine": f"{os.cpu_count()} cpu, {platform.machine()}",
                      "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
