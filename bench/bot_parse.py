"""Embedded bot engine: parse latency of one message at a time (the bot's path), the issue's
p95 < 15 ms goal. Wall time and this process's CPU time side by side, for the whole parse and for
the sentence encoder alone (the rest is the classifier head), interleaved message by message in one
run, over the project's own NLU examples and the out-of-scope evaluation set.

    [BERRY_ENCODER_THREADS=1] python bench/bot_parse.py [--n 300]

Prints one JSON line. On a shared machine the wall time is mostly waiting for a core; the CPU time
is what one parse costs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bot import factory, nlu_data  # noqa: E402

CACHE = Path(os.environ.get("BERRY_CACHE_DIR", Path.home() / ".cache" / "berry"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300, help="messages per thread setting")
    parser.add_argument(
        "--tune-epochs",
        type=int,
        default=None,
        help="the classifier with this many fine-tuning epochs (default BERRY_BOT_TUNE_EPOCHS)",
    )
    args = parser.parse_args()
    from bot.settings import BotSettings

    tune = BotSettings().tune_epochs if args.tune_epochs is None else args.tune_epochs
    started = time.perf_counter()
    clf = factory.project_classifier(CACHE, tune_epochs=tune)
    load_seconds = time.perf_counter() - started
    texts = [ex.text for ex in nlu_data.load(ROOT / "bot" / "rasa" / "data")]
    texts += [ex.text for ex in nlu_data.load(ROOT / "bot" / "rasa" / "eval" / "berry_out_of_scope.yml")]
    random.Random(3).shuffle(texts)
    texts = (texts * (args.n // len(texts) + 1))[:args.n]
    for text in texts[:20]:
        clf.parse(text)  # warm up
    timings: dict[str, tuple[list[float], list[float]]] = {"parse": ([], []), "encoder": ([], [])}
    encode = clf.featurizer.encoder.encode
    for text in texts:
        for name, run in (("parse", lambda t=text: clf.parse(t)), ("encoder", lambda t=text: encode([t]))):
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            timings[name][0].append((time.perf_counter() - t0) * 1000)
            timings[name][1].append((time.process_time() - c0) * 1000)
    results = {name: {"wall_ms_p50": round(statistics.median(wall), 2), "wall_ms_p95": pct(wall, 0.95),
                      "cpu_ms_p50": round(statistics.median(cpu), 2), "cpu_ms_p95": pct(cpu, 0.95)}
               for name, (wall, cpu) in timings.items()}
    print(
        json.dumps(
            {
                "bench": "bot_parse",
                "n": len(texts),
                "machine": f"{os.cpu_count()} cpu",
                "encoder_threads": int(os.environ.get("BERRY_ENCODER_THREADS", "1")),
                "loadavg": Path("/proc/loadavg").read_text().split()[:3],
                "tune_epochs": tune,
                "classifier_load_seconds": round(load_seconds, 1),
                "results": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
